// SentencePiece tokenizer.model → llama.cpp's "llama" vocabulary, as _create_vocab_sentencepiece
// writes it: a ModelProto written from llama.cpp's ggml-vocab-llama-spm.gguf (made by llama.cpp's
// converter from Llama 2's tokenizer.model, so its tokens, scores and types are that model's pieces)
// must convert back to that file's tokenizer.* metadata, alone and beside tokenizer.json.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convert } from "../src/convert/convert.js";
import { convertHfTokenizer, LlamaTokenType } from "../src/convert/tokenizer/index.js";
import { readGgufHeader } from "../src/gguf/reader.js";
import type { GgufMetadataEntry } from "../src/gguf/value-types.js";
import { llama2HfTokenizer, llama2HfTokenizerFiles, llama2VocabPath } from "../src/testing/llama2-hf-tokenizer.js";
import { writeTinyHfCheckpoint } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../src/testing/tiny-hf-tokenizer.js";
import { expectError } from "./helpers/expect-error.js";
import { sharedLlama } from "./helpers/llama-eval.js";
import {
  fieldKey,
  floatField,
  lengthDelimitedField,
  varintField,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_VARINT,
  writeModelProto,
  type ModelProtoOptions,
  type ModelProtoPiece,
} from "./helpers/sentencepiece-model-proto.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { llamaCppTestVectors } from "./helpers/tokenizer-agreement.js";

const BPE = 2;
/** Llama 2's tokenizer.model settings (trainer_spec model_type BPE, byte_fallback; normalizer "identity", dummy prefix, whitespace kept). */
const LLAMA2_SPECS: Omit<ModelProtoOptions, "pieces"> = {
  trainerSpec: { modelType: BPE, vocabSize: 32000, byteFallback: true },
  normalizerSpec: { name: "identity", addDummyPrefix: true, removeExtraWhitespaces: false },
};

const temp = makeTempDir("convert-tokenizer-spm-model");
afterAll(() => temp.cleanup());
let caseCount = 0;

