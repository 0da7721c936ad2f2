// A float64 forward pass of Hugging Face transformers' LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM, Phi3ForCausalLM, Gemma2ForCausalLM and Gemma3ForCausalLM, written from the transformers modelling code (4.51), read
// straight from a checkpoint's config.json and safetensors. It is the independent reference that
// converted GGUFs are checked against, so it shares nothing with the converter beyond the
// safetensors reader: no name tables, no tensor transforms, no llama.cpp conventions.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { openCheckpointTensors, readTensorAsFloat32, type CheckpointTensor } from "../../src/convert/safetensors.js";
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from "../../src/gguf/f16.js";
import { writeTinyHfCheckpoint, type TinyHfCheckpointOptions } from "../../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizerFiles, type TinyHfTokenizer } from "../../src/testing/tiny-hf-tokenizer.js";

export type HfReferenceArchitecture = "llama" | "mistral" | "qwen2" | "qwen3" | "phi3" | "gemma" | "gemma2" | "gemma3";

const ARCHITECTURE_BY_CLASS: Record<string, HfReferenceArchitecture> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  Phi3ForCausalLM: "phi3",
  GemmaForCausalLM: "gemma",
  Gemma2ForCausalLM: "gemma2",
  Gemma3ForCausalLM: "gemma3",
};

export interface HfReferenceConfig {
  architecture: HfReferenceArchitecture;
  hiddenSize: number;
  intermediateSize: number;
  nLayer: number;
  nHead: number;
  nKvHead: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number } | undefined;
  /**
   * Phi3's longrope (`_compute_longrope_parameters`): every inverse frequency divided by its factor,
   * long_factor once the sequence is longer than originalMaxPositionEmbeddings, and cos/sin scaled
   * by attentionFactor.
   */
  longrope: { longFactor: number[]; shortFactor: number[]; originalMaxPositionEmbeddings: number; attentionFactor: number } | undefined;
  /** The leading dimensions of each head that RoPE rotates: head_dim × partial_rotary_factor (Phi3), else head_dim. */
  rotaryDim: number;
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj, v_proj (Qwen2 always; Llama and Qwen3 when attention_bias). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama and Qwen3 when attention_bias). */
  outputBias: boolean;
  /** Biases on the MLP projections (Llama when mlp_bias). */
  mlpBias: boolean;
  /** Sequences longer than this would need sliding-window attention, which is not implemented. */
  maxSequenceWithoutWindow: number;
  /** Gemma 2 and 3 (Gemma2DecoderLayer, Gemma3DecoderLayer); undefined for the others. */
  gemma: GemmaReferenceConfig | undefined;
}

export interface GemmaReferenceConfig {
  /** query_pre_attn_scalar: attention scores are scaled by its -1/2 power, not head_dim's. */
  queryPreAttnScalar: number;
  /** tanh(s / cap) · cap on the attention scores (Gemma 2), and on the final logits; null for none. */
  attnLogitSoftcapping: number | null;
  finalLogitSoftcapping: number | null;
  slidingWindow: number;
  /** Per layer: whether it attends within slidingWindow (and, in Gemma 3, rotates with the local base). */
  slidingLayers: boolean[];
  /** Gemma 3's sliding layers: rope_local_base_freq, without rope scaling. */
  localRopeTheta: number | undefined;
  /** Gemma 3's global layers: rope_scaling "linear" divides the inverse frequencies by this. */
  linearRopeFactor: number;
  /** sqrt(hidden_size) rounded to the embedding's dtype, as `torch.tensor(hidden_size**0.5, dtype=...)`. */
  embeddingScale: number;
  /** What Gemma's RMSNorm adds to its weight (1; an ablation may set 0). */
  normOffset: number;
  /**
   * Gemma 2 and 3 norm the attention and FFN outputs (post_attention_layernorm, post_feedforward_layernorm);
   * Gemma (1)'s post_attention_layernorm is the norm before the FFN, as in llama.
   */
  postNorms: boolean;
}

/** Changes to the modelled forward pass, for tests that show a feature moves the result. */
export interface HfReferenceAblation {
  /** Gemma's RMSNorm scale is (normOffset + w); transformers has 1. */
  gemmaNormOffset?: number;
}

