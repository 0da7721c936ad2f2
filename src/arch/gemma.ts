import { LoraGgufError } from "../errors.js";
import { float32Entry, stringEntry, uint32Entry, type GgufMetadataEntry } from "../gguf/index.js";
import type { ModelFamily } from "./architecture.js";
import type { HfConfig } from "./hf-config.js";
import { transformerLoraTargets } from "./transformer-names.js";

// Hugging Face → llama.cpp names (gguf-py's tensor_mapping.py for MODEL_ARCH.GEMMA2/GEMMA3):
// Gemma's post_attention_layernorm normalises the attention output (post_attention_norm), and the
// FFN input norm is pre_feedforward_layernorm (ffn_norm).
const blockNames: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "post_attention_layernorm.weight": "post_attention_norm.weight",
  "pre_feedforward_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
  "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
};
const gemma3BlockNames: Record<string, string> = {
  ...blockNames,
  "self_attn.q_norm.weight": "attn_q_norm.weight",
  "self_attn.k_norm.weight": "attn_k_norm.weight",
};

const BLOCK = /^model\.layers\.(\d+)\.(.+)$/;

/** Gemma3ForConditionalGeneration's image encoder and its projection into the text model: not part of the language model. */
const VISION_PARTS = /(^|\.)(vision_tower|multi_modal_projector)\./;

function gemmaTensorName(hfName: string, names: Record<string, string>, lmHead: string | null): string | null | undefined {
  if (hfName.endsWith("rotary_emb.inv_freq")) return null;
  if (hfName === "model.embed_tokens.weight") return "token_embd.weight";
  if (hfName === "model.norm.weight") return "output_norm.weight";
  if (hfName === "lm_head.weight") return lmHead;
  const match = BLOCK.exec(hfName);
  const suffix = match ? names[match[2]] : undefined;
  return suffix === undefined ? undefined : `blk.${match![1]}.${suffix}`;
}

/** Gemma's RMSNorm scales by (1 + w); llama.cpp's by w, so the converter adds 1 to every *norm.weight (GemmaModel.modify_tensors). */
const normShift = (ggufName: string) => (/norm\.weight$/.test(ggufName) ? 1 : 0);

/**
 * Gemma trains through patches/0010 (the backward of tanh and of split GEGLU, attention over the
 * window's own K/V in the sliding-window cache pair); test/train-gradients.test.ts checks it.
 */
const gemmaGraph = { postNorms: true, extraFeedForwardBackwardTensors: 2 } as const;

/** Gemma (1)'s blocks are llama's: post_attention_layernorm is the norm before the FFN (ffn_norm). */
const gemma1BlockNames: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};

/**
 * Gemma (1), CodeGemma (conversion/gemma.py: GemmaModel): llama's block with (1 + w) norms,
 * GELU-tanh, NEOX rope, every layer global, queries scaled by 1/sqrt(head_dim), the embedding scale
 * sqrt(hidden_size) applied by llama.cpp's graph; the output is always the token embedding.
 */
export const gemmaArchitecture: ModelFamily = {
  hfArchitectures: ["GemmaForCausalLM"],
  ggufArchitecture: "gemma",
  checkConfig: checkGemma1Config,
  hyperparameters: gemma1Hyperparameters,
  tensorName: (hfName) => gemmaTensorName(hfName, gemma1BlockNames, null),
  addedToValues: normShift,
  loraTargets: transformerLoraTargets,
  training: { trains: true, graph: { extraFeedForwardBackwardTensors: gemmaGraph.extraFeedForwardBackwardTensors } },
};

