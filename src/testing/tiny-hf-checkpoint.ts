import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { SafetensorsWriter, type SafetensorsTensorDeclaration } from "../convert/safetensors-writer.js";
import { LoraGgufError } from "../errors.js";
import { float32ArrayToBfloat16 } from "../gguf/f16.js";
import { SeededRandom } from "../seeded-random.js";
import { pythonFloat, pythonJsonDumps, type PythonJsonValue } from "./python-json.js";

export type TinyHfArchitecture = "llama" | "mistral" | "qwen2" | "qwen3" | "phi3" | "gemma" | "gemma2" | "gemma3";

export const tinyHfArchitectures: readonly TinyHfArchitecture[] = ["llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3"];

/** rope_scaling of type "llama3" (Llama 3.1 ships factor 8, low 1, high 4, original 8192). */
export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface TinyHfCheckpointOptions {
  architecture: TinyHfArchitecture;
  /** PRNG seed; each tensor's values depend only on the seed and its name, not on dtype or sharding. */
  seed: number;
  /** torch_dtype and the storage of every tensor; bfloat16 rounds the float32 values to nearest even. */
  dtype: "float32" | "bfloat16";
  /** Number of model-0000N-of-0000M.safetensors files, listed in model.safetensors.index.json; 1 writes model.safetensors. Default 1. */
  shards?: number;
  nLayer: number;
  hiddenSize: number;
  nHead: number;
  nKvHead: number;
  intermediateSize: number;
  vocabSize: number;
  /**
   * Attention head size (even, for RoPE). llama, mistral and qwen3 write it as head_dim; qwen2's
   * config has no such key, so there it must be hiddenSize / nHead. Default hiddenSize / nHead
   * (mistral then leaves head_dim out, as Mistral-7B-v0.3's config does).
   */
  headDim?: number;
  /** Leave lm_head.weight out; the output projection is model.embed_tokens.weight. Default false. */
  tieWordEmbeddings?: boolean;
  /** Write rope_scaling of type "llama3"; `true` takes factor 8, low 1, high 4, original maxPositionEmbeddings / 16. */
  ropeScalingLlama3?: boolean | Llama3RopeScaling;
  /** phi3: rope_scaling of type "longrope" (Phi-3.5-mini, Phi-3-mini-128k), each list headDim × partialRotaryFactor / 2 long. */
  phi3Longrope?: { longFactor: number[]; shortFactor: number[] };
  /** phi3: original_max_position_embeddings. Default maxPositionEmbeddings. */
  originalMaxPositionEmbeddings?: number;
  /** phi3: partial_rotary_factor (Phi-4-mini 0.75). Default 1. */
  partialRotaryFactor?: number;
  /** phi3: sliding_window (Phi-3-mini-4k 2047, Phi-4 null), default null; gemma2/gemma3: default 4096 and 512 (Gemma 3 1B). */
  slidingWindow?: number | null;
  /** gemma2: attn_logit_softcapping (Gemma2Config: 50). */
  attnLogitSoftcapping?: number;
  /** gemma2: final_logit_softcapping (Gemma2Config: 30); gemma3: default null. */
  finalLogitSoftcapping?: number | null;
  /** gemma3: rope_local_base_freq, the sliding layers' rope base (Gemma3TextConfig: 10000). */
  ropeLocalBaseFreq?: number;
  /** gemma3: rope_scaling {"factor", "rope_type": "linear"} for the global layers (Gemma 3 4B and up: 8). Default null. */
  ropeScalingLinearFactor?: number;
  maxPositionEmbeddings: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** Default 1. */
  bosTokenId?: number;
  /** Default 2. */
  eosTokenId?: number;
  /** Extra files written as given (tokenizer.json, tokenizer_config.json, ...): file name → content. */
  tokenizerFiles?: Readonly<Record<string, string>>;
}

export interface TinyHfCheckpoint {
  dir: string;
  /** config.json as written. */
  config: Record<string, unknown>;
  /** Names of the files written in `dir`, sorted. */
  files: string[];
  /** The weights in PyTorch state_dict order, with their safetensors dtype and shape. */
  tensors: SafetensorsTensorDeclaration[];
}

