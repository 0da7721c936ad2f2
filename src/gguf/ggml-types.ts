import { LoraGgufError } from "../errors.js";

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

const QK_K = 256;

function active(id: number, name: string, blockSize: number, bytesPerBlock: number, quantized: boolean): GgmlTypeInfo {
  return { id, name, blockSize, bytesPerBlock, quantized, removed: false };
}

function removed(id: number, name: string): GgmlTypeInfo {
  return { id, name, blockSize: 0, bytesPerBlock: 0, quantized: false, removed: true };
}

/** Indexed by id; byte sizes are the `sizeof(block_*)` static_asserts in ggml/src/ggml-common.h. */
export const GGML_TYPES: readonly GgmlTypeInfo[] = [
  active(0, "f32", 1, 4, false),
  active(1, "f16", 1, 2, false),
  active(2, "q4_0", 32, 2 + 16, true),
  active(3, "q4_1", 32, 2 + 2 + 16, true),
  removed(4, "q4_2"),
  removed(5, "q4_3"),
  active(6, "q5_0", 32, 2 + 4 + 16, true),
  active(7, "q5_1", 32, 2 + 2 + 4 + 16, true),
  active(8, "q8_0", 32, 2 + 32, true),
  active(9, "q8_1", 32, 2 + 2 + 32, true),
  active(10, "q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4, true),
  active(11, "q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12, true),
  active(12, "q4_K", QK_K, 2 + 2 + 12 + QK_K / 2, true),
  active(13, "q5_K", QK_K, 2 + 2 + 12 + QK_K / 2 + QK_K / 8, true),
  active(14, "q6_K", QK_K, 2 + QK_K / 16 + (3 * QK_K) / 4, true),
  active(15, "q8_K", QK_K, 4 + QK_K + (QK_K / 16) * 2, true),
  active(16, "iq2_xxs", QK_K, 2 + (QK_K / 8) * 2, true),
  active(17, "iq2_xs", QK_K, 2 + (QK_K / 8) * 2 + QK_K / 32, true),
  active(18, "iq3_xxs", QK_K, 2 + 3 * (QK_K / 8), true),
  active(19, "iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16, true),
  active(20, "iq4_nl", 32, 2 + 16, true),
  active(21, "iq3_s", QK_K, 2 + 13 * (QK_K / 32) + QK_K / 64, true),
  active(22, "iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16, true),
  active(23, "iq4_xs", QK_K, 2 + 2 + QK_K / 64 + QK_K / 2, true),
  active(24, "i8", 1, 1, false),
  active(25, "i16", 1, 2, false),
  active(26, "i32", 1, 4, false),
  active(27, "i64", 1, 8, false),
  active(28, "f64", 1, 8, false),
  active(29, "iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32, true),
  active(30, "bf16", 1, 2, false),
  removed(31, "q4_0_4_4"),
  removed(32, "q4_0_4_8"),
  removed(33, "q4_0_8_8"),
  active(34, "tq1_0", QK_K, 2 + QK_K / 64 + (QK_K - (4 * QK_K) / 64) / 5, true),
  active(35, "tq2_0", QK_K, 2 + QK_K / 4, true),
  removed(36, "iq4_nl_4_4"),
  removed(37, "iq4_nl_4_8"),
  removed(38, "iq4_nl_8_8"),
  active(39, "mxfp4", 32, 1 + 16, true),
  active(40, "nvfp4", 64, 4 + 32, true),
  active(41, "q1_0", 128, 2 + 128 / 8, true),
  active(42, "q2_0", 64, 2 + 64 / 4, true),
];

/** `GGML_TYPE_COUNT`: ids at or above it are not ggml types. */
export const GGML_TYPE_COUNT = GGML_TYPES.length;

/** Named `ggml_type` ids (the enum names of ggml.h without the GGML_TYPE_ prefix). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;

/** The table entry for `typeId`, or undefined when the id is outside the enum. Removed ids are returned (check `removed`). */
export function ggmlTypeInfo(typeId: number): GgmlTypeInfo | undefined {
  return Number.isInteger(typeId) && typeId >= 0 ? GGML_TYPES[typeId] : undefined;
}

/** The id for a name as `ggml_type_name()` prints it (case-sensitive: "q4_K", not "Q4_K"). */
export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  return GGML_TYPES.find((type) => !type.removed && type.name === name);
}

/** A type id ggml can store in a GGUF file, or a LoraGgufError E_BAD_GGUF saying why not. */
export function requireGgmlType(typeId: number): GgmlTypeInfo {
  const info = ggmlTypeInfo(typeId);
  if (info === undefined) {
    throw new LoraGgufError("E_BAD_GGUF", `unknown ggml tensor type ${typeId} (known types are 0..${GGML_TYPE_COUNT - 1})`);
  }
  if (info.removed) {
    throw new LoraGgufError("E_BAD_GGUF", `ggml tensor type ${typeId} (${info.name}) has been removed from ggml and cannot be stored in GGUF files`);
  }
  return info;
}

/**
 * Bytes a contiguous tensor of `typeId` with shape `dims` (ne order, ne[0] first) occupies, as
 * `ggml_nbytes()` computes it. Throws E_BAD_GGUF for an unknown or removed type, a dimension that is
 * not a positive integer, a first dimension that is not a multiple of the block size, or a size that
 * does not fit in a safe integer.
 */
export function tensorByteSize(typeId: number, dims: readonly number[]): number {
  const type = requireGgmlType(typeId);
  let elements = 1;
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim <= 0) {
      throw new LoraGgufError("E_BAD_GGUF", `tensor dimension ${dim} is not a positive integer (shape [${dims.join(", ")}])`);
    }
    elements *= dim;
    if (!Number.isSafeInteger(elements)) {
      throw new LoraGgufError("E_BAD_GGUF", `tensor shape [${dims.join(", ")}] has more elements than can be addressed`);
    }
  }
  const rowElements = dims.length > 0 ? dims[0] : 1;
  if (rowElements % type.blockSize !== 0) {
    throw new LoraGgufError(
      "E_BAD_GGUF",
      `tensor shape [${dims.join(", ")}] has ${rowElements} elements per row, not a multiple of the ${type.name} block size ${type.blockSize}`,
    );
  }
  const bytes = (elements / type.blockSize) * type.bytesPerBlock;
  if (!Number.isSafeInteger(bytes)) {
    throw new LoraGgufError("E_BAD_GGUF", `tensor shape [${dims.join(", ")}] of type ${type.name} is too large to address`);
  }
  return bytes;
}

/** Types `ggml_quantize_chunk` (ggml/src/ggml.c) writes only with an importance matrix (`ggml_quantize_requires_imatrix`). */
const NEEDS_IMPORTANCE_MATRIX: ReadonlySet<number> = new Set([GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ1_S]);

/** Types `ggml_quantize_chunk` has no case for: integers, f64, and q8_1 / q8_K (matrix-product inputs only). */
const NOT_WRITABLE: ReadonlySet<number> = new Set([GgmlType.Q8_1, GgmlType.Q8_K, GgmlType.I8, GgmlType.I16, GgmlType.I32, GgmlType.I64, GgmlType.F64]);

/**
 * How ggml can write a tensor of `typeId` from f32 values: "yes"; "needs-importance-matrix"; or "no"
 * (no quantize function, or not a type).
 */
export function ggmlWritability(typeId: number): "yes" | "needs-importance-matrix" | "no" {
  const info = ggmlTypeInfo(typeId);
  if (info === undefined || info.removed || NOT_WRITABLE.has(typeId)) return "no";
  return NEEDS_IMPORTANCE_MATRIX.has(typeId) ? "needs-importance-matrix" : "yes";
}
