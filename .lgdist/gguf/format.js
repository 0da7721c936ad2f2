/** Limits and layout rules of the GGUF container, as ggml/src/gguf.cpp applies them. */
/** "GGUF" read as the first four bytes of the file. */
export const GGUF_MAGIC = Uint8Array.of(0x47, 0x47, 0x55, 0x46);
/** The version this package writes; version 2 has the same layout and is read too. */
export const GGUF_VERSION = 3;
export const GGUF_READABLE_VERSIONS = [2, 3];
export const GGUF_KEY_ALIGNMENT = "general.alignment";
/** Tensor data is aligned to `general.alignment` (a u32 power of two), 32 when the key is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** `GGML_MAX_DIMS`: a tensor has 1 to 4 dimensions. */
export const GGML_MAX_DIMS = 4;
/** `GGML_MAX_NAME`: tensor names are stored in a 64-byte C buffer, so they must be shorter than 64 bytes. */
export const GGML_MAX_NAME_BYTES = 64;
/** `GGUF_MAX_STRING_LENGTH` and `GGUF_MAX_ARRAY_ELEMENTS` in gguf.cpp. */
export const GGUF_MAX_STRING_BYTES = 1024 * 1024 * 1024;
export const GGUF_MAX_ARRAY_ELEMENTS = 1024 * 1024 * 1024;
/** Arrays of arrays deeper than this are rejected rather than recursed into. */
export const GGUF_MAX_ARRAY_NESTING = 16;
/** `GGML_PAD(offset, alignment)`: the smallest multiple of `alignment` at or after `offset`. */
export function padToAlignment(offset, alignment) {
    const remainder = offset % alignment;
    return remainder === 0 ? offset : offset + alignment - remainder;
}
export function isPowerOfTwo(value) {
    if (!Number.isSafeInteger(value) || value <= 0)
        return false;
    let power = 1;
    while (power < value)
        power *= 2;
    return power === value;
}
//# sourceMappingURL=format.js.map