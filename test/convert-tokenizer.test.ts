import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  extractPreTokenizerHashes,
  preTokenizerHashesPath,
  serializePreTokenizerHashes,
} from "../scripts/dev/extract-pre-tokenizer-hashes.mjs";
import {
  convertHfTokenizer,
  detectablePreTokenizerNames,
  KNOWN_PRE_TOKENIZATIONS,
  LlamaTokenType,
  PRE_TOKENIZER_PROBE_TEXT,
  preTokenizerNameForHash,
  probeHash,
  type ConvertedTokenizer,
} from "../src/convert/tokenizer/index.js";
import { isLoraGgufError } from "../src/errors.js";
import { readGgufHeader } from "../src/gguf/reader.js";
import type { GgufMetadataEntry } from "../src/gguf/value-types.js";
import { tinyHfTokenizer, writeTinyHfTokenizer, type TinyHfTokenizer, type TinyHfTokenizerFamily } from "../src/testing/tiny-hf-tokenizer.js";
import { sharedLlama } from "./helpers/llama-eval.js";
import { expectError } from "./helpers/expect-error.js";
import { caseDirWriter, makeTempDir } from "./helpers/temp-dir.js";
import { AGREEMENT_TEXTS, llamaCppTestVectors, llamaCppVocabPath as vocabPath } from "./helpers/tokenizer-agreement.js";
import { writeVocabOnlyGguf } from "./helpers/vocab-only-gguf.js";

const KEEP_TOKENS = 3000;

interface FamilyCase {
  family: TinyHfTokenizerFamily;
  vocabFile: string;
  architecture: "qwen2" | "llama";
  /** Text with the family's special tokens, as its chat template lays them out. */
  specialText: string;
}

const FAMILIES: FamilyCase[] = [
  {
    family: "qwen2",
    vocabFile: "ggml-vocab-qwen2.gguf",
    architecture: "qwen2",
    specialText: "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n<|endoftext|>",
  },
  {
    family: "llama3",
    vocabFile: "ggml-vocab-llama-bpe.gguf",
    architecture: "llama",
    specialText: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  },
];

function metadataValue(metadata: readonly GgufMetadataEntry[], key: string): unknown {
  return metadata.find((entry) => entry.key === key)?.value;
}

function referenceTokenizer(fixture: TinyHfTokenizer): Tokenizer {
  return new Tokenizer(fixture.tokenizerJson, fixture.tokenizerConfig);
}

const temp = makeTempDir("convert-tokenizer");
afterAll(() => temp.cleanup());
const checkpointDir = caseDirWriter(temp.dir);

describe("llama.cpp's pre-tokenizer table", () => {
  it("is committed as scripts/dev/extract-pre-tokenizer-hashes.mjs extracts it from deps/llama.cpp now", async () => {
    const committed = await readFile(preTokenizerHashesPath, "utf8");
    expect(committed).toBe(serializePreTokenizerHashes(extractPreTokenizerHashes()));
    const table = JSON.parse(committed);
    expect(table.entries.length).toBeGreaterThan(50);
    expect(table.probeText).toBe(PRE_TOKENIZER_PROBE_TEXT);
    // the probe text keeps the zero-width joiner and the emoji variation selector Python's repr escapes
    expect(PRE_TOKENIZER_PROBE_TEXT).toContain("😶\u200d🌫️");
    expect(detectablePreTokenizerNames).toEqual(expect.arrayContaining(["qwen2", "llama-bpe", "gpt-2", "deepseek-llm"]));
  });

  it("hashes ids as Python prints a list of ints", () => {
    expect(probeHash([1, 2, 3])).toBe(createHash("sha256").update("[1, 2, 3]").digest("hex"));
    expect(probeHash([])).toBe(createHash("sha256").update("[]").digest("hex"));
  });

  it("names a checkpoint by the hash llama.cpp's own tokenizer test vectors give", async () => {
    // the last of llama.cpp's test texts is the probe text; its ids are the released tokenizer's
    for (const { vocabFile, family } of FAMILIES) {
      const vectors = await llamaCppTestVectors(vocabFile);
      const probe = vectors.find((vector) => vector.text === PRE_TOKENIZER_PROBE_TEXT)!;
      const bos = family === "llama3" ? [128000] : [];
      const header = await readGgufHeader(vocabPath(vocabFile));
      expect(preTokenizerNameForHash(probeHash([...bos, ...probe.ids]))).toBe(header.metadataByKey.get("tokenizer.ggml.pre")?.value);
    }
  });
});

