import { join } from "node:path";
import { LoraGgufError } from "../errors.js";
import { float32ArrayToFloat16 } from "../gguf/f16.js";
import { GgmlType } from "../gguf/ggml-types.js";
import { encodeGgufHeader, type GgufTensorDeclaration } from "../gguf/header-encoder.js";
import { float32Entry, stringEntry, uint32Entry } from "../gguf/metadata-entries.js";
import { readGgufHeader } from "../gguf/reader.js";
import type { GgufMetadataEntry } from "../gguf/value-types.js";
import { GgufWriter } from "../gguf/writer.js";
import { AtomicOutputFile } from "../io/atomic-output-file.js";
import { llamaSourceDir } from "./llama-source-dir.js";
import { SeededRandom } from "../seeded-random.js";
import { truncatedTokenizerEntries } from "./truncated-vocab.js";

export type TinyModelArchitecture = "llama" | "qwen2" | "qwen3" | "phi3" | "gemma" | "gemma2" | "gemma3";

export const tinyModelArchitectures: readonly TinyModelArchitecture[] = ["llama", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3"];

/**
 * Storage types of the weight matrices: f32 or f16 throughout, or the mix `lora-gguf quantize --type
 * Q4_K_M` leaves (sparse models only: their tensor data is never written).
 */
export type ModelWeightType = "f32" | "f16" | "q4_k_m";

export const modelWeightTypes: readonly ModelWeightType[] = ["f32", "f16", "q4_k_m"];

export interface TinyModelOptions {
  /** general.architecture: which llama.cpp model graph loads the file. */
  architecture: TinyModelArchitecture;
  /** PRNG seed; the same seed (and options) gives a byte-identical file. Default 1. */
  seed?: number;
  /** Transformer blocks. Default 2. */
  nLayer?: number;
  /** Hidden size. Default 256. */
  nEmbd?: number;
  /** Attention heads; without headDim, nEmbd / nHead is the head size (must be even for RoPE). Default 4. */
  nHead?: number;
  /** Key/value heads (grouped-query attention); must divide nHead. Default 2. */
  nHeadKv?: number;
  /** Feed-forward size. Default 512. */
  nFf?: number;
  /** Training context length written to <arch>.context_length. Default 512. */
  nCtx?: number;
  /** Tokens kept from the source vocabulary (its first `vocabSize` ids). Default 4096. */
  vocabSize?: number;
  /** Vocab-only GGUF to take the tokenizer from. Default: llama.cpp's models/ggml-vocab-llama-spm.gguf. */
  vocabPath?: string;
  /** Storage type of the weight matrices; norms and biases are always f32. Default "f32". */
  weightType?: "f32" | "f16";
  /** Written to tokenizer.chat_template when given. */
  chatTemplate?: string;
  /**
   * Size of each attention head (even, for RoPE), written to <arch>.attention.key_length and
   * value_length when given; it need not be nEmbd / nHead. llama and qwen3 only: qwen2 and phi3 size
   * their query and output projections by nEmbd. Default: nEmbd / nHead, keys not written.
   */
  headDim?: number;
  /** Leave out output.weight, so llama.cpp uses token_embd.weight as the output projection too. Default false (gemma, gemma2: always tied). */
  tiedEmbeddings?: boolean;
  /** gemma2, gemma3: the sliding window, in tokens. Default TINY_GEMMA.slidingWindow. */
  slidingWindow?: number;
  /** gemma3: one layer in this many is global (Gemma 3's own: 6). Default 2: layer 0 of 2 slides, layer 1 is global. */
  slidingWindowPattern?: number;
}

export interface TinyModelConfig extends Required<Omit<TinyModelOptions, "chatTemplate" | "headDim" | "slidingWindow" | "slidingWindowPattern">> {
  chatTemplate: string | undefined;
  headDim: number | undefined;
  slidingWindow: number | undefined;
  slidingWindowPattern: number | undefined;
}

export interface SparseModelOptions extends Omit<TinyModelOptions, "seed" | "weightType"> {
  /** Storage type of the weight matrices; "q4_k_m" needs nEmbd, nFf and nHead times the head size to be multiples of 256. Default "f32". */
  weightType?: ModelWeightType;
}

/** What a model's metadata and tensor table depend on: a tiny model's configuration less the seed, with any weight type. */
export interface SparseModelConfig extends Omit<TinyModelConfig, "seed" | "weightType"> {
  weightType: ModelWeightType;
}

export const tinyModelDefaults = {
  seed: 1,
  nLayer: 2,
  nEmbd: 256,
  nHead: 4,
  nHeadKv: 2,
  nFf: 512,
  nCtx: 512,
  vocabSize: 4096,
  weightType: "f32",
  tiedEmbeddings: false,
} as const satisfies Partial<TinyModelOptions>;

interface ArchitectureSpec {
  /** rope.freq_base and layer_norm_rms_epsilon as the family's released models set them. */
  ropeFreqBase: number;
  rmsNormEpsilon: number;
  /**
   * Keys llama.cpp's converter writes for the family (conversion/llama.py writes vocab_size and
   * rope.dimension_count; conversion/qwen.py leaves both to llama.cpp's defaults: the token count
   * and the key head size).
   */
  writesVocabSize: boolean;
  writesRopeDimensionCount: boolean;
  /** blk.N.attn_{q,k,v}.bias, which the Qwen2 checkpoints carry. */
  qkvBias: boolean;
  /** blk.N.attn_{q,k}_norm.weight, RMS norms over each head (Qwen3). */
  qkNorm: boolean;
  /** Whether the query width is nHead * head size rather than nEmbd. */
  headDimIndependent: boolean;
  /**
   * q/k/v as one attn_qkv ([q; k; v] rows) and gate/up as one ffn_up ([gate; up] rows), with the
   * keys phi3's converter (src/arch/phi3.ts) writes for rope_scaling null and no sliding window.
   */
  fusedProjections: boolean;
  /**
   * Gemma's layout: GELU, the embedding scaled by sqrt(nEmbd), norms after attention and after the
   * feed-forward (post_attention_norm, post_ffw_norm: Gemma 2 and 3), and `gemmaKeys`: softcaps and
   * sliding-window layers.
   */
  gemma?: { gemmaKeys: (window: { slidingWindow: number; slidingWindowPattern: number }) => GgufMetadataEntry[]; tiedOnly: boolean; postNorms: boolean };
}

/**
 * Sliding window and softcaps of the tiny Gemma models: a window shorter than the tests' sequences,
 * and caps near the scores' and logits' scale, so that each changes what the model computes.
 */
export const TINY_GEMMA = { slidingWindow: 16, attentionSoftcap: 1.5, finalSoftcap: 6 } as const;

/** What the Gemma families share: GemmaModel and its successors write neither vocab_size nor rope.dimension_count. */
const GEMMA_SPEC = {
  ropeFreqBase: 10000,
  rmsNormEpsilon: 1e-6,
  writesVocabSize: false,
  writesRopeDimensionCount: false,
  qkvBias: false,
  qkNorm: false,
  headDimIndependent: true,
  fusedProjections: false,
} as const satisfies Omit<ArchitectureSpec, "gemma">;

/** After llama_model_<arch>::load_arch_tensors in deps/llama.cpp/src/models/<arch>.cpp. */
const ARCHITECTURES: Record<TinyModelArchitecture, ArchitectureSpec> = {
  llama: {
    ropeFreqBase: 10000,
    rmsNormEpsilon: 1e-5,
    writesVocabSize: true,
    writesRopeDimensionCount: true,
    qkvBias: false,
    qkNorm: false,
    headDimIndependent: true,
    fusedProjections: false,
  },
  qwen2: {
    ropeFreqBase: 1_000_000,
    rmsNormEpsilon: 1e-6,
    writesVocabSize: false,
    writesRopeDimensionCount: false,
    qkvBias: true,
    qkNorm: false,
    headDimIndependent: false,
    fusedProjections: false,
  },
  qwen3: {
    ropeFreqBase: 1_000_000,
    rmsNormEpsilon: 1e-6,
    writesVocabSize: false,
    writesRopeDimensionCount: false,
    qkvBias: false,
    qkNorm: true,
    headDimIndependent: true,
    fusedProjections: false,
  },
  // Phi3MiniModel (conversion/phi.py); llama_model_phi3::load_arch_tensors sizes attn_qkv's q part by n_embd
  phi3: {
    ropeFreqBase: 10000,
    rmsNormEpsilon: 1e-5,
    writesVocabSize: false,
    writesRopeDimensionCount: true,
    qkvBias: false,
    qkNorm: false,
    headDimIndependent: false,
    fusedProjections: true,
  },
  // GemmaModel (conversion/gemma.py): llama's block with GELU, every layer global, the output always the token embedding
  gemma: { ...GEMMA_SPEC, gemma: { tiedOnly: true, postNorms: false, gemmaKeys: () => [] } },
  // Gemma2Model (conversion/gemma.py): both softcaps, every other layer sliding (layer 0 slides, 1 is global);
  // the output is always the token embedding
  gemma2: {
    ...GEMMA_SPEC,
    gemma: {
      tiedOnly: true,
      postNorms: true,
      gemmaKeys: ({ slidingWindow }) => [
        float32Entry("gemma2.attn_logit_softcapping", TINY_GEMMA.attentionSoftcap),
        float32Entry("gemma2.final_logit_softcapping", TINY_GEMMA.finalSoftcap),
        uint32Entry("gemma2.attention.sliding_window", slidingWindow),
      ],
    },
  },
  // Gemma3Model: q/k norms, no softcaps, sliding layers with their own rope base; the pattern key makes
  // layer 0 of 2 slide and layer 1 global (Gemma 3's own pattern, 5 sliding to 1 global, needs 6 layers)
  gemma3: {
    ...GEMMA_SPEC,
    ropeFreqBase: 1_000_000,
    qkNorm: true,
    gemma: {
      tiedOnly: false,
      postNorms: true,
      gemmaKeys: ({ slidingWindow, slidingWindowPattern }) => [
        float32Entry("gemma3.rope.freq_base_swa", 10000),
        uint32Entry("gemma3.attention.sliding_window", slidingWindow),
        uint32Entry("gemma3.attention.sliding_window_pattern", slidingWindowPattern),
      ],
    },
  },
};

/**
 * Standard deviations of the random weights. With RMS-normalised activations of unit scale, the
 * logits have a standard deviation of about OUTPUT * sqrt(nEmbd) ≈ 2 at the default size, which
 * makes the next-token distribution clearly peaked, while the small projections keep the residual
 * stream dominated by the token embedding so different prompts give different distributions.
 *
 * Tied embeddings take the OUTPUT scale for token_embd as well: at TOKEN_EMBEDDING scale the
 * residual stream would be mostly the input token's own embedding, whose logit would then exceed
 * all others by about nEmbd * std and take nearly all the probability.
 */
const WEIGHT_STD = {
  tokenEmbedding: 0.5,
  projection: 0.05,
  output: 0.12,
  normNoise: 0.02,
  bias: 0.05,
} as const;

/** RMS of a Gemma model's token embedding rows once its graph has scaled them by sqrt(nEmbd). */
const GEMMA_EMBEDDING_RMS = 2;

/** Gemma (1)'s projections: large enough that the blocks, not the input token, decide the next token. */
const GEMMA_UNNORMED_PROJECTION_STD = 0.15;

/** llama_ftype values for general.file_type. */
const FILE_TYPE: Record<ModelWeightType, number> = { f32: 0, f16: 1, q4_k_m: 15 };

/** k-quant blocks (QK_K): a q4_K or q6_K row holds a whole number of them. */
const K_QUANT_BLOCK = 256;

/**
 * Writes a small GGUF of the given architecture with random weights and a real tokenizer, loadable
 * and runnable by llama.cpp. Returns the resolved configuration.
 */
export async function writeTinyModelGguf(path: string, options: TinyModelOptions): Promise<TinyModelConfig> {
  const config = resolveConfig(options);
  const { metadata, tensors } = await modelHeader(config);

  const writer = await GgufWriter.create(path, { metadata, tensors });
  try {
    for (const tensor of tensors) {
      await writer.writeTensorData(tensor.name, tensorData(tensor, config));
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return config;
}

/**
 * Writes a GGUF of the given shape with the same metadata, tokenizer and tensor table as
 * writeTinyModelGguf, but no tensor data: after the header the file is extended to its full size
 * with ftruncate, so the data is a hole that reads as zeros and takes no disk. llama.cpp can open it
 * for its header and vocabulary (every tensor lies within the file, as llama_model_loader checks),
 * which is all a dry run reads; running it would compute with all-zero weights. For estimating
 * models too large to write here. Returns the resolved configuration.
 */
export async function writeSparseModelGguf(path: string, options: SparseModelOptions): Promise<SparseModelConfig> {
  const config = resolveLayoutConfig(options, modelWeightTypes);
  const { metadata, tensors } = await modelHeader(config);
  const header = encodeGgufHeader(metadata, tensors);

  const output = await AtomicOutputFile.create(path);
  try {
    await output.write(header.bytes);
    await output.extendTo(header.fileSize);
    await output.commit();
  } catch (error) {
    await output.discard();
    throw error;
  }
  return config;
}

/** The metadata and tensor table both writers put in the header. */
async function modelHeader(config: SparseModelConfig): Promise<{ metadata: GgufMetadataEntry[]; tensors: GgufTensorDeclaration[] }> {
  const vocab = await readGgufHeader(config.vocabPath);
  const metadata = [
    ...hyperparameterEntries(config),
    ...truncatedTokenizerEntries(vocab, config.vocabPath, config.vocabSize, config.chatTemplate),
  ];
  return { metadata, tensors: tinyModelTensors(config) };
}

/** The attention head size: headDim when given, else nEmbd / nHead. */
export function tinyModelHeadSize(config: Pick<TinyModelConfig, "nEmbd" | "nHead" | "headDim">): number {
  return config.headDim ?? config.nEmbd / config.nHead;
}

function resolveConfig(options: TinyModelOptions): TinyModelConfig {
  const { seed = tinyModelDefaults.seed, ...layout } = options;
  if (!Number.isSafeInteger(seed)) {
    throw new LoraGgufError("E_INVALID_OPTION", `seed must be an integer, got ${String(seed)}`);
  }
  return { seed, ...resolveLayoutConfig(layout, ["f32", "f16"] as const) };
}

/** Everything but the seed, checked; `weightTypes` are the storage types the writer can produce. */
function resolveLayoutConfig<Weight extends ModelWeightType>(
  options: Omit<SparseModelOptions, "weightType"> & { weightType?: Weight },
  weightTypes: readonly Weight[],
): Omit<SparseModelConfig, "weightType"> & { weightType: Weight } {
  const { seed: _seed, ...defaults } = tinyModelDefaults;
  const config = {
    ...defaults,
    vocabPath: join(llamaSourceDir(), "models", "ggml-vocab-llama-spm.gguf"),
    ...stripUndefined(options),
    architecture: options.architecture,
    chatTemplate: options.chatTemplate,
    headDim: options.headDim,
    slidingWindow: options.slidingWindow,
    slidingWindowPattern: options.slidingWindowPattern,
  } as Omit<SparseModelConfig, "weightType"> & { weightType: Weight };
  const windowKeys = { slidingWindow: ["gemma2", "gemma3"], slidingWindowPattern: ["gemma3"] } as const;
  for (const [name, architectures] of Object.entries(windowKeys)) {
    const value = config[name as keyof typeof windowKeys];
    if (value === undefined) continue;
    if (!(architectures as readonly string[]).includes(config.architecture)) {
      throw new LoraGgufError("E_INVALID_OPTION", `${name} is a ${architectures.join(" and ")} option, not one of ${config.architecture}`);
    }
    if (!Number.isSafeInteger(value) || value <= 0) throw new LoraGgufError("E_INVALID_OPTION", `${name} must be a positive integer, got ${String(value)}`);
  }
  if (!tinyModelArchitectures.includes(config.architecture)) {
    const names = tinyModelArchitectures.map((name) => `"${name}"`).join(", ");
    throw new LoraGgufError("E_INVALID_OPTION", `architecture must be one of ${names}, got ${String(config.architecture)}`);
  }
  const positive = ["nLayer", "nEmbd", "nHead", "nHeadKv", "nFf", "nCtx", "vocabSize"] as const;
  for (const name of positive) {
    const value = config[name];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new LoraGgufError("E_INVALID_OPTION", `${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (config.headDim === undefined) {
    if (config.nEmbd % config.nHead !== 0 || (config.nEmbd / config.nHead) % 2 !== 0) {
      throw new LoraGgufError("E_INVALID_OPTION", `nEmbd (${config.nEmbd}) must be nHead (${config.nHead}) times an even head size`);
    }
  } else {
    if (!Number.isSafeInteger(config.headDim) || config.headDim <= 0 || config.headDim % 2 !== 0) {
      throw new LoraGgufError("E_INVALID_OPTION", `headDim must be a positive even integer, got ${String(config.headDim)}`);
    }
    if (!ARCHITECTURES[config.architecture].headDimIndependent && config.headDim * config.nHead !== config.nEmbd) {
      throw new LoraGgufError(
        "E_INVALID_OPTION",
        `headDim (${config.headDim}) times nHead (${config.nHead}) must be nEmbd (${config.nEmbd}) for ${config.architecture}, whose attention projections llama.cpp sizes by nEmbd`,
      );
    }
  }
  if (config.nHead % config.nHeadKv !== 0) {
    throw new LoraGgufError("E_INVALID_OPTION", `nHeadKv (${config.nHeadKv}) must divide nHead (${config.nHead})`);
  }
  if (!weightTypes.includes(config.weightType)) {
    const names = weightTypes.map((name) => `"${name}"`).join(" or ");
    throw new LoraGgufError("E_INVALID_OPTION", `weightType must be ${names}, got ${String(config.weightType)}`);
  }
  if (config.weightType === "q4_k_m" && ARCHITECTURES[config.architecture].fusedProjections) {
    // llama-quant.cpp picks other types for attn_qkv than matrixType models
    throw new LoraGgufError("E_INVALID_OPTION", `weightType "q4_k_m" is not modelled for ${config.architecture}'s fused projections`);
  }
  if (config.weightType === "q4_k_m") {
    const rows = { nEmbd: config.nEmbd, nFf: config.nFf, "nHead times the head size": config.nHead * tinyModelHeadSize(config) };
    for (const [name, size] of Object.entries(rows)) {
      if (size % K_QUANT_BLOCK !== 0) {
        throw new LoraGgufError("E_INVALID_OPTION", `weightType "q4_k_m" needs rows of a multiple of ${K_QUANT_BLOCK} (k-quant blocks); ${name} is ${size}`);
      }
    }
  }
  if (typeof config.tiedEmbeddings !== "boolean") {
    throw new LoraGgufError("E_INVALID_OPTION", `tiedEmbeddings must be a boolean, got ${String(config.tiedEmbeddings)}`);
  }
  // llama.cpp's gemma and gemma2 graphs project with token_embd and load no output.weight
  if (ARCHITECTURES[config.architecture].gemma?.tiedOnly) config.tiedEmbeddings = true;
  if (config.chatTemplate !== undefined && typeof config.chatTemplate !== "string") {
    throw new LoraGgufError("E_INVALID_OPTION", "chatTemplate must be a string");
  }
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/** The <arch>.* keys llama_model::load_hparams and llama_model_<arch>::load_arch_hparams read. */
function hyperparameterEntries(config: SparseModelConfig): GgufMetadataEntry[] {
  const { architecture } = config;
  const spec = ARCHITECTURES[architecture];
  const key = (name: string) => `${architecture}.${name}`;
  const entries = [
    stringEntry("general.architecture", architecture),
    // llama.cpp gives "</s>" phi3's special-token attributes when general.name contains "phi3" or "phi-3"
    stringEntry("general.name", spec.fusedProjections ? "tiny-fused" : `tiny-${architecture}`),
    uint32Entry("general.file_type", FILE_TYPE[config.weightType]),
  ];
  if (spec.fusedProjections) return [...entries, ...fusedHyperparameterEntries(config)];
  if (spec.writesVocabSize) entries.push(uint32Entry(key("vocab_size"), config.vocabSize));
  entries.push(
    uint32Entry(key("context_length"), config.nCtx),
    uint32Entry(key("embedding_length"), config.nEmbd),
    uint32Entry(key("block_count"), config.nLayer),
    uint32Entry(key("feed_forward_length"), config.nFf),
    uint32Entry(key("attention.head_count"), config.nHead),
    uint32Entry(key("attention.head_count_kv"), config.nHeadKv),
  );
  if (config.headDim !== undefined) {
    entries.push(uint32Entry(key("attention.key_length"), config.headDim), uint32Entry(key("attention.value_length"), config.headDim));
  }
  // llama checks rope.dimension_count against the key head size; qwen2 and qwen3 assert n_rot equals
  // it in their graphs, so the default (the key head size) is the only valid value.
  if (spec.writesRopeDimensionCount) entries.push(uint32Entry(key("rope.dimension_count"), tinyModelHeadSize(config)));
  entries.push(
    float32Entry(key("rope.freq_base"), spec.ropeFreqBase),
    float32Entry(key("attention.layer_norm_rms_epsilon"), spec.rmsNormEpsilon),
    ...(spec.gemma?.gemmaKeys({ slidingWindow: config.slidingWindow ?? TINY_GEMMA.slidingWindow, slidingWindowPattern: config.slidingWindowPattern ?? 2 }) ?? []),
  );
  return entries;
}

/** phi3's keys in the order src/arch/phi3.ts writes them (rope_scaling null, sliding_window 0). */
function fusedHyperparameterEntries(config: SparseModelConfig): GgufMetadataEntry[] {
  const spec = ARCHITECTURES[config.architecture];
  const key = (name: string) => `${config.architecture}.${name}`;
  return [
    uint32Entry(key("context_length"), config.nCtx),
    uint32Entry(key("rope.scaling.original_context_length"), config.nCtx),
    uint32Entry(key("embedding_length"), config.nEmbd),
    uint32Entry(key("feed_forward_length"), config.nFf),
    uint32Entry(key("block_count"), config.nLayer),
    uint32Entry(key("attention.head_count"), config.nHead),
    uint32Entry(key("attention.head_count_kv"), config.nHeadKv),
    float32Entry(key("attention.layer_norm_rms_epsilon"), spec.rmsNormEpsilon),
    uint32Entry(key("rope.dimension_count"), tinyModelHeadSize(config)),
    float32Entry(key("rope.freq_base"), spec.ropeFreqBase),
    uint32Entry(key("attention.sliding_window"), 0),
  ];
}

/**
 * Tensor names and shapes (ne order) the architecture's llama_model_<arch>::load_arch_tensors
 * creates as required, plus the optional tensors the family's checkpoints carry (qwen2's q/k/v
 * biases, output.weight unless embeddings are tied).
 */
export function tinyModelTensors(config: SparseModelConfig): GgufTensorDeclaration[] {
  const { nEmbd, nFf, vocabSize } = config;
  const spec = ARCHITECTURES[config.architecture];
  const headSize = tinyModelHeadSize(config);
  const qSize = headSize * config.nHead;
  const kvSize = headSize * config.nHeadKv;
  const matrix = (name: string, dims: [number, number], layer?: number): GgufTensorDeclaration => ({
    name,
    dims,
    type: matrixType(config, name, layer),
  });
  const vector = (name: string, size: number): GgufTensorDeclaration => ({ name, dims: [size], type: GgmlType.F32 });

  const tensors: GgufTensorDeclaration[] = [matrix("token_embd.weight", [nEmbd, vocabSize])];
  for (let layer = 0; layer < config.nLayer; layer++) {
    const block = `blk.${layer}`;
    tensors.push(vector(`${block}.attn_norm.weight`, nEmbd));
    if (spec.fusedProjections) {
      tensors.push(
        matrix(`${block}.attn_qkv.weight`, [nEmbd, qSize + 2 * kvSize], layer),
        matrix(`${block}.attn_output.weight`, [qSize, nEmbd], layer),
        vector(`${block}.ffn_norm.weight`, nEmbd),
        matrix(`${block}.ffn_up.weight`, [nEmbd, 2 * nFf], layer),
        matrix(`${block}.ffn_down.weight`, [nFf, nEmbd], layer),
      );
      continue;
    }
    for (const [projection, size] of [["attn_q", qSize], ["attn_k", kvSize], ["attn_v", kvSize]] as const) {
      tensors.push(matrix(`${block}.${projection}.weight`, [nEmbd, size], layer));
      if (spec.qkvBias) tensors.push(vector(`${block}.${projection}.bias`, size));
    }
    if (spec.qkNorm) {
      tensors.push(vector(`${block}.attn_q_norm.weight`, headSize), vector(`${block}.attn_k_norm.weight`, headSize));
    }
    tensors.push(matrix(`${block}.attn_output.weight`, [qSize, nEmbd], layer));
    if (spec.gemma?.postNorms) tensors.push(vector(`${block}.post_attention_norm.weight`, nEmbd));
    tensors.push(
      vector(`${block}.ffn_norm.weight`, nEmbd),
      matrix(`${block}.ffn_gate.weight`, [nEmbd, nFf], layer),
      matrix(`${block}.ffn_up.weight`, [nEmbd, nFf], layer),
      matrix(`${block}.ffn_down.weight`, [nFf, nEmbd], layer),
    );
    if (spec.gemma?.postNorms) tensors.push(vector(`${block}.post_ffw_norm.weight`, nEmbd));
  }
  tensors.push(vector("output_norm.weight", nEmbd));
  if (!config.tiedEmbeddings) tensors.push(matrix("output.weight", [nEmbd, vocabSize]));
  return tensors;
}

/**
 * The storage type of a weight matrix (`layer` is its block, undefined for the embeddings and the
 * output head). Q4_K_M as llama_tensor_get_type_impl in deps/llama.cpp/src/llama-quant.cpp picks it
 * for rows of whole k-quant blocks: q6_K for the output head (token_embd too when it is tied), and
 * for attn_v and ffn_down in the blocks where use_more_bits holds (the first and last eighth, and
 * every third between: about half); q4_K for every other matrix, token_embd included.
 */
function matrixType(config: SparseModelConfig, name: string, layer: number | undefined): number {
  if (config.weightType === "f32") return GgmlType.F32;
  if (config.weightType === "f16") return GgmlType.F16;
  const outputHead = name === "output.weight" || (config.tiedEmbeddings && name === "token_embd.weight");
  const moreBits = layer !== undefined && /\.(attn_v|ffn_down)\.weight$/.test(name) && useMoreBits(layer, config.nLayer);
  return outputHead || moreBits ? GgmlType.Q6_K : GgmlType.Q4_K;
}

/** llama-quant.cpp's use_more_bits, in C++ integer division. */
function useMoreBits(layer: number, layerCount: number): boolean {
  const eighth = Math.trunc(layerCount / 8);
  return layer < eighth || layer >= Math.trunc((7 * layerCount) / 8) || (layer - eighth) % 3 === 2;
}

function tensorData(tensor: GgufTensorDeclaration, config: TinyModelConfig): Float32Array | Uint16Array {
  const random = new SeededRandom(SeededRandom.derivedSeed(config.seed, tensor.name));
  const values = new Float32Array(tensor.dims.reduce((product, dim) => product * dim, 1));
  if (tensor.name.endsWith("norm.weight")) {
    random.fillNormal(values, 1, WEIGHT_STD.normNoise);
  } else if (tensor.name.endsWith(".bias")) {
    random.fillNormal(values, 0, WEIGHT_STD.bias);
  } else {
    random.fillNormal(values, 0, weightStd(tensor.name, config));
  }
  return tensor.type === GgmlType.F16 ? float32ArrayToFloat16(values) : values;
}

function weightStd(name: string, config: TinyModelConfig): number {
  if (name === "token_embd.weight" && !config.tiedEmbeddings && ARCHITECTURES[config.architecture].gemma) {
    // Gemma's graph scales the embeddings by sqrt(nEmbd) and norms each block's output before adding it
    // (to about unit scale): an embedding row of GEMMA_EMBEDDING_RMS keeps the blocks' share of the
    // residual stream, and so what an adapter can change, near the other families'
    return GEMMA_EMBEDDING_RMS / Math.sqrt(config.nEmbd);
  }
  if (name === "token_embd.weight") return config.tiedEmbeddings ? WEIGHT_STD.output : WEIGHT_STD.tokenEmbedding;
  if (name === "output.weight") return WEIGHT_STD.output;
  const gemma = ARCHITECTURES[config.architecture].gemma;
  // Gemma (1) adds its blocks' outputs unnormed to the scaled (tied) embedding: at the usual scale
  // each position's own embedding would dominate its state and it would predict its own token
  if (gemma && !gemma.postNorms) return GEMMA_UNNORMED_PROJECTION_STD;
  return WEIGHT_STD.projection;
}
