// Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json) rebuilt from llama.cpp's
// vocab-only GGUFs, for checkpoints made in tests: the vocabulary, merges and special tokens are the
// released models', and the rest of the files is laid out as those models ship them.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { LoraGgufError } from "../errors.js";
import { LLAMA3_PRE_TOKENIZATION, QWEN2_PRE_TOKENIZATION, type KnownPreTokenization } from "../convert/tokenizer/known-pre-tokenizers.js";
import { LlamaTokenType } from "../convert/tokenizer/token-types.js";
import { readGgufHeader } from "../gguf/reader.js";
import { llamaSourceDir } from "./llama-source-dir.js";

type JsonObject = Record<string, unknown>;

export type TinyHfTokenizerFamily = "qwen2" | "llama3";

export const tinyHfTokenizerFamilies: readonly TinyHfTokenizerFamily[] = ["qwen2", "llama3"];

export interface TinyHfTokenizerOptions {
  family: TinyHfTokenizerFamily;
  /**
   * Regular tokens kept: the source vocabulary's first `keepTokens` ids, at least its 256
   * byte-alphabet tokens. Merges are kept when both parts and their result are; the special tokens
   * follow, renumbered from `keepTokens`, as small models lay them out. Default: every token.
   */
  keepTokens?: number;
  /** model.merges as "a b" strings or as [a, b] pairs (what transformers 4.45 and later save). Default "pairs". */
  mergesForm?: "strings" | "pairs";
  /** tokenizer_config.json's chat_template; null leaves it out. Default: the family's (ChatML for qwen2, Llama 3 Instruct's for llama3). */
  chatTemplate?: string | null;
  /** The vocab-only GGUF to take the vocabulary from. Default: llama.cpp's models/ggml-vocab-qwen2.gguf or ggml-vocab-llama-bpe.gguf. */
  vocabPath?: string;
}

export interface TinyHfTokenizer {
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
  /** Ids in use (regular tokens kept plus special tokens): the least vocab_size for config.json. */
  vocabSize: number;
  /** Special token ids by text ("<|im_start|>": 4099, ...). */
  specialTokenIds: Record<string, number>;
  bosTokenId: number | undefined;
  eosTokenId: number;
  padTokenId: number | undefined;
  /**
   * The *_token_id keys the family's config.json carries (Qwen2: bos and eos; Llama 3: bos and eos),
   * for a checkpoint writer to put there; llama.cpp's converter reads bos from them where
   * tokenizer_config.json names none, as Qwen2's does.
   */
  modelConfigTokenIds: Record<string, number>;
  /** tokenizer.ggml.pre of the source vocabulary: the name this tokenizer should be identified as. */
  llamaCppPreTokenizer: string;
}

/** Qwen2-Instruct's ChatML template. */
export const QWEN2_CHAT_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Llama 3 Instruct's template. */
export const LLAMA3_CHAT_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}" +
  "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}" +
  "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

interface FamilySpec {
  vocabFile: string;
  preTokenization: KnownPreTokenization;
  chatTemplate: string;
  bosToken: string | null;
  eosToken: string;
  padToken: string | null;
  /** config.json's bos_token_id and eos_token_id, as token texts. */
  modelConfigBos: string;
  modelConfigEos: string;
  /** tokenizer.json sections besides the vocabulary, as the family ships them. */
  postProcessor(specialTokenIds: Record<string, number>): JsonObject;
  decoder: JsonObject;
  modelFields: JsonObject;
  /** tokenizer_config.json keys besides the special tokens and the template. */
  configFields: JsonObject;
}

const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean, useRegex: boolean): JsonObject => ({
  type: "ByteLevel",
  add_prefix_space: addPrefixSpace,
  trim_offsets: trimOffsets,
  use_regex: useRegex,
});

