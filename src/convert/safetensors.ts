import { open, readFile, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { LoraGgufError } from "../errors.js";
import { bfloat16ArrayToFloat32, float16ArrayToFloat32 } from "../gguf/f16.js";
import { describeJson } from "./json-description.js";
import {
  isSafetensorsDtype,
  SAFETENSORS_DTYPE_BYTES,
  SAFETENSORS_LENGTH_PREFIX_BYTES,
  SAFETENSORS_MAX_HEADER_BYTES,
  SAFETENSORS_METADATA_KEY,
  safetensorsElementCount,
  type SafetensorsDtype,
} from "./safetensors-format.js";

export { type SafetensorsDtype } from "./safetensors-format.js";

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  /** PyTorch order: the row length last. */
  shape: number[];
  /** Offset of the tensor's first byte from the start of the file. */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  path: string;
  /** Sorted by name, as the safetensors library and llama.cpp's SafetensorsLocal list them. */
  tensors: SafetensorsTensorInfo[];
  /** The `__metadata__` map ({} when absent); transformers writes {"format": "pt"}. */
  metadata: Record<string, string>;
  /** Offset of the data section: 8 + the header length. */
  dataOffset: number;
  fileSize: number;
}

/** One tensor of a checkpoint: the file holding it and where in that file. */
export interface CheckpointTensor {
  file: string;
  info: SafetensorsTensorInfo;
}

export const CHECKPOINT_SINGLE_FILE_NAME = "model.safetensors";
export const CHECKPOINT_INDEX_FILE_NAME = "model.safetensors.index.json";

/** fs reads are capped at 2 GiB - 1 per call; tensors above that are read in pieces. */
const MAX_READ_BYTES = 1 << 30;

/**
 * Reads and validates a safetensors header: the 8-byte length and the JSON after it, nothing of the
 * data section. Rejects with E_INPUT_NOT_FOUND when the file cannot be opened and E_BAD_SAFETENSORS
 * when the header is not valid safetensors or a tensor lies outside the file (a truncated download).
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const { handle, fileSize } = await openInput(file);
  try {
    const bad = (what: string) => new LoraGgufError("E_BAD_SAFETENSORS", `${file}: ${what}`);
    if (fileSize < SAFETENSORS_LENGTH_PREFIX_BYTES) {
      throw bad(`truncated: the file has ${fileSize} bytes, fewer than the 8-byte header length that starts a safetensors file`);
    }
    const prefix = await readExactly(handle, file, 0, SAFETENSORS_LENGTH_PREFIX_BYTES);
    const headerLength = Buffer.from(prefix.buffer, prefix.byteOffset, prefix.byteLength).readBigUInt64LE(0);
    if (headerLength > BigInt(fileSize - SAFETENSORS_LENGTH_PREFIX_BYTES)) {
      throw bad(`header length ${headerLength} runs past the end of the ${fileSize}-byte file`);
    }
    if (headerLength > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
      throw bad(`header length ${headerLength} is over the ${SAFETENSORS_MAX_HEADER_BYTES}-byte limit safetensors sets`);
    }
    const dataOffset = SAFETENSORS_LENGTH_PREFIX_BYTES + Number(headerLength);
    const headerBytes = await readExactly(handle, file, SAFETENSORS_LENGTH_PREFIX_BYTES, Number(headerLength));
    const parsed = parseHeader(headerBytes, bad);
    const tensors = tensorInfos(parsed, dataOffset, fileSize, bad);
    return { path: file, tensors, metadata: headerMetadata(parsed, bad), dataOffset, fileSize };
  } finally {
    await handle.close();
  }
}

function parseHeader(bytes: Uint8Array, bad: (what: string) => LoraGgufError): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw bad("the header is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw bad(`the header is not valid JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw bad(`the header must be a JSON object, got ${describeJson(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

function headerMetadata(parsed: Record<string, unknown>, bad: (what: string) => LoraGgufError): Record<string, string> {
  const raw = parsed[SAFETENSORS_METADATA_KEY];
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw bad(`__metadata__ must be an object mapping strings to strings, got ${describeJson(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== "string") {
      throw bad(`__metadata__ must map strings to strings, but "${key}" is ${describeJson(value)}`);
    }
  }
  return Object.fromEntries(Object.entries(raw as Record<string, string>));
}

function tensorInfos(
  parsed: Record<string, unknown>,
  dataOffset: number,
  fileSize: number,
  bad: (what: string) => LoraGgufError,
): SafetensorsTensorInfo[] {
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === SAFETENSORS_METADATA_KEY) continue;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw bad(`tensor "${name}" must be an object with dtype, shape and data_offsets, got ${describeJson(entry)}`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) {
      throw bad(`tensor "${name}" has unknown dtype ${describeJson(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw bad(`tensor "${name}" shape must be an array of non-negative integers, got ${describeJson(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw bad(`tensor "${name}" data_offsets must be [begin, end] with 0 <= begin <= end, got ${describeJson(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const elements = safetensorsElementCount(shape);
    const expectedBytes = elements === undefined ? undefined : elements * SAFETENSORS_DTYPE_BYTES[dtype];
    if (expectedBytes !== end - begin) {
      throw bad(
        `tensor "${name}" data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${shape.join(", ")}] of ${dtype} needs ${expectedBytes ?? "more than 2^53"}`,
      );
    }
    tensors.push({ name, dtype, shape: [...shape], byteOffset: dataOffset + begin, byteLength: end - begin });
  }

  const byOffset = [...tensors].sort((a, b) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  for (const tensor of byOffset) {
    const end = tensor.byteOffset + tensor.byteLength;
    if (end > fileSize) {
      throw bad(`truncated: tensor "${tensor.name}" ends at byte ${end} but the file has ${fileSize} bytes`);
    }
  }
  let previous: SafetensorsTensorInfo | undefined;
  for (const tensor of byOffset) {
    if (tensor.byteLength === 0) continue;
    if (previous !== undefined && tensor.byteOffset < previous.byteOffset + previous.byteLength) {
      throw bad(
        `tensors "${previous.name}" (data bytes ${previous.byteOffset - dataOffset} to ${previous.byteOffset - dataOffset + previous.byteLength}) and "${tensor.name}" (${tensor.byteOffset - dataOffset} to ${tensor.byteOffset - dataOffset + tensor.byteLength}) overlap`,
      );
    }
    if (previous === undefined || tensor.byteOffset + tensor.byteLength > previous.byteOffset + previous.byteLength) previous = tensor;
  }
  return tensors.sort((a, b) => compareNames(a.name, b.name));
}

/**
 * Every tensor of a Hugging Face checkpoint directory: `model.safetensors`, or the shards that
 * `model.safetensors.index.json` lists in its weight_map. Only headers are read.
 *
 * Ordered as llama.cpp's converter meets them: shard files in name order, each shard's tensors by
 * name. Rejects with E_INPUT_NOT_FOUND when the directory, the weights or a listed shard are
 * missing, and E_BAD_SAFETENSORS when a file or the index is malformed, or the index and the
 * shards disagree on which tensors there are (as llama.cpp's index_tensors does).
 */
