import type { GgufTensorDeclaration } from "../gguf/header-encoder.js";
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
export declare const tinyLlamaDefaults: {
    readonly seed: 1;
    readonly nLayer: 2;
    readonly nEmbd: 256;
    readonly nHead: 4;
    readonly nHeadKv: 2;
    readonly nFf: 512;
    readonly nCtx: 512;
    readonly vocabSize: 4096;
    readonly weightType: "f32";
};
/** The llama.cpp checkout this package builds against: `<repo>/deps/llama.cpp` (from src/testing/ or dist/testing/). */
export declare function llamaSourceDir(): string;
/**
 * Writes a small llama-architecture GGUF with random weights and a real tokenizer, loadable and
 * runnable by llama.cpp. Returns the resolved configuration.
 */
export declare function writeTinyLlamaGguf(path: string, options?: TinyLlamaOptions): Promise<TinyLlamaConfig>;
/** Tensor names and shapes (ne order) llama.cpp's llama_model_llama::load_arch_tensors expects. */
export declare function tinyLlamaTensors(config: TinyLlamaConfig): GgufTensorDeclaration[];
