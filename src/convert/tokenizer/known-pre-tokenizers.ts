import type { JsonObject } from "./hf-tokenizer-files.js";

/**
 * The normalizer and pre-tokenizer sections of released tokenizer.json files, by the llama.cpp
 * pre-tokenizer name they map to. llama.cpp's probe hash covers the whole tokenizer, vocabulary
 * included, so a checkpoint whose vocabulary was cut or retrained (a tiny test model, a vocabulary
 * extension) hashes to nothing known although llama.cpp would split its text the same way; such a
 * checkpoint is identified by splitting the probe text with its own normalizer and pre-tokenizer
 * and comparing the pieces with these. Each entry is checked, with its family's full llama.cpp
 * vocabulary, to hash to its name in llama.cpp's table (test/convert-tokenizer.test.ts).
 */
export interface KnownPreTokenization {
  /** tokenizer.ggml.pre */
  name: string;
  /** The families that ship this exact section. */
  models: string;
  normalizer: JsonObject | null;
  preTokenizer: JsonObject;
}

export const QWEN2_PRE_TOKENIZATION: KnownPreTokenization = {
  name: "qwen2",
  models: "Qwen1.5, Qwen2, Qwen2.5, Qwen3",
  normalizer: { type: "NFC" },
  preTokenizer: {
    type: "Sequence",
    pretokenizers: [
      {
        type: "Split",
        pattern: {
          Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        },
        behavior: "Isolated",
        invert: false,
      },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    ],
  },
};

export const LLAMA3_PRE_TOKENIZATION: KnownPreTokenization = {
  name: "llama-bpe",
  models: "Llama 3, 3.1, 3.2, 3.3",
  normalizer: null,
  preTokenizer: {
    type: "Sequence",
    pretokenizers: [
      {
        type: "Split",
        pattern: {
          Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        },
        behavior: "Isolated",
        invert: false,
      },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
};

export const KNOWN_PRE_TOKENIZATIONS: readonly KnownPreTokenization[] = [QWEN2_PRE_TOKENIZATION, LLAMA3_PRE_TOKENIZATION];