describe.each(FAMILIES)("the $family fixture", ({ family, vocabFile }) => {
  let full: TinyHfTokenizer;
  let fullDir: string;
  let truncated: TinyHfTokenizer;
  let truncatedDir: string;
  let fullConverted: ConvertedTokenizer;

  beforeAll(async () => {
    fullDir = path.join(temp.dir, `${family}-full`);
    full = await writeTinyHfTokenizer(fullDir, { family });
    truncatedDir = path.join(temp.dir, `${family}-truncated`);
    truncated = await writeTinyHfTokenizer(truncatedDir, { family, keepTokens: KEEP_TOKENS });
    fullConverted = await convertHfTokenizer(fullDir);
  });

  it("tokenizes llama.cpp's test texts as the released tokenizer did (full vocabulary)", async () => {
    const tokenizer = referenceTokenizer(full);
    for (const { text, ids } of await llamaCppTestVectors(vocabFile)) {
      expect(tokenizer.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text)).toEqual(ids);
    }
  });

  it("is identified by llama.cpp's probe hash with the full vocabulary", async () => {
    const header = await readGgufHeader(vocabPath(vocabFile));
    expect(full.llamaCppPreTokenizer).toBe(header.metadataByKey.get("tokenizer.ggml.pre")?.value);
    expect(fullConverted.preTokenizer).toBe(full.llamaCppPreTokenizer);
    expect(fullConverted.preTokenizerIdentification.method).toBe("probe-hash");
    expect(metadataValue(fullConverted.metadata, "tokenizer.ggml.pre")).toBe(full.llamaCppPreTokenizer);
  });

  it("is identified by its pre-tokenization when the vocabulary is cut (the probe hash then changes)", async () => {
    const converted = await convertHfTokenizer(truncatedDir);
    expect(converted.preTokenizer).toBe(full.llamaCppPreTokenizer);
    expect(converted.preTokenizerIdentification.method).toBe("pre-tokenization");
    expect(converted.preTokenizerIdentification.probeHash).not.toBe(fullConverted.preTokenizerIdentification.probeHash);
    expect(converted.vocabSize).toBe(truncated.vocabSize);
  });

  it("converts back to the tokens, merges and token types of llama.cpp's vocabulary file", async () => {
    const header = await readGgufHeader(vocabPath(vocabFile));
    const original = (key: string) => header.metadataByKey.get(key)?.value as string[] | Int32Array;
    const tokens = metadataValue(fullConverted.metadata, "tokenizer.ggml.tokens") as string[];
    expect(fullConverted.vocabSize).toBe(full.vocabSize);
    expect(tokens).toEqual((original("tokenizer.ggml.tokens") as string[]).slice(0, full.vocabSize));
    expect(metadataValue(fullConverted.metadata, "tokenizer.ggml.merges")).toEqual(original("tokenizer.ggml.merges"));
    expect(Array.from(metadataValue(fullConverted.metadata, "tokenizer.ggml.token_type") as Int32Array)).toEqual(
      Array.from((original("tokenizer.ggml.token_type") as Int32Array).slice(0, full.vocabSize)),
    );
    expect(metadataValue(fullConverted.metadata, "tokenizer.ggml.model")).toBe("gpt2");
  });

  it("keeps only merges whose parts and result survive the cut, and renumbers the special tokens after the kept ones", async () => {
    const tokenizerJson = truncated.tokenizerJson as { model: { vocab: Record<string, number>; merges: Array<[string, string]> } };
    const vocab = tokenizerJson.model.vocab;
    expect(Object.keys(vocab)).toHaveLength(KEEP_TOKENS);
    expect(tokenizerJson.model.merges.length).toBeGreaterThan(1000);
    for (const [left, right] of tokenizerJson.model.merges) {
      expect(vocab[left] !== undefined && vocab[right] !== undefined && vocab[left + right] !== undefined).toBe(true);
    }
    expect(Math.min(...Object.values(truncated.specialTokenIds))).toBe(KEEP_TOKENS);
    expect(truncated.vocabSize).toBe(KEEP_TOKENS + Object.keys(truncated.specialTokenIds).length);
  });
});