function checkGemma1Config(config: HfConfig, where: string): void {
  const unsupported = (what: string) =>
    new LoraGgufError("E_UNSUPPORTED_ARCH", `${where}: this GemmaForCausalLM checkpoint has ${what}, which convert does not support yet`);
  // GemmaModel reads these with hparams[...]
  for (const key of ["head_dim", "max_position_embeddings", "rms_norm_eps"]) {
    if (config[key] === undefined || config[key] === null) {
      throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: a GemmaForCausalLM config.json needs ${key} (llama.cpp's converter reads it); save the checkpoint again with transformers`);
    }
  }
  // GemmaMLP runs hidden_activation (the tanh approximation when it is unset) and ignores hidden_act
  const activation = config.hidden_activation;
  if (activation !== undefined && activation !== null && activation !== "gelu_pytorch_tanh") {
    throw unsupported(`hidden_activation ${JSON.stringify(activation)} (llama.cpp runs gelu_pytorch_tanh)`);
  }
  if (config.attention_bias === true) throw unsupported("attention_bias true");
  if (config.rope_scaling) throw unsupported(`rope_scaling ${JSON.stringify(config.rope_scaling)}`);
  if ((config.rope_theta ?? GEMMA_ROPE_THETA) !== GEMMA_ROPE_THETA) throw unsupported(`rope_theta ${config.rope_theta} (the converter writes no rope base; llama.cpp's default is ${GEMMA_ROPE_THETA})`);
  if (config.tie_word_embeddings === false) throw unsupported("tie_word_embeddings false (llama.cpp's gemma graph projects logits with the token embedding)");
}

/** GemmaModel.set_gguf_parameters, in its order (it does not call TextModel's); Gemma2Model's begins alike. */
function gemma1Hyperparameters(config: HfConfig, arch = "gemma"): GgufMetadataEntry[] {
  return [
    uint32Entry(`${arch}.context_length`, config.max_position_embeddings!),
    uint32Entry(`${arch}.embedding_length`, config.hidden_size),
    uint32Entry(`${arch}.block_count`, config.num_hidden_layers),
    uint32Entry(`${arch}.feed_forward_length`, config.intermediate_size),
    uint32Entry(`${arch}.attention.head_count`, config.num_attention_heads),
    uint32Entry(`${arch}.attention.head_count_kv`, config.num_key_value_heads ?? config.num_attention_heads),
    float32Entry(`${arch}.attention.layer_norm_rms_epsilon`, config.rms_norm_eps!),
    uint32Entry(`${arch}.attention.key_length`, config.head_dim!),
    uint32Entry(`${arch}.attention.value_length`, config.head_dim!),
  ];
}

/**
 * Gemma 2 (conversion/gemma.py: Gemma2Model): pre and post norms around attention and the FFN,
 * GELU-tanh, NEOX rope (no row permutation), attention and final logit softcaps, every other layer
 * sliding-window; the embedding scale sqrt(hidden_size) is applied by llama.cpp's graph, and the
 * output is always the token embedding (lm_head.weight is dropped, as the converter does).
 */
export const gemma2Architecture: ModelFamily = {
  hfArchitectures: ["Gemma2ForCausalLM"],
  ggufArchitecture: "gemma2",
  checkConfig: (config, where) => checkGemmaConfig("gemma2", config, where),
  hyperparameters: gemma2Hyperparameters,
  tensorName: (hfName) => gemmaTensorName(hfName, blockNames, null),
  addedToValues: normShift,
  requiredBlockVectors: [
    { name: "post_attention_norm.weight", size: "hidden" },
    { name: "post_ffw_norm.weight", size: "hidden" },
  ],
  loraTargets: transformerLoraTargets,
  training: { trains: true, graph: { ...gemmaGraph, attentionSoftcapKey: "attn_logit_softcapping" } },
};

/**
 * transformers' Gemma3TextConfig defaults for what the converters read, which a
 * Gemma3ForConditionalGeneration's text_config leaves out when equal (Gemma 3 4B's gives neither
 * head counts nor head_dim). The sizes and layer count are always written.
 */
const GEMMA3_TEXT_CONFIG_DEFAULTS = {
  vocab_size: 262_208,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  hidden_activation: "gelu_pytorch_tanh",
  max_position_embeddings: 131_072,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  sliding_window_pattern: 6,
  tie_word_embeddings: true,
} as const;

/**
 * Gemma 3 text models (conversion/gemma.py: Gemma3Model): Gemma 2's layout plus per-head q/k RMS
 * norms (also (1 + w)), no attention softcap, five sliding-window layers (rope base
 * rope_local_base_freq, unscaled) to one global layer (rope_theta, linear rope scaling if any).
 */
export const gemma3Architecture: ModelFamily = {
  hfArchitectures: ["Gemma3ForCausalLM"],
  ggufArchitecture: "gemma3",
  checkConfig: (config, where) => checkGemmaConfig("gemma3", config, where),
  hyperparameters: gemma3Hyperparameters,
  // a multimodal checkpoint's language model sits under language_model. (model.language_model. since
  // transformers 4.52), which llama.cpp's converter strips; the vision parts are left out
  tensorName: (hfName) => (VISION_PARTS.test(hfName) ? null : gemmaTensorName(hfName.replace("language_model.", ""), gemma3BlockNames, "output.weight")),
  addedToValues: normShift,
  requiredBlockVectors: [
    { name: "post_attention_norm.weight", size: "hidden" },
    { name: "post_ffw_norm.weight", size: "hidden" },
    { name: "attn_q_norm.weight", size: "head" },
    { name: "attn_k_norm.weight", size: "head" },
  ],
  loraTargets: transformerLoraTargets,
  training: { trains: true, graph: gemmaGraph },
  multimodal: { hfArchitectures: ["Gemma3ForConditionalGeneration"], textConfigDefaults: GEMMA3_TEXT_CONFIG_DEFAULTS },
};

type GemmaVersion = "gemma2" | "gemma3";

/** llama.cpp's sliding-window layer pattern (load_swa_pattern's default): layer i slides unless (i + 1) % n == 0. */
const SWA_PATTERN: Record<GemmaVersion, number> = { gemma2: 2, gemma3: 6 };

/** Gemma's and Gemma 2's rope_theta: their converters write no rope keys, so llama.cpp runs with its default base 10000. */
const GEMMA_ROPE_THETA = 10000;

function checkGemmaConfig(version: GemmaVersion, config: HfConfig, where: string): void {
  const className = version === "gemma2" ? "Gemma2ForCausalLM" : "Gemma3ForCausalLM";
  const unsupported = (what: string) =>
    new LoraGgufError("E_UNSUPPORTED_ARCH", `${where}: this ${className} checkpoint has ${what}, which convert does not support yet`);
  const missing = (key: string) =>
    new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: a ${className} config.json needs ${key} (llama.cpp's converter reads it); save the checkpoint again with transformers`);
  const badNumber = (key: string) =>
    new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: ${key} must be a positive number, got ${JSON.stringify(config[key])}`);
  const given = (key: string) => config[key] !== undefined && config[key] !== null;
  const positive = (key: string) => typeof config[key] === "number" && Number.isFinite(config[key]) && (config[key] as number) > 0;

  for (const key of ["hidden_activation", "hidden_act"]) {
    // llama.cpp's gemma graphs run GELU with the tanh approximation
    if (given(key) && config[key] !== "gelu_pytorch_tanh") throw unsupported(`${key} ${JSON.stringify(config[key])} (llama.cpp runs gelu_pytorch_tanh)`);
  }
  if (config.attention_bias === true) throw unsupported("attention_bias true");
  if (config.use_bidirectional_attention === true) throw unsupported("use_bidirectional_attention true");
  if (given("rope_parameters")) throw unsupported("rope_parameters (transformers 5's rope layout)");
  for (const key of ["head_dim", "num_key_value_heads"]) if (!given(key)) throw missing(key);
  if (version === "gemma2") for (const key of ["max_position_embeddings", "rms_norm_eps"]) if (!given(key)) throw missing(key);

  // llama.cpp scales queries by 1/sqrt(head_dim), or 1/sqrt(hidden_size / heads) for the 27B
  // models it knows by their layer count (46, 62); query_pre_attn_scalar itself is not read.
  const bigModelLayers = version === "gemma2" ? 46 : 62;
  const llamaCppScalar = config.num_hidden_layers === bigModelLayers ? config.hidden_size / config.num_attention_heads : config.head_dim!;
  const scalar = config.query_pre_attn_scalar ?? 256;
  if (scalar !== llamaCppScalar) throw unsupported(`query_pre_attn_scalar ${JSON.stringify(scalar)} (llama.cpp's ${version} graph scales attention by 1/sqrt(${llamaCppScalar}))`);

  const window = config.sliding_window;
  const pattern = version === "gemma3" ? (config.sliding_window_pattern ?? SWA_PATTERN.gemma3) : SWA_PATTERN.gemma2;
  if (version === "gemma2" && given("sliding_window_pattern") && config.sliding_window_pattern !== 2) {
    throw unsupported(`sliding_window_pattern ${JSON.stringify(config.sliding_window_pattern)} (llama.cpp's gemma2 graph alternates sliding and global layers)`);
  }
  if (version === "gemma3" && pattern !== SWA_PATTERN.gemma3 && pattern !== 1) {
    throw unsupported(`sliding_window_pattern ${JSON.stringify(pattern)} (llama.cpp's gemma3 graph has one global layer in 6, or none sliding with 1)`);
  }
  if (pattern !== 1) {
    if (!given("sliding_window")) throw missing("sliding_window");
    if (!(Number.isSafeInteger(window) && (window as number) > 0 && (window as number) <= 0xffff_ffff)) {
      throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: sliding_window must be a positive integer, got ${JSON.stringify(window)}`);
    }
  }
  if (Array.isArray(config.layer_types)) {
    const expected = Array.from({ length: config.num_hidden_layers }, (_, layer) =>
      pattern !== 1 && (layer + 1) % (pattern as number) !== 0 ? "sliding_attention" : "full_attention",
    );
    if (JSON.stringify(config.layer_types) !== JSON.stringify(expected)) {
      throw unsupported(`layer_types ${JSON.stringify(config.layer_types)} (llama.cpp's ${version} graph has ${JSON.stringify(expected)})`);
    }
  } else if (given("layer_types")) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `${where}: layer_types must be a list, got ${JSON.stringify(config.layer_types)}`);
  }

  if (version === "gemma2") {
    // Gemma2Model writes both caps as given; llama.cpp's gemma2 graph always applies them
    for (const key of ["attn_logit_softcapping", "final_logit_softcapping"]) {
      if (!given(key)) throw unsupported(`${key} null (llama.cpp's gemma2 graph always caps)`);
      if (!positive(key)) throw badNumber(key);
    }
    if ((config.rope_theta ?? GEMMA_ROPE_THETA) !== GEMMA_ROPE_THETA) throw unsupported(`rope_theta ${config.rope_theta} (the converter writes no rope base; llama.cpp's default is ${GEMMA_ROPE_THETA})`);
    if (given("rope_scaling")) throw unsupported(`rope_scaling ${JSON.stringify(config.rope_scaling)}`);
    if (config.tie_word_embeddings === false) throw unsupported("tie_word_embeddings false (llama.cpp's gemma2 graph projects logits with the token embedding)");
    return;
  }
  // Gemma3Model asserts this away
  if (given("attn_logit_softcapping")) throw unsupported(`attn_logit_softcapping ${JSON.stringify(config.attn_logit_softcapping)} (Gemma 3 has none)`);
  if (given("final_logit_softcapping") && !positive("final_logit_softcapping")) throw badNumber("final_logit_softcapping");
  if (given("rope_local_base_freq") && !positive("rope_local_base_freq")) throw badNumber("rope_local_base_freq");
  const scaling = config.rope_scaling;
  if (scaling) {
    const ropeType = scaling.rope_type ?? scaling.type;
    const extra = Object.keys(scaling).filter((key) => !["rope_type", "type", "factor"].includes(key));
    if (ropeType !== "linear" || scaling.factor === undefined || extra.length > 0) {
      throw unsupported(`rope_scaling ${JSON.stringify(scaling)} (convert supports none and linear with a factor for Gemma 3)`);
    }
  }
}

/** Gemma2Model.set_gguf_parameters, in its order: GemmaModel's keys, then the caps and the window. */
function gemma2Hyperparameters(config: HfConfig): GgufMetadataEntry[] {
  const arch = "gemma2";
  return [
    ...gemma1Hyperparameters(config, arch),
    float32Entry(`${arch}.attn_logit_softcapping`, config.attn_logit_softcapping as number),
    float32Entry(`${arch}.final_logit_softcapping`, config.final_logit_softcapping as number),
    uint32Entry(`${arch}.attention.sliding_window`, config.sliding_window as number),
  ];
}

/**
 * Gemma3Model.set_gguf_parameters: TextModel's keys first (GGUFWriter overwrites a repeated key in
 * place, so the later defaults keep TextModel's order), then the final softcap and the window.
 */
function gemma3Hyperparameters(config: HfConfig): GgufMetadataEntry[] {
  const arch = "gemma3";
  const entries: GgufMetadataEntry[] = [
    uint32Entry(`${arch}.block_count`, config.num_hidden_layers),
    uint32Entry(`${arch}.context_length`, config.max_position_embeddings ?? 131072),
    uint32Entry(`${arch}.embedding_length`, config.hidden_size),
    uint32Entry(`${arch}.feed_forward_length`, config.intermediate_size),
    uint32Entry(`${arch}.attention.head_count`, config.num_attention_heads),
    uint32Entry(`${arch}.attention.head_count_kv`, config.num_key_value_heads!),
  ];
  if (config.rope_scaling) {
    entries.push(stringEntry(`${arch}.rope.scaling.type`, "linear"), float32Entry(`${arch}.rope.scaling.factor`, config.rope_scaling.factor!));
  }
  // rope_theta for the global layers; the sliding ones use rope_local_base_freq (TextModel's
  // "sliding_attention" rope_theta). Keys TextModel left out are appended by Gemma3Model's defaults.
  const ropeBase = float32Entry(`${arch}.rope.freq_base`, config.rope_theta ?? 1_000_000);
  const normEpsilon = float32Entry(`${arch}.attention.layer_norm_rms_epsilon`, config.rms_norm_eps ?? 1e-6);
  if (config.rope_theta !== undefined) entries.push(ropeBase);
  if (config.rope_local_base_freq !== undefined && config.rope_local_base_freq !== null) {
    entries.push(float32Entry(`${arch}.rope.freq_base_swa`, config.rope_local_base_freq as number));
  }
  if (config.rms_norm_eps !== undefined) entries.push(normEpsilon);
  entries.push(uint32Entry(`${arch}.attention.key_length`, config.head_dim!), uint32Entry(`${arch}.attention.value_length`, config.head_dim!));
  if (config.rms_norm_eps === undefined) entries.push(normEpsilon);
  if (config.rope_theta === undefined) entries.push(ropeBase);
  if (config.final_logit_softcapping) entries.push(float32Entry(`${arch}.final_logit_softcapping`, config.final_logit_softcapping as number));
  if ((config.sliding_window_pattern ?? SWA_PATTERN.gemma3) !== 1) entries.push(uint32Entry(`${arch}.attention.sliding_window`, config.sliding_window as number));
  return entries;
}