export interface HfReferenceModel {
  config: HfReferenceConfig;
  /** Logits at every position (row i: the prediction after tokens[0..i]). */
  logits(tokens: readonly number[]): Float64Array[];
  /** Softmax of the logits at the last position. */
  nextTokenProbabilities(tokens: readonly number[]): Float64Array;
  /**
   * The live float64 weights of one projection of a layer (row-major [out, in], as the checkpoint
   * stores them): a test may change them in place, e.g. to merge an adapter.
   */
  projection(layer: number, module: ReferenceProjection): Float64Array;
}

export type ReferenceProjection = "q" | "k" | "v" | "o" | "gate" | "up" | "down";

/** Loads config.json and every weight of a checkpoint directory (tiny models: all held as float64). */
export async function loadHfReferenceModel(dir: string, ablation: HfReferenceAblation = {}): Promise<HfReferenceModel> {
  const rawConfig = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const config = referenceConfig(rawConfig, ablation);
  const weights = await loadWeights(await openCheckpointTensors(dir), config);
  return {
    config,
    logits: (tokens) => forward(config, weights, tokens),
    nextTokenProbabilities: (tokens) => {
      const all = forward(config, weights, tokens);
      return softmax(all[all.length - 1]);
    },
    projection: (layer, module) => {
      const found = weights.layers[layer]?.[module];
      if (found === undefined) throw new Error(`reference forward: no layer ${layer}`);
      return found;
    },
  };
}

/** Next-token probabilities after `tokens`, as the Hugging Face model computes them (in float64). */
export async function hfReferenceNextTokenProbabilities(dir: string, tokens: readonly number[], ablation: HfReferenceAblation = {}): Promise<Float64Array> {
  return (await loadHfReferenceModel(dir, ablation)).nextTokenProbabilities(tokens);
}

