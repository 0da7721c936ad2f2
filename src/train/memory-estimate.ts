// Peak resident memory of a training run, estimated from the GGUF header and the options.
//
// Calibration: peak RSS of one train() run in a fresh child process (VmHWM; the sweep read maxRSS,
// spawned from a smaller parent), 2 threads, rank 16, all seven targets unless noted, tiny-model
// llama GGUFs and the 16-sample memorization dataset, Node 20, Linux x86-64. Models are given as
// layers/embd/heads/kv heads/ffn/vocab. The first five rows are test/train-memory.test.ts; the
// others come from a one-off sweep made while fitting the constants below.
//
//   configuration                                              measured   estimated   error
//   2/256/4/2/512/4096 f32 (13 MB), ctx 256                     107.8 MiB   103.2 MiB   -4.3%
//   4/512/8/4/1536/32000 f32 (182 MB), ctx 256                  437.7 MiB   425.9 MiB   -2.7%
//   same, Q4_K_M (31 MB), ctx 1024                              885.6 MiB   885.6 MiB   +0.0%
//   same, Q4_K_M, ctx 1024, targets q,v                         833.7 MiB   829.1 MiB   -0.6%
//   2/256/16/2/512/4096 f32, ctx 2048 (attention scores)       1000.5 MiB   957.2 MiB   -4.3%
//   4/512/8/4/1536/32000 f32 (182 MB), ctx 512                  620.9 MiB   609.1 MiB   -1.9%
//   2/256/4/2/512/4096 f32, ctx 2048                               427 MiB     444 MiB   +3.8%
//   2/256/4/2/512/32000 f32, ctx 1024                              707 MiB     710 MiB   +0.4%
//   1/256/4/2/512/4096 f32, ctx 1024                               172 MiB     182 MiB   +5.8%
//   4/256/4/2/512/4096 f32, ctx 1024                               275 MiB     277 MiB   +0.7%
//   2/512/8/4/2048/4096 f32, ctx 1024                              349 MiB     345 MiB   -1.4%
//   2/256/4/2/4096/4096 f32, ctx 1024                              323 MiB     322 MiB   -0.2%
//   2/256/4/2/512/4096 f32, ctx 512, rank 256                      209 MiB     208 MiB   -0.6%
//   2/256/4/2/512/4096 f32, ctx 1024, targets o                    175 MiB     186 MiB   +6.0%
//   2/256/4/2/512/4096 f32, ctx 1024, layers [1]                   175 MiB     185 MiB   +6.0%
//   2/256/4/2/512/4096 f16, ctx 1024                               202 MiB     208 MiB   +3.0%
//   qwen3 2/256/4/2/512/4096 f32, ctx 1024                         210 MiB     217 MiB   +3.2%
//   4/768/12/4/2048/32000 f32 (298 MB), ctx 512                    782 MiB     767 MiB   -1.9%
//   4/768/12/4/2048/32000 Q8_0 (80 MB), ctx 1024                  1055 MiB    1056 MiB   +0.0%
//   8/768/12/4/2048/32000 f32 (399 MB), ctx 1024, targets q,v     1598 MiB    1572 MiB   -1.6%
//   8/768/12/4/2048/32000 Q4_K_M (65 MB), ctx 512, targets q,v     618 MiB     599 MiB   -3.1%
//
// 37 runs in all (also Q8_0, qwen2, tied embeddings, vocab 16000, rank 64, gradient accumulation 2,
// gate/up/down only): every one within ±6%. Thread count (2 or 8) changed the peak by under 1%.
//
// After patches/0003 began sizing training graphs 8x (deep models overflowed the inference-sized
// graph), every run grew by ~34 MiB of graph and scheduler tables; GRAPH_BYTES_PER_NODE was refitted.
// The first five rows then measured 143.3 / 472.6 / 927.5 / 862.3 / 1035.5 MiB against estimates of
// 137.5 / 462.7 / 922.5 / 862.2 / 991.4 MiB (-4.1%, -2.1%, -0.5%, -0.0%, -4.3%); the sweep rows above
// predate the refit.
//
// After patches/0005 and 0006 (OUT_PROD and mul_mat kernels; llama.cpp's [n_vocab, n_ctx] output
// buffer no longer cleared, so never resident, in training) the same five rows measured 116.6 /
// 419.7 / 782.1 / 722.8 / 982.1 MiB; VOCABULARY_ROWS_ALIVE went from 4 to 3 and PROCESS_BASE_BYTES
// from 58 to 41 MiB: -1.3%, -1.7%, -0.6%, -0.2%, -3.9%.
//
// After patches/0007 (chunked loss and attention, recomputation) the estimate was refitted to the six
// runs of test/train-memory.test.ts (+3.1, +1.6, +7.7, +5.2, -0.3, -2.6%) and to wider shapes
// (bench/train-memory, bench/train-memory-8b; 2 threads, rank 16, every window full):
//
//   configuration                                   ctx 256   ctx 1024   ctx 2048   ctx 4096
//   SmolLM2-135M q8_0, recompute off                 +1.6%     -5.6%      -7.6%      -8.6%
//   SmolLM2-135M q8_0, recompute on                  +4.0%     +6.8%      +6.3%      +3.0%
//   Qwen3-8B widths, 2 layers, q4_k_m, off           -2.0%     -1.0%      +1.3%
//   same, recompute on                               +0.6%     +3.1%      +0.6%
//   Qwen2.5-0.5B q4_k_m, recompute on                                               +3.9%
//
// The Qwen3-8B slice (feed-forward 12288 wide) was 7.7% and 12.3% under before the feed-forward
// gradients of the layer being differentiated were counted (FFN_GRADIENTS_ALIVE and
// RECOMPUTE_FFN_TENSORS_ALIVE below); the narrower models had hidden that term in the fitted scales.

