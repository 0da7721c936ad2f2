import { LoraGgufError } from "../errors.js";
import { BufferedFileReader } from "./buffered-file-reader.js";
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_KEY_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_ELEMENTS,
  GGUF_MAX_ARRAY_NESTING,
  GGUF_MAX_STRING_BYTES,
  GGUF_READABLE_VERSIONS,
  isPowerOfTwo,
  padToAlignment,
} from "./format.js";
import { tensorByteSize } from "./ggml-types.js";
import {
  GGUF_VALUE_TYPE_SIZES,
  GgufValueType,
  ggufValueTypeName,
  isGgufValueType,
  numericArrayClass,
  type GgufArrayValue,
  type GgufMetadataEntry,
  type GgufNestedArray,
  type GgufScalarValue,
  type GgufValue,
} from "./value-types.js";

export interface GgufTensorInfo {
  name: string;
  /** Shape in ggml's ne order (ne[0], the row length, first), as stored in the file. */
  dims: number[];
  /** The ggml_type id (see GGML_TYPES). */
  type: number;
  /** Offset of the tensor's data from the start of the data section. */
  offset: number;
  byteSize: number;
  /** Offset of the tensor's data from the start of the file. */
  absoluteOffset: number;
}

export interface GgufHeader {
  version: number;
  /** Key-value pairs in file order. */
  metadata: GgufMetadataEntry[];
  metadataByKey: Map<string, GgufMetadataEntry>;
  /** Tensor infos in file order. */
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset where the tensor data section starts. */
  dataOffset: number;
  fileSize: number;
}

export interface ReadGgufHeaderOptions {
  /** Bytes read from disk per refill of the header buffer. Default 1 MiB. */
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Smallest possible key-value pair: key length, a one-byte key, value type, a one-byte value. */
const MIN_METADATA_ENTRY_BYTES = 8 + 1 + 4 + 1;
/** Smallest possible tensor info: name length, n_dims, one dimension, type, offset. */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

/**
 * Reads and validates the header of a GGUF file (metadata and tensor infos) without reading the
 * tensor data. Rejects with LoraGgufError E_INPUT_NOT_FOUND when the file cannot be opened and
 * E_BAD_GGUF when it is not a GGUF file, is truncated, or breaks a rule ggml's gguf.cpp enforces.
 * Strings are decoded as UTF-8; invalid sequences become U+FFFD (and so are not written back as is).
 */
export async function readGgufHeader(path: string, options: ReadGgufHeaderOptions = {}): Promise<GgufHeader> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 16) {
    throw new LoraGgufError("E_INVALID_OPTION", `chunkBytes must be an integer >= 16, got ${chunkBytes}`);
  }
  const reader = await BufferedFileReader.open(path, chunkBytes);
  try {
    return await parseHeader(reader);
  } finally {
    await reader.close();
  }
}

/** The value stored under `key`, or undefined when the header has no such key. */
export function getMetadataValue(header: Pick<GgufHeader, "metadataByKey">, key: string): GgufValue | undefined {
  return header.metadataByKey.get(key)?.value;
}

function badGguf(message: string): LoraGgufError {
  return new LoraGgufError("E_BAD_GGUF", message);
}

async function parseHeader(reader: BufferedFileReader): Promise<GgufHeader> {
  await readMagic(reader);
  const version = await readVersion(reader);

  await reader.fill(16, "tensor and metadata counts");
  const tensorCount = readCount(reader, "tensor count", MIN_TENSOR_INFO_BYTES);
  const metadataCount = readCount(reader, "metadata entry count", MIN_METADATA_ENTRY_BYTES);

  const metadata: GgufMetadataEntry[] = [];
  const metadataByKey = new Map<string, GgufMetadataEntry>();
  for (let index = 0; index < metadataCount; index++) {
    const entry = await readMetadataEntry(reader, index, metadataByKey);
    metadata.push(entry);
    metadataByKey.set(entry.key, entry);
  }

  const alignment = alignmentOf(metadataByKey);

  const tensors: GgufTensorInfo[] = [];
  const tensorNames = new Set<string>();
  for (let index = 0; index < tensorCount; index++) {
    tensors.push(await readTensorInfo(reader, index, tensorNames));
  }

  // gguf.cpp pads the end of the tensor infos to the alignment only when there are tensors.
  const headerEnd = reader.position;
  const dataOffset = tensorCount > 0 ? padToAlignment(headerEnd, alignment) : headerEnd;
  if (tensorCount > 0 && dataOffset > reader.fileSize) {
    throw badGguf(`truncated GGUF: the tensor data section starts at byte ${dataOffset} but the file has ${reader.fileSize} bytes`);
  }
  placeTensorData(tensors, dataOffset, alignment, reader.fileSize);

  return { version, metadata, metadataByKey, tensors, alignment, dataOffset, fileSize: reader.fileSize };
}

