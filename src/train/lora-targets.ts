import { LoraGgufError } from "../errors.js";
import { familyOfGgufArchitecture, modelFamilies, type LoraTarget } from "../arch/index.js";
import type { GgufHeader } from "../gguf/index.js";

export type { LoraTarget } from "../arch/index.js";

/** Every target, in the order PEFT lists a block's modules; the default is all of them. */
export const defaultLoraTargets: readonly LoraTarget[] = ["q", "k", "v", "o", "gate", "up", "down"];

/** Accepts PEFT's names too (q_proj, down_proj, ...) and "all-linear". */
export function resolveLoraTargets(names: readonly string[] | string): LoraTarget[] {
  const list = typeof names === "string" ? names.split(",") : [...names];
  const targets = new Set<LoraTarget>();
  for (const raw of list.map((name) => name.trim().toLowerCase()).filter(Boolean)) {
    if (raw === "all-linear" || raw === "all") {
      defaultLoraTargets.forEach((target) => targets.add(target));
      continue;
    }
    const short = raw.replace(/_proj$/, "") as LoraTarget;
    if (!defaultLoraTargets.includes(short)) {
      throw new LoraGgufError(
        "E_INVALID_OPTION",
        `unknown LoRA target "${raw}"; use any of ${defaultLoraTargets.join(", ")} (or q_proj, ..., down_proj), or all-linear`,
      );
    }
    targets.add(short);
  }
  if (targets.size === 0) throw new LoraGgufError("E_INVALID_OPTION", "no LoRA targets given");
  return defaultLoraTargets.filter((target) => targets.has(target));
}

export interface LoraTargetTensor {
  /** Base tensor name, e.g. "blk.3.attn_q.weight". */
  baseName: string;
  target: LoraTarget;
  layer: number;
  /** The base weight's input (ne[0]) and output (ne[1]) sizes. */
  inputSize: number;
  outputSize: number;
}

/** The base tensors the adapter will modify, with their shapes, from the base model's header. */
export function findLoraTargetTensors(header: GgufHeader, targets: readonly LoraTarget[], layers?: readonly number[]): LoraTargetTensor[] {
  const architecture = header.metadataByKey.get("general.architecture")?.value;
  const family = familyOfGgufArchitecture(architecture);
  if (!family) {
    throw new LoraGgufError("E_UNSUPPORTED_ARCH", `LoRA targets are known for ${modelFamilies.map((f) => f.ggufArchitecture).join(", ")}, not ${String(architecture)}`);
  }
  const blockCount = Number(header.metadataByKey.get(`${String(architecture)}.block_count`)?.value ?? 0);
  const wantedLayers = layers ?? Array.from({ length: blockCount }, (_, index) => index);
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const found: LoraTargetTensor[] = [];
  for (const layer of wantedLayers) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= blockCount) {
      throw new LoraGgufError("E_INVALID_OPTION", `layer ${layer} does not exist; the model has layers 0 to ${blockCount - 1}`);
    }
    for (const target of targets) {
      const baseName = `blk.${layer}.${family.loraTargets[target]}.weight`;
      const tensor = byName.get(baseName);
      if (!tensor) {
        throw new LoraGgufError("E_WRONG_KIND", `the model has no ${baseName}, so "${target}" cannot be a LoRA target`);
      }
      if (tensor.dims.length !== 2) {
        throw new LoraGgufError("E_WRONG_KIND", `${baseName} is not a matrix (dims ${tensor.dims.join("x")})`);
      }
      found.push({ baseName, target, layer, inputSize: tensor.dims[0], outputSize: tensor.dims[1] });
    }
  }
  return found;
}