import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";

import { LoraGgufError } from "../errors.js";
import { tensorByteSize, type GgufHeader } from "../gguf/index.js";
import { familyOfGgufArchitecture } from "../arch/index.js";
import type { TrainingGraphFacts } from "../arch/architecture.js";
import { findLoraTargetTensors, fusedTargetOf, type LoraTarget } from "./lora-targets.js";

export interface TrainingMemoryParams {
  /** Tokens per window (n_ctx = n_batch = n_ubatch of the training context). */
  contextLength: number;
  rank: number;
  targets: readonly LoraTarget[];
  /** Adapted blocks; default all. */
  layers?: readonly number[];
  /**
   * Samples packed into one window (the context's n_seq_max). The training cache is unified, with
   * contextLength cells however many sequences share them, so the peak does not depend on it.
   */
  maxSequencesPerWindow: number;
  /** Most labelled positions in one window (the rows of the output head a step computes). Default: contextLength. */
  maxLabelledTokensPerWindow?: number;
  /** Bytes the training plan keeps resident, when known: its sample orders and window boundaries, and one step's packed windows. */
  planBytes?: number;
  /** Compute threads; each has its own OUT_PROD panel. Default: all CPUs. */
  threads?: number;
  /** Gradient checkpointing (patches/0007): only each layer's output is kept for the backward pass. Default false. */
  recomputeLayers?: boolean;
  /** The addon is a LORA_GGUF_CUDA build: its CUDA runtime and cuBLAS are resident, GPU or not. Default false. */
  cudaBuild?: boolean;
}

/** How a training run bounds its memory, passed to the native trainer (patches/0007). */
export interface TrainingMemoryLayout {
  /** Labelled positions per chunk of the output projection and loss. */
  lossChunkRows: number;
  /** Query rows per chunk of attention. */
  attentionChunkRows: number;
  recomputeLayers: boolean;
}

export interface TrainingMemoryEstimate {
  /** Estimated peak resident memory of the whole process while training. */
  totalBytes: number;
  /** The chunking and recomputation this estimate is for. */
  layout: TrainingMemoryLayout;
  parts: {
    /** The mmapped GGUF: every weight is read on every step, so all of it stays resident. */
    modelWeightsBytes: number;
    /** LoRA A/B values, their gradients and AdamW moments (f32), and the copies JS holds for checkpoints. */
    adapterAndOptimizerBytes: number;
    /** Forward activations kept for the backward pass, attention scores and backward temporaries. */
    activationsBytes: number;
    /** The logits of the loss chunk being evaluated again in the backward pass, and their gradient (f32 [n_vocab, rows]). */
    logitsAndLabelsBytes: number;
    kvCacheBytes: number;
    /** Node.js, the addon, the vocabulary, graph metadata and the training plan. */
    runtimeOverheadBytes: number;
  };
  /** Physical memory, capped by the cgroup limit where there is one. */
  availableBytes: number;
  fits: boolean;
  /** When it does not fit: option changes that would make it fit (or save the most). */
  suggestions: string[];
}

