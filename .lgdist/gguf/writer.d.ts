import { type GgufHeaderLayoutOptions, type GgufPlannedTensor, type GgufTensorDeclaration } from "./header-encoder.js";
import type { GgufMetadataEntry } from "./value-types.js";
export interface GgufWriterInit extends GgufHeaderLayoutOptions {
    /** Key-value pairs, written in this order. */
    metadata: readonly GgufMetadataEntry[];
    /** Tensor infos, written in this order; their data must then be written in the same order. */
    tensors: readonly GgufTensorDeclaration[];
}
/**
 * Writes a GGUF file front to back: the header (metadata and tensor infos, with every tensor's
 * offset computed up front) on creation, then each tensor's data in declaration order, each
 * followed by zero padding to the alignment, byte for byte as gguf.cpp writes it.
 *
 * Output goes to `<path>.tmp-<pid>-<random>` and is renamed onto `path` by `finish()`; any error
 * (including a tensor written out of order or with the wrong length) deletes the temporary file.
 */
export declare class GgufWriter {
    private readonly output;
    private readonly header;
    private nextTensor;
    private state;
    private readonly zeroChunk;
    private constructor();
    /** Validates the declarations, creates the temporary file and writes the header. */
    static create(path: string, init: GgufWriterInit): Promise<GgufWriter>;
    get path(): string;
    get alignment(): number;
    /** Absolute offset of the tensor data section. */
    get dataOffset(): number;
    /** The declared tensors with their data offsets and byte sizes. */
    get tensors(): readonly GgufPlannedTensor[];
    /** Size the finished file will have. */
    get fileSize(): number;
    /** Writes the data of the next declared tensor; `data` is viewed as raw bytes (little-endian). */
    writeTensorData(name: string, data: ArrayBufferView): Promise<void>;
    /** Checks every declared tensor was written, then moves the file into place. */
    finish(): Promise<void>;
    /** Gives up on the file and deletes the temporary output. Safe to call at any time. */
    abort(): Promise<void>;
    private requireOpen;
    private writeZeros;
    private guard;
}
export interface GgufTensorWithData extends GgufTensorDeclaration {
    /** The tensor's raw bytes, `tensorByteSize(type, dims)` long. */
    data: ArrayBufferView;
}
export interface WriteGgufFileContent extends GgufHeaderLayoutOptions {
    metadata: readonly GgufMetadataEntry[];
    tensors: readonly GgufTensorWithData[];
}
/** Writes a whole GGUF file atomically from in-memory tensors. */
export declare function writeGgufFile(path: string, content: WriteGgufFileContent): Promise<void>;