function referenceConfig(raw: Record<string, unknown>, ablation: HfReferenceAblation): HfReferenceConfig {
  const architectureClass = (raw.architectures as string[] | undefined)?.[0] ?? "";
  const architecture = ARCHITECTURE_BY_CLASS[architectureClass];
  if (architecture === undefined) throw new Error(`reference forward: unsupported architectures ${JSON.stringify(raw.architectures)}`);
  const integer = (key: string, fallback?: number): number => {
    const value = raw[key] ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new Error(`reference forward: config ${key} must be a positive integer, got ${String(value)}`);
    return value as number;
  };
  const hiddenSize = integer("hidden_size");
  const nHead = integer("num_attention_heads");
  const isGemma = architecture === "gemma" || architecture === "gemma2" || architecture === "gemma3";
  if (isGemma) {
    // GemmaMLP reads hidden_activation (Gemma (1): the tanh approximation when it is null); gelu_pytorch_tanh is that approximation
    const activation = raw.hidden_activation ?? (architecture === "gemma" ? "gelu_pytorch_tanh" : undefined);
    if (activation !== "gelu_pytorch_tanh") throw new Error(`reference forward: hidden_activation ${String(raw.hidden_activation)} is not implemented`);
  } else if ((raw.hidden_act ?? "silu") !== "silu") throw new Error(`reference forward: hidden_act ${String(raw.hidden_act)} is not implemented`);

  // LlamaRotaryEmbedding reads config.rope_scaling["rope_type"] (or the legacy "type").
  const scaling = raw.rope_scaling as Record<string, unknown> | null | undefined;
  const ropeType = scaling?.rope_type ?? scaling?.type ?? "default";
  if (ropeType !== "default" && ropeType !== "llama3" && !(architecture === "phi3" && ropeType === "longrope") && !(architecture === "gemma3" && ropeType === "linear")) throw new Error(`reference forward: rope_type ${String(ropeType)} is not implemented`);
  const ropeScaling =
    ropeType === "llama3"
      ? {
          factor: scaling!.factor as number,
          lowFreqFactor: scaling!.low_freq_factor as number,
          highFreqFactor: scaling!.high_freq_factor as number,
          originalMaxPositionEmbeddings: scaling!.original_max_position_embeddings as number,
        }
      : undefined;

  // Mistral and Phi3 attend within config.sliding_window; Qwen2/3 only when use_sliding_window is set.
  let maxSequenceWithoutWindow = Number.POSITIVE_INFINITY;
  if ((architecture === "mistral" || architecture === "phi3") && typeof raw.sliding_window === "number") maxSequenceWithoutWindow = raw.sliding_window;
  const headDim = (raw.head_dim as number | null | undefined) || Math.floor(hiddenSize / nHead);
  // Phi3Attention: rotary_ndims = int(head_dim * partial_rotary_factor)
  const rotaryDim = architecture === "phi3" ? Math.floor(headDim * ((raw.partial_rotary_factor as number | undefined) ?? 1)) : headDim;
  let longrope: HfReferenceConfig["longrope"];
  if (ropeType === "longrope") {
    // With config.original_max_position_embeddings, factor is max_position_embeddings / original.
    const original = integer("original_max_position_embeddings");
    const factor = integer("max_position_embeddings") / original;
    if (scaling!.attention_factor != null) throw new Error("reference forward: longrope attention_factor is not implemented");
    longrope = {
      longFactor: scaling!.long_factor as number[],
      shortFactor: scaling!.short_factor as number[],
      originalMaxPositionEmbeddings: original,
      attentionFactor: factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)),
    };
  }
  if ((architecture === "qwen2" || architecture === "qwen3") && raw.use_sliding_window === true) {
    throw new Error("reference forward: use_sliding_window is not implemented");
  }

  const attentionBias = raw.attention_bias === true;
  let gemma: GemmaReferenceConfig | undefined;
  if (isGemma) {
    const nLayer = integer("num_hidden_layers");
    const pattern = architecture === "gemma2" ? 2 : ((raw.sliding_window_pattern as number | undefined) ?? 6);
    // Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2); Gemma3: (layer_idx + 1) % sliding_window_pattern != 0; Gemma (1): none
    const slidingLayers = architecture === "gemma"
      ? new Array<boolean>(nLayer).fill(false)
      : Array.isArray(raw.layer_types)
        ? (raw.layer_types as string[]).map((type) => type === "sliding_attention")
        : Array.from({ length: nLayer }, (_, layer) => (layer + 1) % pattern !== 0);
    const dtype = raw.torch_dtype as string | undefined;
    const scale = Math.sqrt(hiddenSize);
    gemma = {
      // GemmaAttention scales by head_dim^-1/2
      queryPreAttnScalar: architecture === "gemma" ? headDim : ((raw.query_pre_attn_scalar as number | undefined) ?? 256),
      attnLogitSoftcapping: architecture === "gemma2" ? ((raw.attn_logit_softcapping as number | null | undefined) ?? null) : null,
      finalLogitSoftcapping: (raw.final_logit_softcapping as number | null | undefined) ?? null,
      slidingWindow: architecture === "gemma" ? Number.POSITIVE_INFINITY : integer("sliding_window"),
      slidingLayers,
      localRopeTheta: architecture === "gemma3" ? ((raw.rope_local_base_freq as number | undefined) ?? 10000) : undefined,
      linearRopeFactor: ropeType === "linear" ? (scaling!.factor as number) : 1,
      embeddingScale: dtype === "bfloat16" ? bfloat16Round(scale) : dtype === "float16" ? float16Round(scale) : Math.fround(scale),
      normOffset: ablation.gemmaNormOffset ?? 1,
      postNorms: architecture !== "gemma",
    };
  }
  return {
    architecture,
    hiddenSize,
    intermediateSize: integer("intermediate_size"),
    nLayer: integer("num_hidden_layers"),
    nHead,
    nKvHead: integer("num_key_value_heads", nHead),
    // `getattr(config, "head_dim", None) or hidden_size // num_attention_heads`
    headDim,
    vocabSize: integer("vocab_size"),
    rmsNormEps: raw.rms_norm_eps as number,
    ropeTheta: (raw.rope_theta as number | undefined) ?? 10000,
    ropeScaling,
    longrope,
    rotaryDim,
    // The model classes default tie_word_embeddings to False.
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    qkvBias: architecture === "qwen2" || (attentionBias && architecture !== "mistral"),
    outputBias: attentionBias && (architecture === "llama" || architecture === "qwen3"),
    mlpBias: architecture === "llama" && raw.mlp_bias === true,
    maxSequenceWithoutWindow,
    gemma,
  };
}

