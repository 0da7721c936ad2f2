import { LoraGgufError } from "../errors.js";
import { OrderedTensorFileWriter } from "../io/ordered-tensor-file-writer.js";
import { AtomicOutputFile } from "../io/atomic-output-file.js";
import {
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_BYTES,
  SAFETENSORS_HEADER_ALIGNMENT,
  SAFETENSORS_LENGTH_PREFIX_BYTES,
  SAFETENSORS_METADATA_KEY,
  safetensorsDtypes,
  safetensorsElementCount,
  type SafetensorsDtype,
} from "./safetensors-format.js";

export interface SafetensorsTensorDeclaration {
  name: string;
  dtype: SafetensorsDtype;
  /** PyTorch order: the row length last. */
  shape: readonly number[];
}

export interface SafetensorsPlannedTensor extends SafetensorsTensorDeclaration {
  /** [begin, end) relative to the data section, as the header stores them. */
  dataOffsets: readonly [number, number];
  byteLength: number;
}

export interface EncodedSafetensorsHeader {
  /** The 8-byte length followed by the space-padded JSON. */
  bytes: Uint8Array;
  /** In file order: descending dtype alignment, then name (the Rust crate's `prepare`). */
  tensors: SafetensorsPlannedTensor[];
  dataOffset: number;
  fileSize: number;
}

export interface SafetensorsWriterInit {
  tensors: readonly SafetensorsTensorDeclaration[];
  /** The `__metadata__` string map, written with sorted keys; transformers writes {"format": "pt"}. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * The header bytes the safetensors Rust crate (`serialize`) writes for these tensors: tensors sorted
 * by descending dtype alignment and then by name, which keeps every tensor aligned to its element
 * size (for a single-dtype checkpoint that is plain name order), compact JSON with `__metadata__`
 * first, padded with spaces to a multiple of 8. Invalid declarations throw E_INVALID_OPTION.
 */
export function encodeSafetensorsHeader(
  tensors: readonly SafetensorsTensorDeclaration[],
  metadata?: Readonly<Record<string, string>>,
): EncodedSafetensorsHeader {
  validateDeclarations(tensors, metadata);
  const rank = (dtype: SafetensorsDtype) => safetensorsDtypes.indexOf(dtype);
  const ordered = [...tensors].sort((a, b) => rank(b.dtype) - rank(a.dtype) || compareUtf8(a.name, b.name));

  // Built as entry lists, not objects: a JS object would move integer-like names to the front.
  const header: [string, string][] = [];
  if (metadata !== undefined) {
    const sorted = Object.entries(metadata).sort(([a], [b]) => compareUtf8(a, b));
    header.push([SAFETENSORS_METADATA_KEY, jsonObject(sorted.map(([key, value]) => [key, JSON.stringify(value)]))]);
  }
  const planned: SafetensorsPlannedTensor[] = [];
  let offset = 0;
  for (const tensor of ordered) {
    const byteLength = safetensorsElementCount(tensor.shape)! * SAFETENSORS_DTYPE_BYTES[tensor.dtype];
    const dataOffsets = [offset, offset + byteLength] as const;
    // Field order as serde writes TensorInfo: dtype, shape, data_offsets.
    header.push([tensor.name, JSON.stringify({ dtype: tensor.dtype, shape: tensor.shape, data_offsets: dataOffsets })]);
    planned.push({ name: tensor.name, dtype: tensor.dtype, shape: [...tensor.shape], dataOffsets, byteLength });
    offset += byteLength;
  }

  const json = Buffer.from(jsonObject(header), "utf8");
  const padding = (SAFETENSORS_HEADER_ALIGNMENT - (json.length % SAFETENSORS_HEADER_ALIGNMENT)) % SAFETENSORS_HEADER_ALIGNMENT;
  const headerLength = json.length + padding;
  const bytes = Buffer.alloc(SAFETENSORS_LENGTH_PREFIX_BYTES + headerLength, " ");
  bytes.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(bytes, SAFETENSORS_LENGTH_PREFIX_BYTES);
  const dataOffset = SAFETENSORS_LENGTH_PREFIX_BYTES + headerLength;
  return { bytes, tensors: planned, dataOffset, fileSize: dataOffset + offset };
}

function validateDeclarations(tensors: readonly SafetensorsTensorDeclaration[], metadata: Readonly<Record<string, string>> | undefined): void {
  const invalid = (message: string) => new LoraGgufError("E_INVALID_OPTION", `safetensors writer: ${message}`);
  const seen = new Set<string>();
  for (const tensor of tensors) {
    if (typeof tensor.name !== "string" || tensor.name === "" || tensor.name === SAFETENSORS_METADATA_KEY) {
      throw invalid(`tensor name must be a non-empty string other than "${SAFETENSORS_METADATA_KEY}", got ${JSON.stringify(tensor.name)}`);
    }
    if (seen.has(tensor.name)) throw invalid(`tensor "${tensor.name}" is declared twice`);
    seen.add(tensor.name);
    if (!isSafetensorsDtype(tensor.dtype)) throw invalid(`tensor "${tensor.name}" has unknown dtype ${JSON.stringify(tensor.dtype)}`);
    if (!Array.isArray(tensor.shape) || !tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw invalid(`tensor "${tensor.name}" shape must be an array of non-negative integers`);
    }
    const elements = safetensorsElementCount(tensor.shape);
    if (elements === undefined || !Number.isSafeInteger(elements * SAFETENSORS_DTYPE_BYTES[tensor.dtype])) {
      throw invalid(`tensor "${tensor.name}" shape [${tensor.shape.join(", ")}] is too large`);
    }
  }
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== "string") throw invalid(`metadata "${key}" must be a string`);
  }
}