async function readMagic(reader: BufferedFileReader): Promise<void> {
  if (reader.fileSize < GGUF_MAGIC.length) {
    throw badGguf(
      reader.fileSize === 0
        ? "not a GGUF file (the file is empty)"
        : `not a GGUF file (${reader.fileSize} bytes, too short for the "GGUF" magic)`,
    );
  }
  await reader.fill(4, "magic");
  const magic = reader.bytes(4);
  if (!GGUF_MAGIC.every((byte, index) => magic[index] === byte)) {
    throw badGguf(`not a GGUF file (magic "${escapeBytes(magic)}", expected "GGUF")`);
  }
}

async function readVersion(reader: BufferedFileReader): Promise<number> {
  await reader.fill(4, "version");
  const version = reader.u32();
  if (version !== 0 && (version & 0xffff) === 0) {
    throw badGguf(
      `GGUF version 0x${version.toString(16).padStart(8, "0")} looks byte-swapped: big-endian GGUF files are not supported`,
    );
  }
  if (version === 1) {
    throw badGguf("GGUF version 1 is no longer supported by llama.cpp; convert the model again with a current llama.cpp");
  }
  if (!GGUF_READABLE_VERSIONS.includes(version)) {
    throw badGguf(`unsupported GGUF version ${version} (supported: ${GGUF_READABLE_VERSIONS.join(" and ")})`);
  }
  return version;
}

/** An int64 count, checked against the bytes left in the file at `minBytesEach` bytes per item. */
function readCount(reader: BufferedFileReader, what: string, minBytesEach: number): number {
  const at = reader.position;
  const count = reader.i64();
  if (count < 0n) {
    throw badGguf(`GGUF ${what} at byte ${at} is negative (${count})`);
  }
  const remaining = reader.fileSize - (at + 8);
  if (count * BigInt(minBytesEach) > BigInt(remaining)) {
    throw badGguf(
      `truncated or corrupt GGUF: the ${what} at byte ${at} is ${count}, more than the ${remaining} bytes left in the file can hold`,
    );
  }
  return Number(count);
}

async function readString(reader: BufferedFileReader, what: string): Promise<string> {
  if (reader.buffered < 8) await reader.fill(8, `length of ${what}`);
  const at = reader.position;
  const length = reader.u64();
  if (length > BigInt(reader.remainingInFile)) {
    throw badGguf(
      `truncated or corrupt GGUF: ${what} at byte ${at} is ${length} bytes long but only ${reader.remainingInFile} bytes remain in the file`,
    );
  }
  const byteCount = Number(length);
  if (byteCount > GGUF_MAX_STRING_BYTES) {
    throw badGguf(`${what} at byte ${at} is ${byteCount} bytes long, more than the GGUF limit of ${GGUF_MAX_STRING_BYTES}`);
  }
  if (reader.buffered < byteCount) await reader.fill(byteCount, what);
  return reader.utf8(byteCount);
}

async function readMetadataEntry(
  reader: BufferedFileReader,
  index: number,
  seen: Map<string, GgufMetadataEntry>,
): Promise<GgufMetadataEntry> {
  const keyAt = reader.position;
  const key = await readString(reader, `key of metadata entry ${index}`);
  if (key.length === 0) {
    throw badGguf(`metadata entry ${index} at byte ${keyAt} has an empty key`);
  }
  if (seen.has(key)) {
    throw badGguf(`duplicate metadata key "${key}" at byte ${keyAt}`);
  }
  const what = `metadata key "${key}"`;
  await reader.fill(4, `value type of ${what}`);
  const typeAt = reader.position;
  const type = reader.i32();
  if (!isGgufValueType(type)) {
    throw badGguf(`${what} has unknown value type ${type} at byte ${typeAt}`);
  }
  if (type === GgufValueType.ARRAY) {
    const array = await readArray(reader, what, 1);
    return { key, type, value: array.value, arrayType: array.arrayType };
  }
  return { key, type, value: await readScalar(reader, type, what) };
}

