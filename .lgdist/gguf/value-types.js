/**
 * GGUF metadata value types (`enum gguf_type` in ggml/include/gguf.h). Every value is stored
 * little-endian; enums are int32 and bools one byte.
 */
export const GgufValueType = {
    UINT8: 0,
    INT8: 1,
    UINT16: 2,
    INT16: 3,
    UINT32: 4,
    INT32: 5,
    FLOAT32: 6,
    BOOL: 7,
    STRING: 8,
    ARRAY: 9,
    UINT64: 10,
    INT64: 11,
    FLOAT64: 12,
};
/** `GGUF_TYPE_COUNT`: ids at or above it are not value types. */
export const GGUF_VALUE_TYPE_COUNT = 13;
/** Short names as `gguf_type_name()` prints them, indexed by type id. */
export const GGUF_VALUE_TYPE_NAMES = [
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64",
];
/** Bytes of one element of a fixed-size type; 0 for STRING and ARRAY, whose size depends on the value. */
export const GGUF_VALUE_TYPE_SIZES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
export function isGgufValueType(value) {
    return Number.isInteger(value) && value >= 0 && value < GGUF_VALUE_TYPE_COUNT;
}
export function ggufValueTypeName(type) {
    return isGgufValueType(type) ? GGUF_VALUE_TYPE_NAMES[type] : `unknown type ${type}`;
}
/** The typed array class that represents an array of `type`, for numeric element types. */
export function numericArrayClass(type) {
    switch (type) {
        case GgufValueType.UINT8: return Uint8Array;
        case GgufValueType.INT8: return Int8Array;
        case GgufValueType.UINT16: return Uint16Array;
        case GgufValueType.INT16: return Int16Array;
        case GgufValueType.UINT32: return Uint32Array;
        case GgufValueType.INT32: return Int32Array;
        case GgufValueType.FLOAT32: return Float32Array;
        case GgufValueType.UINT64: return BigUint64Array;
        case GgufValueType.INT64: return BigInt64Array;
        case GgufValueType.FLOAT64: return Float64Array;
        default: return undefined;
    }
}
//# sourceMappingURL=value-types.js.map