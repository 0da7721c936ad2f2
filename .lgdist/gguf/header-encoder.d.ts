import { type GgufMetadataEntry } from "./value-types.js";
/** A tensor as declared before its data is written. */
export interface GgufTensorDeclaration {
    name: string;
    /** Shape in ggml's ne order (row length first), written as given. */
    dims: readonly number[];
    /** The ggml_type id. */
    type: number;
}
export interface GgufHeaderLayoutOptions {
    /** GGUF version written in the header: 3 (default) or 2, which has the same layout. */
    version?: number;
    /**
     * gguf.cpp pads the header to the alignment even when there are no tensors (the default, true);
     * gguf-py's vocab-only writer does not. Readers ignore this padding either way.
     */
    padHeaderWithoutTensors?: boolean;
}
export interface GgufPlannedTensor extends GgufTensorDeclaration {
    /** Offset from the start of the data section. */
    offset: number;
    byteSize: number;
}
export interface EncodedGgufHeader {
    /** Everything before the tensor data: magic, version, counts, metadata, tensor infos and padding. */
    bytes: Uint8Array;
    alignment: number;
    /** Absolute offset of the tensor data section (equal to `bytes.length`). */
    dataOffset: number;
    tensors: GgufPlannedTensor[];
    /** Size of the complete file: the header plus every tensor padded to the alignment. */
    fileSize: number;
}
/**
 * Validates metadata and tensor declarations and serialises them exactly as gguf.cpp's
 * `gguf_write_out` does: header, key-value pairs and tensor infos in the given order, tensor
 * offsets packed in order with each tensor padded to the alignment. Throws E_INVALID_OPTION for
 * anything gguf.cpp would refuse to read back.
 */
export declare function encodeGgufHeader(metadata: readonly GgufMetadataEntry[], tensors: readonly GgufTensorDeclaration[], options?: GgufHeaderLayoutOptions): EncodedGgufHeader;
