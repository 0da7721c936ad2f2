import { LoraGgufError } from "../errors.js";
import { float32Entry, uint32Entry, type GgufMetadataEntry } from "../gguf/index.js";
import type { GeneratedTensor, ModelFamily } from "./architecture.js";
import type { HfConfig } from "./hf-config.js";
import { transformerTensorName } from "./transformer-names.js";

const phi3BlockTensors = new Set([
  "input_layernorm.weight",
  "post_attention_layernorm.weight",
  "self_attn.qkv_proj.weight",
  "self_attn.o_proj.weight",
  "mlp.gate_up_proj.weight",
  "mlp.down_proj.weight",
]);

/** Phi3Config keys that change the forward pass and that this family does not convert. */
const refusedKeys: Record<string, (value: unknown) => boolean> = {
  // Phi3Attention and Phi3MLP build their projections without biases; a config asking for them is another model
  attention_bias: (value) => value === true,
  mlp_bias: (value) => value === true,
  hidden_act: (value) => value !== "silu",
};

/**
 * Phi-3, Phi-3.5 and Phi-4 (conversion/phi.py: Phi3MiniModel): q/k/v fused in qkv_proj and gate/up
 * in gate_up_proj, kept fused (llama.cpp's phi3 graph splits them by views: q, k, v rows; gate,
 * then up for SwiGLU), NEOX rope so no row permutation, longrope as rope_factors_long/short.
 */
export const phi3Architecture: ModelFamily = {
  hfArchitectures: ["Phi3ForCausalLM"],
  ggufArchitecture: "phi3",
  checkConfig: (config, where) => void phi3Rope(config, where),
  hyperparameters: phi3Hyperparameters,
  tensorName: (hfName) => transformerTensorName(hfName, phi3BlockTensors),
  fusedProjections: true,
  generatedTensors: longropeFactors,
  // llama.cpp's phi3 graph multiplies through the fused weights (build_lora_mm), so a LoRA adapts them whole
  loraTargets: { qkv: "attn_qkv", o: "attn_output", gate_up: "ffn_up", down: "ffn_down" },
  // llama.cpp's phi3 graph applies SwiGLU to the fused ffn_up as one tensor (build_ffn's
  // ggml_swiglu), whose backward ggml asserts on: training needs a patch (test/train-gradients.test.ts)
  // the fused SwiGLU's backward and the strided q/k/v views' are patches/0009
  training: { trains: true },
};

interface Phi3Rope {
  /** rope.dimension_count: int(partial_rotary_factor * hidden_size) // num_attention_heads, as the converter computes it. */
  dimensions: number;
  originalContext: number;
  theta: number;
  longFactors?: number[];
  shortFactors?: number[];
}