describe("conversion rules", () => {
  it("gives the same metadata for merges stored as strings and as pairs", async () => {
    const stringsDir = path.join(temp.dir, "merges-strings");
    const pairsDir = path.join(temp.dir, "merges-pairs");
    await writeTinyHfTokenizer(stringsDir, { family: "llama3", keepTokens: KEEP_TOKENS, mergesForm: "strings" });
    await writeTinyHfTokenizer(pairsDir, { family: "llama3", keepTokens: KEEP_TOKENS, mergesForm: "pairs" });
    const fromStrings = await convertHfTokenizer(stringsDir);
    const fromPairs = await convertHfTokenizer(pairsDir);
    expect(fromPairs.metadata).toEqual(fromStrings.metadata);
    expect((metadataValue(fromStrings.metadata, "tokenizer.ggml.merges") as string[])[0]).toBe("Ġ Ġ");
  });

  it("writes spaces inside merge pairs as U+0120, as gguf-py does", async () => {
    const fixture = await tinyHfTokenizer({ family: "qwen2", keepTokens: KEEP_TOKENS });
    const model = fixture.tokenizerJson.model as { merges: Array<[string, string]> };
    const dir = await checkpointDir({
      "tokenizer.json": { ...fixture.tokenizerJson, model: { ...model, merges: [...model.merges, ["a b", "c"]] } },
      "tokenizer_config.json": fixture.tokenizerConfig,
    });
    const merges = metadataValue((await convertHfTokenizer(dir)).metadata, "tokenizer.ggml.merges") as string[];
    expect(merges[merges.length - 1]).toBe("a\u0120b c");
  });

  it("types special added tokens CONTROL, other added tokens USER_DEFINED unless they look like control tokens", async () => {
    const fixture = await tinyHfTokenizer({ family: "qwen2", keepTokens: KEEP_TOKENS });
    const added = fixture.tokenizerJson.added_tokens as Array<Record<string, unknown>>;
    const base = fixture.vocabSize;
    const plain = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: false };
    const dir = await checkpointDir({
      "tokenizer.json": {
        ...fixture.tokenizerJson,
        added_tokens: [
          ...added,
          { id: base, content: "<think>", ...plain },
          { id: base + 1, content: "<|tool_call|>", ...plain },
          { id: base + 2, content: "<unused7>", ...plain },
        ],
      },
      "tokenizer_config.json": fixture.tokenizerConfig,
    });
    const converted = await convertHfTokenizer(dir);
    const types = metadataValue(converted.metadata, "tokenizer.ggml.token_type") as Int32Array;
    const tokens = metadataValue(converted.metadata, "tokenizer.ggml.tokens") as string[];
    for (const [content, id] of Object.entries(fixture.specialTokenIds)) {
      expect(tokens[id]).toBe(content);
      expect(types[id]).toBe(LlamaTokenType.CONTROL);
    }
    expect(tokens.slice(base)).toEqual(["<think>", "<|tool_call|>", "<unused7>"]);
    expect(Array.from(types.slice(base))).toEqual([LlamaTokenType.USER_DEFINED, LlamaTokenType.CONTROL, LlamaTokenType.CONTROL]);
    expect(types[0]).toBe(LlamaTokenType.NORMAL);
    expect(types[KEEP_TOKENS - 1]).toBe(LlamaTokenType.NORMAL);
  });

  it("reads bos, eos and pad ids and add_bos_token (Qwen2: no bos, add_bos false; Llama 3: bos added)", async () => {
    const qwen = await tinyHfTokenizer({ family: "qwen2", keepTokens: KEEP_TOKENS });
    const qwenDir = await checkpointDir({ "tokenizer.json": qwen.tokenizerJson, "tokenizer_config.json": qwen.tokenizerConfig });
    const qwenMetadata = (await convertHfTokenizer(qwenDir)).metadata;
    expect(metadataValue(qwenMetadata, "tokenizer.ggml.bos_token_id")).toBeUndefined();
    expect(metadataValue(qwenMetadata, "tokenizer.ggml.eos_token_id")).toBe(qwen.specialTokenIds["<|im_end|>"]);
    expect(metadataValue(qwenMetadata, "tokenizer.ggml.padding_token_id")).toBe(qwen.specialTokenIds["<|endoftext|>"]);
    expect(metadataValue(qwenMetadata, "tokenizer.ggml.add_bos_token")).toBe(false);

    const llama = await tinyHfTokenizer({ family: "llama3", keepTokens: KEEP_TOKENS });
    const llamaDir = await checkpointDir({ "tokenizer.json": llama.tokenizerJson, "tokenizer_config.json": llama.tokenizerConfig });
    const llamaMetadata = (await convertHfTokenizer(llamaDir)).metadata;
    expect(metadataValue(llamaMetadata, "tokenizer.ggml.bos_token_id")).toBe(llama.specialTokenIds["<|begin_of_text|>"]);
    expect(metadataValue(llamaMetadata, "tokenizer.ggml.eos_token_id")).toBe(llama.specialTokenIds["<|eot_id|>"]);
    expect(metadataValue(llamaMetadata, "tokenizer.ggml.padding_token_id")).toBeUndefined();
    // from the post-processor's TemplateProcessing, which starts with <|begin_of_text|>
    expect(metadataValue(llamaMetadata, "tokenizer.ggml.add_bos_token")).toBe(true);
    expect(metadataValue(llamaMetadata, "tokenizer.ggml.add_sep_token")).toBe(false);
    expect(metadataValue(llamaMetadata, "tokenizer.ggml.add_eos_token")).toBeUndefined();
  });

  it("takes ids from config.json where tokenizer_config.json names none, and eos from generation_config.json last", async () => {
    const fixture = await tinyHfTokenizer({ family: "qwen2", keepTokens: KEEP_TOKENS });
    const { eos_token: _eos, ...configWithoutEos } = fixture.tokenizerConfig;
    const endOfText = fixture.specialTokenIds["<|endoftext|>"];
    const imEnd = fixture.specialTokenIds["<|im_end|>"];
    expect(fixture.modelConfigTokenIds.bos_token_id).toBe(endOfText);
    const dir = await checkpointDir({
      "tokenizer.json": fixture.tokenizerJson,
      "tokenizer_config.json": configWithoutEos,
      "config.json": { bos_token_id: fixture.modelConfigTokenIds.bos_token_id, pad_token_id: -1, eos_token_id: [imEnd, endOfText] },
      "generation_config.json": { eos_token_id: [imEnd, endOfText] },
    });
    const metadata = (await convertHfTokenizer(dir)).metadata;
    expect(metadataValue(metadata, "tokenizer.ggml.bos_token_id")).toBe(endOfText);
    // tokenizer_config.json's pad_token stands; config.json's list-valued eos is ignored, as gguf-py does
    expect(metadataValue(metadata, "tokenizer.ggml.padding_token_id")).toBe(endOfText);
    expect(metadataValue(metadata, "tokenizer.ggml.eos_token_id")).toBe(imEnd);
  });

  it("pads to config.json's vocab_size with [PAD<id>] UNUSED tokens and refuses a vocab_size below the ids", async () => {
    const fixture = await tinyHfTokenizer({ family: "qwen2", keepTokens: KEEP_TOKENS });
    const files = { "tokenizer.json": fixture.tokenizerJson, "tokenizer_config.json": fixture.tokenizerConfig };
    const padded = await convertHfTokenizer(await checkpointDir({ ...files, "config.json": { vocab_size: fixture.vocabSize + 5 } }));
    expect(padded.vocabSize).toBe(fixture.vocabSize + 5);
    const tokens = metadataValue(padded.metadata, "tokenizer.ggml.tokens") as string[];
    const types = metadataValue(padded.metadata, "tokenizer.ggml.token_type") as Int32Array;
    expect(tokens.slice(-2)).toEqual([`[PAD${fixture.vocabSize + 3}]`, `[PAD${fixture.vocabSize + 4}]`]);
    expect(types[fixture.vocabSize + 4]).toBe(LlamaTokenType.UNUSED);

    await expectError(
      convertHfTokenizer(await checkpointDir({ ...files, "config.json": { vocab_size: fixture.vocabSize - 1 } })),
      "E_BAD_TOKENIZER",
      new RegExp(`vocab_size ${fixture.vocabSize - 1} is smaller than the tokenizer, whose ids run to ${fixture.vocabSize - 1}`),
    );
  });

  it("copies the chat template from tokenizer_config.json, else chat_template.jinja, and named templates as gguf-py does", async () => {
    const fixture = await tinyHfTokenizer({ family: "qwen2", keepTokens: KEEP_TOKENS });
    const files = { "tokenizer.json": fixture.tokenizerJson };
    const fromConfig = (await convertHfTokenizer(await checkpointDir({ ...files, "tokenizer_config.json": fixture.tokenizerConfig }))).metadata;
    expect(metadataValue(fromConfig, "tokenizer.chat_template")).toBe(fixture.tokenizerConfig.chat_template);

    const { chat_template: _template, ...configWithoutTemplate } = fixture.tokenizerConfig;
    const fromJinja = (await convertHfTokenizer(await checkpointDir({
      ...files,
      "tokenizer_config.json": configWithoutTemplate,
      "chat_template.jinja": "{{ messages[0]['content'] }}",
    }))).metadata;
    expect(metadataValue(fromJinja, "tokenizer.chat_template")).toBe("{{ messages[0]['content'] }}");

    const named = (await convertHfTokenizer(await checkpointDir({
      ...files,
      "tokenizer_config.json": {
        ...configWithoutTemplate,
        chat_template: [
          { name: "default", template: "D" },
          { name: "tool-use", template: "T" },
        ],
      },
    }))).metadata;
    expect(metadataValue(named, "tokenizer.chat_template")).toBe("D");
    expect(metadataValue(named, "tokenizer.chat_template.tool_use")).toBe("T");
    expect(metadataValue(named, "tokenizer.chat_templates")).toEqual(["tool_use"]);
  });
});

