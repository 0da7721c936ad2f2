/**
 * IEEE binary16 and bfloat16 conversions, bit-exact with ggml: float32 → f16 rounds to nearest
 * even and overflows to infinity (NaN becomes the quiet NaN 0x7E00 with the sign kept, as in
 * `ggml_compute_fp32_to_fp16`); float32 → bf16 rounds to nearest even and keeps NaNs quiet
 * (`ggml_compute_fp32_to_bf16`).
 */
const float32Scratch = new Float32Array(1);
const uint32Scratch = new Uint32Array(float32Scratch.buffer);
function float32Bits(value) {
    float32Scratch[0] = value;
    return uint32Scratch[0];
}
function float32FromBits(bits) {
    uint32Scratch[0] = bits;
    return float32Scratch[0];
}
/** The f16 bit pattern of a float32 bit pattern. */
export function float16BitsFromFloat32Bits(bits) {
    const sign = (bits >>> 16) & 0x8000;
    const magnitude = bits & 0x7fffffff;
    if (magnitude > 0x7f800000)
        return sign | 0x7e00;
    // 65520 is halfway between the largest half (65504) and 65536; ties-to-even rounds it to infinity.
    if (magnitude >= 0x477ff000)
        return sign | 0x7c00;
    if (magnitude >= 0x38800000) {
        // Normal half: rebias the exponent from 127 to 15 and drop 13 mantissa bits.
        const truncated = (magnitude - 0x38000000) >>> 13;
        const dropped = magnitude & 0x1fff;
        const roundUp = dropped > 0x1000 || (dropped === 0x1000 && (truncated & 1) === 1);
        return sign | (truncated + (roundUp ? 1 : 0));
    }
    // Below 2^-25 (and exactly 2^-25, a tie with zero) rounds to zero.
    if (magnitude <= 0x33000000)
        return sign;
    // Subnormal half: the value is mantissa * 2^(exponent - 150), and one half ulp is 2^-24.
    const exponent = magnitude >>> 23;
    const mantissa = (magnitude & 0x7fffff) | 0x800000;
    const shift = 126 - exponent;
    const truncated = mantissa >>> shift;
    const dropped = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = dropped > halfway || (dropped === halfway && (truncated & 1) === 1);
    return sign | (truncated + (roundUp ? 1 : 0));
}
/** The float32 bit pattern of an f16 bit pattern (exact: every half is a float32). */
export function float32BitsFromFloat16Bits(half) {
    const sign = (half & 0x8000) << 16;
    const exponent = (half >>> 10) & 0x1f;
    const mantissa = half & 0x3ff;
    if (exponent === 0x1f)
        return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    if (exponent !== 0)
        return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    if (mantissa === 0)
        return sign >>> 0;
    // Subnormal half: normalise the mantissa into a float32 normal.
    let shifted = mantissa;
    let floatExponent = 113;
    while ((shifted & 0x400) === 0) {
        shifted <<= 1;
        floatExponent--;
    }
    return (sign | (floatExponent << 23) | ((shifted & 0x3ff) << 13)) >>> 0;
}
export function float32ToFloat16(value) {
    return float16BitsFromFloat32Bits(float32Bits(value));
}
export function float16ToFloat32(half) {
    return float32FromBits(float32BitsFromFloat16Bits(half));
}
/** The bf16 bit pattern of a float32 bit pattern. */
export function bfloat16BitsFromFloat32Bits(bits) {
    if ((bits & 0x7fffffff) > 0x7f800000)
        return ((bits >>> 16) | 64) & 0xffff;
    return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
export function float32ToBfloat16(value) {
    return bfloat16BitsFromFloat32Bits(float32Bits(value));
}
export function bfloat16ToFloat32(bits) {
    return float32FromBits((bits << 16) >>> 0);
}
function float32BitView(values) {
    return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
/** Converts every element to f16 bits (a tensor of type f16 is these values, little-endian). */
export function float32ArrayToFloat16(values) {
    const bits = float32BitView(values);
    const halves = new Uint16Array(values.length);
    for (let index = 0; index < bits.length; index++) {
        halves[index] = float16BitsFromFloat32Bits(bits[index]);
    }
    return halves;
}
export function float16ArrayToFloat32(halves) {
    const values = new Float32Array(halves.length);
    const bits = float32BitView(values);
    for (let index = 0; index < halves.length; index++) {
        bits[index] = float32BitsFromFloat16Bits(halves[index]);
    }
    return values;
}
export function float32ArrayToBfloat16(values) {
    const bits = float32BitView(values);
    const result = new Uint16Array(values.length);
    for (let index = 0; index < bits.length; index++) {
        result[index] = bfloat16BitsFromFloat32Bits(bits[index]);
    }
    return result;
}
export function bfloat16ArrayToFloat32(values) {
    const result = new Float32Array(values.length);
    const bits = float32BitView(result);
    for (let index = 0; index < values.length; index++) {
        bits[index] = values[index] << 16;
    }
    return result;
}
//# sourceMappingURL=f16.js.map