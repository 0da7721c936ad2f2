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
} as const;

export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** `GGUF_TYPE_COUNT`: ids at or above it are not value types. */
export const GGUF_VALUE_TYPE_COUNT = 13;

/** Short names as `gguf_type_name()` prints them, indexed by type id. */
export const GGUF_VALUE_TYPE_NAMES: readonly string[] = [
  "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64",
];

/** Bytes of one element of a fixed-size type; 0 for STRING and ARRAY, whose size depends on the value. */
export const GGUF_VALUE_TYPE_SIZES: readonly number[] = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];

export function isGgufValueType(value: number): value is GgufValueType {
  return Number.isInteger(value) && value >= 0 && value < GGUF_VALUE_TYPE_COUNT;
}

export function ggufValueTypeName(type: number): string {
  return isGgufValueType(type) ? GGUF_VALUE_TYPE_NAMES[type] : `unknown type ${type}`;
}

/** Arrays of numeric element types are typed arrays over the exact stored bytes. */
export type GgufNumericArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | BigUint64Array
  | BigInt64Array
  | Float64Array;

/**
 * One element of an array of arrays. GGUF stores an element type per inner array, and an empty
 * `boolean[]`, `string[]` or nested array would otherwise lose it, so inner arrays carry their type.
 * gguf-py reads arrays of arrays; ggml's gguf.cpp (and so llama.cpp) rejects files that hold them.
 */
export interface GgufNestedArray {
  arrayType: GgufValueType;
  value: GgufArrayValue;
}

export type GgufArrayValue = GgufNumericArray | boolean[] | string[] | GgufNestedArray[];

/**
 * Integers of up to 32 bits and floats are numbers, 64-bit integers bigints, BOOL a boolean,
 * STRING a string. A scalar float NaN passes through a JS number, so only the canonical quiet NaN
 * is guaranteed to be written back bit for bit; float arrays keep their exact bits.
 */
export type GgufScalarValue = number | bigint | boolean | string;

export type GgufValue = GgufScalarValue | GgufArrayValue;

/**
 * One metadata key-value pair. `type` is the stored type; for ARRAY, `arrayType` is the element
 * type and `value` a GgufArrayValue.
 */
export interface GgufMetadataEntry {
  key: string;
  type: GgufValueType;
  value: GgufValue;
  arrayType?: GgufValueType;
}

type NumericArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | BigUint64ArrayConstructor
  | BigInt64ArrayConstructor
  | Float64ArrayConstructor;

/** The typed array class that represents an array of `type`, for numeric element types. */
export function numericArrayClass(type: GgufValueType): NumericArrayConstructor | undefined {
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