function bfloat16Round(value: number): number {
  return bfloat16ToFloat32(float32ToBfloat16(value));
}

function float16Round(value: number): number {
  return float16ToFloat32(float32ToFloat16(value));
}

interface LayerWeights {
  inputNorm: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  o: Float64Array;
  qBias?: Float64Array;
  kBias?: Float64Array;
  vBias?: Float64Array;
  oBias?: Float64Array;
  qNorm?: Float64Array;
  kNorm?: Float64Array;
  /** Gemma: post_attention_layernorm normalises the attention output; pre/post_feedforward_layernorm wrap the MLP. */
  postAttentionNorm: Float64Array;
  preFeedforwardNorm?: Float64Array;
  postFeedforwardNorm?: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  down: Float64Array;
  gateBias?: Float64Array;
  upBias?: Float64Array;
  downBias?: Float64Array;
}

interface ModelWeights {
  embedding: Float64Array;
  layers: LayerWeights[];
  finalNorm: Float64Array;
  lmHead: Float64Array;
}

async function loadWeights(tensors: Map<string, CheckpointTensor>, config: HfReferenceConfig): Promise<ModelWeights> {
  const { hiddenSize: hidden, intermediateSize: inter, headDim, vocabSize } = config;
  const qSize = config.nHead * headDim;
  const kvSize = config.nKvHead * headDim;
  const load = async (name: string, shape: number[]): Promise<Float64Array> => {
    const entry = tensors.get(name);
    if (entry === undefined) throw new Error(`reference forward: the checkpoint has no ${name}`);
    if (entry.info.shape.join(",") !== shape.join(",")) {
      throw new Error(`reference forward: ${name} has shape [${entry.info.shape}] but the config implies [${shape}]`);
    }
    return Float64Array.from(await readTensorAsFloat32(entry));
  };
  const optional = (present: boolean, name: string, shape: number[]) => (present ? load(name, shape) : Promise.resolve(undefined));

  // Phi3Attention: qkv[..., :q], [q : q + kv], [q + kv :]; Phi3MLP: gate, up = gate_up.chunk(2, dim=-1).
  const rows = (matrix: Float64Array, from: number, to: number) => matrix.slice(from * hidden, to * hidden);
  const layers: LayerWeights[] = [];
  for (let layer = 0; layer < config.nLayer; layer++) {
    const prefix = `model.layers.${layer}`;
    const attention = `${prefix}.self_attn`;
    if (config.architecture === "phi3") {
      const qkv = await load(`${attention}.qkv_proj.weight`, [qSize + 2 * kvSize, hidden]);
      const gateUp = await load(`${prefix}.mlp.gate_up_proj.weight`, [2 * inter, hidden]);
      layers.push({
        inputNorm: await load(`${prefix}.input_layernorm.weight`, [hidden]),
        q: rows(qkv, 0, qSize),
        k: rows(qkv, qSize, qSize + kvSize),
        v: rows(qkv, qSize + kvSize, qSize + 2 * kvSize),
        o: await load(`${attention}.o_proj.weight`, [hidden, qSize]),
        postAttentionNorm: await load(`${prefix}.post_attention_layernorm.weight`, [hidden]),
        gate: rows(gateUp, 0, inter),
        up: rows(gateUp, inter, 2 * inter),
        down: await load(`${prefix}.mlp.down_proj.weight`, [hidden, inter]),
      });
      continue;
    }
    const qkNorm = config.architecture === "qwen3" || config.architecture === "gemma3";
    layers.push({
      inputNorm: await load(`${prefix}.input_layernorm.weight`, [hidden]),
      q: await load(`${attention}.q_proj.weight`, [qSize, hidden]),
      k: await load(`${attention}.k_proj.weight`, [kvSize, hidden]),
      v: await load(`${attention}.v_proj.weight`, [kvSize, hidden]),
      o: await load(`${attention}.o_proj.weight`, [hidden, qSize]),
      qBias: await optional(config.qkvBias, `${attention}.q_proj.bias`, [qSize]),
      kBias: await optional(config.qkvBias, `${attention}.k_proj.bias`, [kvSize]),
      vBias: await optional(config.qkvBias, `${attention}.v_proj.bias`, [kvSize]),
      oBias: await optional(config.outputBias, `${attention}.o_proj.bias`, [hidden]),
      qNorm: await optional(qkNorm, `${attention}.q_norm.weight`, [headDim]),
      kNorm: await optional(qkNorm, `${attention}.k_norm.weight`, [headDim]),
      postAttentionNorm: await load(`${prefix}.post_attention_layernorm.weight`, [hidden]),
      preFeedforwardNorm: await optional(config.gemma?.postNorms === true, `${prefix}.pre_feedforward_layernorm.weight`, [hidden]),
      postFeedforwardNorm: await optional(config.gemma?.postNorms === true, `${prefix}.post_feedforward_layernorm.weight`, [hidden]),
      gate: await load(`${prefix}.mlp.gate_proj.weight`, [inter, hidden]),
      up: await load(`${prefix}.mlp.up_proj.weight`, [inter, hidden]),
      down: await load(`${prefix}.mlp.down_proj.weight`, [hidden, inter]),
      gateBias: await optional(config.mlpBias, `${prefix}.mlp.gate_proj.bias`, [inter]),
      upBias: await optional(config.mlpBias, `${prefix}.mlp.up_proj.bias`, [inter]),
      downBias: await optional(config.mlpBias, `${prefix}.mlp.down_proj.bias`, [hidden]),
    });
  }
  const embedding = await load("model.embed_tokens.weight", [vocabSize, hidden]);
  return {
    embedding,
    layers,
    finalNorm: await load("model.norm.weight", [hidden]),
    lmHead: config.tieWordEmbeddings ? embedding : await load("lm_head.weight", [vocabSize, hidden]),
  };
}