const FAMILIES: Record<TinyHfTokenizerFamily, FamilySpec> = {
  qwen2: {
    vocabFile: "ggml-vocab-qwen2.gguf",
    preTokenization: QWEN2_PRE_TOKENIZATION,
    chatTemplate: QWEN2_CHAT_TEMPLATE,
    bosToken: null,
    eosToken: "<|im_end|>",
    padToken: "<|endoftext|>",
    modelConfigBos: "<|endoftext|>",
    modelConfigEos: "<|im_end|>",
    postProcessor: () => byteLevel(false, false, false),
    decoder: byteLevel(false, false, false),
    modelFields: { continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false },
    configFields: {
      add_bos_token: false,
      add_prefix_space: false,
      additional_special_tokens: ["<|im_start|>", "<|im_end|>"],
      clean_up_tokenization_spaces: false,
      errors: "replace",
      model_max_length: 32768,
      split_special_tokens: false,
      tokenizer_class: "Qwen2Tokenizer",
      unk_token: null,
    },
  },
  llama3: {
    vocabFile: "ggml-vocab-llama-bpe.gguf",
    preTokenization: LLAMA3_PRE_TOKENIZATION,
    chatTemplate: LLAMA3_CHAT_TEMPLATE,
    bosToken: "<|begin_of_text|>",
    eosToken: "<|eot_id|>",
    padToken: null,
    modelConfigBos: "<|begin_of_text|>",
    modelConfigEos: "<|eot_id|>",
    postProcessor: (ids) => {
      const bos = "<|begin_of_text|>";
      const special = (typeId: number) => ({ SpecialToken: { id: bos, type_id: typeId } });
      const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
      return {
        type: "Sequence",
        processors: [
          byteLevel(true, false, true),
          {
            type: "TemplateProcessing",
            single: [special(0), sequence("A", 0)],
            pair: [special(0), sequence("A", 0), special(1), sequence("B", 1)],
            special_tokens: { [bos]: { id: bos, ids: [ids[bos]], tokens: [bos] } },
          },
        ],
      };
    },
    decoder: byteLevel(true, true, true),
    modelFields: { continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true },
    configFields: {
      clean_up_tokenization_spaces: true,
      model_input_names: ["input_ids", "attention_mask"],
      model_max_length: 131072,
      tokenizer_class: "PreTrainedTokenizerFast",
    },
  },
};

interface SourceVocab {
  /** The leading run of NORMAL tokens. */
  regular: string[];
  /** CONTROL tokens, in id order. */
  special: string[];
  merges: string[];
  pre: string;
  /** The largest id among the 256 byte-alphabet tokens. */
  lastByteToken: number;
}

const sourceCache = new Map<string, Promise<SourceVocab>>();

/** The tokenizer files for `options.family`, as objects. */
export async function tinyHfTokenizer(options: TinyHfTokenizerOptions): Promise<TinyHfTokenizer> {
  const spec = FAMILIES[options.family];
  if (spec === undefined) {
    throw new LoraGgufError("E_INVALID_OPTION", `family must be one of ${tinyHfTokenizerFamilies.join(", ")}, got ${String(options.family)}`);
  }
  const vocabPath = options.vocabPath ?? path.join(llamaSourceDir(), "models", spec.vocabFile);
  let source = sourceCache.get(vocabPath);
  if (source === undefined) {
    source = readSourceVocab(vocabPath);
    sourceCache.set(vocabPath, source);
    source.catch(() => sourceCache.delete(vocabPath));
  }
  const { regular, special, merges, pre, lastByteToken } = await source;

  const keep = options.keepTokens ?? regular.length;
  if (!Number.isSafeInteger(keep) || keep <= 0 || keep > regular.length) {
    throw new LoraGgufError("E_INVALID_OPTION", `keepTokens must be an integer from 1 to ${regular.length}, got ${String(options.keepTokens)}`);
  }
  if (lastByteToken >= keep) {
    throw new LoraGgufError("E_INVALID_OPTION", `keepTokens ${keep} would drop byte-level tokens; keep at least ${lastByteToken + 1}`);
  }

  const vocab: Record<string, number> = {};
  for (let id = 0; id < keep; id++) vocab[regular[id]] = id;
  const keptMerges = keep === regular.length
    ? merges
    : merges.filter((merge) => {
        const [left, right] = splitMerge(merge);
        return left in vocab && right in vocab && left + right in vocab;
      });
  const specialTokenIds: Record<string, number> = {};
  special.forEach((content, index) => (specialTokenIds[content] = keep + index));

  const addedTokens = special.map((content) => specialAddedToken(content, specialTokenIds[content]));
  const tokenizerJson: JsonObject = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: spec.preTokenization.normalizer,
    pre_tokenizer: spec.preTokenization.preTokenizer,
    post_processor: spec.postProcessor(specialTokenIds),
    decoder: spec.decoder,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      ...spec.modelFields,
      vocab,
      merges: (options.mergesForm ?? "pairs") === "pairs" ? keptMerges.map(splitMerge) : keptMerges,
    },
  };

  const chatTemplate = options.chatTemplate === undefined ? spec.chatTemplate : options.chatTemplate;
  const addedTokensDecoder = Object.fromEntries(addedTokens.map(({ id, ...token }) => [String(id), token]));
  const tokenizerConfig: JsonObject = {
    ...spec.configFields,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: spec.bosToken,
    eos_token: spec.eosToken,
    ...(spec.padToken === null ? {} : { pad_token: spec.padToken }),
    ...(chatTemplate === null ? {} : { chat_template: chatTemplate }),
  };

  const idOf = (content: string | null) => (content === null ? undefined : specialTokenIds[content]);
  return {
    tokenizerJson,
    tokenizerConfig,
    vocabSize: keep + special.length,
    specialTokenIds,
    bosTokenId: idOf(spec.bosToken),
    eosTokenId: specialTokenIds[spec.eosToken],
    padTokenId: idOf(spec.padToken),
    modelConfigTokenIds: { bos_token_id: specialTokenIds[spec.modelConfigBos], eos_token_id: specialTokenIds[spec.modelConfigEos] },
    llamaCppPreTokenizer: pre,
  };
}

