import { type GgufMetadataEntry, type GgufValue } from "./value-types.js";
export interface GgufTensorInfo {
    name: string;
    /** Shape in ggml's ne order (ne[0], the row length, first), as stored in the file. */
    dims: number[];
    /** The ggml_type id (see GGML_TYPES). */
    type: number;
    /** Offset of the tensor's data from the start of the data section. */
    offset: number;
    byteSize: number;
    /** Offset of the tensor's data from the start of the file. */
    absoluteOffset: number;
}
export interface GgufHeader {
    version: number;
    /** Key-value pairs in file order. */
    metadata: GgufMetadataEntry[];
    metadataByKey: Map<string, GgufMetadataEntry>;
    /** Tensor infos in file order. */
    tensors: GgufTensorInfo[];
    alignment: number;
    /** Absolute offset where the tensor data section starts. */
    dataOffset: number;
    fileSize: number;
}
export interface ReadGgufHeaderOptions {
    /** Bytes read from disk per refill of the header buffer. Default 1 MiB. */
    chunkBytes?: number;
}
/**
 * Reads and validates the header of a GGUF file (metadata and tensor infos) without reading the
 * tensor data. Rejects with LoraGgufError E_INPUT_NOT_FOUND when the file cannot be opened and
 * E_BAD_GGUF when it is not a GGUF file, is truncated, or breaks a rule ggml's gguf.cpp enforces.
 */
export declare function readGgufHeader(path: string, options?: ReadGgufHeaderOptions): Promise<GgufHeader>;
/** The value stored under `key`, or undefined when the header has no such key. */
export declare function getMetadataValue(header: Pick<GgufHeader, "metadataByKey">, key: string): GgufValue | undefined;
