/**
 * One entry of ggml's `enum ggml_type` (ggml/include/ggml.h), with the block layout from the
 * `type_traits` table in ggml/src/ggml.c. A tensor row of `ne[0]` elements is stored as
 * `ne[0] / blockSize` blocks of `bytesPerBlock` bytes.
 */
export interface GgmlTypeInfo {
    /** The `ggml_type` value stored in GGUF tensor infos. */
    readonly id: number;
    /** The name `ggml_type_name()` prints ("f32", "q4_K", "bf16"); for removed ids, the old enum name in lower case. */
    readonly name: string;
    /** Elements per block; 0 for removed ids. */
    readonly blockSize: number;
    /** Bytes per block; 0 for removed ids. */
    readonly bytesPerBlock: number;
    readonly quantized: boolean;
    /** The id is reserved in the enum but ggml no longer reads or writes it. */
    readonly removed: boolean;
}
/** Indexed by id; byte sizes are the `sizeof(block_*)` static_asserts in ggml/src/ggml-common.h. */
export declare const GGML_TYPES: readonly GgmlTypeInfo[];
/** `GGML_TYPE_COUNT`: ids at or above it are not ggml types. */
export declare const GGML_TYPE_COUNT: number;
/** Named `ggml_type` ids (the enum names of ggml.h without the GGML_TYPE_ prefix). */
export declare const GgmlType: {
    readonly F32: 0;
    readonly F16: 1;
    readonly Q4_0: 2;
    readonly Q4_1: 3;
    readonly Q5_0: 6;
    readonly Q5_1: 7;
    readonly Q8_0: 8;
    readonly Q8_1: 9;
    readonly Q2_K: 10;
    readonly Q3_K: 11;
    readonly Q4_K: 12;
    readonly Q5_K: 13;
    readonly Q6_K: 14;
    readonly Q8_K: 15;
    readonly IQ2_XXS: 16;
    readonly IQ2_XS: 17;
    readonly IQ3_XXS: 18;
    readonly IQ1_S: 19;
    readonly IQ4_NL: 20;
    readonly IQ3_S: 21;
    readonly IQ2_S: 22;
    readonly IQ4_XS: 23;
    readonly I8: 24;
    readonly I16: 25;
    readonly I32: 26;
    readonly I64: 27;
    readonly F64: 28;
    readonly IQ1_M: 29;
    readonly BF16: 30;
    readonly TQ1_0: 34;
    readonly TQ2_0: 35;
    readonly MXFP4: 39;
    readonly NVFP4: 40;
    readonly Q1_0: 41;
    readonly Q2_0: 42;
};
/** The table entry for `typeId`, or undefined when the id is outside the enum. Removed ids are returned (check `removed`). */
export declare function ggmlTypeInfo(typeId: number): GgmlTypeInfo | undefined;
/** The id for a name as `ggml_type_name()` prints it (case-sensitive: "q4_K", not "Q4_K"). */
export declare function ggmlTypeByName(name: string): GgmlTypeInfo | undefined;
/** A type id ggml can store in a GGUF file, or a LoraGgufError E_BAD_GGUF saying why not. */
export declare function requireGgmlType(typeId: number): GgmlTypeInfo;
/**
 * Bytes a contiguous tensor of `typeId` with shape `dims` (ne order, ne[0] first) occupies, as
 * `ggml_nbytes()` computes it. Throws E_BAD_GGUF for an unknown or removed type, a dimension that is
 * not a positive integer, a first dimension that is not a multiple of the block size, or a size that
 * does not fit in a safe integer.
 */
export declare function tensorByteSize(typeId: number, dims: readonly number[]): number;