/** The model's shape, as llama.cpp reads it from the GGUF metadata and tensor table. */
interface ModelShape {
  architecture: string;
  blockCount: number;
  embeddingLength: number;
  headCount: number[];
  headCountKv: number[];
  keyLength: number;
  valueLength: number;
  feedForwardLength: number[];
  vocabularySize: number;
  /** Qwen3-style RMS norms over each query and key head (their inputs are kept for the backward pass). */
  hasQkNorm: boolean;
  /** The family's graph facts (src/arch); attentionSoftcap when the GGUF sets the family's softcap key. */
  graph: { postNorms: boolean; attentionSoftcap: boolean; extraFeedForwardBackwardTensors: number };
  /** Header plus tensor data: what mmap maps. */
  mappedBytes: number;
  tensorCount: number;
}

// Constants, each standing for something the graph or the process holds. PROCESS_BASE_BYTES and
// ACTIVATION_SCALE were fitted (least squares on relative error) to the runs above; the fit put
// ADAPTER_COPIES and VOCABULARY_ROWS_ALIVE at 1.03 and 0.98 times the counts given here.
/** Node.js with the addon loaded and llama.cpp's backend, threads and contexts set up. */
const PROCESS_BASE_BYTES = 41 * 1024 * 1024;
/**
 * What a LORA_GGUF_CUDA build adds to the process before any GPU is used: the CUDA runtime and
 * cuBLAS libraries and the addon's kernels, as far as they are touched. Measured on the nine
 * configurations of test/train-memory.test.ts with a CUDA 11.8 build (sm_90) and no driver:
 * 76-81 MiB above the CPU build's peak each. A GPU run's device memory is not in it.
 */
const CUDA_BUILD_BYTES = 78 * 1024 * 1024;
/** llama.cpp's vocabulary structures per token (text, scores, maps), loaded with the model. */
const VOCABULARY_BYTES_PER_TOKEN = 200;
/**
 * f32 copies of each adapter parameter: value, gradient and the two AdamW moments in native memory,
 * and the Float32Arrays JS holds around checkpoints (values, moments) and the adapter files.
 */
const ADAPTER_COPIES = 9;
/**
 * Per graph node: the opt step's metadata context (4 ggml_tensor_overhead() of 368 bytes per node,
 * patches/0003), the graphs' node, gradient and hash arrays, and the scheduler's per-node tables.
 * llama.cpp sizes graphs at max(1024, 8 * tensors) nodes plus 6 per adapted weight
 * (llama_context::graph_max_nodes), which our patch multiplies by TRAINING_GRAPH_FACTOR in
 * training. Refitted after that patch: +34 MiB on the small and medium models for ~7,800 more nodes.
 */
const GRAPH_BYTES_PER_NODE = 4300;
const TRAINING_GRAPH_FACTOR = 8;
/**
 * gallocr's buffer against the walk's count: the fit gave 0.92 for the per-token part and 0.88 for
 * the attention part. The walk counts every kept input as alive at the peak; gallocr frees some
 * before it (the last blocks' inputs go as the backward pass leaves them) and runs some backward
 * ops in place.
 */
const ACTIVATION_SCALE = 0.9;
/**
 * f32 [n_vocab, loss chunk rows] tensors alive at the peak (patches/0007): a chunk's logits,
 * evaluated again in the backward pass, and their gradient. (llama.cpp's [n_vocab, n_ctx] output
 * buffer is allocated but never touched in training since patches/0006, so it is not resident.)
 */
