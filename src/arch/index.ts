import { LoraGgufError } from "../errors.js";
import type { ModelFamily } from "./architecture.js";
import { readHfConfig as readHfConfigFile, type HfConfig } from "./hf-config.js";
import { gemma2Architecture, gemma3Architecture, gemmaArchitecture } from "./gemma.js";
import { llamaArchitecture } from "./llama.js";
import { phi3Architecture } from "./phi3.js";
import { qwen2Architecture } from "./qwen2.js";
import { qwen3Architecture } from "./qwen3.js";

export type { FamilyTraining, GeneratedTensor, LoraTarget, ModelFamily } from "./architecture.js";
export { headDimension, type HfConfig } from "./hf-config.js";

/** Every family lora-gguf knows; add a module and list it here. */
export const modelFamilies: readonly ModelFamily[] = [
  llamaArchitecture,
  qwen2Architecture,
  qwen3Architecture,
  phi3Architecture,
  gemmaArchitecture,
  gemma2Architecture,
  gemma3Architecture,
];

/** A checkpoint's config.json, a multimodal one's language model lifted to the top for the families that convert it. */
export function readHfConfig(dir: string): Promise<HfConfig> {
  return readHfConfigFile(dir, (architectures) =>
    modelFamilies.find((family) => architectures.some((name) => family.multimodal?.hfArchitectures.includes(name)))?.multimodal?.textConfigDefaults,
  );
}

const supportedRopeTypes = new Set([undefined, "default", "linear", "llama3"]);

export function findFamilyOfHfConfig(config: HfConfig, where: string): ModelFamily {
  const names = config.architectures ?? [];
  const handles = (family: ModelFamily, name: string) => family.hfArchitectures.includes(name) || (family.multimodal?.hfArchitectures.includes(name) ?? false);
  const found = modelFamilies.find((family) => names.some((name) => handles(family, name)));
  if (!found) {
    const supported = modelFamilies.flatMap((family) => [...family.hfArchitectures, ...(family.multimodal?.hfArchitectures ?? [])]).join(", ");
    throw new LoraGgufError(
      "E_UNSUPPORTED_ARCH",
      `${where}: the checkpoint is ${names.join(", ") || `model_type ${String(config.model_type)}`}; convert supports ${supported}`,
    );
  }
  if (found.checkConfig) {
    found.checkConfig(config, where);
    return found;
  }
  const ropeType = config.rope_scaling?.rope_type ?? config.rope_scaling?.type;
  if (!supportedRopeTypes.has(ropeType?.toLowerCase())) {
    throw new LoraGgufError("E_UNSUPPORTED_ARCH", `${where}: rope scaling "${ropeType}" is not supported yet (supported: linear, llama3)`);
  }
  return found;
}

/** The family of a GGUF's general.architecture, or undefined. */
export function familyOfGgufArchitecture(ggufArchitecture: unknown): ModelFamily | undefined {
  return modelFamilies.find((family) => family.ggufArchitecture === ggufArchitecture);
}

/** The GGUF architectures lora-gguf trains. */
export const trainableArchitectures: readonly string[] = modelFamilies.filter((family) => family.training.trains).map((family) => family.ggufArchitecture);
