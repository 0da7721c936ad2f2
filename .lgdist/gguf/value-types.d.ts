/**
 * GGUF metadata value types (`enum gguf_type` in ggml/include/gguf.h). Every value is stored
 * little-endian; enums are int32 and bools one byte.
 */
export declare const GgufValueType: {
    readonly UINT8: 0;
    readonly INT8: 1;
    readonly UINT16: 2;
    readonly INT16: 3;
    readonly UINT32: 4;
    readonly INT32: 5;
    readonly FLOAT32: 6;
    readonly BOOL: 7;
    readonly STRING: 8;
    readonly ARRAY: 9;
    readonly UINT64: 10;
    readonly INT64: 11;
    readonly FLOAT64: 12;
};
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];
/** `GGUF_TYPE_COUNT`: ids at or above it are not value types. */
export declare const GGUF_VALUE_TYPE_COUNT = 13;
/** Short names as `gguf_type_name()` prints them, indexed by type id. */
export declare const GGUF_VALUE_TYPE_NAMES: readonly string[];
/** Bytes of one element of a fixed-size type; 0 for STRING and ARRAY, whose size depends on the value. */
export declare const GGUF_VALUE_TYPE_SIZES: readonly number[];
export declare function isGgufValueType(value: number): value is GgufValueType;
export declare function ggufValueTypeName(type: number): string;
/** Arrays of numeric element types are typed arrays over the exact stored bytes. */
export type GgufNumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | BigUint64Array | BigInt64Array | Float64Array;
/**
 * One element of an array of arrays. GGUF stores an element type per inner array, and an empty
 * `boolean[]`, `string[]` or nested array would otherwise lose it, so inner arrays carry their type.
 */
export interface GgufNestedArray {
    arrayType: GgufValueType;
    value: GgufArrayValue;
}
export type GgufArrayValue = GgufNumericArray | boolean[] | string[] | GgufNestedArray[];
/**
 * Integers of up to 32 bits and floats are numbers, 64-bit integers bigints, BOOL a boolean,
 * STRING a string.
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
type NumericArrayConstructor = Uint8ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor | Int16ArrayConstructor | Uint32ArrayConstructor | Int32ArrayConstructor | Float32ArrayConstructor | BigUint64ArrayConstructor | BigInt64ArrayConstructor | Float64ArrayConstructor;
/** The typed array class that represents an array of `type`, for numeric element types. */
export declare function numericArrayClass(type: GgufValueType): NumericArrayConstructor | undefined;
export {};