/** The release transformers' save_pretrained output is modelled on. */
const TRANSFORMERS_VERSION = "4.51.3";

const CONFIG_CLASS: Record<TinyHfArchitecture, string> = {
  llama: "LlamaForCausalLM",
  mistral: "MistralForCausalLM",
  qwen2: "Qwen2ForCausalLM",
  qwen3: "Qwen3ForCausalLM",
  phi3: "Phi3ForCausalLM",
  gemma: "GemmaForCausalLM",
  gemma2: "Gemma2ForCausalLM",
  gemma3: "Gemma3ForCausalLM",
};

/**
 * Standard deviations of the random weights. With RMS-normalised activations of unit scale,
 * lm_head at 2 / sqrt(hiddenSize) gives logits of standard deviation about 2 at any width (as in
 * src/testing/tiny-model.ts), so the next-token distribution is clearly peaked. The projections
 * are at 1 / sqrt(in_features): attention scores then have unit spread and each block adds about
 * as much to the residual stream as the token embedding holds, so earlier tokens (through RoPE,
 * the causal mask and the kv grouping) visibly move the last position's distribution; with the
 * small projections of tiny-model.ts it depends on the last token alone, and a tied model predicts
 * its input token with probability ~1. Qwen2's released q/k biases are large, so they are here,
 * where a mishandled bias then shows.
 */
const WEIGHT_STD = {
  tokenEmbedding: 0.5,
  normNoise: 0.02,
  queryKeyBias: 0.5,
  valueBias: 0.05,
  gemmaNorm: 0.1,
} as const;

function isGemma(architecture: TinyHfArchitecture): architecture is "gemma2" | "gemma3" {
  return architecture === "gemma2" || architecture === "gemma3";
}

/** Gemma (1) too: RMSNorm weights stored as w for a (1 + w) scale, embeddings tied by default. */
function hasGemmaNorms(architecture: TinyHfArchitecture): boolean {
  return architecture === "gemma" || isGemma(architecture);
}

/**
 * Writes a tiny Hugging Face checkpoint as transformers' save_pretrained would: config.json,
 * generation_config.json and seeded random weights with HF names in PyTorch's [out, in] layout,
 * as one model.safetensors or `shards` shards plus model.safetensors.index.json.
 */
