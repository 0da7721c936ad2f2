// The tokens a model ends its turn with, read from the GGUF's tokenizer metadata the way llama.cpp
// builds its end-of-generation set (deps/llama.cpp/src/llama-vocab.cpp, special_eog_ids).
import { LoraGgufError } from "../errors.js";
import type { GgufHeader } from "../gguf/reader.js";

/** llama_token_type: tokens a vocabulary adds beyond its learned pieces. */
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_USER_DEFINED = 4;

/** The texts llama.cpp marks as end-of-generation whatever the metadata says (its special_eog_ids list). */
const END_OF_GENERATION_TEXTS = new Set([
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<|return|>",
  "<|call|>",
  "<|flush|>",
  "<|calls|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "</s>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "[EOT]",
  "[EOS]",
  "<|end_of_text|>",
  "<end_of_utterance>",
  "<eos>",
  "<turn|>",
  "<｜end▁of▁sentence｜>",
]);

const SPECIAL_ID_KEYS = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"];

export interface VocabularyToken {
  id: number;
  text: string;
}

/** tokenizer.ggml.tokens, or E_BAD_GGUF when the model has no vocabulary. */
export function vocabularyTokens(header: Pick<GgufHeader, "metadataByKey">, where: string): string[] {
  const tokens = header.metadataByKey.get("tokenizer.ggml.tokens")?.value;
  if (!Array.isArray(tokens) || tokens.some((token) => typeof token !== "string")) {
    throw new LoraGgufError("E_BAD_GGUF", `${where}: the model has no tokenizer.ggml.tokens string array`);
  }
  return tokens as string[];
}

/** The text of the token whose id `key` holds, or undefined when the key is absent or out of range. */
export function specialTokenText(header: Pick<GgufHeader, "metadataByKey">, tokens: readonly string[], key: string): string | undefined {
  const id = header.metadataByKey.get(key)?.value;
  return typeof id === "number" && Number.isInteger(id) && id >= 0 && id < tokens.length ? tokens[id] : undefined;
}

/**
 * The end-of-generation tokens, by id: EOS, EOT and EOM from the metadata, then every control or
 * user-defined token whose text llama.cpp treats as the end of a turn (<|im_end|>, <|eot_id|>, </s>,
 * <|end|>, ...). As in llama.cpp, <|end|> is not one when the vocabulary has both <|return|> and
 * <|call|> (gpt-oss ends messages with <|end|> mid-turn).
 */
export function endOfGenerationTokens(header: Pick<GgufHeader, "metadataByKey">, where: string): VocabularyToken[] {
  const tokens = vocabularyTokens(header, where);
  const types = header.metadataByKey.get("tokenizer.ggml.token_type")?.value;
  const typeOf = (id: number) => (types instanceof Int32Array && id < types.length ? types[id] : undefined);
  const ids = new Set<number>();
  for (const key of SPECIAL_ID_KEYS) {
    const id = header.metadataByKey.get(key)?.value;
    if (typeof id === "number" && Number.isInteger(id) && id >= 0 && id < tokens.length) ids.add(id);
  }
  const hasToken = new Set<string>();
  tokens.forEach((text, id) => {
    const type = typeOf(id);
    if (END_OF_GENERATION_TEXTS.has(text) && (type === TOKEN_TYPE_CONTROL || type === TOKEN_TYPE_USER_DEFINED)) {
      ids.add(id);
      hasToken.add(text);
    }
  });
  const endIsMidTurn = hasToken.has("<|return|>") && hasToken.has("<|call|>");
  return [...ids]
    .sort((a, b) => a - b)
    .map((id) => ({ id, text: tokens[id] }))
    .filter((token) => !(endIsMidTurn && token.text === "<|end|>"));
}
