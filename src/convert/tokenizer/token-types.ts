/** llama_token_type values (LLAMA_TOKEN_TYPE_* in llama.h; gguf-py's TokenType), stored in tokenizer.ggml.token_type. */
export const LlamaTokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

export type LlamaTokenType = (typeof LlamaTokenType)[keyof typeof LlamaTokenType];
