// A training checkpoint is one GGUF file: the adapter's tensors, their AdamW moments
// ("<tensor>.adamw_m", "<tensor>.adamw_v"), and in metadata the step reached, the optimizer's
// step counter and the resolved configuration. With the plan rebuilt from the same data and seed,
// that is everything needed to continue bit for bit (the windows, their order and the learning
// rate are functions of the configuration and the step).
import { readFile } from "node:fs/promises";

import { LoraGgufError } from "../errors.js";
import { GgmlType, GgufValueType, readGgufHeader, stringEntry, writeGgufFile, type GgufHeader, type GgufMetadataEntry } from "../gguf/index.js";
import type { AdapterTensorData } from "./adapter-file.js";

export const CHECKPOINT_TYPE = "lora-gguf-checkpoint";

export interface TrainingCheckpoint {
  /** Optimizer steps completed. */
  step: number;
  optimizerIter: number;
  /** The resolved configuration, as JSON (ResolvedTrainConfig plus contextLength). */
  configJson: string;
  baseFingerprint: string;
  dataFingerprint: string;
  architecture: string;
  alpha: number;
  tensors: (AdapterTensorData & { adamwM: Float32Array; adamwV: Float32Array })[];
}

const key = (name: string) => `lora_gguf.checkpoint.${name}`;

export async function writeCheckpoint(path: string, checkpoint: TrainingCheckpoint): Promise<void> {
  const metadata: GgufMetadataEntry[] = [
    stringEntry("general.architecture", checkpoint.architecture),
    stringEntry("general.type", CHECKPOINT_TYPE),
    { key: "adapter.lora.alpha", type: GgufValueType.FLOAT32, value: checkpoint.alpha },
    { key: key("step"), type: GgufValueType.UINT64, value: BigInt(checkpoint.step) },
    { key: key("optimizer_iter"), type: GgufValueType.UINT64, value: BigInt(checkpoint.optimizerIter) },
    stringEntry(key("config"), checkpoint.configJson),
    stringEntry(key("base_fingerprint"), checkpoint.baseFingerprint),
    stringEntry(key("data_fingerprint"), checkpoint.dataFingerprint),
  ];
  await writeGgufFile(path, {
    metadata,
    tensors: checkpoint.tensors.flatMap((tensor) => [
      { name: tensor.name, dims: tensor.dims, type: GgmlType.F32, data: tensor.data },
      { name: `${tensor.name}.adamw_m`, dims: tensor.dims, type: GgmlType.F32, data: tensor.adamwM },
      { name: `${tensor.name}.adamw_v`, dims: tensor.dims, type: GgmlType.F32, data: tensor.adamwV },
    ]),
  });
}

/** A checkpoint's metadata: what a run continues from, without its tensors. */
export type TrainingCheckpointSummary = Omit<TrainingCheckpoint, "tensors">;

export async function readCheckpoint(path: string): Promise<TrainingCheckpoint> {
  const { header, summary } = await readCheckpointMetadata(path);
  const bytes = await readFile(path);
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const floats = (name: string) => {
    const tensor = byName.get(name);
    if (!tensor || tensor.type !== GgmlType.F32) throw new LoraGgufError("E_BAD_CHECKPOINT", `${path} lacks the f32 tensor ${name}`);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + tensor.absoluteOffset, bytes.byteOffset + tensor.absoluteOffset + tensor.byteSize));
  };
  const tensors = header.tensors
    .filter((tensor) => tensor.name.endsWith(".lora_a") || tensor.name.endsWith(".lora_b"))
    .map((tensor) => {
      if (tensor.dims.length !== 2) throw unusable(path, `${tensor.name} is not a matrix`);
      return {
        name: tensor.name,
        dims: [tensor.dims[0], tensor.dims[1]] as [number, number],
        data: floats(tensor.name),
        adamwM: floats(`${tensor.name}.adamw_m`),
        adamwV: floats(`${tensor.name}.adamw_v`),
      };
    });
  if (tensors.length === 0) throw unusable(path, "it holds no adapter tensors (.lora_a, .lora_b)");
  const names = new Set(tensors.map((tensor) => tensor.name));
  for (const { name } of tensors) {
    const partner = name.endsWith(".lora_a") ? `${name.slice(0, -1)}b` : `${name.slice(0, -1)}a`;
    if (!names.has(partner)) throw unusable(path, `it has ${name} without ${partner}`);
  }
  return { ...summary, tensors };
}

/** The step, configuration and fingerprints of a checkpoint, from its header alone (no tensor data is read). */
export async function readCheckpointSummary(path: string): Promise<TrainingCheckpointSummary> {
  return (await readCheckpointMetadata(path)).summary;
}

async function readCheckpointMetadata(path: string): Promise<{ header: GgufHeader; summary: TrainingCheckpointSummary }> {
  const header = await readGgufHeader(path).catch((error: unknown) => {
    if (error instanceof LoraGgufError && error.code === "E_BAD_GGUF") {
      throw new LoraGgufError("E_BAD_CHECKPOINT", `${path} is not a lora-gguf checkpoint: ${error.message}`, { cause: error });
    }
    throw error;
  });
  const value = (name: string) => header.metadataByKey.get(name)?.value;
  if (value("general.type") !== CHECKPOINT_TYPE) {
    throw new LoraGgufError(
      "E_BAD_CHECKPOINT",
      `${path} is not a lora-gguf training checkpoint (general.type is ${JSON.stringify(value("general.type") ?? null)}); resume from the checkpoint.gguf a run wrote`,
    );
  }
  const configJson = metadataString(path, value, key("config"));
  let config: unknown;
  try {
    config = JSON.parse(configJson);
  } catch {
    throw unusable(path, `${key("config")} is not JSON`);
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw unusable(path, `${key("config")} is not a JSON object`);
  const alpha = Number(value("adapter.lora.alpha"));
  if (!Number.isFinite(alpha) || alpha <= 0) throw unusable(path, "adapter.lora.alpha is not a positive number");
  return {
    header,
    summary: {
      step: metadataCount(path, value, key("step")),
      optimizerIter: metadataCount(path, value, key("optimizer_iter")),
      configJson,
      baseFingerprint: metadataString(path, value, key("base_fingerprint")),
      dataFingerprint: metadataString(path, value, key("data_fingerprint")),
      architecture: metadataString(path, value, "general.architecture"),
      alpha,
    },
  };
}

/** A checkpoint whose metadata or tensors a run cannot continue from (edited, or written by something else). */
function unusable(path: string, problem: string): LoraGgufError {
  return new LoraGgufError("E_BAD_CHECKPOINT", `${path} cannot be resumed from: ${problem}; resume from the checkpoint.gguf a run wrote, or train again without resume`);
}

function metadataString(path: string, value: (name: string) => unknown, name: string): string {
  const text = value(name);
  if (typeof text !== "string" || text === "") throw unusable(path, `${name} is missing`);
  return text;
}

function metadataCount(path: string, value: (name: string) => unknown, name: string): number {
  const raw = value(name);
  const count = typeof raw === "bigint" ? Number(raw) : raw;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) throw unusable(path, `${name} is not a step count`);
  return count;
}
