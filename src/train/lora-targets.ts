import { LoraGgufError } from "../errors.js";
import { familyOfGgufArchitecture, modelFamilies, type LoraTarget, type ModelFamily } from "../arch/index.js";
import type { GgufHeader } from "../gguf/index.js";

export type { LoraTarget } from "../arch/index.js";

/** Every target, in the order PEFT lists a block's modules (a fused projection where its parts would be). */
export const allLoraTargets: readonly LoraTarget[] = ["q", "k", "v", "qkv", "o", "gate", "up", "gate_up", "down"];

/** The targets of families with separate projections (llama, qwen2, qwen3, gemma): their default is all of them. */
export const defaultLoraTargets: readonly LoraTarget[] = ["q", "k", "v", "o", "gate", "up", "down"];

/** A family's targets in PEFT's order: a run's default when it names none. */
export function familyLoraTargets(family: ModelFamily): LoraTarget[] {
  return allLoraTargets.filter((target) => family.loraTargets[target] !== undefined);
}

/**
 * Accepts PEFT's names too (q_proj, qkv_proj, down_proj, ...). "all-linear" (or "all") alone gives
 * undefined: every target of the model's family, known once its header is read.
 */
export function resolveLoraTargets(names: readonly string[] | string): LoraTarget[] | undefined {
  const list = (typeof names === "string" ? names.split(",") : [...names]).map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0) throw new LoraGgufError("E_INVALID_OPTION", "no LoRA targets given");
  if (list.some((name) => name === "all-linear" || name === "all")) return undefined;
  const targets = new Set<LoraTarget>();
  for (const raw of list) {
    const short = raw.replace(/_proj$/, "") as LoraTarget;
    if (!allLoraTargets.includes(short)) {
      throw new LoraGgufError(
        "E_INVALID_OPTION",
        `unknown LoRA target "${raw}"; use any of ${allLoraTargets.join(", ")} (or q_proj, ..., down_proj), or all-linear`,
      );
    }
    targets.add(short);
  }
  return allLoraTargets.filter((target) => targets.has(target));
}

/** The projections a fused target holds (phi3's attn_qkv rows [q; k; v], ffn_up rows [gate; up]). */
const fusedTargetParts: Partial<Record<LoraTarget, readonly LoraTarget[]>> = { qkv: ["q", "k", "v"], gate_up: ["gate", "up"] };

/** The fused target that holds `target` where a family fuses it; undefined for the others. */
export function fusedTargetOf(target: LoraTarget): LoraTarget | undefined {
  return (Object.keys(fusedTargetParts) as LoraTarget[]).find((fused) => fusedTargetParts[fused]!.includes(target));
}

/** What a family that fuses or separates projections offers instead of a target it lacks: its parts, or its fused whole. */
function insteadOf(target: LoraTarget): readonly LoraTarget[] {
  const fused = fusedTargetOf(target);
  return fusedTargetParts[target] ?? (fused ? [fused] : []);
}

/** `targets` checked against the family's own (E_INVALID_OPTION naming what to use instead); undefined gives all of them. */
export function checkFamilyLoraTargets(family: ModelFamily, targets: readonly LoraTarget[] | undefined): LoraTarget[] {
  if (targets === undefined) return familyLoraTargets(family);
  for (const target of targets) {
    if (family.loraTargets[target] !== undefined) continue;
    const alternatives = insteadOf(target).filter((other) => family.loraTargets[other] !== undefined);
    const fused = family.fusedProjections ? "fuses its projections" : "keeps its projections separate";
    throw new LoraGgufError(
      "E_INVALID_OPTION",
      `${family.ggufArchitecture} ${fused}, so "${target}" is not a LoRA target of it` +
        `${alternatives.length > 0 ? `; use ${alternatives.join(", ")} (${alternatives.map((other) => `${other}_proj`).join(", ")})` : ""}` +
        `; its targets are ${familyLoraTargets(family).join(", ")}`,
    );
  }
  return [...targets];
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

/** The base tensors the adapter will modify, with their shapes, from the base model's header; targets undefined: all of the family's. */
export function findLoraTargetTensors(header: GgufHeader, targets: readonly LoraTarget[] | undefined, layers?: readonly number[]): LoraTargetTensor[] {
  const architecture = header.metadataByKey.get("general.architecture")?.value;
  const family = familyOfGgufArchitecture(architecture);
  if (!family) {
    throw new LoraGgufError("E_UNSUPPORTED_ARCH", `LoRA targets are known for ${modelFamilies.map((f) => f.ggufArchitecture).join(", ")}, not ${String(architecture)}`);
  }
  const blockCount = Number(header.metadataByKey.get(`${String(architecture)}.block_count`)?.value ?? 0);
  const wantedLayers = layers ?? Array.from({ length: blockCount }, (_, index) => index);
  const checkedTargets = checkFamilyLoraTargets(family, targets);
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const found: LoraTargetTensor[] = [];
  for (const layer of wantedLayers) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= blockCount) {
      throw new LoraGgufError("E_INVALID_OPTION", `layer ${layer} does not exist; the model has layers 0 to ${blockCount - 1}`);
    }
    for (const target of checkedTargets) {
      const baseName = `blk.${layer}.${family.loraTargets[target]!}.weight`;
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
