import { readGgufHeader } from "../../src/gguf/index.js";
import { initialAdapterTensors, writeAdapterGguf } from "../../src/train/adapter-file.js";
import { findLoraTargetTensors, type LoraTarget } from "../../src/train/lora-targets.js";
import { SeededRandom } from "../../src/seeded-random.js";

/**
 * An adapter for every target of `modelPath`'s family (or the given targets and layers) with a non-zero B (a fresh adapter has B = 0,
 * where dL/dA vanishes and a gradient check of A would be vacuous).
 */
export async function writeRandomAdapter(modelPath: string, adapterPath: string, options: { rank: number; alpha: number; seed: number; bStd: number; targets?: LoraTarget[]; layers?: number[] }) {
  const header = await readGgufHeader(modelPath);
  const architecture = String(header.metadataByKey.get("general.architecture")?.value);
  const targets = findLoraTargetTensors(header, options.targets, options.layers);
  const tensors = initialAdapterTensors(targets, options.rank, options.seed);
  const random = new SeededRandom(options.seed + 1);
  for (const tensor of tensors) {
    if (tensor.name.endsWith(".lora_b")) random.fillNormal(tensor.data, 0, options.bStd);
  }
  await writeAdapterGguf(adapterPath, { architecture, alpha: options.alpha, tensors });
  return { architecture, targets, tensors };
}