/**
 * Writes a safetensors file front to back: the header on creation, then each tensor's data in file
 * order (`tensors`), checked for order and length. Output goes to a temporary file renamed onto
 * `path` by `finish()`; any error deletes it.
 */
export class SafetensorsWriter extends OrderedTensorFileWriter {
  private constructor(
    output: AtomicOutputFile,
    private readonly header: EncodedSafetensorsHeader,
  ) {
    super(output, header.tensors, "safetensors writer");
  }

  static async create(path: string, init: SafetensorsWriterInit): Promise<SafetensorsWriter> {
    const header = encodeSafetensorsHeader(init.tensors, init.metadata);
    const output = await AtomicOutputFile.create(path);
    const writer = new SafetensorsWriter(output, header);
    await writer.guard(() => output.write(header.bytes));
    return writer;
  }

  /** The tensors in the order their data must be written. */
  get tensors(): readonly SafetensorsPlannedTensor[] {
    return this.header.tensors;
  }

  get fileSize(): number {
    return this.header.fileSize;
  }

  protected describe(index: number): string {
    const tensor = this.header.tensors[index];
    return `${tensor.dtype} [${tensor.shape.join(", ")}]`;
  }
}

export interface SafetensorsTensorWithData extends SafetensorsTensorDeclaration {
  /** Raw little-endian element bytes (a Float32Array for F32, bf16 or f16 bits as a Uint16Array, ...). */
  data: ArrayBufferView;
}

/** Writes a whole safetensors file atomically from in-memory tensors, in any order. */
export async function writeSafetensorsFile(
  path: string,
  content: { tensors: readonly SafetensorsTensorWithData[]; metadata?: Readonly<Record<string, string>> },
): Promise<void> {
  const writer = await SafetensorsWriter.create(path, {
    tensors: content.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
    metadata: content.metadata,
  });
  const byName = new Map(content.tensors.map((tensor) => [tensor.name, tensor.data]));
  for (const tensor of writer.tensors) {
    await writer.writeTensorData(tensor.name, byName.get(tensor.name)!);
  }
  await writer.finish();
}

/** A compact JSON object from [key, already-encoded value] pairs, in their order. */
function jsonObject(entries: readonly [string, string][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