function phi3Rope(config: HfConfig, where: string): Phi3Rope {
  const unsupported = (what: string) =>
    new LoraGgufError("E_UNSUPPORTED_ARCH", `${where}: this Phi3ForCausalLM checkpoint has ${what}, which convert does not support yet`);
  const missing = (key: string) =>
    new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: a Phi3ForCausalLM config.json needs ${key} (llama.cpp's converter reads it); save the checkpoint again with transformers`);
  for (const [key, refused] of Object.entries(refusedKeys)) {
    if (config[key] !== undefined && config[key] !== null && refused(config[key])) throw unsupported(`${key} ${JSON.stringify(config[key])}`);
  }
  const headSize = config.hidden_size / config.num_attention_heads;
  // llama.cpp's phi3 graph sizes attn_qkv's q part as hidden_size
  if (config.head_dim !== undefined && config.head_dim !== headSize) {
    throw unsupported(`head_dim ${config.head_dim} (llama.cpp's phi3 graph needs hidden_size / num_attention_heads = ${headSize})`);
  }
  if (config.max_position_embeddings === undefined) throw missing("max_position_embeddings");
  if (config.rms_norm_eps === undefined) throw missing("rms_norm_eps");
  const scaling = (config.rope_scaling ?? {}) as Record<string, unknown>;
  // TextModel's rope_parameters: rope_scaling's own rope_theta, partial_rotary_factor and
  // original_max_position_embeddings come before config.json's top-level ones
  const theta = scaling.rope_theta ?? config.rope_theta;
  if (theta === undefined) throw missing("rope_theta");
  if (!(typeof theta === "number" && Number.isFinite(theta) && theta > 0)) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: rope_theta must be a positive number, got ${JSON.stringify(theta)}`);
  }
  const window = config.sliding_window;
  if (window !== undefined && window !== null && !(Number.isSafeInteger(window) && (window as number) >= 0 && (window as number) <= 0xffff_ffff)) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: sliding_window must be an integer or null, got ${JSON.stringify(window)}`);
  }
  const originalContext = scaling.original_max_position_embeddings ?? config.original_max_position_embeddings;
  if (!(Number.isSafeInteger(originalContext) && (originalContext as number) > 0)) {
    if (originalContext === undefined || originalContext === null) throw missing("original_max_position_embeddings");
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: original_max_position_embeddings must be a positive integer, got ${JSON.stringify(originalContext)}`);
  }
  const partial = scaling.partial_rotary_factor ?? config.partial_rotary_factor ?? 1;
  if (typeof partial !== "number" || !(partial > 0 && partial <= 1)) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: partial_rotary_factor must be a number in (0, 1], got ${JSON.stringify(partial)}`);
  }
  const dimensions = Math.floor(Math.floor(partial * config.hidden_size) / config.num_attention_heads);
  if (dimensions % 2 !== 0 || dimensions !== Math.floor(headSize * partial)) {
    throw unsupported(`partial_rotary_factor ${partial}, which rotates ${dimensions} of ${headSize} head dimensions (transformers rotates ${Math.floor(headSize * partial)})`);
  }
  const rope: Phi3Rope = { dimensions, originalContext: originalContext as number, theta };
  if (config.rope_scaling === undefined || config.rope_scaling === null) return rope;

  const ropeType = String(scaling.rope_type ?? scaling.type ?? "").toLowerCase();
  if (ropeType !== "longrope" && ropeType !== "su") throw unsupported(`rope_scaling of type "${ropeType}" (convert supports none and longrope for Phi3)`);
  // The converter derives the attention factor from the context lengths; transformers would use a given one instead.
  if (scaling.attention_factor !== undefined && scaling.attention_factor !== null) throw unsupported("rope_scaling.attention_factor");
  const known = new Set(["rope_type", "type", "long_factor", "short_factor", "original_max_position_embeddings", "partial_rotary_factor", "rope_theta", "factor"]);
  const unknown = Object.keys(scaling).filter((key) => !known.has(key));
  if (unknown.length > 0) throw unsupported(`rope_scaling.${unknown[0]}`);
  const factors = (key: "long_factor" | "short_factor") => {
    const values = scaling[key];
    if (!Array.isArray(values) || values.length !== dimensions / 2 || !values.every((value) => typeof value === "number" && Number.isFinite(value) && value > 0)) {
      throw new LoraGgufError(
        "E_BAD_CHECKPOINT_DIR",
        `${where}: longrope rope_scaling.${key} must hold ${dimensions / 2} positive numbers (half the rotary dimensions), got ${Array.isArray(values) ? `${values.length} values` : JSON.stringify(values)}`,
      );
    }
    return values as number[];
  };
  return { ...rope, longFactors: factors("long_factor"), shortFactors: factors("short_factor") };
}

/** Phi3MiniModel.set_gguf_parameters, in its order (it does not call TextModel's, so nothing else is written). */
function phi3Hyperparameters(config: HfConfig): GgufMetadataEntry[] {
  const rope = phi3Rope(config, "convert");
  const entries = [
    uint32Entry("phi3.context_length", config.max_position_embeddings!),
    uint32Entry("phi3.rope.scaling.original_context_length", rope.originalContext),
    uint32Entry("phi3.embedding_length", config.hidden_size),
    uint32Entry("phi3.feed_forward_length", config.intermediate_size),
    uint32Entry("phi3.block_count", config.num_hidden_layers),
    uint32Entry("phi3.attention.head_count", config.num_attention_heads),
    uint32Entry("phi3.attention.head_count_kv", config.num_key_value_heads ?? config.num_attention_heads),
    float32Entry("phi3.attention.layer_norm_rms_epsilon", config.rms_norm_eps!),
    uint32Entry("phi3.rope.dimension_count", rope.dimensions),
    float32Entry("phi3.rope.freq_base", rope.theta),
    // 0 for none (Phi-4); llama.cpp reads it but runs phi3 without a window (its load_arch_hparams)
    uint32Entry("phi3.attention.sliding_window", typeof config.sliding_window === "number" ? config.sliding_window : 0),
  ];
  if (rope.longFactors) {
    // generate_extra_tensors: longrope's attention scaling from the extension ratio
    const scale = config.max_position_embeddings! / rope.originalContext;
    const attentionFactor = scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(rope.originalContext)) : 1;
    entries.push(float32Entry("phi3.rope.scaling.attn_factor", attentionFactor));
  }
  return entries;
}

/** rope_factors_long/short.weight: llama.cpp divides each rotary frequency by one of them, long above the original context. */
function longropeFactors(config: HfConfig): GeneratedTensor[] {
  const rope = phi3Rope(config, "convert");
  if (!rope.longFactors || !rope.shortFactors) return [];
  const dims = [rope.dimensions / 2];
  return [
    { name: "rope_factors_long.weight", dims, data: Float32Array.from(rope.longFactors) },
    { name: "rope_factors_short.weight", dims, data: Float32Array.from(rope.shortFactors) },
  ];
}
