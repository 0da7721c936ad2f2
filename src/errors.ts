/**
 * Every error code, the one list: the type below, the native addon's codes (native.ts) and the
 * tests that check each failure path carries one all read it.
 */
export const LORA_GGUF_ERROR_CODES = [
  /** An option has the wrong type, is out of range or is not known. */
  "E_INVALID_OPTION",
  /** The input file does not exist or cannot be read. */
  "E_INPUT_NOT_FOUND",
  /** The file is not a GGUF file, or its header or tensor table is corrupt or truncated. */
  "E_BAD_GGUF",
  /** The file is a GGUF but not what the operation needs (an adapter where a model is expected, ...). */
  "E_WRONG_KIND",
  /** The quantization type name is not one llama.cpp offers. */
  "E_UNKNOWN_TYPE",
  /** The quantization type needs an importance matrix, which was not given. */
  "E_NEEDS_IMATRIX",
  /** The input is already quantized and requantizing was not allowed. */
  "E_REQUANTIZE",
  /** A LoRA adapter does not fit the base model (architecture, tensor names or shapes). */
  "E_ADAPTER_MISMATCH",
  /** A training checkpoint is unreadable or does not fit the run being resumed. */
  "E_BAD_CHECKPOINT",
  /** The model would not fit in memory for training with these options. */
  "E_OOM_ESTIMATE",
  /** The model stores a matrix in a type the trainer cannot differentiate through (an integer or f64 type), or an adapter factor in a type PEFT has no dtype for. */
  "E_UNSUPPORTED_TYPE",
  /** A checkpoint tensor's dtype cannot be converted (F32, F16 and BF16 can). */
  "E_UNSUPPORTED_DTYPE",
  /** A PEFT adapter of a kind llama.cpp cannot run (DoRA, non-LoRA, embedding or unknown targets), or a GGUF adapter PEFT cannot express (unknown targets, mixed ranks). */
  "E_UNSUPPORTED_ADAPTER",
  /** The output would break a limit of the platform it is exported for (Cloudflare Workers AI: rank, file size, model family). */
  "E_TARGET_UNSUPPORTED",
  /** A Hugging Face checkpoint directory is incomplete or inconsistent (config.json, index, shapes). */
  "E_BAD_CHECKPOINT_DIR",
  /** The model's architecture is not one the trainer supports yet. */
  "E_UNSUPPORTED_ARCH",
  /** The output path exists and `force` was not set. */
  "E_OUTPUT_EXISTS",
  /** The output's directory does not exist or is not writable. */
  "E_OUTPUT_DIR",
  /** The operation was cancelled through its AbortSignal. */
  "E_ABORTED",
  /** The native addon could not be loaded or built. */
  "E_NATIVE_LOAD",
  /** llama.cpp reported a failure the checks before it did not catch. */
  "E_NATIVE",
  /** A training data file cannot be used: a bad record (named by file:line), mixed formats, unreadable CSV/JSON, or no usable record. */
  "E_BAD_DATASET",
  /** A chat template does not parse, fails while rendering, or renders in a way the assistant spans cannot be located in. */
  "E_CHAT_TEMPLATE",
  /** A safetensors file is not one: a bad header length, unparsable or invalid header JSON, an unknown dtype, tensor offsets that overlap or run past the end (truncated), or a sharded index naming a tensor its shard lacks. */
  "E_BAD_SAFETENSORS",
  /**
   * A checkpoint's BPE pre-tokenizer is not one llama.cpp knows (its probe hash is not in llama.cpp's
   * table); name it with the `preTokenizer` option (`--pre-tokenizer`) if you know which it matches.
   */
  "E_UNKNOWN_PRE_TOKENIZER",
  /** A checkpoint's tokenizer is of a kind the converter does not handle (Unigram, WordPiece, BPE without byte fallback or byte-level encoding, in tokenizer.json or tokenizer.model). */
  "E_UNSUPPORTED_TOKENIZER",
  /** tokenizer.json, tokenizer.model or a file beside them is malformed, or contradicts config.json (token ids past vocab_size, ...). */
  "E_BAD_TOKENIZER",
  /** An Ollama Modelfile does not parse (an unknown command, an unterminated quote, no FROM line), or a value cannot be written in one. */
  "E_BAD_MODELFILE",
  /** A studio request without its access token, or with another one. */
  "E_UNAUTHORIZED",
] as const;

/** Stable error codes. Callers switch on `code`; messages may improve over time. */
export type LoraGgufErrorCode = (typeof LORA_GGUF_ERROR_CODES)[number];

const knownCodes = new Set<string>(LORA_GGUF_ERROR_CODES);

/** Whether `code` is one of ours (the native addon raises them by name). */
export function isLoraGgufErrorCode(code: unknown): code is LoraGgufErrorCode {
  return typeof code === "string" && knownCodes.has(code);
}

export class LoraGgufError extends Error {
  readonly code: LoraGgufErrorCode;

  constructor(code: LoraGgufErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LoraGgufError";
    this.code = code;
  }
}

export function isLoraGgufError(value: unknown, code?: LoraGgufErrorCode): value is LoraGgufError {
  return value instanceof LoraGgufError && (code === undefined || value.code === code);
}