/**
 * RoPE inverse frequencies: theta^(-2i/d) for i < d/2 (`_compute_default_rope_parameters`), with
 * `_compute_llama3_parameters`'s rewrite when rope_scaling is llama3: wavelengths above
 * original_max / low_freq_factor are divided by factor, those below original_max / high_freq_factor
 * kept, and those between interpolated smoothly.
 */
export function hfRotaryInverseFrequencies(config: Pick<HfReferenceConfig, "headDim" | "ropeTheta" | "ropeScaling">): Float64Array {
  const half = config.headDim / 2;
  const frequencies = new Float64Array(half);
  for (let index = 0; index < half; index++) {
    frequencies[index] = 1 / config.ropeTheta ** ((2 * index) / config.headDim);
  }
  const scaling = config.ropeScaling;
  if (scaling === undefined) return frequencies;
  const lowFreqWavelength = scaling.originalMaxPositionEmbeddings / scaling.lowFreqFactor;
  const highFreqWavelength = scaling.originalMaxPositionEmbeddings / scaling.highFreqFactor;
  for (let index = 0; index < half; index++) {
    const frequency = frequencies[index];
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength > lowFreqWavelength) {
      frequencies[index] = frequency / scaling.factor;
    } else if (wavelength >= highFreqWavelength) {
      const smooth = (scaling.originalMaxPositionEmbeddings / wavelength - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor);
      frequencies[index] = ((1 - smooth) * frequency) / scaling.factor + smooth * frequency;
    }
  }
  return frequencies;
}

/** `_compute_longrope_parameters`: 1 / (ext_factor[i] · theta^(2i/d)) over the rotary dimensions d. */
function longropeInverseFrequencies(config: HfReferenceConfig, sequenceLength: number): Float64Array {
  const { longFactor, shortFactor, originalMaxPositionEmbeddings } = config.longrope!;
  // _longrope_frequency_update: long factors once seq_len exceeds the original context
  const factors = sequenceLength > originalMaxPositionEmbeddings ? longFactor : shortFactor;
  if (factors.length !== config.rotaryDim / 2) throw new Error(`reference forward: longrope factors must number ${config.rotaryDim / 2}`);
  return Float64Array.from(factors, (factor, index) => 1 / (factor * config.ropeTheta ** ((2 * index) / config.rotaryDim)));
}