describe("pre-tokenizers llama.cpp does not know", () => {
  let alteredDir: string;
  beforeAll(async () => {
    const fixture = await tinyHfTokenizer({ family: "llama3", keepTokens: KEEP_TOKENS });
    // numbers in runs of up to 2 digits instead of Llama 3's 3
    const altered = JSON.parse(JSON.stringify(fixture.tokenizerJson).replace("\\\\p{N}{1,3}", "\\\\p{N}{1,2}"));
    expect(JSON.stringify(altered)).toContain("\\\\p{N}{1,2}");
    alteredDir = await checkpointDir({ "tokenizer.json": altered, "tokenizer_config.json": fixture.tokenizerConfig });
  });

  it("fail with E_UNKNOWN_PRE_TOKENIZER naming the hash, the option and the known names", async () => {
    const error = await expectError(convertHfTokenizer(alteredDir), "E_UNKNOWN_PRE_TOKENIZER");
    expect(error.message).toMatch(/llama\.cpp does not know this tokenizer's pre-tokenizer: its probe hash [0-9a-f]{64} is not in llama\.cpp's table/);
    expect(error.message).toContain("pass --pre-tokenizer <name> (option preTokenizer)");
    expect(error.message).toContain("qwen2");
    expect(error.message).toContain("llama-bpe");
  });

  it("convert with an explicit preTokenizer", async () => {
    const converted = await convertHfTokenizer(alteredDir, { preTokenizer: "llama-bpe" });
    expect(converted.preTokenizer).toBe("llama-bpe");
    expect(converted.preTokenizerIdentification).toEqual({ name: "llama-bpe", method: "option" });
    expect(metadataValue(converted.metadata, "tokenizer.ggml.pre")).toBe("llama-bpe");
  });

  it("reject a preTokenizer name llama.cpp does not know, and unknown options", async () => {
    await expectError(
      convertHfTokenizer(alteredDir, { preTokenizer: "llama4-ish" }),
      "E_INVALID_OPTION",
      /^convert: preTokenizer must be a pre-tokenizer name llama\.cpp knows, got "llama4-ish"; known: .*llama-bpe/,
    );
    await expectError(
      convertHfTokenizer(alteredDir, { preTokeniser: "llama-bpe" } as never),
      "E_INVALID_OPTION",
      /^convert: unknown option "preTokeniser"; known options: preTokenizer$/,
    );
  });
});

