import { availableParallelism } from "node:os";

import { LoraGgufError } from "../errors.js";
import { DATASET_FORMATS, type DatasetFormat } from "../data/index.js";
import {
  optionalBoolean, optionalFunction, optionalInteger, optionalSignal, rejectUnknownOptions, requireOptionsObject, requireString,
} from "../validate.js";
import type { LearningRateScheduler } from "./learning-rate-schedule.js";
import { resolveLoraTargets, type LoraTarget } from "./lora-targets.js";

export interface TrainProgress {
  /** Optimizer steps done, of `totalSteps`. */
  step: number;
  totalSteps: number;
  epoch: number;
  /** Mean cross-entropy per trained token over this step's windows. */
  loss: number;
  learningRate: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  etaSeconds: number;
  /** Set on steps where the validation set was evaluated. */
  validationLoss?: number;
}

export interface TrainOptions {
  /** Base model GGUF (f32, f16, or quantized, QLoRA-style). */
  model: string;
  /** Dataset: .jsonl, .json, .csv (text, alpaca, sharegpt or messages records). */
  data: string;
  /** Adapter GGUF to write; training.json, metrics.jsonl and loss.svg go beside it. */
  output: string;
  /** Dataset format; default "auto". */
  format?: "auto" | DatasetFormat;
  /** LoRA rank r. Default 16. */
  rank?: number;
  /** LoRA alpha; the update is scaled by alpha / r. Default 32 (2·r, as LLaMA-Factory). */
  alpha?: number;
  /**
   * Target modules: q, k, v, o, gate, up, down (or q_proj...); qkv, o, gate_up, down for a family
   * with fused projections (phi3); or "all-linear". Default all of the model's family's (seven,
   * or phi3's four).
   */
  targets?: readonly string[] | string;
  /** Only adapt these layers (block indices). Default all. */
  layers?: readonly number[];
  /** Peak learning rate. Default 2e-4. */
  learningRate?: number;
  /** Learning-rate schedule after warmup. Default "linear". */
  scheduler?: LearningRateScheduler;
  /** Warmup optimizer steps. Default 0. */
  warmupSteps?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  /** AdamW decoupled weight decay. Default 0. */
  weightDecay?: number;
  /** Passes over the data. Default 1. */
  epochs?: number;
  /** Stop after this many optimizer steps (overrides epochs when smaller). */
  maxSteps?: number;
  /** Packed windows per micro-batch. Default 1. */
  batchSize?: number;
  /** Micro-batches per optimizer step. Default 1. */
  gradientAccumulation?: number;
  /** Tokens per window, a multiple of 256; default: the longest sample rounded up, at most the model's context. */
  contextLength?: number;
  /** Train on prompt tokens too, not only responses. Default false. */
  trainOnPrompt?: boolean;
  /** A Jinja chat template to use instead of the model's own. */
  chatTemplate?: string;
  /** Render chat records without a template (plain concatenation is not offered: this refuses chat data). */
  noChatTemplate?: boolean;
  /** Fraction of samples held out for validation. Default 0. */
  validationSplit?: number;
  /** Evaluate the validation set every this many steps (and at the end). Default 50. */
  evalInterval?: number;
  /** Bad dataset rows: "error" (default) or "skip" (reported in the result). */
  onBadRow?: "error" | "skip";
  seed?: number;
  /** Worker threads. Default: all CPUs. */
  threads?: number;
  /**
   * Gradient checkpointing: keep only each layer's output for the backward pass and evaluate the rest
   * of the layer again there. "auto" (default) turns it on when the memory estimate says the run
   * would not fit otherwise; it costs speed (see the README's memory table).
   */
  recompute?: RecomputeMode;
  /**
   * Layers to train on a GPU through llama.cpp's device selection, counted from the last (the output
   * head is one more), or "all"; each offloaded layer's adapter tensors, gradients and AdamW state live
   * on its device. Default 0: the CPU. Where the addon has no GPU (a build without LORA_GGUF_CUDA, or
   * no device or driver) training runs on the CPU with the same results, and onWarning says so.
   */
  gpuLayers?: number | "all";
  /**
   * The chat template's enable_thinking (Qwen3, SmolLM3, DeepSeek V3.1, ...): "on" true, "off" false,
   * "auto" (default) leaves the template's own default. Templates without it ignore it.
   */
  thinking?: ThinkingMode;
  /** Overwrite existing outputs. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  /** What the run went on with but a user should know (e.g. gpuLayers without a GPU); also in the result's warnings. */
  onWarning?: (message: string) => void;
}

