import type { ModelFamily } from "./architecture.js";
import { transformerHyperparameters } from "./hyperparameters.js";
import { commonBlockTensors, transformerLoraTargets, transformerTensorName } from "./transformer-names.js";

const qwen3BlockTensors = new Set([...commonBlockTensors, "self_attn.q_norm.weight", "self_attn.k_norm.weight"]);

/** Qwen3 (conversion/qwen.py: Qwen3Model): per-head q/k RMS norms, explicit head_dim, no biases, NEOX rope. */
export const qwen3Architecture: ModelFamily = {
  hfArchitectures: ["Qwen3ForCausalLM"],
  ggufArchitecture: "qwen3",
  hyperparameters: (config) => transformerHyperparameters("qwen3", config),
  tensorName: (hfName) => transformerTensorName(hfName, qwen3BlockTensors),
  loraTargets: transformerLoraTargets,
  training: { trains: true },
};