describe("tokenizers the converter does not handle", () => {
  it("names Unigram and BPE llama.cpp cannot reproduce as unsupported, and malformed files as bad", async () => {
    await expectError(convertHfTokenizer(path.join(temp.dir, "no-such-dir")), "E_INPUT_NOT_FOUND", /is not a directory/);
    await expectError(convertHfTokenizer(await checkpointDir({ "config.json": {} })), "E_INPUT_NOT_FOUND", /has no tokenizer\.json$/);
    // a tokenizer.model alone is read (convert-tokenizer-spm-model.test.ts); this one is no ModelProto
    await expectError(
      convertHfTokenizer(await checkpointDir({ "tokenizer.model": "\x00sentencepiece" })),
      "E_BAD_TOKENIZER",
      /tokenizer\.model: ModelProto has a field key 0, whose field number is not valid \(at byte 0 of 14\)/,
    );
    await expectError(
      convertHfTokenizer(await checkpointDir({ "tokenizer.json": { model: { type: "Unigram", vocab: [["<unk>", 0]] } } })),
      "E_UNSUPPORTED_TOKENIZER",
      /the tokenizer model is "Unigram"; convert handles byte-level BPE \(Llama 3, Qwen2\) and SentencePiece-style BPE with byte_fallback/,
    );
    // more SentencePiece-style variants in convert-tokenizer-spm.test.ts
    const metaspaceBpe = {
      pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: true },
      model: { type: "BPE", vocab: { "<unk>": 0, "▁": 1 }, merges: [], byte_fallback: true },
    };
    await expectError(
      convertHfTokenizer(await checkpointDir({ "tokenizer.json": metaspaceBpe })),
      "E_UNSUPPORTED_TOKENIZER",
      /a BPE tokenizer without a ByteLevel pre-tokenizer \(SentencePiece-style BPE\) must not split the text at each ▁ \(its Metaspace pre-tokenizer has split: true\)/,
    );
    await expectError(convertHfTokenizer(await checkpointDir({ "tokenizer.json": "{ not json" })), "E_BAD_TOKENIZER", /tokenizer\.json is not valid JSON/);
    // @huggingface/tokenizers builds this one and throws a TypeError on its first encode
    const llama3 = await tinyHfTokenizer({ family: "llama3", keepTokens: 300 });
    const brokenSplit = structuredClone(llama3.tokenizerJson) as { pre_tokenizer: { pretokenizers: { behavior?: unknown }[] } };
    brokenSplit.pre_tokenizer.pretokenizers[0].behavior = -1;
    await expectError(
      convertHfTokenizer(await checkpointDir({ "tokenizer.json": brokenSplit, "tokenizer_config.json": llama3.tokenizerConfig })),
      "E_UNSUPPORTED_TOKENIZER",
      /tokenizer\.json cannot be run by @huggingface\/tokenizers \(needed to identify its pre-tokenizer\): .*toLowerCase is not a function/,
    );
  });
});

