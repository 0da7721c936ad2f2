export { convertHfTokenizer, type ConvertedTokenizer, type ConvertHfTokenizerOptions } from "./convert-tokenizer.js";
export {
  detectablePreTokenizerNames,
  llamaCppPreTokenizerNames,
  PRE_TOKENIZER_PROBE_TEXT,
  preTokenizerNameForHash,
  probeHash,
  type PreTokenizerIdentification,
} from "./pre-tokenizer.js";
export { KNOWN_PRE_TOKENIZATIONS, LLAMA3_PRE_TOKENIZATION, QWEN2_PRE_TOKENIZATION, type KnownPreTokenization } from "./known-pre-tokenizers.js";
export { LlamaTokenType } from "./token-types.js";
