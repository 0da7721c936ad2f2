import { readGgufHeader, type GgufHeader } from "../gguf/index.js";
import { ggmlTypeInfo } from "../gguf/ggml-types.js";
import { fileTypeName } from "../quantize/types.js";
import { CHECKPOINT_TYPE } from "../train/checkpoint.js";
import { requireString } from "../validate.js";

export interface TensorTypeSummary {
  /** ggml type name, e.g. "q4_K". */
  type: string;
  tensorCount: number;
  parameterCount: number;
  bytes: number;
}

export interface TensorEntry {
  name: string;
  type: string;
  /** ggml ne order: row length first. */
  dims: number[];
  parameterCount: number;
  bytes: number;
}

export interface AdapterInfo {
  /** adapter.type, "lora" for LoRA adapters. */
  adapterType: string;
  alpha?: number;
  /** LoRA rank r, read from the lora_a shapes (undefined when they disagree). */
  rank?: number;
  /** Base-model tensors the adapter modifies. */
  targetCount: number;
  targets: string[];
}

export interface InspectResult {
  path: string;
  fileBytes: number;
  ggufVersion: number;
  /**
   * "model", "adapter" (general.type = adapter), "checkpoint" (a training run's checkpoint.gguf,
   * general.type = lora-gguf-checkpoint) or "vocab" (no tensors).
   */
  kind: "model" | "adapter" | "checkpoint" | "vocab";
  architecture?: string;
  name?: string;
  parameterCount: number;
  /** general.file_type, as a llama.cpp ftype name ("Q4_K_M") and number. */
  fileType?: { name: string; id: number };
  contextLength?: number;
  tokenizer?: { model: string; pre?: string; tokenCount?: number };
  hasChatTemplate: boolean;
  adapter?: AdapterInfo;
  tensorTypes: TensorTypeSummary[];
  tensorCount: number;
  tensors?: TensorEntry[];
}

/** Describes a GGUF model or adapter from its header alone (no tensor data is read). */
export async function inspect(path: string, options: { tensors?: boolean } = {}): Promise<InspectResult> {
  requireString("inspect", "path", path);
  const header = await readGgufHeader(path);
  return describeGguf(path, header, options.tensors === true);
}

function describeGguf(path: string, header: GgufHeader, withTensors: boolean): InspectResult {
  const value = (key: string) => header.metadataByKey.get(key)?.value;
  const architecture = stringOrUndefined(value("general.architecture"));
  const fileTypeId = numberOrUndefined(value("general.file_type"));
  const tokenizerModel = stringOrUndefined(value("tokenizer.ggml.model"));
  const tokens = value("tokenizer.ggml.tokens");

  const entries: TensorEntry[] = header.tensors.map((tensor) => {
    const parameterCount = tensor.dims.reduce((product, dim) => product * dim, 1);
    return { name: tensor.name, type: ggmlTypeInfo(tensor.type)?.name ?? `type ${tensor.type}`, dims: tensor.dims, parameterCount, bytes: tensor.byteSize };
  });

  const byType = new Map<string, TensorTypeSummary>();
  for (const entry of entries) {
    const summary = byType.get(entry.type) ?? { type: entry.type, tensorCount: 0, parameterCount: 0, bytes: 0 };
    summary.tensorCount += 1;
    summary.parameterCount += entry.parameterCount;
    summary.bytes += entry.bytes;
    byType.set(entry.type, summary);
  }

  const isAdapter = value("general.type") === "adapter";
  const kind = isAdapter ? "adapter" : value("general.type") === CHECKPOINT_TYPE ? "checkpoint" : entries.length === 0 ? "vocab" : "model";
  return {
    path,
    fileBytes: header.fileSize,
    ggufVersion: header.version,
    kind,
    architecture,
    name: stringOrUndefined(value("general.name")),
    parameterCount: entries.reduce((sum, entry) => sum + entry.parameterCount, 0),
    fileType: fileTypeId === undefined ? undefined : { name: fileTypeName(fileTypeId), id: fileTypeId },
    contextLength: architecture ? numberOrUndefined(value(`${architecture}.context_length`)) : undefined,
    tokenizer: tokenizerModel
      ? { model: tokenizerModel, pre: stringOrUndefined(value("tokenizer.ggml.pre")), tokenCount: Array.isArray(tokens) ? tokens.length : undefined }
      : undefined,
    hasChatTemplate: typeof value("tokenizer.chat_template") === "string",
    adapter: isAdapter ? describeAdapter(entries, value) : undefined,
    tensorTypes: [...byType.values()].sort((a, b) => b.bytes - a.bytes),
    tensorCount: entries.length,
    tensors: withTensors ? entries : undefined,
  };
}

function describeAdapter(entries: TensorEntry[], value: (key: string) => unknown): AdapterInfo {
  // GGUF LoRA tensors are "<base tensor>.lora_a" with ne = [n_in, r] and "<base tensor>.lora_b" with ne = [r, n_out].
  const loraA = entries.filter((entry) => entry.name.endsWith(".lora_a"));
  const ranks = new Set(loraA.map((entry) => entry.dims[1]));
  return {
    adapterType: stringOrUndefined(value("adapter.type")) ?? "unknown",
    alpha: numberOrUndefined(value("adapter.lora.alpha")),
    rank: ranks.size === 1 ? [...ranks][0] : undefined,
    targetCount: loraA.length,
    targets: loraA.map((entry) => entry.name.slice(0, -".lora_a".length)),
  };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function numberOrUndefined(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}