describe.each(FAMILIES)("llama.cpp (node-llama-cpp) tokenizes the converted $family vocabulary as Hugging Face does", (familyCase) => {
  const { family, vocabFile, architecture, specialText } = familyCase;
  const agreementTexts = async () => [
    ...AGREEMENT_TEXTS,
    specialText,
    ...(await llamaCppTestVectors(vocabFile)).map((vector) => vector.text),
  ];

  it.each([
    ["the full vocabulary", undefined],
    [`the first ${KEEP_TOKENS} tokens`, KEEP_TOKENS],
  ])("with %s", async (_label, keepTokens) => {
    const dir = path.join(temp.dir, `agreement-${family}-${keepTokens ?? "full"}`);
    const fixture = await writeTinyHfTokenizer(dir, { family, keepTokens });
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ vocab_size: fixture.vocabSize, ...fixture.modelConfigTokenIds }));
    const converted = await convertHfTokenizer(dir);
    expect(converted.preTokenizer).toBe(fixture.llamaCppPreTokenizer);
    const ggufPath = path.join(dir, "vocab.gguf");
    await writeVocabOnlyGguf(ggufPath, architecture, converted.metadata);

    const reference = referenceTokenizer(fixture);
    const llama = await sharedLlama();
    const model = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true, gpuLayers: 0 });
    try {
      // Qwen2 names no bos in tokenizer_config.json; config.json's bos_token_id (<|endoftext|>) stands in
      expect(model.tokens.bos).toBe(fixture.bosTokenId ?? fixture.modelConfigTokenIds.bos_token_id);
      expect(model.tokens.eos).toBe(fixture.eosTokenId);
      expect(model.tokens.shouldPrependBosToken).toBe(family === "llama3");
      for (const text of await agreementTexts()) {
        const expected = reference.encode(text, { add_special_tokens: false }).ids;
        expect(Array.from(model.tokenize(text, true)), JSON.stringify(text)).toEqual(expected);
      }
      // the special-token text did go through as control tokens, not spelled out
      const specialIds = reference.encode(specialText, { add_special_tokens: false }).ids;
      for (const content of specialText.match(/<\|[a-z_]+\|>/g)!) {
        expect(specialIds).toContain(fixture.specialTokenIds[content]);
      }
    } finally {
      await model.dispose();
    }
  });
});

// every entry of the known pre-tokenizations is exercised above through a family fixture
it("has a fixture family for every known pre-tokenization", () => {
  expect(KNOWN_PRE_TOKENIZATIONS.map((known) => known.name).sort()).toEqual(["llama-bpe", "qwen2"]);
});