export async function writeTinyHfCheckpoint(dir: string, options: TinyHfCheckpointOptions): Promise<TinyHfCheckpoint> {
  const resolved = resolveOptions(options);
  await mkdir(dir, { recursive: true });
  const tensors = tinyHfTensorDeclarations(resolved);
  const files: string[] = [];
  const write = async (name: string, content: string) => {
    await writeFile(path.join(dir, name), content);
    files.push(name);
  };

  const configText = pythonJsonDumps(configJson(resolved)) + "\n";
  await write("config.json", configText);
  await write(
    "generation_config.json",
    pythonJsonDumps({
      _from_model_config: true,
      bos_token_id: resolved.bosTokenId,
      eos_token_id: resolved.eosTokenId,
      transformers_version: TRANSFORMERS_VERSION,
    }) + "\n",
  );

  const shards = splitIntoShards(tensors, resolved.shards);
  const weightMap: Record<string, string> = {};
  for (const [index, shard] of shards.entries()) {
    const name = shards.length === 1 ? "model.safetensors" : `model-${pad5(index + 1)}-of-${pad5(shards.length)}.safetensors`;
    // save_pretrained tags every file it writes this way.
    const writer = await SafetensorsWriter.create(path.join(dir, name), { tensors: shard, metadata: { format: "pt" } });
    try {
      for (const tensor of writer.tensors) {
        await writer.writeTensorData(tensor.name, storedValues(resolved, tensor));
        weightMap[tensor.name] = name;
      }
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    files.push(name);
  }
  if (shards.length > 1) {
    const totalSize = tensors.reduce((sum, tensor) => sum + byteLength(tensor), 0);
    await write("model.safetensors.index.json", pythonJsonDumps({ metadata: { total_size: totalSize }, weight_map: weightMap }) + "\n");
  }

  for (const [name, content] of Object.entries(resolved.tokenizerFiles ?? {})) await write(name, content);
  return { dir, config: JSON.parse(configText) as Record<string, unknown>, files: files.sort(), tensors };
}

/** The float32 values a tensor is generated with, before any bfloat16 rounding. */
export function tinyHfTensorFloat32(options: TinyHfCheckpointOptions, name: string): Float32Array {
  const resolved = resolveOptions(options);
  const tensor = tinyHfTensorDeclarations(resolved).find((candidate) => candidate.name === name);
  if (tensor === undefined) throw new LoraGgufError("E_INVALID_OPTION", `the tiny ${resolved.architecture} checkpoint has no tensor "${name}"`);
  return generatedValues(resolved, tensor);
}

function generatedValues(options: ResolvedOptions, tensor: SafetensorsTensorDeclaration): Float32Array {
  const { name } = tensor;
  const random = new SeededRandom(SeededRandom.derivedSeed(options.seed, name));
  const values = new Float32Array(tensor.shape.reduce((product, dim) => product * dim, 1));
  // Gemma's RMSNorm scales by (1 + w) and starts w at 0; its checkpoints store w
  if (name.endsWith("norm.weight")) return hasGemmaNorms(options.architecture) ? random.fillNormal(values, 0, WEIGHT_STD.gemmaNorm) : random.fillNormal(values, 1, WEIGHT_STD.normNoise);
  if (name.endsWith(".bias")) {
    const isValue = name.includes(".v_proj.");
    return random.fillNormal(values, 0, isValue ? WEIGHT_STD.valueBias : WEIGHT_STD.queryKeyBias);
  }
  return random.fillNormal(values, 0, weightStd(name, options));
}

function storedValues(options: ResolvedOptions, tensor: SafetensorsTensorDeclaration): Float32Array | Uint16Array {
  const values = generatedValues(options, tensor);
  return options.dtype === "bfloat16" ? float32ArrayToBfloat16(values) : values;
}

function weightStd(name: string, options: ResolvedOptions): number {
  const outputStd = 2 / Math.sqrt(options.hiddenSize);
  if (name === "model.embed_tokens.weight") return options.tieWordEmbeddings ? outputStd : WEIGHT_STD.tokenEmbedding;
  if (name === "lm_head.weight") return outputStd;
  const inFeatures = name.endsWith(".o_proj.weight")
    ? options.nHead * options.headDim
    : name.endsWith(".down_proj.weight")
      ? options.intermediateSize
      : options.hiddenSize;
  return 1 / Math.sqrt(inFeatures);
}

type Phi3Options = "phi3Longrope" | "originalMaxPositionEmbeddings" | "partialRotaryFactor" | "slidingWindow";
type GemmaOptions = "attnLogitSoftcapping" | "finalLogitSoftcapping" | "ropeLocalBaseFreq" | "ropeScalingLinearFactor";

interface ResolvedOptions
  extends Required<Omit<TinyHfCheckpointOptions, "headDim" | "ropeScalingLlama3" | "tokenizerFiles" | Phi3Options | GemmaOptions>>,
    Pick<TinyHfCheckpointOptions, Phi3Options | GemmaOptions> {
  headDim: number;
  headDimGiven: boolean;
  ropeScaling: Llama3RopeScaling | undefined;
  tokenizerFiles: Readonly<Record<string, string>> | undefined;
}

function resolveOptions(options: TinyHfCheckpointOptions): ResolvedOptions {
  const invalid = (message: string) => new LoraGgufError("E_INVALID_OPTION", `writeTinyHfCheckpoint: ${message}`);
  if (!tinyHfArchitectures.includes(options.architecture)) {
    throw invalid(`architecture must be one of ${tinyHfArchitectures.map((name) => `"${name}"`).join(", ")}, got ${String(options.architecture)}`);
  }
  if (options.dtype !== "float32" && options.dtype !== "bfloat16") {
    throw invalid(`dtype must be "float32" or "bfloat16", got ${String(options.dtype)}`);
  }
  if (!Number.isSafeInteger(options.seed)) throw invalid(`seed must be an integer, got ${String(options.seed)}`);
  const positive = ["nLayer", "hiddenSize", "nHead", "nKvHead", "intermediateSize", "vocabSize", "maxPositionEmbeddings"] as const;
  for (const name of positive) {
    const value = options[name];
    if (!Number.isSafeInteger(value) || value <= 0) throw invalid(`${name} must be a positive integer, got ${String(value)}`);
  }
  for (const name of ["ropeTheta", "rmsNormEps"] as const) {
    const value = options[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw invalid(`${name} must be a positive number, got ${String(value)}`);
  }
  if (options.nHead % options.nKvHead !== 0) throw invalid(`nKvHead (${options.nKvHead}) must divide nHead (${options.nHead})`);
  const headDim = options.headDim ?? options.hiddenSize / options.nHead;
  if (!Number.isSafeInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw invalid(`the head size must be a positive even integer (headDim, or hiddenSize / nHead), got ${headDim}`);
  }
  if ((options.architecture === "qwen2" || options.architecture === "phi3") && headDim * options.nHead !== options.hiddenSize) {
    throw invalid(`${options.architecture} has no head_dim: headDim (${headDim}) times nHead (${options.nHead}) must be hiddenSize (${options.hiddenSize})`);
  }
  if (options.architecture !== "phi3") {
    for (const name of ["phi3Longrope", "originalMaxPositionEmbeddings", "partialRotaryFactor"] as const) {
      if (options[name] !== undefined) throw invalid(`${name} is a phi3 option, not one of ${options.architecture}`);
    }
    if (!isGemma(options.architecture) && options.slidingWindow !== undefined) throw invalid(`slidingWindow is a phi3 and gemma option, not one of ${options.architecture}`);
  }
  const gemmaOnly: Record<GemmaOptions, TinyHfArchitecture[]> = {
    attnLogitSoftcapping: ["gemma2"],
    finalLogitSoftcapping: ["gemma2", "gemma3"],
    ropeLocalBaseFreq: ["gemma3"],
    ropeScalingLinearFactor: ["gemma3"],
  };
  for (const [name, architectures] of Object.entries(gemmaOnly)) {
    if (options[name as GemmaOptions] !== undefined && !architectures.includes(options.architecture)) {
      throw invalid(`${name} is a ${architectures.join(" and ")} option, not one of ${options.architecture}`);
    }
  }
  if (hasGemmaNorms(options.architecture) && options.ropeScalingLlama3) throw invalid(`${options.architecture} takes ropeScalingLinearFactor, not ropeScalingLlama3`);
  if (options.architecture === "phi3" && options.ropeScalingLlama3) throw invalid("phi3 takes phi3Longrope, not ropeScalingLlama3");
  const shards = options.shards ?? 1;
  if (!Number.isSafeInteger(shards) || shards < 1) throw invalid(`shards must be a positive integer, got ${String(shards)}`);
  const bosTokenId = options.bosTokenId ?? 1;
  const eosTokenId = options.eosTokenId ?? 2;
  for (const [name, id] of [["bosTokenId", bosTokenId], ["eosTokenId", eosTokenId]] as const) {
    if (!Number.isSafeInteger(id) || id < 0 || id >= options.vocabSize) throw invalid(`${name} must be a token id below vocabSize, got ${String(id)}`);
  }
  const ropeScaling = resolveRopeScaling(options, invalid);
  for (const name of Object.keys(options.tokenizerFiles ?? {})) {
    if (name === "" || name !== path.basename(name) || name === "." || name === ".." || /\.safetensors|^config\.json$|^generation_config\.json$/.test(name)) {
      throw invalid(`tokenizerFiles names must be plain file names other than the checkpoint's own, got ${JSON.stringify(name)}`);
    }
  }
  const resolved: ResolvedOptions = {
    ...options,
    shards,
    headDim,
    headDimGiven: options.headDim !== undefined,
    // GemmaConfig, Gemma2Config and Gemma3TextConfig default to tied embeddings
    tieWordEmbeddings: options.tieWordEmbeddings ?? hasGemmaNorms(options.architecture),
    bosTokenId,
    eosTokenId,
    ropeScaling,
    tokenizerFiles: options.tokenizerFiles,
  };
  const tensorCount = tinyHfTensorDeclarations(resolved).length;
  if (shards > tensorCount) throw invalid(`shards (${shards}) must not exceed the number of tensors (${tensorCount})`);
  return resolved;
}

function resolveRopeScaling(options: TinyHfCheckpointOptions, invalid: (message: string) => LoraGgufError): Llama3RopeScaling | undefined {
  const requested = options.ropeScalingLlama3;
  if (requested === undefined || requested === false) return undefined;
  const scaling =
    requested === true
      ? { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: Math.max(1, Math.floor(options.maxPositionEmbeddings / 16)) }
      : requested;
  for (const name of ["factor", "lowFreqFactor", "highFreqFactor"] as const) {
    if (typeof scaling[name] !== "number" || !(scaling[name] > 0) || !Number.isFinite(scaling[name])) {
      throw invalid(`ropeScalingLlama3.${name} must be a positive number, got ${String(scaling[name])}`);
    }
  }
  if (!(scaling.highFreqFactor > scaling.lowFreqFactor)) throw invalid("ropeScalingLlama3.highFreqFactor must be above lowFreqFactor");
  if (!Number.isSafeInteger(scaling.originalMaxPositionEmbeddings) || scaling.originalMaxPositionEmbeddings <= 0) {
    throw invalid(`ropeScalingLlama3.originalMaxPositionEmbeddings must be a positive integer, got ${String(scaling.originalMaxPositionEmbeddings)}`);
  }
  return { ...scaling };
}

/** Parameters in the order PyTorch's state_dict lists them (module registration order). */
function tinyHfTensorDeclarations(options: ResolvedOptions): SafetensorsTensorDeclaration[] {
  const dtype = options.dtype === "bfloat16" ? "BF16" : "F32";
  const { hiddenSize, intermediateSize, vocabSize, headDim } = options;
  const qSize = options.nHead * headDim;
  const kvSize = options.nKvHead * headDim;
  const tensor = (name: string, ...shape: number[]): SafetensorsTensorDeclaration => ({ name, dtype, shape });
  const tensors = [tensor("model.embed_tokens.weight", vocabSize, hiddenSize)];
  const qkvBias = options.architecture === "qwen2";
  for (let layer = 0; layer < options.nLayer; layer++) {
    const block = `model.layers.${layer}`;
    if (options.architecture === "phi3") {
      // Phi3Attention registers o_proj before qkv_proj; Phi3MLP fuses gate and up as [gate; up] rows.
      tensors.push(
        tensor(`${block}.self_attn.o_proj.weight`, hiddenSize, qSize),
        tensor(`${block}.self_attn.qkv_proj.weight`, qSize + 2 * kvSize, hiddenSize),
        tensor(`${block}.mlp.gate_up_proj.weight`, 2 * intermediateSize, hiddenSize),
        tensor(`${block}.mlp.down_proj.weight`, hiddenSize, intermediateSize),
        tensor(`${block}.input_layernorm.weight`, hiddenSize),
        tensor(`${block}.post_attention_layernorm.weight`, hiddenSize),
      );
      continue;
    }
    for (const [projection, size] of [["q_proj", qSize], ["k_proj", kvSize], ["v_proj", kvSize]] as const) {
      tensors.push(tensor(`${block}.self_attn.${projection}.weight`, size, hiddenSize));
      if (qkvBias) tensors.push(tensor(`${block}.self_attn.${projection}.bias`, size));
    }
    tensors.push(tensor(`${block}.self_attn.o_proj.weight`, hiddenSize, qSize));
    if (options.architecture === "qwen3" || options.architecture === "gemma3") {
      tensors.push(tensor(`${block}.self_attn.q_norm.weight`, headDim), tensor(`${block}.self_attn.k_norm.weight`, headDim));
    }
    tensors.push(
      tensor(`${block}.mlp.gate_proj.weight`, intermediateSize, hiddenSize),
      tensor(`${block}.mlp.up_proj.weight`, intermediateSize, hiddenSize),
      tensor(`${block}.mlp.down_proj.weight`, hiddenSize, intermediateSize),
      tensor(`${block}.input_layernorm.weight`, hiddenSize),
      tensor(`${block}.post_attention_layernorm.weight`, hiddenSize),
    );
    if (isGemma(options.architecture)) {
      tensors.push(tensor(`${block}.pre_feedforward_layernorm.weight`, hiddenSize), tensor(`${block}.post_feedforward_layernorm.weight`, hiddenSize));
    }
  }
  tensors.push(tensor("model.norm.weight", hiddenSize));
  if (!options.tieWordEmbeddings) tensors.push(tensor("lm_head.weight", vocabSize, hiddenSize));
  return tensors;
}

/**
 * config.json as PretrainedConfig.to_json_string writes it in transformers 4.51: every attribute the
 * config class sets, plus the base-class ones that differ from PretrainedConfig's defaults.
 */
function configJson(options: ResolvedOptions): PythonJsonValue {
  const { architecture } = options;
  const ropeScaling: PythonJsonValue =
    options.ropeScaling === undefined
      ? null
      : {
          factor: pythonFloat(options.ropeScaling.factor),
          high_freq_factor: pythonFloat(options.ropeScaling.highFreqFactor),
          low_freq_factor: pythonFloat(options.ropeScaling.lowFreqFactor),
          original_max_position_embeddings: options.ropeScaling.originalMaxPositionEmbeddings,
          rope_type: "llama3",
        };
  const common: Record<string, PythonJsonValue> = {
    architectures: [CONFIG_CLASS[architecture]],
    attention_dropout: pythonFloat(0),
    bos_token_id: options.bosTokenId,
    eos_token_id: options.eosTokenId,
    hidden_act: "silu",
    hidden_size: options.hiddenSize,
    initializer_range: pythonFloat(0.02),
    intermediate_size: options.intermediateSize,
    max_position_embeddings: options.maxPositionEmbeddings,
    model_type: architecture,
    num_attention_heads: options.nHead,
    num_hidden_layers: options.nLayer,
    num_key_value_heads: options.nKvHead,
    rms_norm_eps: pythonFloat(options.rmsNormEps),
    rope_theta: pythonFloat(options.ropeTheta),
    tie_word_embeddings: options.tieWordEmbeddings,
    torch_dtype: options.dtype,
    transformers_version: TRANSFORMERS_VERSION,
    use_cache: true,
    vocab_size: options.vocabSize,
  };
  switch (architecture) {
    case "llama":
      return { ...common, attention_bias: false, head_dim: options.headDim, mlp_bias: false, pretraining_tp: 1, rope_scaling: ropeScaling };
    case "mistral":
      // MistralConfig has no rope_scaling attribute: it is written only when passed (as an extra kwarg).
      return {
        ...common,
        ...(options.headDimGiven ? { head_dim: options.headDim } : {}),
        ...(options.ropeScaling !== undefined ? { rope_scaling: ropeScaling } : {}),
        sliding_window: null,
      };
    case "qwen2":
      // Qwen2's q/k/v biases are built into Qwen2Attention; its config has no attention_bias key.
      return { ...common, max_window_layers: options.nLayer, rope_scaling: ropeScaling, sliding_window: null, use_sliding_window: false };
    case "phi3": {
      // Phi3Config has no head_dim, no biases and its own dropout keys; eos and pad are <|endoftext|>.
      const { model_type: _, ...rest } = common;
      return {
        ...rest,
        embd_pdrop: pythonFloat(0),
        model_type: "phi3",
        original_max_position_embeddings: options.originalMaxPositionEmbeddings ?? options.maxPositionEmbeddings,
        pad_token_id: options.eosTokenId,
        partial_rotary_factor: pythonFloat(options.partialRotaryFactor ?? 1),
        resid_pdrop: pythonFloat(0),
        rope_scaling:
          options.phi3Longrope === undefined
            ? null
            : {
                long_factor: options.phi3Longrope.longFactor.map(pythonFloat),
                short_factor: options.phi3Longrope.shortFactor.map(pythonFloat),
                type: "longrope",
              },
        sliding_window: options.slidingWindow ?? null,
      };
    }
    case "gemma": {
      // GemmaConfig: hidden_act and hidden_activation (GemmaMLP runs the latter, the tanh
      // approximation when it is null), an explicit head_dim, pad 0
      return {
        ...common,
        attention_bias: false,
        head_dim: options.headDim,
        hidden_act: "gelu_pytorch_tanh",
        hidden_activation: null,
        pad_token_id: 0,
      };
    }
    case "gemma2":
    case "gemma3": {
      // Gemma2Config and Gemma3TextConfig: hidden_activation (no hidden_act), an explicit head_dim,
      // query_pre_attn_scalar (here head_dim, as llama.cpp assumes below 27B), pad 0 and the hybrid cache
      const { hidden_act: _, model_type: __, ...rest } = common;
      const gemma = {
        ...rest,
        attention_bias: false,
        cache_implementation: "hybrid",
        head_dim: options.headDim,
        hidden_activation: "gelu_pytorch_tanh",
        pad_token_id: 0,
        query_pre_attn_scalar: options.headDim,
      };
      if (architecture === "gemma2") {
        return {
          ...gemma,
          attn_logit_softcapping: pythonFloat(options.attnLogitSoftcapping ?? 50),
          final_logit_softcapping: pythonFloat(options.finalLogitSoftcapping ?? 30),
          model_type: "gemma2",
          sliding_window: options.slidingWindow ?? 4096,
        };
      }
      return {
        ...gemma,
        attn_logit_softcapping: null,
        final_logit_softcapping: options.finalLogitSoftcapping == null ? null : pythonFloat(options.finalLogitSoftcapping),
        model_type: "gemma3_text",
        rope_local_base_freq: pythonFloat(options.ropeLocalBaseFreq ?? 10000),
        rope_scaling: options.ropeScalingLinearFactor === undefined ? null : { factor: pythonFloat(options.ropeScalingLinearFactor), rope_type: "linear" },
        sliding_window: options.slidingWindow ?? 512,
        sliding_window_pattern: 6,
      };
    }
    case "qwen3":
      return {
        ...common,
        attention_bias: false,
        head_dim: options.headDim,
        max_window_layers: options.nLayer,
        rope_scaling: ropeScaling,
        sliding_window: null,
        use_sliding_window: false,
      };
  }
}

/** Contiguous runs of the state_dict of about equal bytes, each non-empty (save_pretrained shards in state_dict order). */
function splitIntoShards(tensors: SafetensorsTensorDeclaration[], shardCount: number): SafetensorsTensorDeclaration[][] {
  const total = tensors.reduce((sum, tensor) => sum + byteLength(tensor), 0);
  const shards: SafetensorsTensorDeclaration[][] = [];
  let start = 0;
  let bytesBefore = 0;
  for (let shard = 0; shard < shardCount; shard++) {
    const remainingShards = shardCount - shard - 1;
    let end = start + 1;
    let bytes = bytesBefore + byteLength(tensors[start]);
    const target = (total * (shard + 1)) / shardCount;
    while (end < tensors.length - remainingShards && (remainingShards === 0 || bytes < target)) {
      bytes += byteLength(tensors[end]);
      end++;
    }
    shards.push(tensors.slice(start, end));
    start = end;
    bytesBefore = bytes;
  }
  return shards;
}

function byteLength(tensor: SafetensorsTensorDeclaration): number {
  return tensor.shape.reduce((product, dim) => product * dim, tensor.dtype === "BF16" ? 2 : 4);
}

function pad5(value: number): string {
  return String(value).padStart(5, "0");
}
