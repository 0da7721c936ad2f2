import type { ModelFamily } from "./architecture.js";
import { transformerHyperparameters } from "./hyperparameters.js";
import { commonBlockTensors, transformerLoraTargets, transformerTensorName } from "./transformer-names.js";

const qwen2BlockTensors = new Set([...commonBlockTensors, "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"]);

/** Qwen2 / Qwen2.5 (conversion/qwen.py: Qwen2Model): q/k/v biases, no rotary permutation (llama.cpp's qwen2 graph uses NEOX rope). */
export const qwen2Architecture: ModelFamily = {
  hfArchitectures: ["Qwen2ForCausalLM"],
  ggufArchitecture: "qwen2",
  hyperparameters: (config) => transformerHyperparameters("qwen2", config),
  tensorName: (hfName) => transformerTensorName(hfName, qwen2BlockTensors),
  loraTargets: transformerLoraTargets,
  training: { trains: true },
};