/** The tokenizer's files by name, as text (for writeTinyHfCheckpoint's tokenizerFiles). */
export function tinyHfTokenizerFiles(tokenizer: TinyHfTokenizer): Record<string, string> {
  return {
    "tokenizer.json": JSON.stringify(tokenizer.tokenizerJson, null, 2),
    "tokenizer_config.json": JSON.stringify(tokenizer.tokenizerConfig, null, 2),
  };
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (created if missing). */
export async function writeTinyHfTokenizer(dir: string, options: TinyHfTokenizerOptions): Promise<TinyHfTokenizer> {
  const tokenizer = await tinyHfTokenizer(options);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(tinyHfTokenizerFiles(tokenizer))) {
    await writeFile(path.join(dir, name), content);
  }
  return tokenizer;
}

/** GPT-2's byte-level alphabet: the character standing for each byte value. */
const BYTE_ALPHABET: readonly string[] = (() => {
  const printable = (from: string, to: string) => Array.from({ length: to.charCodeAt(0) - from.charCodeAt(0) + 1 }, (_, i) => from.charCodeAt(0) + i);
  const direct = new Set([...printable("!", "~"), ...printable("\u00A1", "\u00AC"), ...printable("\u00AE", "\u00FF")]);
  let next = 256;
  return Array.from({ length: 256 }, (_, byte) => String.fromCharCode(direct.has(byte) ? byte : next++));
})();

/** "a b" → ["a", "b"]; byte-level tokens hold no space, so the first one separates the parts. */
function splitMerge(merge: string): [string, string] {
  const space = merge.indexOf(" ");
  return [merge.slice(0, space), merge.slice(space + 1)];
}

async function readSourceVocab(vocabPath: string): Promise<SourceVocab> {
  const header = await readGgufHeader(vocabPath);
  const tokens = header.metadataByKey.get("tokenizer.ggml.tokens")?.value;
  const types = header.metadataByKey.get("tokenizer.ggml.token_type")?.value;
  const merges = header.metadataByKey.get("tokenizer.ggml.merges")?.value;
  const pre = header.metadataByKey.get("tokenizer.ggml.pre")?.value;
  if (!Array.isArray(tokens) || !(types instanceof Int32Array) || !Array.isArray(merges) || typeof pre !== "string") {
    throw new LoraGgufError("E_WRONG_KIND", `${vocabPath} is not a BPE vocabulary GGUF (tokenizer.ggml.tokens, token_type, merges and pre)`);
  }
  const firstOther = types.findIndex((type) => type !== LlamaTokenType.NORMAL);
  const regularCount = firstOther < 0 ? types.length : firstOther;
  const regular = (tokens as string[]).slice(0, regularCount);
  const special = (tokens as string[]).filter((_, id) => types[id] === LlamaTokenType.CONTROL);
  const idByToken = new Map(regular.map((token, id) => [token, id]));
  const byteIds = BYTE_ALPHABET.map((char) => idByToken.get(char));
  if (byteIds.some((id) => id === undefined)) {
    throw new LoraGgufError("E_WRONG_KIND", `${vocabPath} lacks some of the 256 byte-alphabet tokens of a byte-level BPE vocabulary`);
  }
  return { regular, special, merges: merges as string[], pre, lastByteToken: Math.max(...(byteIds as number[])) };
}

/** A tokenizer.json added_tokens entry for a special token, as transformers writes one. */
export function specialAddedToken(content: string, id: number) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}