export async function openCheckpointTensors(dir: string): Promise<Map<string, CheckpointTensor>> {
  await requireDirectory(dir);
  const indexPath = path.join(dir, CHECKPOINT_INDEX_FILE_NAME);
  const weightMap = await readWeightMap(indexPath);
  if (weightMap === undefined) {
    const single = path.join(dir, CHECKPOINT_SINGLE_FILE_NAME);
    if (!(await isFile(single))) throw await missingWeightsError(dir);
    const header = await readSafetensorsHeader(single);
    return new Map(header.tensors.map((info) => [info.name, { file: single, info }]));
  }

  const shardNames = [...new Set(weightMap.values())].sort(compareNames);
  const headers = new Map<string, SafetensorsHeader>();
  for (const shardName of shardNames) {
    const shardPath = path.join(dir, shardName);
    if (!(await isFile(shardPath))) {
      throw new LoraGgufError("E_INPUT_NOT_FOUND", `shard ${shardName} listed in ${indexPath} is missing from ${dir}`);
    }
    headers.set(shardName, await readSafetensorsHeader(shardPath));
  }

  for (const [tensorName, shardName] of weightMap) {
    const header = headers.get(shardName)!;
    if (!header.tensors.some((info) => info.name === tensorName)) {
      throw new LoraGgufError("E_BAD_SAFETENSORS", `${indexPath} puts tensor "${tensorName}" in ${shardName}, but ${header.path} has no such tensor`);
    }
  }

  const tensors = new Map<string, CheckpointTensor>();
  for (const [shardName, header] of headers) {
    for (const info of header.tensors) {
      const listedIn = weightMap.get(info.name);
      // llama.cpp refuses a shard holding tensors the index does not list: the files are mixed up.
      if (listedIn === undefined) {
        throw new LoraGgufError("E_BAD_SAFETENSORS", `${header.path} holds tensor "${info.name}", which ${indexPath} does not list`);
      }
      // A copy in another shard than the index names is not the one to use.
      if (listedIn === shardName) tensors.set(info.name, { file: header.path, info });
    }
  }
  return tensors;
}

