/**
 * IEEE binary16 and bfloat16 conversions, bit-exact with ggml: float32 → f16 rounds to nearest
 * even and overflows to infinity (NaN becomes the quiet NaN 0x7E00 with the sign kept, as in
 * `ggml_compute_fp32_to_fp16`); float32 → bf16 rounds to nearest even and keeps NaNs quiet
 * (`ggml_compute_fp32_to_bf16`).
 */
/** The f16 bit pattern of a float32 bit pattern. */
export declare function float16BitsFromFloat32Bits(bits: number): number;
/** The float32 bit pattern of an f16 bit pattern (exact: every half is a float32). */
export declare function float32BitsFromFloat16Bits(half: number): number;
export declare function float32ToFloat16(value: number): number;
export declare function float16ToFloat32(half: number): number;
/** The bf16 bit pattern of a float32 bit pattern. */
export declare function bfloat16BitsFromFloat32Bits(bits: number): number;
export declare function float32ToBfloat16(value: number): number;
export declare function bfloat16ToFloat32(bits: number): number;
/** Converts every element to f16 bits (a tensor of type f16 is these values, little-endian). */
export declare function float32ArrayToFloat16(values: Float32Array): Uint16Array;
export declare function float16ArrayToFloat32(halves: Uint16Array): Float32Array;
export declare function float32ArrayToBfloat16(values: Float32Array): Uint16Array;
export declare function bfloat16ArrayToFloat32(values: Uint16Array): Float32Array;
