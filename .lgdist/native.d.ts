/** Root of the lora-gguf package: one level above src/ (vitest) and dist/ (compiled). */
export declare const packageRoot: string;
export interface NativeBuildInfo {
    llamaCommit: string;
    /** Comma-separated names of our patches applied to llama.cpp. */
    llamaPatches: string;
    cuda: boolean;
    systemInfo: string;
}
export interface NativeQuantizeOptions {
    inputPath: string;
    outputPath: string;
    ftype: number;
    threads: number;
    allowRequantize: boolean;
    quantizeOutputTensor: boolean;
    pure: boolean;
    onlyCopy: boolean;
}
export interface NativeQuantizeProgress {
    tensorsDone: number;
    tensorsTotal: number;
    tensorName: string;
}
/** A running native operation: its result, and a way to ask the worker to stop. */
export interface NativeJob<T> {
    promise: Promise<T>;
    cancel(): void;
}
/** llama.cpp's own reading of a GGUF header (gguf_init_from_file); for cross-checks. */
export interface LlamaGgufView {
    version: number;
    alignment: number;
    dataOffset: number;
    metadata: {
        key: string;
        type: number;
        arrayType?: number;
        value: unknown;
    }[];
    tensors: {
        name: string;
        type: number;
        offset: number;
        byteSize: number;
        ne: number[];
    }[];
}
export interface NativeBinding {
    buildInfo(): NativeBuildInfo;
    quantize(options: NativeQuantizeOptions, onProgress?: (progress: NativeQuantizeProgress) => void): NativeJob<{
        tensorCount: number;
    }>;
    readGgufWithLlama(path: string): LlamaGgufView;
}
/** Loads the addon synchronously; throws E_NATIVE_LOAD if there is neither a prebuild nor a local build. */
export declare function loadNativeSync(): NativeBinding;
/**
 * Loads the addon; when none exists (npm skipped our install script, say) and the source can be
 * built here, builds it once, telling the user on stderr. LORA_GGUF_NO_BUILD=1 turns that off.
 */
export declare function loadNative(): Promise<NativeBinding>;
/**
 * Awaits a native job, cancelling it when `signal` aborts. Errors become LoraGgufErrors that carry
 * the caller's stack (captured before the async hop, as sharp does), and an abort rejects with
 * `signal.reason`.
 */
export declare function runNativeJob<T>(start: () => NativeJob<T>, signal: AbortSignal | undefined, callerStack: string | undefined): Promise<T>;