const LOSS_CHUNKS_ALIVE = 2;
/** With recomputation: the [n_embd, n_ctx] values kept per layer (its output, the residual after attention, the attention output). */
const RECOMPUTE_KEPT_PER_LAYER = 3;
/**
 * The backward pass's peak beyond what the forward pass kept: the layer being differentiated, at
 * whichever of its two halves holds more. In the feed-forward half, [n_ff, n_ctx] f32 tensors: without
 * recomputation the gradients of swiglu's output, of gate and of up (the forward values are among the
 * kept activations); with it, also gate, up and swiglu's output evaluated again (one of the six is
 * freed or overwritten in place by the time the last is made). In the attention half, with
 * recomputation: [n_keys, chunk rows, n_head] f32 score tensors (the recomputed softmax of the chunk
 * in hand and its gradient, partly in place) and a share of the layer's activations as the walk
 * counts them (the recomputed q, k, v and their gradients). Fitted to the recomputed runs of
 * test/train-memory.test.ts, SmolLM2's shape (bench/train-memory) and a 2-layer slice of Qwen3-8B's
 * widths (bench/train-memory-8b), where the feed-forward half is 3 times the hidden size wide.
 */
const FFN_GRADIENTS_ALIVE = 3;
const RECOMPUTE_FFN_TENSORS_ALIVE = 5;
const RECOMPUTE_ATTENTION_CHUNKS_ALIVE = 1.7;
const RECOMPUTE_LAYER_SHARE = 0.2;

/**
 * The work buffer of patches/0005's OUT_PROD, per thread: one f32 panel of 128 rows of W, 256
 * columns wide at most (a k-quant block; 64 otherwise). The same buffer serves every matmul.
 */
const OUT_PROD_PANEL_BYTES_PER_THREAD = 128 * 256 * 4;
/**
 * patches/0005's MUL_MAT of f16/quantized weights as a bf16 GEMM: the window's activations in bf16
 * for the widest matrix input (the feed-forward size, for ffn_down) and a 512 KiB block of bf16 rows.
 */
const MUL_MAT_BF16_BLOCK_BYTES = 512 * 1024;

const MiB = 1024 * 1024;

/** Query rows per chunk of training attention: [n_keys, 256, n_head] f32 scores per chunk. */
const ATTENTION_CHUNK_ROWS = 256;
/** f32 logits per chunk of the loss; at least 64 rows, the shortest window patches/0005's bf16 GEMM takes. */
const LOSS_CHUNK_BYTES = 32 * MiB;
const LOSS_CHUNK_MIN_ROWS = 64;

export function trainingMemoryLayout(vocabularySize: number, recomputeLayers: boolean): TrainingMemoryLayout {
  return {
    lossChunkRows: Math.max(LOSS_CHUNK_MIN_ROWS, Math.floor(LOSS_CHUNK_BYTES / (4 * vocabularySize))),
    attentionChunkRows: ATTENTION_CHUNK_ROWS,
    recomputeLayers,
  };
}

/**
 * Peak resident memory of a training run, from the base model's header and the options alone (no
 * weights are read). The sum of: the mapped file (weights are mmapped and all read every step); 9
 * f32 copies per adapter parameter; 3 f32 [n_vocab, n_ctx] tensors; the f16 KV cache; the
 * activations the backward pass needs (per token: the inputs of each norm, LoRA matmul, q·k and
 * swiglu that gradients pass through; per block: its [n_ctx, n_ctx, n_head] softmax; plus one more
 * softmax and the mask), scaled by 0.9; and a fixed process base plus the vocabulary, graph metadata,
 * the matmul kernels' work buffers and the training plan. Calibrated against measured peak RSS (see the table above).
 */
export function estimateTrainingMemory(header: GgufHeader, params: TrainingMemoryParams): TrainingMemoryEstimate {
  const shape = readModelShape(header);
  const parts = estimateParts(header, shape, params);
  const totalBytes = sumParts(parts);
  const availableBytes = availableMemoryBytes();
  const fits = totalBytes <= availableBytes;
  return {
    totalBytes,
    layout: trainingMemoryLayout(shape.vocabularySize, params.recomputeLayers ?? false),
    parts,
    availableBytes,
    fits,
    suggestions: fits ? [] : suggestChanges(header, shape, params, totalBytes, availableBytes),
  };
}