/** A directory of its own holding `files` (bytes as they are, text, or JSON). */
async function caseDir(files: Record<string, Uint8Array | string | object>): Promise<string> {
  const dir = path.join(temp.dir, `case-${caseCount++}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content instanceof Uint8Array || typeof content === "string" ? content : JSON.stringify(content));
  }
  return dir;
}

function tokenizerMetadata(entries: Iterable<[string, GgufMetadataEntry]>): Map<string, GgufMetadataEntry> {
  return new Map([...entries].filter(([key]) => key.startsWith("tokenizer.")));
}

const plain = (value: unknown) => (ArrayBuffer.isView(value) ? Array.from(value as Float32Array) : value);

/** Keys in `ours` and not in `theirs`, and the other way round; every shared key's type and value equal. */
function compareMetadata(ours: Map<string, GgufMetadataEntry>, theirs: Map<string, GgufMetadataEntry>) {
  for (const [key, entry] of theirs) {
    const mine = ours.get(key);
    if (mine === undefined) continue;
    expect([mine.type, mine.arrayType], key).toEqual([entry.type, entry.arrayType]);
    expect(plain(mine.value), key).toEqual(plain(entry.value));
  }
  return { extra: [...ours.keys()].filter((key) => !theirs.has(key)), missing: [...theirs.keys()].filter((key) => !ours.has(key)) };
}

let llama2Pieces: ModelProtoPiece[];
let llama2Model: Uint8Array;
let vocabFile: Map<string, GgufMetadataEntry>;

beforeAll(async () => {
  const header = await readGgufHeader(llama2VocabPath());
  vocabFile = tokenizerMetadata(header.metadataByKey);
  const tokens = vocabFile.get("tokenizer.ggml.tokens")!.value as string[];
  const scores = vocabFile.get("tokenizer.ggml.scores")!.value as Float32Array;
  const types = vocabFile.get("tokenizer.ggml.token_type")!.value as Int32Array;
  llama2Pieces = tokens.map((piece, id) => ({ piece, score: scores[id], type: types[id] }));
  const written = writeModelProto({ pieces: llama2Pieces, ...LLAMA2_SPECS });
  // fields the reader skips, as Llama 2's tokenizer.model has them: trainer_spec.pad_id -1 (a 10-byte
  // varint) and input_format (a string), in a second trainer_spec that protobuf merges into the first;
  // and unknown fixed64 / fixed32 fields
  const skipped = [
    ...lengthDelimitedField(2, [...fieldKey(43, WIRE_VARINT), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, ...lengthDelimitedField(7, [0x74, 0x78, 0x74])]),
    ...fieldKey(99, WIRE_FIXED64), 1, 2, 3, 4, 5, 6, 7, 8,
    ...fieldKey(98, WIRE_FIXED32), 1, 2, 3, 4,
  ];
  llama2Model = new Uint8Array([...written, ...skipped]);
});

describe("Llama 2's tokenizer.model, written from ggml-vocab-llama-spm.gguf's pieces", () => {
  it("alone in a tiny llama checkpoint: converts to that file's tokenizer.* metadata, scores included, and llama.cpp's Llama 2 test vectors reproduce", async () => {
    const { tokenizerConfig, vocabSize } = await llama2HfTokenizer();
    const dir = path.join(temp.dir, "llama2-model-tiny");
    await writeTinyHfCheckpoint(dir, {
      architecture: "llama", seed: 5, dtype: "bfloat16", nLayer: 1, hiddenSize: 32, nHead: 2, nKvHead: 1, intermediateSize: 64, vocabSize,
      tieWordEmbeddings: true, maxPositionEmbeddings: 512, ropeTheta: 10000, rmsNormEps: 1e-6, bosTokenId: 1, eosTokenId: 2,
      tokenizerFiles: { "tokenizer_config.json": JSON.stringify(tokenizerConfig) },
    });
    await writeFile(path.join(dir, "tokenizer.model"), llama2Model);
    const output = path.join(temp.dir, "llama2-model-tiny.gguf");
    const result = await convert(dir, output);
    expect(result.preTokenizer).toBe("default");

    const ours = tokenizerMetadata((await readGgufHeader(output)).metadataByKey);
    // without tokenizer.json gguf-py finds unk_token "<unk>" among no added tokens, and config.json has no unk_token_id
    expect(compareMetadata(ours, vocabFile)).toEqual({ extra: [], missing: ["tokenizer.ggml.unknown_token_id"] });
    // the model's own scores: its 16 pieces of ▁ alone all at -1e9 (2 to 16 long, and "▁"), which tokenizer.json cannot give back
    const tokens = ours.get("tokenizer.ggml.tokens")!.value as string[];
    const handScored = tokens.filter((_, id) => (ours.get("tokenizer.ggml.scores")!.value as Float32Array)[id] === -1e9);
    expect(handScored.length).toBe(16);
    expect(handScored.every((token) => /^\u2581+$/.test(token))).toBe(true);

    const llama = await sharedLlama();
    const model = await llama.loadModel({ modelPath: output, vocabOnly: true, gpuLayers: 0 });
    try {
      let reproduced = 0;
      for (const { text, ids } of await llamaCppTestVectors("ggml-vocab-llama-spm.gguf")) {
        // llama.cpp's test-tokenizer-0 tokenizes these without parsing special tokens
        expect(Array.from(model.tokenize(text)), JSON.stringify(text)).toEqual(ids);
        reproduced++;
      }
      expect(reproduced).toBeGreaterThan(40);
      console.log(`Llama 2 tokenizer.model: ${reproduced} llama.cpp test vectors reproduced`);
    } finally {
      await model.dispose();
    }
  });

  it("beside the rebuilt tokenizer.json: that file's metadata exactly but for add_sep_token, which gguf-py reads from tokenizer.json's post-processor", async () => {
    const dir = await caseDir({ ...(await llama2HfTokenizerFiles()), "tokenizer.model": llama2Model, "config.json": { vocab_size: 32000, bos_token_id: 1, eos_token_id: 2 } });
    const converted = await convertHfTokenizer(dir);
    const ours = new Map(converted.metadata.map((entry) => [entry.key, entry]));
    expect(compareMetadata(ours, vocabFile)).toEqual({ extra: ["tokenizer.ggml.add_sep_token"], missing: [] });
    expect(converted.preTokenizerIdentification).toEqual({ name: "default", method: "sentencepiece" });
    await expectError(convertHfTokenizer(dir, { preTokenizer: "llama-bpe" }), "E_INVALID_OPTION", /tokenizer\.model is a SentencePiece tokenizer, which splits nothing before merging/);
  });
});

/** <unk>, <s>, </s>, the 256 byte pieces, then `normal` NORMAL pieces scored -1, -2, ... */
function smallPieces(normal: readonly string[]): ModelProtoPiece[] {
  const bytes = Array.from({ length: 256 }, (_, byte) => ({ piece: `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`, score: 0, type: 6 }));
  return [
    { piece: "<unk>", score: 0, type: 2 },
    { piece: "<s>", score: 0, type: 3 },
    { piece: "</s>", score: 0, type: 3 },
    ...bytes,
    ...normal.map((piece, index) => ({ piece, score: -(index + 1), type: 1 })),
  ];
}

const SMALL_NORMAL = ["\u2581", "a", "b", "\u2581a", "ab"];
const smallModel = (options: Partial<ModelProtoOptions> = {}) => writeModelProto({ pieces: smallPieces(SMALL_NORMAL), ...LLAMA2_SPECS, ...options });

async function convertSmall(files: Record<string, Uint8Array | string | object>) {
  const metadata = (await convertHfTokenizer(await caseDir(files))).metadata;
  const get = (key: string) => metadata.find((entry) => entry.key === key)?.value;
  return {
    tokens: get("tokenizer.ggml.tokens") as string[],
    scores: Array.from(get("tokenizer.ggml.scores") as Float32Array),
    types: Array.from(get("tokenizer.ggml.token_type") as Int32Array),
    get,
  };
}

describe("a tokenizer.model's vocabulary, by _create_vocab_sentencepiece's rules", () => {
  it("is not read beside a byte-level tokenizer.json (Llama 3, Qwen2), whose vocabulary is not SentencePiece's", async () => {
    const files = tinyHfTokenizerFiles(await tinyHfTokenizer({ family: "llama3", keepTokens: 600 }));
    const converted = await convertHfTokenizer(await caseDir({ ...files, "tokenizer.model": "\x00not a ModelProto" }));
    expect(converted.metadata.find((entry) => entry.key === "tokenizer.ggml.model")?.value).toBe("gpt2");
  });

  it("pads to config.json's vocab_size with [PAD<id>] UNUSED at -10000, drops pieces past a smaller one, types USER_DEFINED pieces NORMAL", async () => {
    const pieces = smallPieces([...SMALL_NORMAL, "<user>"]);
    pieces[pieces.length - 1].type = 4;
    const model = writeModelProto({ pieces, ...LLAMA2_SPECS });
    const padded = await convertSmall({ "tokenizer.model": model, "config.json": { vocab_size: pieces.length + 2 } });
    expect(padded.tokens.slice(-3)).toEqual(["<user>", `[PAD${pieces.length}]`, `[PAD${pieces.length + 1}]`]);
    expect(padded.types.slice(-3)).toEqual([LlamaTokenType.NORMAL, LlamaTokenType.UNUSED, LlamaTokenType.UNUSED]);
    expect(padded.scores.slice(-3)).toEqual([-6, -10000, -10000]);
    expect(padded.types.slice(0, 4)).toEqual([LlamaTokenType.UNKNOWN, LlamaTokenType.CONTROL, LlamaTokenType.CONTROL, LlamaTokenType.BYTE]);

    const truncated = await convertSmall({ "tokenizer.model": model, "config.json": { vocab_size: pieces.length - 2 } });
    expect(truncated.tokens.length).toBe(pieces.length - 2);
    expect(truncated.tokens.at(-1)).toBe("\u2581a");
    const unstated = await convertSmall({ "tokenizer.model": model });
    expect(unstated.tokens.length).toBe(pieces.length);
  });

  it("applies added_tokens.json and tokenizer_config.json's added_tokens_decoder at -1000; reads no tokenizer.json added tokens", async () => {
    const count = smallPieces(SMALL_NORMAL).length;
    const { tokens, scores, types } = await convertSmall({
      "tokenizer.model": smallModel(),
      "config.json": { vocab_size: count + 3 },
      "added_tokens.json": { "<extra>": count, "<past>": count + 9 },
      "tokenizer_config.json": {
        added_tokens_decoder: {
          [count + 1]: { content: "<|im_end|>", special: false },
          [count + 2]: { content: "\u2581word", special: false },
          1: { content: "<s>", special: true },
        },
      },
    });
    expect(tokens.slice(count)).toEqual(["<extra>", "<|im_end|>", " word"]);
    expect(types.slice(count)).toEqual([LlamaTokenType.USER_DEFINED, LlamaTokenType.CONTROL, LlamaTokenType.USER_DEFINED]);
    expect(scores.slice(count)).toEqual([-1000, -1000, -1000]);
    expect([tokens[1], types[1], scores[1]]).toEqual(["<s>", LlamaTokenType.CONTROL, -1000]);
  });

  it("writes add_space_prefix false for add_dummy_prefix false (Gemma), none for true, tokenizer_config.json's add_prefix_space over both", async () => {
    const noPrefix = await convertSmall({ "tokenizer.model": smallModel({ normalizerSpec: { ...LLAMA2_SPECS.normalizerSpec, addDummyPrefix: false } }) });
    expect(noPrefix.get("tokenizer.ggml.add_space_prefix")).toBe(false);
    expect((await convertSmall({ "tokenizer.model": smallModel() })).get("tokenizer.ggml.add_space_prefix")).toBeUndefined();
    const configured = await convertSmall({ "tokenizer.model": smallModel(), "tokenizer_config.json": { add_prefix_space: false } });
    expect(configured.get("tokenizer.ggml.add_space_prefix")).toBe(false);
    expect([noPrefix.get("tokenizer.ggml.model"), noPrefix.get("tokenizer.ggml.pre")]).toEqual(["llama", "default"]);
  });
});

describe("tokenizer.model files the converter refuses", () => {
  const convertModel = async (bytes: Uint8Array | number[]) => convertHfTokenizer(await caseDir({ "tokenizer.model": bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes) }));

  it("malformed protobuf is E_BAD_TOKENIZER, saying what is wrong", async () => {
    await expectError(convertModel([0x0a, 0x80]), "E_BAD_TOKENIZER", /the length of pieces is a varint cut off by the end of the message that holds it \(at byte 1 of 2\)/);
    await expectError(convertModel([0x0a, 0x05, 0x01]), "E_BAD_TOKENIZER", /pieces is 5 bytes long, past the end of the message that holds it \(1 bytes left\)/);
    await expectError(convertModel(lengthDelimitedField(1, [0x0a, 0x09, 0x01])), "E_BAD_TOKENIZER", /pieces\[0\]\.piece is 9 bytes long, past the end of the message that holds it \(1 bytes left\)/);
    await expectError(convertModel(varintField(1, 3)), "E_BAD_TOKENIZER", /pieces has wire type 0 \(varint\), expected 2 \(length-delimited\)/);
    await expectError(convertModel(lengthDelimitedField(1, [...varintField(2, 0)])), "E_BAD_TOKENIZER", /pieces\[0\]\.score has wire type 0 \(varint\), expected 5 \(fixed32\)/);
    await expectError(convertModel([...fieldKey(7, 3)]), "E_BAD_TOKENIZER", /ModelProto field 7 has wire type 3 \(start-group\), which a ModelProto does not use/);
    await expectError(convertModel([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), "E_BAD_TOKENIZER", /a field key of ModelProto is a varint longer than 10 bytes/);
    await expectError(convertModel(new TextEncoder().encode("\x00sentencepiece")), "E_BAD_TOKENIZER", /ModelProto has a field key 0, whose field number is not valid/);
    await expectError(convertModel(lengthDelimitedField(1, [...lengthDelimitedField(1, [0xff]), ...floatField(2, 0)])), "E_BAD_TOKENIZER", /pieces\[0\]\.piece is not valid UTF-8/);
    await expectError(convertModel(lengthDelimitedField(1, [...lengthDelimitedField(1, [0x61]), ...varintField(3, 9)])), "E_BAD_TOKENIZER", /pieces\[0\]\.type is 9, not a SentencePiece piece type/);
  });

  it("a ModelProto without pieces, with an empty or repeated piece or without one UNKNOWN is E_BAD_TOKENIZER", async () => {
    await expectError(convertModel(writeModelProto({ pieces: [], ...LLAMA2_SPECS })), "E_BAD_TOKENIZER", /the ModelProto has no pieces; is it a SentencePiece tokenizer\.model\?/);
    await expectError(convertModel([]), "E_BAD_TOKENIZER", /the ModelProto has no pieces/);
    await expectError(convertModel(writeModelProto({ pieces: [...smallPieces([]), { piece: "", score: 0, type: 1 }] })), "E_BAD_TOKENIZER", /pieces\[259\] is empty/);
    await expectError(convertModel(writeModelProto({ pieces: smallPieces(["a", "a"]) })), "E_BAD_TOKENIZER", /pieces\[260\] "a" repeats pieces\[259\]/);
    await expectError(convertModel(writeModelProto({ pieces: smallPieces([]).slice(1) })), "E_BAD_TOKENIZER", /exactly one UNKNOWN \(type 2\) piece, as SentencePiece requires; they hold 0/);
    await expectError(
      convertModel(writeModelProto({ pieces: smallPieces([]).filter(({ piece }) => piece !== "<0x41>"), ...LLAMA2_SPECS })),
      "E_BAD_TOKENIZER",
      /trainer_spec\.byte_fallback is true but 1 of the 256 BYTE pieces are missing \(<0x41>\)/,
    );
  });

  it("what llama.cpp's SentencePiece vocabulary does not encode as SentencePiece does is E_UNSUPPORTED_TOKENIZER, naming it", async () => {
    const unsupported = (options: Partial<ModelProtoOptions>, message: RegExp) => expectError(convertModel(smallModel(options)), "E_UNSUPPORTED_TOKENIZER", message);
    const { trainerSpec, normalizerSpec } = LLAMA2_SPECS;
    // model_type's proto default is UNIGRAM
    await unsupported({ trainerSpec: { byteFallback: true } }, /trainer_spec\.model_type is UNIGRAM, and llama\.cpp's SentencePiece vocabulary merges pieces by score as SentencePiece's BPE does/);
    await unsupported({ trainerSpec: { ...trainerSpec, modelType: 3 } }, /trainer_spec\.model_type is WORD/);
    await unsupported({ trainerSpec: { ...trainerSpec, byteFallback: false } }, /trainer_spec\.byte_fallback is false/);
    await unsupported({ trainerSpec: { ...trainerSpec, treatWhitespaceAsSuffix: true } }, /trainer_spec\.treat_whitespace_as_suffix is true/);
    // remove_extra_whitespaces' proto default is true
    await unsupported({ normalizerSpec: { name: "identity" } }, /normalizer_spec\.remove_extra_whitespaces is true/);
    await unsupported({ normalizerSpec: { ...normalizerSpec, name: "nmt_nfkc", precompiledCharsmap: new Uint8Array(16) } }, /normalizer_spec "nmt_nfkc" rewrites the text by a 16-byte precompiled_charsmap/);
    await unsupported({ normalizerSpec: { ...normalizerSpec, escapeWhitespaces: false } }, /normalizer_spec\.escape_whitespaces is false/);
  });
});
