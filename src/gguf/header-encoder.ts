import { LoraGgufError } from "../errors.js";
import { ByteSink } from "./byte-sink.js";
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_KEY_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_NESTING,
  GGUF_READABLE_VERSIONS,
  GGUF_VERSION,
  isPowerOfTwo,
  padToAlignment,
} from "./format.js";
import { tensorByteSize } from "./ggml-types.js";
import {
  GGUF_VALUE_TYPE_NAMES,
  GgufValueType,
  ggufValueTypeName,
  isGgufValueType,
  numericArrayClass,
  type GgufMetadataEntry,
  type GgufNestedArray,
} from "./value-types.js";

/** A tensor as declared before its data is written. */
export interface GgufTensorDeclaration {
  name: string;
  /** Shape in ggml's ne order (row length first), written as given. */
  dims: readonly number[];
  /** The ggml_type id. */
  type: number;
}

export interface GgufHeaderLayoutOptions {
  /** GGUF version written in the header: 3 (default) or 2, which has the same layout. */
  version?: number;
  /**
   * gguf.cpp pads the header to the alignment even when there are no tensors (the default, true);
   * gguf-py's vocab-only writer does not. Readers ignore this padding either way.
   */
  padHeaderWithoutTensors?: boolean;
}

export interface GgufPlannedTensor extends GgufTensorDeclaration {
  /** Offset from the start of the data section. */
  offset: number;
  byteSize: number;
}

export interface EncodedGgufHeader {
  /** Everything before the tensor data: magic, version, counts, metadata, tensor infos and padding. */
  bytes: Uint8Array;
  alignment: number;
  /** Absolute offset of the tensor data section (equal to `bytes.length`). */
  dataOffset: number;
  tensors: GgufPlannedTensor[];
  /** Size of the complete file: the header plus every tensor padded to the alignment. */
  fileSize: number;
}

function invalid(message: string): LoraGgufError {
  return new LoraGgufError("E_INVALID_OPTION", message);
}

/**
 * Validates metadata and tensor declarations and serialises them exactly as gguf.cpp's
 * `gguf_write_out` does: header, key-value pairs and tensor infos in the given order, tensor
 * offsets packed in order with each tensor padded to the alignment. Throws E_INVALID_OPTION for
 * anything gguf.cpp would refuse to read back.
 */
export function encodeGgufHeader(
  metadata: readonly GgufMetadataEntry[],
  tensors: readonly GgufTensorDeclaration[],
  options: GgufHeaderLayoutOptions = {},
): EncodedGgufHeader {
  const version = options.version ?? GGUF_VERSION;
  if (!GGUF_READABLE_VERSIONS.includes(version)) {
    throw invalid(`GGUF version must be one of ${GGUF_READABLE_VERSIONS.join(", ")}, got ${version}`);
  }
  const alignment = alignmentFromMetadata(metadata);
  const planned = planTensors(tensors, alignment);

  const sink = new ByteSink();
  sink.bytes(GGUF_MAGIC);
  sink.u32(version);
  sink.u64Number(tensors.length);
  sink.u64Number(metadata.length);

  const keys = new Set<string>();
  for (const entry of metadata) {
    if (typeof entry.key !== "string" || entry.key.length === 0) {
      throw invalid(`metadata key must be a non-empty string, got ${JSON.stringify(entry.key)}`);
    }
    if (keys.has(entry.key)) throw invalid(`duplicate metadata key "${entry.key}"`);
    keys.add(entry.key);
    encodeEntry(sink, entry);
  }

  for (const tensor of planned) {
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64Number(dim);
    sink.i32(tensor.type);
    sink.u64Number(tensor.offset);
  }

  if (tensors.length > 0 || (options.padHeaderWithoutTensors ?? true)) {
    sink.zeros(padToAlignment(sink.length, alignment) - sink.length);
  }

  const dataOffset = sink.length;
  const last = planned[planned.length - 1];
  const dataBytes = last === undefined ? 0 : last.offset + padToAlignment(last.byteSize, alignment);
  return { bytes: sink.view(), alignment, dataOffset, tensors: planned, fileSize: dataOffset + dataBytes };
}

function alignmentFromMetadata(metadata: readonly GgufMetadataEntry[]): number {
  const entry = metadata.find((candidate) => candidate.key === GGUF_KEY_ALIGNMENT);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== GgufValueType.UINT32 || !isPowerOfTwo(entry.value as number)) {
    throw invalid(`metadata key "${GGUF_KEY_ALIGNMENT}" must be a u32 power of two, got ${ggufValueTypeName(entry.type)} ${String(entry.value)}`);
  }
  return entry.value as number;
}

function planTensors(tensors: readonly GgufTensorDeclaration[], alignment: number): GgufPlannedTensor[] {
  const names = new Set<string>();
  const planned: GgufPlannedTensor[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    const { name, dims, type } = tensor;
    if (typeof name !== "string") throw invalid(`tensor name must be a string, got ${typeof name}`);
    if (Buffer.byteLength(name) >= GGML_MAX_NAME_BYTES) {
      throw invalid(`tensor name "${name}" is ${Buffer.byteLength(name)} bytes long; ggml allows at most ${GGML_MAX_NAME_BYTES - 1}`);
    }
    if (names.has(name)) throw invalid(`duplicate tensor name "${name}"`);
    names.add(name);
    if (!Array.isArray(dims) || dims.length < 1 || dims.length > GGML_MAX_DIMS) {
      throw invalid(`tensor "${name}" must have 1 to ${GGML_MAX_DIMS} dimensions, got ${JSON.stringify(dims)}`);
    }
    let byteSize: number;
    try {
        byteSize = tensorByteSize(type, dims);
    } catch (error) {
      throw invalid(`tensor "${name}": ${(error as Error).message}`);
    }
    planned.push({ name, dims: [...dims], type, offset, byteSize });
    offset += padToAlignment(byteSize, alignment);
  }
  return planned;
}