/** os.totalmem(), capped by the cgroup (v2 memory.max, or v1 limit_in_bytes) this process runs in. */
export function availableMemoryBytes(): number {
  let available = totalmem();
  for (const file of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      continue;
    }
    // "max" (v2) means no limit; v1 writes a huge number instead
    if (/^\d+$/.test(text)) available = Math.min(available, Number(text));
  }
  return available;
}

function estimateParts(header: GgufHeader, shape: ModelShape, params: TrainingMemoryParams): TrainingMemoryEstimate["parts"] {
  const contextLength = params.contextLength;
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new LoraGgufError("E_INVALID_OPTION", `estimateTrainingMemory: contextLength must be a positive integer, got ${String(contextLength)}`);
  }
  if (!Number.isInteger(params.rank) || params.rank < 1) {
    throw new LoraGgufError("E_INVALID_OPTION", `estimateTrainingMemory: rank must be a positive integer, got ${String(params.rank)}`);
  }
  const adapted = findLoraTargetTensors(header, params.targets, params.layers);
  const adapterParameters = adapted.reduce((sum, tensor) => sum + params.rank * (tensor.inputSize + tensor.outputSize), 0);
  const targetsByLayer = new Map<number, Set<LoraTarget>>();
  for (const tensor of adapted) {
    const set = targetsByLayer.get(tensor.layer) ?? new Set<LoraTarget>();
    set.add(tensor.target);
    targetsByLayer.set(tensor.layer, set);
  }
  const layout = trainingMemoryLayout(shape.vocabularySize, params.recomputeLayers ?? false);
  const kept = keptActivations(shape, targetsByLayer, params.rank);
  const maxHeads = Math.max(...shape.headCount);
  // attention over chunks of query rows, each attending to the keys up to its last row (causal)
  const chunkRows = Math.min(layout.attentionChunkRows, contextLength);
  let scoresPerHead = 0;
  for (let first = 0; first < contextLength; first += chunkRows) {
    const rows = Math.min(chunkRows, contextLength - first);
    scoresPerHead += rows * (first + rows);
  }
  const chunkScores = maxHeads * chunkRows * contextLength;
  const ffnFloats = contextLength * Math.max(...shape.feedForwardLength);
  const activationFloats = layout.recomputeLayers
    ? // the layers' kept values, and the half of one layer being evaluated again and differentiated
      contextLength * RECOMPUTE_KEPT_PER_LAYER * shape.embeddingLength * shape.blockCount +
      Math.max(
        (RECOMPUTE_FFN_TENSORS_ALIVE + shape.graph.extraFeedForwardBackwardTensors) * ffnFloats,
        RECOMPUTE_ATTENTION_CHUNKS_ALIVE * chunkScores + RECOMPUTE_LAYER_SHARE * contextLength * kept.maxLayerFloatsPerToken,
      )
    : // every block's kept activations and causal softmax, and one more chunk's scores for the backward pass,
      // as gallocr packs them (ACTIVATION_SCALE), and the feed-forward gradients of the layer in hand
      ACTIVATION_SCALE * (contextLength * kept.floatsPerToken + scoresPerHead * kept.attentionHeads + chunkScores) +
      (FFN_GRADIENTS_ALIVE + shape.graph.extraFeedForwardBackwardTensors) * ffnFloats;
  // the [n_ctx, n_ctx] mask, an input alive throughout
  const maskFloats = contextLength * contextLength;
  const outputRows = Math.max(1, Math.min(params.maxLabelledTokensPerWindow ?? contextLength, contextLength));
  const lossRows = Math.min(layout.lossChunkRows, outputRows);
  const kvPerToken = shape.headCountKv.reduce((sum, heads) => sum + heads * (shape.keyLength + shape.valueLength), 0);
  const graphNodes = TRAINING_GRAPH_FACTOR * (Math.max(1024, 8 * shape.tensorCount) + 6 * adapted.length);
  return {
    modelWeightsBytes: shape.mappedBytes,
    adapterAndOptimizerBytes: adapterParameters * 4 * ADAPTER_COPIES,
    activationsBytes: Math.round((activationFloats + maskFloats) * 4),
    logitsAndLabelsBytes: LOSS_CHUNKS_ALIVE * shape.vocabularySize * lossRows * 4,
    // f16 K and V for every cell of the (unified) cache
    kvCacheBytes: 2 * contextLength * kvPerToken,
    runtimeOverheadBytes:
      PROCESS_BASE_BYTES +
      (params.cudaBuild ? CUDA_BUILD_BYTES : 0) +
      VOCABULARY_BYTES_PER_TOKEN * shape.vocabularySize +
      GRAPH_BYTES_PER_NODE * graphNodes +
      OUT_PROD_PANEL_BYTES_PER_THREAD * (params.threads ?? availableParallelism()) +
      2 * contextLength * Math.max(shape.embeddingLength, ...shape.feedForwardLength) + MUL_MAT_BF16_BLOCK_BYTES +
      (params.planBytes ?? 0),
  };
}

