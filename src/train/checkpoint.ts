// A training checkpoint is one GGUF file: the adapter's tensors, their AdamW moments
// ("<tensor>.adamw_m", "<tensor>.adamw_v"), and in metadata the step reached, the optimizer's
// step counter and the resolved configuration. With the plan rebuilt from the same data and seed,
// that is everything needed to continue bit for bit (the windows, their order and the learning
// rate are functions of the configuration and the step).
import { readFile } from "node:fs/promises";

import { LoraGgufError } from "../errors.js";
import { GgmlType, GgufValueType, readGgufHeader, stringEntry, writeGgufFile, type GgufMetadataEntry } from "../gguf/index.js";
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

export async function readCheckpoint(path: string): Promise<TrainingCheckpoint> {
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
  const bytes = await readFile(path);
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const floats = (name: string) => {
    const tensor = byName.get(name);
    if (!tensor || tensor.type !== GgmlType.F32) throw new LoraGgufError("E_BAD_CHECKPOINT", `${path} lacks the f32 tensor ${name}`);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + tensor.absoluteOffset, bytes.byteOffset + tensor.absoluteOffset + tensor.byteSize));
  };
  const tensors = header.tensors
    .filter((tensor) => tensor.name.endsWith(".lora_a") || tensor.name.endsWith(".lora_b"))
    .map((tensor) => ({
      name: tensor.name,
      dims: [tensor.dims[0], tensor.dims[1]] as [number, number],
      data: floats(tensor.name),
      adamwM: floats(`${tensor.name}.adamw_m`),
      adamwV: floats(`${tensor.name}.adamw_v`),
    }));
  return {
    step: Number(value(key("step"))),
    optimizerIter: Number(value(key("optimizer_iter"))),
    configJson: String(value(key("config"))),
    baseFingerprint: String(value(key("base_fingerprint"))),
    dataFingerprint: String(value(key("data_fingerprint"))),
    architecture: String(value("general.architecture")),
    alpha: Number(value("adapter.lora.alpha")),
    tensors,
  };
}
