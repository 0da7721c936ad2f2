export interface QuantizeProgress {
    tensorsDone: number;
    tensorsTotal: number;
    /** The tensor just written. */
    tensorName: string;
    /** tensorsDone / tensorsTotal, 0..1. */
    fraction: number;
}
export interface QuantizeOptions {
    /** Output type, by llama.cpp's name, case-insensitive: "q4_k_m", "q8_0", "f16", ... (see `quantizationTypes`). */
    type: string;
    /** Worker threads. Default: the number of CPUs. */
    threads?: number;
    /** Overwrite an existing output file. Default false. */
    force?: boolean;
    /** Allow quantizing tensors that are already quantized (loses quality). Default false. */
    allowRequantize?: boolean;
    /** Leave output.weight in its input type. Default false (it is quantized, as llama-quantize does). */
    leaveOutputTensor?: boolean;
    /** Use the type for every tensor, without llama.cpp's per-tensor mixes (q4_k_m's q6_k tensors, ...). Default false. */
    pure?: boolean;
    signal?: AbortSignal;
    /** Called after each tensor is written, on the JS thread. */
    onProgress?: (progress: QuantizeProgress) => void;
}
export interface QuantizeResult {
    output: string;
    /** Canonical name of the type written, e.g. "Q4_K_M". */
    type: string;
    /** llama_ftype written to general.file_type. */
    ftype: number;
    tensorCount: number;
    inputBytes: number;
    outputBytes: number;
    seconds: number;
}
/** Quantizes (or converts) a GGUF model with llama.cpp's llama_model_quantize, off the JS thread. */
export declare function quantize(input: string, output: string, options: QuantizeOptions): Promise<QuantizeResult>;