/**
 * What the graph keeps from the forward pass until the backward pass has used it, walked block by
 * block as llama.cpp builds llama/qwen2/qwen3 graphs (phi3's too, its fused targets as their parts; Gemma's with the
 * facts its family gives, shape.graph): a node's inputs are kept when its backward
 * needs them and something before it depends on a LoRA parameter (ggml builds no backward for
 * nodes that do not). Floats per token, and the attention heads whose softmax rows are kept.
 */
function keptActivations(
  shape: ModelShape,
  targetsByLayer: Map<number, Set<LoraTarget>>,
  rank: number,
): { floatsPerToken: number; attentionHeads: number; maxLayerFloatsPerToken: number } {
  const embd = shape.embeddingLength;
  let floatsPerToken = 0;
  let maxLayerFloatsPerToken = 0;
  let attentionHeads = 0;
  // whether the residual stream entering this block depends on a parameter
  let carriesGradient = false;
  for (let layer = 0; layer < shape.blockCount; layer++) {
    const layerStart = floatsPerToken;
    const targets = targetsByLayer.get(layer) ?? new Set<LoraTarget>();
    // a fused target (phi3's qkv, gate_up) adapts each of its parts: it keeps what they keep
    const has = (target: LoraTarget) => targets.has(target) || targets.has(fusedTargetOf(target) ?? target);
    const queryWidth = shape.headCount[layer] * shape.keyLength;
    const keyWidth = shape.headCountKv[layer] * shape.keyLength;
    const valueWidth = shape.headCountKv[layer] * shape.valueLength;
    const ffn = shape.feedForwardLength[layer];

    // attention: rms_norm(x) -> q, k, v (+ LoRA) -> rope -> softmax(k·q) -> v·scores -> output
    if (carriesGradient) floatsPerToken += embd; // rms_norm's backward reads its input
    if (has("q") || has("k") || has("v")) floatsPerToken += embd; // the normed input of the LoRA A matmuls
    const queryGradient: boolean = carriesGradient || has("q");
    const keyGradient: boolean = carriesGradient || has("k");
    const valueGradient: boolean = carriesGradient || has("v");
    if (keyGradient) floatsPerToken += queryWidth; // k·q's backward for k reads q
    if (queryGradient) floatsPerToken += keyWidth; // and for q reads k
    if (queryGradient || keyGradient) floatsPerToken += valueWidth; // v·scores' backward for the scores reads v
    // softmax keeps its output; a softcap's tanh keeps its own, a second copy of the scores
    if (queryGradient || keyGradient || valueGradient) attentionHeads += shape.headCount[layer] * (shape.graph.attentionSoftcap ? 2 : 1);
    if (shape.hasQkNorm && (carriesGradient || has("q"))) floatsPerToken += queryWidth;
    if (shape.hasQkNorm && (carriesGradient || has("k"))) floatsPerToken += keyWidth;
    if (has("o")) floatsPerToken += queryWidth; // the attention output, input of the o LoRA
    carriesGradient = carriesGradient || queryGradient || keyGradient || valueGradient || has("o");
    if (shape.graph.postNorms && carriesGradient) floatsPerToken += embd; // the post-attention norm's input

    // feed-forward: rms_norm(x) -> gate, up (+ LoRA) -> swiglu -> down (+ LoRA)
    if (carriesGradient) floatsPerToken += embd;
    if (has("gate") || has("up")) floatsPerToken += embd;
    if (carriesGradient || has("gate")) floatsPerToken += 2 * ffn; // swiglu's backward reads gate and up
    else if (has("up")) floatsPerToken += ffn;
    if (has("down")) floatsPerToken += ffn;
    carriesGradient = carriesGradient || targets.size > 0;
    if (shape.graph.postNorms && carriesGradient) floatsPerToken += embd; // the post-feed-forward norm's input

    floatsPerToken += rank * targets.size; // A·x, the input of each B matmul
    maxLayerFloatsPerToken = Math.max(maxLayerFloatsPerToken, floatsPerToken - layerStart);
  }
  if (carriesGradient) floatsPerToken += embd; // the output norm's input
  return { floatsPerToken, attentionHeads, maxLayerFloatsPerToken };
}

