import type { GgufTensorDeclaration } from "../gguf/header-encoder.js";
import { tinyModelDefaults, tinyModelTensors, writeTinyModelGguf } from "./tiny-model.js";

export { llamaSourceDir } from "./llama-source-dir.js";

export interface TinyLlamaOptions {
  /** PRNG seed; the same seed (and options) gives a byte-identical file. Default 1. */
  seed?: number;
  /** Transformer blocks. Default 2. */
  nLayer?: number;
  /** Hidden size. Default 256. */
  nEmbd?: number;
  /** Attention heads; nEmbd / nHead is the head size (must be even for RoPE). Default 4. */
  nHead?: number;
  /** Key/value heads (grouped-query attention); must divide nHead. Default 2. */
  nHeadKv?: number;
  /** Feed-forward size. Default 512. */
  nFf?: number;
  /** Training context length written to llama.context_length. Default 512. */
  nCtx?: number;
  /** Tokens kept from the source vocabulary (its first `vocabSize` ids). Default 4096. */
  vocabSize?: number;
  /** Vocab-only GGUF to take the tokenizer from. Default: llama.cpp's models/ggml-vocab-llama-spm.gguf. */
  vocabPath?: string;
  /** Storage type of the weight matrices; norms are always f32. Default "f32". */
  weightType?: "f32" | "f16";
  /** Written to tokenizer.chat_template when given. */
  chatTemplate?: string;
}

export interface TinyLlamaConfig extends Required<Omit<TinyLlamaOptions, "chatTemplate">> {
  chatTemplate: string | undefined;
}

export const tinyLlamaDefaults = tinyModelDefaults;

/**
 * Writes a small llama-architecture GGUF with random weights and a real tokenizer, loadable and
 * runnable by llama.cpp: writeTinyModelGguf with architecture "llama". Returns the resolved configuration.
 */
export async function writeTinyLlamaGguf(path: string, options: TinyLlamaOptions = {}): Promise<TinyLlamaConfig> {
  return writeTinyModelGguf(path, { ...options, architecture: "llama" });
}

/** Tensor names and shapes (ne order) llama.cpp's llama_model_llama::load_arch_tensors expects. */
export function tinyLlamaTensors(config: TinyLlamaConfig): GgufTensorDeclaration[] {
  return tinyModelTensors({ ...config, architecture: "llama", headDim: undefined, tiedEmbeddings: false });
}