export interface ResolvedTrainConfig {
  model: string;
  data: string;
  output: string;
  format: "auto" | DatasetFormat;
  rank: number;
  alpha: number;
  /** Undefined: every target of the model's family (prepareTrainingRun resolves it). */
  targets?: LoraTarget[];
  layers?: number[];
  learningRate: number;
  scheduler: LearningRateScheduler;
  warmupSteps: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  weightDecay: number;
  epochs: number;
  maxSteps?: number;
  batchSize: number;
  gradientAccumulation: number;
  contextLength?: number;
  trainOnPrompt: boolean;
  chatTemplate?: string;
  noChatTemplate: boolean;
  validationSplit: number;
  evalInterval: number;
  onBadRow: "error" | "skip";
  seed: number;
  threads: number;
  recompute: RecomputeMode;
  /** -1: all layers. */
  gpuLayers: number;
  thinking: ThinkingMode;
  force: boolean;
}

export const RECOMPUTE_MODES = ["auto", "on", "off"] as const;
export type RecomputeMode = (typeof RECOMPUTE_MODES)[number];
export const THINKING_MODES = ["auto", "on", "off"] as const;
export type ThinkingMode = (typeof THINKING_MODES)[number];

/** The template variables a thinking mode sets. */
export function thinkingTemplateVariables(thinking: ThinkingMode): Record<string, unknown> {
  return thinking === "auto" ? {} : { enable_thinking: thinking === "on" };
}

const knownOptions = [
  "model", "data", "output", "format", "rank", "alpha", "targets", "layers", "learningRate", "scheduler", "warmupSteps",
  "adamBeta1", "adamBeta2", "adamEpsilon", "weightDecay", "epochs", "maxSteps", "batchSize", "gradientAccumulation",
  "contextLength", "trainOnPrompt", "chatTemplate", "noChatTemplate", "validationSplit", "evalInterval", "onBadRow", "seed",
  "threads", "recompute", "gpuLayers", "thinking", "force", "signal", "onProgress", "onWarning",
] as const;