async function readScalar(reader: BufferedFileReader, type: GgufValueType, what: string): Promise<GgufScalarValue> {
  if (type === GgufValueType.STRING) return readString(reader, `string value of ${what}`);
  await reader.fill(GGUF_VALUE_TYPE_SIZES[type], `${ggufValueTypeName(type)} value of ${what}`);
  switch (type) {
    case GgufValueType.UINT8: return reader.u8();
    case GgufValueType.INT8: return reader.i8();
    case GgufValueType.UINT16: return reader.u16();
    case GgufValueType.INT16: return reader.i16();
    case GgufValueType.UINT32: return reader.u32();
    case GgufValueType.INT32: return reader.i32();
    case GgufValueType.FLOAT32: return reader.f32();
    // gguf.cpp reads any non-zero byte as true.
    case GgufValueType.BOOL: return reader.u8() !== 0;
    case GgufValueType.UINT64: return reader.u64();
    case GgufValueType.INT64: return reader.i64();
    case GgufValueType.FLOAT64: return reader.f64();
    default: throw badGguf(`${what} has value type ${type}, which cannot be a scalar`);
  }
}

async function readArray(reader: BufferedFileReader, what: string, depth: number): Promise<GgufNestedArray> {
  const at = reader.position;
  await reader.fill(12, `array header of ${what}`);
  const arrayType = reader.i32();
  if (!isGgufValueType(arrayType)) {
    throw badGguf(`array of ${what} at byte ${at} has unknown element type ${arrayType}`);
  }
  const count = reader.u64();
  if (count > BigInt(GGUF_MAX_ARRAY_ELEMENTS)) {
    throw badGguf(`array of ${what} at byte ${at} has ${count} elements, more than the GGUF limit of ${GGUF_MAX_ARRAY_ELEMENTS}`);
  }
  const length = Number(count);
  const elementBytes = GGUF_VALUE_TYPE_SIZES[arrayType];
  // Strings take at least their 8-byte length, inner arrays their 12-byte type and count.
  const minBytes = length * (arrayType === GgufValueType.STRING ? 8 : arrayType === GgufValueType.ARRAY ? 12 : elementBytes);
  if (minBytes > reader.remainingInFile) {
    throw badGguf(
      `truncated or corrupt GGUF: array of ${length} ${ggufValueTypeName(arrayType)} values of ${what} at byte ${at} needs at least ${minBytes} bytes but only ${reader.remainingInFile} remain in the file`,
    );
  }
  return { arrayType, value: await readArrayElements(reader, arrayType, length, what, depth) };
}

async function readArrayElements(
  reader: BufferedFileReader,
  arrayType: GgufValueType,
  length: number,
  what: string,
  depth: number,
): Promise<GgufArrayValue> {
  const elementsWhat = `array elements of ${what}`;
  const numericClass = numericArrayClass(arrayType);
  if (numericClass !== undefined) {
    // A fresh buffer keeps the typed array aligned; GGUF is little-endian like every host Node runs on in practice.
    const bytes = new Uint8Array(length * GGUF_VALUE_TYPE_SIZES[arrayType]);
    await reader.readInto(bytes, elementsWhat);
    return new numericClass(bytes.buffer);
  }
  switch (arrayType) {
    case GgufValueType.BOOL: {
      const bytes = new Uint8Array(length);
      await reader.readInto(bytes, elementsWhat);
      return Array.from(bytes, (byte) => byte !== 0);
    }
    case GgufValueType.STRING: {
      const strings = new Array<string>(length);
      for (let index = 0; index < length; index++) {
        strings[index] = reader.bufferedString() ?? (await readString(reader, `string ${index} of ${what}`));
      }
      return strings;
    }
    case GgufValueType.ARRAY: {
      if (depth >= GGUF_MAX_ARRAY_NESTING) {
        throw badGguf(`${what} nests arrays more than ${GGUF_MAX_ARRAY_NESTING} levels deep at byte ${reader.position}`);
      }
      const arrays = new Array<GgufNestedArray>(length);
      for (let index = 0; index < length; index++) {
        arrays[index] = await readArray(reader, `element ${index} of ${what}`, depth + 1);
      }
      return arrays;
    }
    default:
      throw badGguf(`${what} has element type ${arrayType}, which cannot be read`);
  }
}

