import { LoraGgufError } from "../errors.js";
import { uint32Entry } from "../gguf/index.js";
import type { ModelFamily, GeneratedTensor } from "./architecture.js";
import { headDimension, type HfConfig } from "./hf-config.js";
import { transformerHyperparameters } from "./hyperparameters.js";
import { permuteRotaryRows } from "./rotary-permutation.js";
import { commonBlockTensors, transformerLoraTargets, transformerTensorName } from "./transformer-names.js";

const llamaBlockTensors = new Set(commonBlockTensors);

/** Llama 1-3 and Mistral (conversion/llama.py: LlamaModel, which MistralForCausalLM also uses). */
export const llamaArchitecture: ModelFamily = {
  hfArchitectures: ["LlamaForCausalLM", "MistralForCausalLM"],
  ggufArchitecture: "llama",
  hyperparameters: (config) => [
    ...transformerHyperparameters("llama", config),
    uint32Entry("llama.vocab_size", config.vocab_size),
    uint32Entry("llama.rope.dimension_count", headDimension(config)),
  ],
  tensorName: (hfName) => transformerTensorName(hfName, llamaBlockTensors),
  reorderRows(ggufName, data, rows, rowBytes, config) {
    const heads = rotaryPermutedHeads(ggufName);
    if (heads === undefined) return data;
    return permuteRotaryRows(data, rows, rowBytes, config[heads] ?? config.num_attention_heads);
  },
  rotaryPermutedHeads,
  generatedTensors: (config) => llama3RopeFactors(config),
  loraTargets: transformerLoraTargets,
  training: { trains: true },
};

function rotaryPermutedHeads(ggufName: string): "num_attention_heads" | "num_key_value_heads" | undefined {
  if (/\.attn_q\.(weight|bias)$/.test(ggufName)) return "num_attention_heads";
  if (/\.attn_k\.(weight|bias)$/.test(ggufName)) return "num_key_value_heads";
  return undefined;
}

/**
 * Llama 3.1+ rope scaling ("rope_type": "llama3") as the frequency factors llama.cpp reads from a
 * rope_freqs tensor (LlamaModel.generate_extra_tensors): 1 for high frequencies, `factor` for low
 * ones, a smooth blend between. Computed in float32, as the Python converter does with torch.
 */
function llama3RopeFactors(config: HfConfig): GeneratedTensor[] {
  const scaling = config.rope_scaling;
  if (!scaling || (scaling.rope_type ?? scaling.type)?.toLowerCase() !== "llama3") return [];
  const base = config.rope_theta ?? 10000;
  const dim = headDimension(config);
  const factor = scaling.factor ?? 8;
  const lowFreqFactor = scaling.low_freq_factor ?? 1;
  const highFreqFactor = scaling.high_freq_factor ?? 4;
  const oldContext = scaling.original_max_position_embeddings ?? 8192;
  if (!(highFreqFactor > lowFreqFactor)) {
    // the blend between the two wavelengths divides by their difference
    throw new LoraGgufError(
      "E_BAD_CHECKPOINT_DIR",
      `convert: config.json's llama3 rope_scaling needs high_freq_factor (${highFreqFactor}) above low_freq_factor (${lowFreqFactor})`,
    );
  }
  const lowFreqWavelength = oldContext / lowFreqFactor;
  const highFreqWavelength = oldContext / highFreqFactor;
  const factors = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const frequency = Math.fround(1 / Math.fround(base ** Math.fround((2 * i) / dim)));
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highFreqWavelength) factors[i] = 1;
    else if (wavelength > lowFreqWavelength) factors[i] = factor;
    else {
      const smooth = (oldContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      factors[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return [{ name: "rope_freqs.weight", dims: [dim / 2], data: factors }];
}
