/** Limits and layout rules of the GGUF container, as ggml/src/gguf.cpp applies them. */
/** "GGUF" read as the first four bytes of the file. */
export declare const GGUF_MAGIC: Uint8Array<ArrayBuffer>;
/** The version this package writes; version 2 has the same layout and is read too. */
export declare const GGUF_VERSION = 3;
export declare const GGUF_READABLE_VERSIONS: readonly number[];
export declare const GGUF_KEY_ALIGNMENT = "general.alignment";
/** Tensor data is aligned to `general.alignment` (a u32 power of two), 32 when the key is absent. */
export declare const GGUF_DEFAULT_ALIGNMENT = 32;
/** `GGML_MAX_DIMS`: a tensor has 1 to 4 dimensions. */
export declare const GGML_MAX_DIMS = 4;
/** `GGML_MAX_NAME`: tensor names are stored in a 64-byte C buffer, so they must be shorter than 64 bytes. */
export declare const GGML_MAX_NAME_BYTES = 64;
/** `GGUF_MAX_STRING_LENGTH` and `GGUF_MAX_ARRAY_ELEMENTS` in gguf.cpp. */
export declare const GGUF_MAX_STRING_BYTES: number;
export declare const GGUF_MAX_ARRAY_ELEMENTS: number;
/** Arrays of arrays deeper than this are rejected rather than recursed into. */
export declare const GGUF_MAX_ARRAY_NESTING = 16;
/** `GGML_PAD(offset, alignment)`: the smallest multiple of `alignment` at or after `offset`. */
export declare function padToAlignment(offset: number, alignment: number): number;
export declare function isPowerOfTwo(value: number): boolean;