function forward(config: HfReferenceConfig, weights: ModelWeights, tokens: readonly number[]): Float64Array[] {
  if (config.gemma) return gemmaForward(config, config.gemma, weights, tokens);
  const { hiddenSize: hidden, headDim, nHead, nKvHead } = config;
  if (tokens.length === 0) throw new Error("reference forward: no tokens");
  if (tokens.length > config.maxSequenceWithoutWindow) throw new Error("reference forward: the sequence is longer than the sliding window");
  for (const token of tokens) {
    if (!Number.isInteger(token) || token < 0 || token >= config.vocabSize) throw new Error(`reference forward: token ${token} is not in the vocabulary`);
  }
  const inverseFrequencies = config.longrope ? longropeInverseFrequencies(config, tokens.length) : hfRotaryInverseFrequencies(config);
  const rotaryScale = config.longrope?.attentionFactor ?? 1;
  const scale = 1 / Math.sqrt(headDim);
  // repeat_kv: query head h reads key/value head floor(h / (nHead / nKvHead)).
  const queriesPerKv = nHead / nKvHead;

  let states: Float64Array[] = tokens.map((token) => weights.embedding.slice(token * hidden, (token + 1) * hidden));
  for (const layer of weights.layers) {
    const queries: Float64Array[] = [];
    const keys: Float64Array[] = [];
    const values: Float64Array[] = [];
    for (const [position, state] of states.entries()) {
      const normed = rmsNorm(state, layer.inputNorm, config.rmsNormEps);
      const query = linear(layer.q, layer.qBias, normed);
      const key = linear(layer.k, layer.kBias, normed);
      for (const [vector, heads, norm] of [[query, nHead, layer.qNorm], [key, nKvHead, layer.kNorm]] as const) {
        for (let head = 0; head < heads; head++) {
          const slice = vector.subarray(head * headDim, (head + 1) * headDim);
          // Qwen3 normalises each head of q and k before the rotation.
          if (norm !== undefined) slice.set(rmsNorm(slice, norm, config.rmsNormEps));
          rotateHalf(slice.subarray(0, config.rotaryDim), position, inverseFrequencies, rotaryScale);
        }
      }
      queries.push(query);
      keys.push(key);
      values.push(linear(layer.v, layer.vBias, normed));
    }

    states = states.map((state, position) => {
      const attended = new Float64Array(nHead * headDim);
      for (let head = 0; head < nHead; head++) {
        const kvHead = Math.floor(head / queriesPerKv);
        const query = queries[position].subarray(head * headDim, (head + 1) * headDim);
        // Causal mask: position attends to 0..position.
        const scores = new Float64Array(position + 1);
        for (let source = 0; source <= position; source++) {
          scores[source] = dot(query, keys[source].subarray(kvHead * headDim, (kvHead + 1) * headDim)) * scale;
        }
        const weightsBySource = softmax(scores);
        for (let source = 0; source <= position; source++) {
          const value = values[source].subarray(kvHead * headDim, (kvHead + 1) * headDim);
          for (let index = 0; index < headDim; index++) attended[head * headDim + index] += weightsBySource[source] * value[index];
        }
      }
      const afterAttention = add(state, linear(layer.o, layer.oBias, attended));
      const normed = rmsNorm(afterAttention, layer.postAttentionNorm, config.rmsNormEps);
      const gate = linear(layer.gate, layer.gateBias, normed);
      const up = linear(layer.up, layer.upBias, normed);
      const activated = gate.map((value, index) => silu(value) * up[index]);
      return add(afterAttention, linear(layer.down, layer.downBias, activated));
    });
  }
  return states.map((state) => linear(weights.lmHead, undefined, rmsNorm(state, weights.finalNorm, config.rmsNormEps)));
}