function encodeEntry(sink: ByteSink, entry: GgufMetadataEntry): void {
  const what = `metadata key "${entry.key}"`;
  if (!isGgufValueType(entry.type)) throw invalid(`${what} has unknown value type ${String(entry.type)}`);
  sink.string(entry.key);
  sink.i32(entry.type);
  if (entry.type === GgufValueType.ARRAY) {
    if (entry.arrayType === undefined || !isGgufValueType(entry.arrayType)) {
      throw invalid(`${what} is an array but its arrayType ${String(entry.arrayType)} is not a GGUF value type`);
    }
    encodeArray(sink, { arrayType: entry.arrayType, value: entry.value as GgufNestedArray["value"] }, what, 1);
  } else {
    encodeScalar(sink, entry.type, entry.value, what);
  }
}

const INTEGER_RANGES: Partial<Record<GgufValueType, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffff_ffff],
  [GgufValueType.INT32]: [-0x8000_0000, 0x7fff_ffff],
};

const BIGINT_RANGES: Partial<Record<GgufValueType, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, 2n ** 64n - 1n],
  [GgufValueType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
};

function encodeScalar(sink: ByteSink, type: GgufValueType, value: unknown, what: string): void {
  const typeName = GGUF_VALUE_TYPE_NAMES[type];
  const integerRange = INTEGER_RANGES[type];
  if (integerRange !== undefined) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < integerRange[0] || value > integerRange[1]) {
      throw invalid(`${what}: ${String(value)} is not a ${typeName} (an integer in ${integerRange[0]}..${integerRange[1]})`);
    }
  }
  const bigintRange = BIGINT_RANGES[type];
  let big = 0n;
  if (bigintRange !== undefined) {
    // 64-bit integers are read back as bigint; safe-integer numbers are accepted for convenience.
    const valid = typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value));
    big = valid ? BigInt(value as bigint | number) : 0n;
    if (!valid || big < bigintRange[0] || big > bigintRange[1]) {
      throw invalid(`${what}: ${String(value)} is not a ${typeName} (a bigint in ${bigintRange[0]}..${bigintRange[1]})`);
    }
  }
  switch (type) {
    case GgufValueType.UINT8: return sink.u8(value as number);
    case GgufValueType.INT8: return sink.i8(value as number);
    case GgufValueType.UINT16: return sink.u16(value as number);
    case GgufValueType.INT16: return sink.i16(value as number);
    case GgufValueType.UINT32: return sink.u32(value as number);
    case GgufValueType.INT32: return sink.i32(value as number);
    case GgufValueType.UINT64: return sink.u64(big);
    case GgufValueType.INT64: return sink.i64(big);
    case GgufValueType.FLOAT32:
    case GgufValueType.FLOAT64:
      if (typeof value !== "number") throw invalid(`${what}: ${String(value)} is not a number for ${typeName}`);
      return type === GgufValueType.FLOAT32 ? sink.f32(value) : sink.f64(value);
    case GgufValueType.BOOL:
      if (typeof value !== "boolean") throw invalid(`${what}: ${String(value)} is not a boolean`);
      return sink.u8(value ? 1 : 0);
    case GgufValueType.STRING:
      if (typeof value !== "string") throw invalid(`${what}: ${String(value)} is not a string`);
      return sink.string(value);
    default:
      throw invalid(`${what}: value type ${typeName} cannot be a scalar`);
  }
}

function encodeArray(sink: ByteSink, array: GgufNestedArray, what: string, depth: number): void {
  const { arrayType, value } = array;
  if (!isGgufValueType(arrayType)) throw invalid(`${what}: array element type ${String(arrayType)} is not a GGUF value type`);
  const typeName = GGUF_VALUE_TYPE_NAMES[arrayType];
  const numericClass = numericArrayClass(arrayType);
  if (numericClass !== undefined) {
    // Typed arrays are checked by tag rather than instanceof so arrays from another realm pass.
    if (!ArrayBuffer.isView(value) || (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] !== numericClass.name) {
      throw invalid(`${what}: an array of ${typeName} must be a ${numericClass.name}`);
    }
    sink.i32(arrayType);
    sink.u64Number(value.length);
    sink.bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return;
  }
  if (!Array.isArray(value)) throw invalid(`${what}: an array of ${typeName} must be a JavaScript array`);
  sink.i32(arrayType);
  sink.u64Number(value.length);
  switch (arrayType) {
    case GgufValueType.BOOL:
      for (const element of value) {
        if (typeof element !== "boolean") throw invalid(`${what}: array of bool holds ${String(element)}`);
        sink.u8(element ? 1 : 0);
      }
      return;
    case GgufValueType.STRING:
      for (const element of value) {
        if (typeof element !== "string") throw invalid(`${what}: array of str holds ${String(element)}`);
        sink.string(element);
      }
      return;
    case GgufValueType.ARRAY:
      if (depth >= GGUF_MAX_ARRAY_NESTING) throw invalid(`${what}: arrays nested more than ${GGUF_MAX_ARRAY_NESTING} levels deep`);
      value.forEach((element, index) => {
        if (typeof element !== "object" || element === null || !("arrayType" in element)) {
          throw invalid(`${what}: element ${index} of an array of arrays must be { arrayType, value }`);
        }
        encodeArray(sink, element, `${what} element ${index}`, depth + 1);
      });
      return;
    default:
      throw invalid(`${what}: unsupported array element type ${typeName}`);
  }
}