function optionalNumber(where: string, name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: ${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** gpuLayers as llama.cpp's n_gpu_layers: a count, or -1 for "all". */
function resolveGpuLayers(where: string, value: unknown): number {
  if (value === undefined) return 0;
  if (value === "all") return -1;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: gpuLayers must be a number of layers (0 or more) or "all", got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

export function resolveTrainOptions(options: unknown): {
  config: ResolvedTrainConfig;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  onWarning?: (message: string) => void;
} {
  const where = "train";
  const raw = requireOptionsObject(where, options);
  rejectUnknownOptions(where, raw, knownOptions);
  const format = (raw.format ?? "auto") as ResolvedTrainConfig["format"];
  if (format !== "auto" && !DATASET_FORMATS.includes(format)) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: format must be auto or one of ${DATASET_FORMATS.join(", ")}, got ${String(raw.format)}`);
  }
  const scheduler = (raw.scheduler ?? "linear") as LearningRateScheduler;
  if (!["linear", "cosine", "constant"].includes(scheduler)) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: scheduler must be linear, cosine or constant, got ${String(raw.scheduler)}`);
  }
  const onBadRow = (raw.onBadRow ?? "error") as "error" | "skip";
  if (onBadRow !== "error" && onBadRow !== "skip") {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: onBadRow must be "error" or "skip", got ${String(raw.onBadRow)}`);
  }
  const recompute = (raw.recompute ?? "auto") as RecomputeMode;
  if (!RECOMPUTE_MODES.includes(recompute)) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: recompute must be ${RECOMPUTE_MODES.join(", ")}, got ${String(raw.recompute)}`);
  }
  const thinking = (raw.thinking ?? "auto") as ThinkingMode;
  if (!THINKING_MODES.includes(thinking)) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: thinking must be ${THINKING_MODES.join(", ")}, got ${String(raw.thinking)}`);
  }
  const rank = optionalInteger(where, "rank", raw.rank, 1, 4096) ?? 16;
  const layers = raw.layers === undefined ? undefined : [...(raw.layers as number[])];
  if (layers && (!Array.isArray(raw.layers) || layers.some((layer) => !Number.isInteger(layer) || layer < 0))) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: layers must be an array of block indices`);
  }
  const contextLength = optionalInteger(where, "contextLength", raw.contextLength, 256, 1 << 20);
  if (contextLength !== undefined && contextLength % 256 !== 0) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: contextLength must be a multiple of 256 (llama.cpp pads contexts to that), got ${contextLength}`);
  }
  const config: ResolvedTrainConfig = {
    model: requireString(where, "model", raw.model),
    data: requireString(where, "data", raw.data),
    output: requireString(where, "output", raw.output),
    format,
    rank,
    alpha: optionalNumber(where, "alpha", raw.alpha, 1e-6, 1e6) ?? 2 * rank,
    targets: raw.targets === undefined ? undefined : resolveLoraTargets(raw.targets as string[] | string),
    layers,
    learningRate: optionalNumber(where, "learningRate", raw.learningRate, 0, 1) ?? 2e-4,
    scheduler,
    warmupSteps: optionalInteger(where, "warmupSteps", raw.warmupSteps, 0, 1e9) ?? 0,
    adamBeta1: optionalNumber(where, "adamBeta1", raw.adamBeta1, 0, 1) ?? 0.9,
    adamBeta2: optionalNumber(where, "adamBeta2", raw.adamBeta2, 0, 1) ?? 0.999,
    adamEpsilon: optionalNumber(where, "adamEpsilon", raw.adamEpsilon, 0, 1) ?? 1e-8,
    weightDecay: optionalNumber(where, "weightDecay", raw.weightDecay, 0, 1) ?? 0,
    epochs: optionalInteger(where, "epochs", raw.epochs, 1, 1e6) ?? 1,
    maxSteps: optionalInteger(where, "maxSteps", raw.maxSteps, 1, 1e9),
    batchSize: optionalInteger(where, "batchSize", raw.batchSize, 1, 1024) ?? 1,
    gradientAccumulation: optionalInteger(where, "gradientAccumulation", raw.gradientAccumulation, 1, 1024) ?? 1,
    contextLength,
    trainOnPrompt: optionalBoolean(where, "trainOnPrompt", raw.trainOnPrompt) ?? false,
    chatTemplate: raw.chatTemplate === undefined ? undefined : requireString(where, "chatTemplate", raw.chatTemplate),
    noChatTemplate: optionalBoolean(where, "noChatTemplate", raw.noChatTemplate) ?? false,
    validationSplit: optionalNumber(where, "validationSplit", raw.validationSplit, 0, 0.9) ?? 0,
    evalInterval: optionalInteger(where, "evalInterval", raw.evalInterval, 1, 1e9) ?? 50,
    onBadRow,
    seed: optionalInteger(where, "seed", raw.seed, 0, 2 ** 31 - 1) ?? 42,
    threads: optionalInteger(where, "threads", raw.threads, 1, 1024) ?? availableParallelism(),
    recompute,
    gpuLayers: resolveGpuLayers(where, raw.gpuLayers),
    thinking,
    force: optionalBoolean(where, "force", raw.force) ?? false,
  };
  return {
    config,
    signal: optionalSignal(where, raw.signal),
    onProgress: optionalFunction<(progress: TrainProgress) => void>(where, "onProgress", raw.onProgress),
    onWarning: optionalFunction<(message: string) => void>(where, "onWarning", raw.onWarning),
  };
}
