// The safetensors layout (huggingface/safetensors, safetensors/src/tensor.rs): an 8-byte
// little-endian header length N, N bytes of JSON mapping tensor names to
// {dtype, shape, data_offsets} (plus an optional "__metadata__" string map), then the data section,
// with data_offsets relative to its start.

export type SafetensorsDtype =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E5M2"
  | "F8_E4M3"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "F64"
  | "I64"
  | "U64";

/**
 * Bytes per element, in the order of the Rust crate's `Dtype` enum (increasing alignment), which
 * its writer sorts by. The F8 types are known, so their files parse, but nothing here decodes them.
 */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

export const safetensorsDtypes = Object.keys(SAFETENSORS_DTYPE_BYTES) as SafetensorsDtype[];

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, value);
}

/** The crate rejects headers above 100 MB (MAX_HEADER_SIZE) as not worth parsing. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** Bytes of the little-endian u64 header length that opens the file. */
export const SAFETENSORS_LENGTH_PREFIX_BYTES = 8;

/** The crate pads the header JSON with spaces to a multiple of 8, so 8-byte dtypes stay aligned. */
export const SAFETENSORS_HEADER_ALIGNMENT = 8;

export const SAFETENSORS_METADATA_KEY = "__metadata__";

/** Elements of a shape ([] is a scalar: one element); undefined when it is not a safe integer. */
export function safetensorsElementCount(shape: readonly number[]): number | undefined {
  let count = 1;
  for (const dim of shape) count *= dim;
  return Number.isSafeInteger(count) ? count : undefined;
}