function readModelShape(header: GgufHeader): ModelShape {
  const architecture = header.metadataByKey.get("general.architecture")?.value;
  if (typeof architecture !== "string") {
    throw new LoraGgufError("E_WRONG_KIND", "estimateTrainingMemory: the GGUF has no general.architecture; give a base model");
  }
  const value = (key: string) => header.metadataByKey.get(`${architecture}.${key}`)?.value;
  const positive = (key: string, fallback?: number): number => {
    const raw = value(key) ?? fallback;
    const number = typeof raw === "bigint" ? Number(raw) : raw;
    if (typeof number !== "number" || !Number.isFinite(number) || number <= 0) {
      throw new LoraGgufError("E_BAD_GGUF", `estimateTrainingMemory: ${architecture}.${key} is missing or not a positive number`);
    }
    return number;
  };
  const blockCount = positive("block_count");
  // head counts and the feed-forward size may be per-layer arrays
  const perLayer = (key: string, fallback?: number): number[] => {
    const raw = value(key);
    if (ArrayBuffer.isView(raw) || Array.isArray(raw)) {
      const list = Array.from(raw as ArrayLike<number | bigint>, Number);
      if (list.length === blockCount && list.every((entry) => Number.isFinite(entry) && entry >= 0)) return list;
      throw new LoraGgufError("E_BAD_GGUF", `estimateTrainingMemory: ${architecture}.${key} must hold one value per block`);
    }
    return new Array<number>(blockCount).fill(positive(key, fallback));
  };
  const embeddingLength = positive("embedding_length");
  const headCount = perLayer("attention.head_count");
  const headCountKv = perLayer("attention.head_count_kv", headCount[0]);
  const keyLength = positive("attention.key_length", embeddingLength / headCount[0]);
  const byName = new Map(header.tensors.map((tensor) => [tensor.name, tensor]));
  const embeddings = byName.get("output.weight") ?? byName.get("token_embd.weight");
  if (!embeddings || embeddings.dims.length < 2) {
    throw new LoraGgufError("E_BAD_GGUF", "estimateTrainingMemory: the model has neither output.weight nor token_embd.weight");
  }
  const tensorBytes = header.tensors.reduce((sum, tensor) => sum + tensorByteSize(tensor.type, tensor.dims), 0);
  return {
    architecture,
    blockCount,
    embeddingLength,
    headCount,
    headCountKv,
    keyLength,
    valueLength: positive("attention.value_length", keyLength),
    feedForwardLength: perLayer("feed_forward_length"),
    vocabularySize: embeddings.dims[1],
    hasQkNorm: byName.has("blk.0.attn_q_norm.weight"),
    graph: graphFacts(architecture, (key) => value(key) !== undefined),
    mappedBytes: header.dataOffset + tensorBytes,
    tensorCount: header.tensors.length,
  };
}

function graphFacts(architecture: string, hasKey: (key: string) => boolean): ModelShape["graph"] {
  const training = familyOfGgufArchitecture(architecture)?.training;
  const facts: TrainingGraphFacts = training?.trains ? (training.graph ?? {}) : {};
  return {
    postNorms: facts.postNorms ?? false,
    attentionSoftcap: facts.attentionSoftcapKey !== undefined && hasKey(facts.attentionSoftcapKey),
    extraFeedForwardBackwardTensors: facts.extraFeedForwardBackwardTensors ?? 0,
  };
}

