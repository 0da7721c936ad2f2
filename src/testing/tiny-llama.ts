import type { GgufTensorDeclaration } from "../gguf/header-encoder.js";
import { tinyModelDefaults, tinyModelTensors, writeTinyModelGguf, type TinyModelOptions } from "./tiny-model.js";

export { llamaSourceDir } from "./llama-source-dir.js";

/** writeTinyModelGguf's options for the llama architecture (head size nEmbd / nHead, untied output). */
export type TinyLlamaOptions = Omit<TinyModelOptions, "architecture" | "headDim" | "tiedEmbeddings" | "slidingWindow" | "slidingWindowPattern">;

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
  return tinyModelTensors({ ...config, architecture: "llama", headDim: undefined, tiedEmbeddings: false, slidingWindow: undefined, slidingWindowPattern: undefined });
}
