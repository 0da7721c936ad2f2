// GGUF LoRA adapters as llama.cpp reads them (src/llama-adapter.cpp): general.type = "adapter",
// adapter.type = "lora", adapter.lora.alpha, and for each adapted base tensor W (ne = [n_in, n_out])
// "<W>.lora_a" with ne = [n_in, r] and "<W>.lora_b" with ne = [r, n_out]; the runtime adds
// (alpha / r) · B·A·x to W·x.
import { GgmlType, GgufValueType, stringEntry, writeGgufFile, type GgufMetadataEntry } from "../gguf/index.js";
import { SeededRandom } from "../seeded-random.js";
import type { LoraTargetTensor } from "./lora-targets.js";

export interface AdapterTensorData {
  name: string;
  dims: [number, number];
  data: Float32Array;
}

export interface AdapterFileContent {
  architecture: string;
  alpha: number;
  tensors: AdapterTensorData[];
  /** Extra metadata (training config, base fingerprint, ...). */
  metadata?: GgufMetadataEntry[];
}

/**
 * A fresh adapter as PEFT initialises one: B = 0, so training starts from the base model exactly,
 * and A from Kaiming-uniform with bound 1/sqrt(n_in) (torch's default for nn.Linear, which PEFT uses).
 */
export function initialAdapterTensors(targets: readonly LoraTargetTensor[], rank: number, seed: number): AdapterTensorData[] {
  const random = new SeededRandom(seed);
  const tensors: AdapterTensorData[] = [];
  for (const target of targets) {
    const bound = 1 / Math.sqrt(target.inputSize);
    const loraA = new Float32Array(target.inputSize * rank);
    for (let i = 0; i < loraA.length; i++) loraA[i] = (random.nextFloat() * 2 - 1) * bound;
    tensors.push({ name: `${target.baseName}.lora_a`, dims: [target.inputSize, rank], data: loraA });
    tensors.push({ name: `${target.baseName}.lora_b`, dims: [rank, target.outputSize], data: new Float32Array(rank * target.outputSize) });
  }
  return tensors;
}

export async function writeAdapterGguf(path: string, content: AdapterFileContent): Promise<void> {
  const metadata: GgufMetadataEntry[] = [
    stringEntry("general.architecture", content.architecture),
    stringEntry("general.type", "adapter"),
    stringEntry("adapter.type", "lora"),
    { key: "adapter.lora.alpha", type: GgufValueType.FLOAT32, value: content.alpha },
    ...(content.metadata ?? []),
  ];
  await writeGgufFile(path, {
    metadata,
    tensors: content.tensors.map((tensor) => ({ name: tensor.name, dims: tensor.dims, type: GgmlType.F32, data: tensor.data })),
  });
}