function sumParts(parts: TrainingMemoryEstimate["parts"]): number {
  return Object.values(parts).reduce((sum, bytes) => sum + bytes, 0);
}

function suggestChanges(header: GgufHeader, shape: ModelShape, params: TrainingMemoryParams, totalBytes: number, availableBytes: number): string[] {
  const suggestions: string[] = [];
  const totalWith = (changes: Partial<TrainingMemoryParams>) => sumParts(estimateParts(header, shape, { ...params, ...changes }));
  const saving = (bytes: number) =>
    `saves ${formatBytes(totalBytes - bytes)}, total ${formatBytes(bytes)}${bytes > availableBytes ? ", not enough alone" : ""}`;

  for (let context = Math.floor((params.contextLength - 1) / 256) * 256; context >= 256; context -= 256) {
    const bytes = totalWith({ contextLength: context });
    if (bytes <= availableBytes) {
      suggestions.push(`contextLength ${context} instead of ${params.contextLength} (${saving(bytes)}); longer samples are truncated`);
      break;
    }
  }
  for (let rank = params.rank >> 1; rank >= 1; rank >>= 1) {
    const bytes = totalWith({ rank });
    if (bytes <= availableBytes) {
      suggestions.push(`rank ${rank} instead of ${params.rank} (${saving(bytes)})`);
      break;
    }
  }
  const fewer: LoraTarget[] = params.targets.filter((target) => target === "q" || target === "v");
  if (fewer.length > 0 && fewer.length < params.targets.length) {
    suggestions.push(`targets ${fewer.join(",")} only (${saving(totalWith({ targets: fewer }))})`);
  }
  for (const type of ["q8_0", "q4_k_m"] as const) {
    const weights = quantizedWeightBytes(header, type);
    if (weights < shape.mappedBytes * 0.95) {
      const bytes = totalBytes - shape.mappedBytes + weights;
      suggestions.push(`a ${type.toUpperCase()} copy of the base model (lora-gguf quantize --type ${type.toUpperCase()}): weights ${formatBytes(weights)} instead of ${formatBytes(shape.mappedBytes)} (${saving(bytes)})`);
    }
  }
  const floor = totalWith({ contextLength: 256, rank: 1 });
  if (floor > availableBytes) {
    suggestions.push(`even contextLength 256 and rank 1 need ${formatBytes(floor)}: use a smaller or quantized model, or a machine with more memory`);
  }
  return suggestions;
}

/** Bits per weight of llama.cpp's block types: q8_0 is 34 bytes per 32, q4_K 144 per 256, q6_K 210 per 256. */
const BITS = { q8_0: 8.5, q4_K: 4.5, q6_K: 6.5625 } as const;

/**
 * The weights' size after `lora-gguf quantize`: matrices whose rows split into blocks are quantized
 * (Q4_K_M, as llama_tensor_get_type picks it: q6_K for output.weight and for attn_v/ffn_down in about
 * half the blocks, q4_K elsewhere); norms and vectors stay as they are.
 */
function quantizedWeightBytes(header: GgufHeader, type: "q8_0" | "q4_k_m"): number {
  let bytes = header.dataOffset;
  for (const tensor of header.tensors) {
    const current = tensorByteSize(tensor.type, tensor.dims);
    const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
    let bits: number | undefined;
    if (tensor.dims.length >= 2 && type === "q8_0" && tensor.dims[0] % 32 === 0) bits = BITS.q8_0;
    if (tensor.dims.length >= 2 && type === "q4_k_m") {
      if (tensor.dims[0] % 256 !== 0) bits = tensor.dims[0] % 32 === 0 ? BITS.q8_0 : undefined;
      else if (tensor.name === "output.weight" || /\.(attn_v|ffn_down)\.weight$/.test(tensor.name)) {
        bits = tensor.name === "output.weight" ? BITS.q6_K : (BITS.q6_K + BITS.q4_K) / 2;
      } else bits = BITS.q4_K;
    }
    bytes += bits === undefined ? current : Math.min(current, Math.ceil((elements * bits) / 8));
  }
  return bytes;
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}