function alignmentOf(metadataByKey: Map<string, GgufMetadataEntry>): number {
  const entry = metadataByKey.get(GGUF_KEY_ALIGNMENT);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== GgufValueType.UINT32) {
    throw badGguf(`metadata key "${GGUF_KEY_ALIGNMENT}" must be of type u32 but is ${ggufValueTypeName(entry.type)}`);
  }
  const alignment = entry.value as number;
  if (!isPowerOfTwo(alignment)) {
    throw badGguf(`metadata key "${GGUF_KEY_ALIGNMENT}" is ${alignment}, which is not a power of two`);
  }
  return alignment;
}

async function readTensorInfo(reader: BufferedFileReader, index: number, seenNames: Set<string>): Promise<GgufTensorInfo> {
  const at = reader.position;
  const name = await readString(reader, `name of tensor ${index}`);
  if (Buffer.byteLength(name) >= GGML_MAX_NAME_BYTES) {
    throw badGguf(`tensor ${index} at byte ${at} has a name of ${Buffer.byteLength(name)} bytes; ggml allows at most ${GGML_MAX_NAME_BYTES - 1}`);
  }
  if (seenNames.has(name)) {
    throw badGguf(`duplicate tensor name "${name}" at byte ${at}`);
  }
  seenNames.add(name);
  const what = `tensor "${name}"`;

  await reader.fill(4, `dimension count of ${what}`);
  const dimCount = reader.u32();
  if (dimCount < 1 || dimCount > GGML_MAX_DIMS) {
    throw badGguf(`${what} at byte ${at} has ${dimCount} dimensions; ggml tensors have 1 to ${GGML_MAX_DIMS}`);
  }
  await reader.fill(8 * dimCount, `shape of ${what}`);
  const dims: number[] = [];
  for (let axis = 0; axis < dimCount; axis++) {
    const dim = reader.i64();
    if (dim <= 0n || dim > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw badGguf(`${what} at byte ${at} has invalid dimension ${axis}: ${dim}`);
    }
    dims.push(Number(dim));
  }

  await reader.fill(4 + 8, `type and offset of ${what}`);
  const type = reader.i32();
  const offset = reader.u64();
  let byteSize: number;
  try {
    byteSize = tensorByteSize(type, dims);
  } catch (error) {
    throw badGguf(`${what} at byte ${at}: ${(error as Error).message}`);
  }
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw badGguf(`${what} at byte ${at} has data offset ${offset}, beyond any file this reader can address`);
  }
  return { name, dims, type, offset: Number(offset), byteSize, absoluteOffset: 0 };
}

/**
 * gguf.cpp requires the tensor data to be packed in tensor-info order, each tensor starting at the
 * previous one's end padded to the alignment; checks that and that every tensor lies in the file.
 */
function placeTensorData(tensors: GgufTensorInfo[], dataOffset: number, alignment: number, fileSize: number): void {
  let expectedOffset = 0;
  for (const tensor of tensors) {
    if (tensor.offset % alignment !== 0) {
      throw badGguf(`tensor "${tensor.name}" has data offset ${tensor.offset}, which is not a multiple of the alignment ${alignment}`);
    }
    if (tensor.offset !== expectedOffset) {
      throw badGguf(
        `tensor "${tensor.name}" has data offset ${tensor.offset}, expected ${expectedOffset} (ggml requires tensor data packed in tensor-info order, each padded to ${alignment} bytes)`,
      );
    }
    tensor.absoluteOffset = dataOffset + tensor.offset;
    const end = tensor.absoluteOffset + tensor.byteSize;
    if (end > fileSize) {
      throw badGguf(`truncated GGUF: the data of tensor "${tensor.name}" ends at byte ${end} but the file has ${fileSize} bytes`);
    }
    expectedOffset += padToAlignment(tensor.byteSize, alignment);
  }
}

/** Printable ASCII as is, everything else as \xNN, for quoting bytes in messages. */
function escapeBytes(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    text += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c
      ? String.fromCharCode(byte)
      : `\\x${byte.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return text;
}
