// Hyperparameters llama.cpp's model loader asserts on (GGML_ASSERT in llama_model_base::load_hparams,
// deps/llama.cpp/src/llama-model.cpp) instead of throwing: an assert aborts the whole process, so
// whatever hands a model to llama.cpp's loader checks them here first. A missing required key or
// one of the wrong type is left to llama.cpp, which throws for those.
import { LoraGgufError } from "../errors.js";
import type { GgufHeader } from "./reader.js";

/** LLAMA_MAX_LAYERS and LLAMA_MAX_EXPERTS in llama-hparams.h. */
export const LLAMA_MAX_LAYERS = 512;
export const LLAMA_MAX_EXPERTS = 1024;

/** LLAMA_ROPE_SCALING_TYPES in llama-model.cpp. */
const ROPE_SCALING_TYPES = ["none", "linear", "yarn", "longrope"];

/** Throws E_BAD_GGUF for a value load_hparams would abort on. */
export function checkLlamaHyperparameters(where: string, file: string, header: GgufHeader): void {
  const architecture = header.metadataByKey.get("general.architecture")?.value;
  if (typeof architecture !== "string") return;
  const keyOf = (name: string) => `${architecture}.${name}`;
  const valueOf = (name: string) => header.metadataByKey.get(keyOf(name))?.value;
  /** A number, or the largest of a per-layer array, as llama.cpp's get_key_or_arr reads it; undefined when absent. */
  const numberOf = (name: string): number | undefined => {
    const value = valueOf(name);
    if (typeof value === "number" || typeof value === "bigint") return Number(value);
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return Array.from(value as ArrayLike<number | bigint>, Number).reduce((max, each) => Math.max(max, each), 0);
    }
    return undefined;
  };
  const corrupt = (message: string) =>
    new LoraGgufError("E_BAD_GGUF", `${where}: ${file} has ${message}, which llama.cpp's model loader aborts on; the file is corrupt or was written wrongly`);

  const layers = numberOf("block_count");
  if (layers !== undefined && !(layers >= 1 && layers <= LLAMA_MAX_LAYERS)) {
    throw corrupt(`${keyOf("block_count")} ${layers} (it loads 1 to ${LLAMA_MAX_LAYERS} blocks)`);
  }
  const nextnLayers = numberOf("nextn_predict_layers") ?? 0;
  if (layers !== undefined && nextnLayers > layers) {
    throw corrupt(`${keyOf("nextn_predict_layers")} ${nextnLayers}, more than its ${layers} blocks`);
  }

  const experts = numberOf("expert_count") ?? 0;
  const expertsUsed = numberOf("expert_used_count") ?? 0;
  const groups = numberOf("expert_group_count") ?? 0;
  const groupsUsed = numberOf("expert_group_used_count") ?? 0;
  if (experts > LLAMA_MAX_EXPERTS) throw corrupt(`${keyOf("expert_count")} ${experts} (at most ${LLAMA_MAX_EXPERTS})`);
  if (expertsUsed > experts) throw corrupt(`${keyOf("expert_used_count")} ${expertsUsed}, more than its ${experts} experts`);
  if (experts > 0) {
    if (expertsUsed === 0) throw corrupt(`${keyOf("expert_count")} ${experts} but no ${keyOf("expert_used_count")}`);
    if (groups >= experts) throw corrupt(`${keyOf("expert_group_count")} ${groups}, not fewer than its ${experts} experts`);
    if (groups > 1 && (experts % groups !== 0 || groupsUsed === 0 || groupsUsed >= groups)) {
      throw corrupt(`${experts} experts in ${groups} groups with ${keyOf("expert_group_used_count")} ${groupsUsed}`);
    }
  } else if (expertsUsed !== 0 || groups !== 0) {
    throw corrupt(`expert routing keys (${keyOf("expert_used_count")} ${expertsUsed}, ${keyOf("expert_group_count")} ${groups}) but no experts`);
  }

  const ropeScaling = valueOf("rope.scaling.type");
  if (typeof ropeScaling === "string" && !ROPE_SCALING_TYPES.includes(ropeScaling)) {
    throw corrupt(`${keyOf("rope.scaling.type")} "${ropeScaling.slice(0, 40)}" (known: ${ROPE_SCALING_TYPES.join(", ")})`);
  }
}