/** weight_map of the index as tensor name → shard file name; undefined when there is no index. */
async function readWeightMap(indexPath: string): Promise<Map<string, string> | undefined> {
  let text: string;
  try {
    text = await readFile(indexPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${indexPath}: ${(error as Error).message}`, { cause: error });
  }
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw new LoraGgufError("E_BAD_SAFETENSORS", `${indexPath} is not valid JSON (${(error as Error).message})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== "object" || Array.isArray(weightMap)) {
    throw new LoraGgufError("E_BAD_SAFETENSORS", `${indexPath} has no weight_map object mapping tensor names to shard files`);
  }
  const entries = Object.entries(weightMap as Record<string, unknown>);
  if (entries.length === 0) {
    throw new LoraGgufError("E_BAD_SAFETENSORS", `${indexPath} has an empty weight_map`);
  }
  for (const [tensorName, shardName] of entries) {
    // Shards sit beside the index; a name that climbs out of the directory is refused.
    if (typeof shardName !== "string" || shardName === "" || path.isAbsolute(shardName) || shardName.split(/[\\/]/).includes("..")) {
      throw new LoraGgufError("E_BAD_SAFETENSORS", `${indexPath}: weight_map gives tensor "${tensorName}" the shard ${describeJson(shardName)}, not a file name in the checkpoint directory`);
    }
  }
  return new Map(entries as [string, string][]);
}

async function requireDirectory(dir: string): Promise<void> {
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch (error) {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `checkpoint directory not found: ${dir}`, { cause: error });
  }
  throw new LoraGgufError("E_INPUT_NOT_FOUND", `${dir} is not a directory; give the directory of a Hugging Face checkpoint`);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function missingWeightsError(dir: string): Promise<LoraGgufError> {
  const pickle = (await isFile(path.join(dir, "pytorch_model.bin"))) || (await isFile(path.join(dir, "pytorch_model.bin.index.json")));
  const hint = pickle
    ? "; it has pytorch_model.bin weights, which are not read (only safetensors are): re-save the model with save_pretrained(..., safe_serialization=True)"
    : "";
  return new LoraGgufError("E_INPUT_NOT_FOUND", `${dir} has neither ${CHECKPOINT_SINGLE_FILE_NAME} nor ${CHECKPOINT_INDEX_FILE_NAME}${hint}`);
}

/** One tensor's raw bytes, read at its offset (nothing else of the file is read). */
export async function readTensorBytes(entry: CheckpointTensor): Promise<Uint8Array> {
  const bytes = new Uint8Array(entry.info.byteLength);
  await readTensorInto(entry, bytes);
  return bytes;
}

/**
 * One tensor as float32: F32 as stored, F16 widened exactly, BF16 exactly (its bits are the high
 * half of a float32's). Other dtypes reject with E_UNSUPPORTED_DTYPE.
 */
export async function readTensorAsFloat32(entry: CheckpointTensor): Promise<Float32Array> {
  const { info } = entry;
  const elements = info.byteLength / SAFETENSORS_DTYPE_BYTES[info.dtype];
  switch (info.dtype) {
    case "F32": {
      const values = new Float32Array(elements);
      await readTensorInto(entry, new Uint8Array(values.buffer));
      return values;
    }
    case "F16":
    case "BF16": {
      const bits = new Uint16Array(elements);
      await readTensorInto(entry, new Uint8Array(bits.buffer));
      return info.dtype === "F16" ? float16ArrayToFloat32(bits) : bfloat16ArrayToFloat32(bits);
    }
    default:
      throw new LoraGgufError(
        "E_UNSUPPORTED_DTYPE",
        `tensor "${info.name}" in ${entry.file} is ${info.dtype}; only F32, F16 and BF16 tensors can be read as float32`,
      );
  }
}

async function readTensorInto(entry: CheckpointTensor, target: Uint8Array): Promise<void> {
  const { handle } = await openInput(entry.file);
  try {
    let done = 0;
    while (done < target.length) {
      const length = Math.min(MAX_READ_BYTES, target.length - done);
      const { bytesRead } = await handle.read(target, done, length, entry.info.byteOffset + done);
      if (bytesRead === 0) {
        throw new LoraGgufError(
          "E_BAD_SAFETENSORS",
          `${entry.file}: truncated: tensor "${entry.info.name}" ends at byte ${entry.info.byteOffset + entry.info.byteLength} but the file ended at byte ${entry.info.byteOffset + done}`,
        );
      }
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

async function readExactly(handle: FileHandle, file: string, position: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, Math.min(MAX_READ_BYTES, length - done), position + done);
    if (bytesRead === 0) {
      throw new LoraGgufError("E_BAD_SAFETENSORS", `${file}: truncated: the file ended at byte ${position + done} while reading its header`);
    }
    done += bytesRead;
  }
  return bytes;
}

async function openInput(file: string): Promise<{ handle: FileHandle; fileSize: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" || code === "ENOTDIR" ? `safetensors file not found: ${file}` : `cannot read ${file}: ${(error as Error).message}`;
    throw new LoraGgufError("E_INPUT_NOT_FOUND", message, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new LoraGgufError("E_INPUT_NOT_FOUND", `${file} is not a regular file`);
    return { handle, fileSize: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Code-point order, as Python's sorted() orders the names (UTF-16 order differs above U+FFFF). */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