/**
 * Gemma2Model / Gemma3TextModel: the embedding times sqrt(hidden_size) (in the embedding's dtype);
 * per layer input_layernorm → attention → post_attention_layernorm → residual, then
 * pre_feedforward_layernorm → down(gelu_tanh(gate) · up) → post_feedforward_layernorm → residual;
 * every RMSNorm scales by (1 + w). Gemma 3 normalises q and k per head before RoPE; sliding layers
 * attend to the last sliding_window positions (and in Gemma 3 rotate with rope_local_base_freq),
 * scores are scaled by query_pre_attn_scalar^-1/2 and, in Gemma 2, softcapped, as are the logits.
 */
function gemmaForward(config: HfReferenceConfig, gemma: GemmaReferenceConfig, weights: ModelWeights, tokens: readonly number[]): Float64Array[] {
  const { hiddenSize: hidden, headDim, nHead, nKvHead, rmsNormEps: eps } = config;
  if (tokens.length === 0) throw new Error("reference forward: no tokens");
  for (const token of tokens) {
    if (!Number.isInteger(token) || token < 0 || token >= config.vocabSize) throw new Error(`reference forward: token ${token} is not in the vocabulary`);
  }
  const norm = (values: Float64Array, weight: Float64Array) => rmsNorm(values, weight.map((w) => gemma.normOffset + w), eps);
  const globalFrequencies = hfRotaryInverseFrequencies(config).map((frequency) => frequency / gemma.linearRopeFactor);
  const localFrequencies = gemma.localRopeTheta === undefined ? globalFrequencies : hfRotaryInverseFrequencies({ ...config, ropeTheta: gemma.localRopeTheta, ropeScaling: undefined });
  const scale = gemma.queryPreAttnScalar ** -0.5;
  const queriesPerKv = nHead / nKvHead;
  const cap = (value: number, softcap: number | null) => (softcap === null ? value : Math.tanh(value / softcap) * softcap);

  let states: Float64Array[] = tokens.map((token) => weights.embedding.slice(token * hidden, (token + 1) * hidden).map((value) => value * gemma.embeddingScale));
  for (const [layerIndex, layer] of weights.layers.entries()) {
    const sliding = gemma.slidingLayers[layerIndex];
    const frequencies = sliding ? localFrequencies : globalFrequencies;
    const queries: Float64Array[] = [];
    const keys: Float64Array[] = [];
    const values: Float64Array[] = [];
    for (const [position, state] of states.entries()) {
      const normed = norm(state, layer.inputNorm);
      const query = linear(layer.q, undefined, normed);
      const key = linear(layer.k, undefined, normed);
      for (const [vector, heads, headNorm] of [[query, nHead, layer.qNorm], [key, nKvHead, layer.kNorm]] as const) {
        for (let head = 0; head < heads; head++) {
          const slice = vector.subarray(head * headDim, (head + 1) * headDim);
          if (headNorm !== undefined) slice.set(norm(slice, headNorm));
          rotateHalf(slice, position, frequencies);
        }
      }
      queries.push(query);
      keys.push(key);
      values.push(linear(layer.v, undefined, normed));
    }
    states = states.map((state, position) => {
      // the causal mask, and on sliding layers only the last slidingWindow positions (position - source < window)
      const first = sliding ? Math.max(0, position - gemma.slidingWindow + 1) : 0;
      const attended = new Float64Array(nHead * headDim);
      for (let head = 0; head < nHead; head++) {
        const kvHead = Math.floor(head / queriesPerKv);
        const query = queries[position].subarray(head * headDim, (head + 1) * headDim);
        const scores = new Float64Array(position + 1 - first);
        for (let source = first; source <= position; source++) {
          scores[source - first] = cap(dot(query, keys[source].subarray(kvHead * headDim, (kvHead + 1) * headDim)) * scale, gemma.attnLogitSoftcapping);
        }
        const weightsBySource = softmax(scores);
        for (let source = first; source <= position; source++) {
          const value = values[source].subarray(kvHead * headDim, (kvHead + 1) * headDim);
          for (let index = 0; index < headDim; index++) attended[head * headDim + index] += weightsBySource[source - first] * value[index];
        }
      }
      const attentionOutput = linear(layer.o, undefined, attended);
      const afterAttention = add(state, gemma.postNorms ? norm(attentionOutput, layer.postAttentionNorm) : attentionOutput);
      const normed = norm(afterAttention, gemma.postNorms ? layer.preFeedforwardNorm! : layer.postAttentionNorm);
      const gate = linear(layer.gate, undefined, normed);
      const up = linear(layer.up, undefined, normed);
      const activated = gate.map((value, index) => geluTanh(value) * up[index]);
      const ffnOutput = linear(layer.down, undefined, activated);
      return add(afterAttention, gemma.postNorms ? norm(ffnOutput, layer.postFeedforwardNorm!) : ffnOutput);
    });
  }
  return states.map((state) => linear(weights.lmHead, undefined, norm(state, weights.finalNorm)).map((logit) => cap(logit, gemma.finalLogitSoftcapping)));
}

/** gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³))). */
function geluTanh(value: number): number {
  return 0.5 * value * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (value + 0.044715 * value ** 3)));
}

/** LlamaRMSNorm: x / sqrt(mean(x²) + eps) * weight. */
function rmsNorm(values: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let sumOfSquares = 0;
  for (const value of values) sumOfSquares += value * value;
  const inverseRms = 1 / Math.sqrt(sumOfSquares / values.length + eps);
  return values.map((value, index) => value * inverseRms * weight[index]);
}

/**
 * apply_rotary_pos_emb with HF's rotate_half: the head is split into halves, element i paired with
 * element i + d/2 (not llama.cpp's adjacent pairs), both rotated by position * inverseFrequencies[i].
 */
function rotateHalf(head: Float64Array, position: number, inverseFrequencies: Float64Array, scale = 1): void {
  const half = head.length / 2;
  for (let index = 0; index < half; index++) {
    const angle = position * inverseFrequencies[index];
    // longrope multiplies cos and sin by its attention factor
    const cos = Math.cos(angle) * scale;
    const sin = Math.sin(angle) * scale;
    const first = head[index];
    const second = head[index + half];
    head[index] = first * cos - second * sin;
    head[index + half] = second * cos + first * sin;
  }
}

/** nn.Linear: y = W x + b with W stored [out, in] row-major. */
function linear(weight: Float64Array, bias: Float64Array | undefined, input: Float64Array): Float64Array {
  const outputs = weight.length / input.length;
  const result = new Float64Array(outputs);
  for (let row = 0; row < outputs; row++) {
    let sum = bias?.[row] ?? 0;
    const offset = row * input.length;
    for (let column = 0; column < input.length; column++) sum += weight[offset + column] * input[column];
    result[row] = sum;
  }
  return result;
}

function silu(value: number): number {
  return value / (1 + Math.exp(-value));
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += a[index] * b[index];
  return sum;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((value, index) => value + b[index]);
}

function softmax(logits: Float64Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const value of logits) max = Math.max(max, value);
  const exps = logits.map((value) => Math.exp(value - max));
  let sum = 0;
  for (const value of exps) sum += value;
  return exps.map((value) => value / sum);
}

/** Token sequences the conversion tests compare next-token probabilities on. */
export const REFERENCE_SEQUENCES = [
  [1, 2, 3, 4, 5],
  [100, 7, 300, 42],
  [250, 251, 252, 253, 254, 255, 256, 257],
];

/** The tiny checkpoint (2 layers, width 64, 4 heads / 2 KV heads) the conversion tests run the reference on, with `tokenizer`. */
export async function writeReferenceCheckpoint(dir: string, tokenizer: TinyHfTokenizer, options: Partial<TinyHfCheckpointOptions> & Pick<TinyHfCheckpointOptions, "seed" | "architecture" | "dtype">): Promise<void> {
  await writeTinyHfCheckpoint(dir, {
    nLayer: 2,
    hiddenSize: 64,
    nHead: 4,
    nKvHead: 2,
    intermediateSize: 128,
    maxPositionEmbeddings: 2048,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    ...options,
    vocabSize: tokenizer.vocabSize,
    tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
    bosTokenId: tokenizer.modelConfigTokenIds.bos_token_id,
    eosTokenId: tokenizer.modelConfigTokenIds.eos_token_id,
  });
}
