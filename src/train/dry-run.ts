import { estimateTrainingMemory, formatBytes, type TrainingMemoryEstimate } from "./memory-estimate.js";
import type { LoraTarget } from "./lora-targets.js";
import { windowBytes } from "./packing.js";
import { prepareTrainingRun, type PreparedRun } from "./prepare-run.js";
import { resolveTrainOptions, type ResolvedTrainConfig, type TrainOptions } from "./train-options.js";

/** What a training run would do and need, decided without loading the model's weights. */
export interface TrainingDryRun {
  /** The resolved options, contextLength (auto-picked when not given) and targets included. */
  config: ResolvedTrainConfig & { targets: LoraTarget[] };
  contextLength: number;
  /** Optimizer steps the run would take. */
  totalSteps: number;
  windowsPerStep: number;
  /** Most samples packed into one window. */
  maxSequencesPerWindow: number;
  trainingSamples: number;
  validationSamples: number;
  truncatedSamples: number;
  /** Samples with nothing to learn within the context, as "file:line: problem". */
  skippedSamples: string[];
  /** Dataset rows skipped with onBadRow: "skip", as "file:line: problem". */
  skippedRows: string[];
  trainedTokensPerEpoch: number;
  memory: TrainingMemoryEstimate;
}

/**
 * Everything train() decides before its first step (options, dataset, tokenization, the plan of
 * steps) and the memory the run would need, without loading the model's weights: only its header
 * and vocabulary are read.
 */
export async function dryRunTraining(options: TrainOptions): Promise<TrainingDryRun> {
  const { config, signal } = resolveTrainOptions(options);
  signal?.throwIfAborted();
  const run = await prepareTrainingRun(config);
  const plan = run.plan;
  return {
    config: run.config,
    contextLength: plan.contextLength,
    totalSteps: plan.stepCount,
    windowsPerStep: plan.windowsPerStep,
    maxSequencesPerWindow: plan.maxSequencesPerWindow,
    trainingSamples: plan.trainingSampleCount,
    validationSamples: plan.validationSampleCount,
    truncatedSamples: plan.truncatedSamples,
    skippedSamples: plan.skippedSamples,
    skippedRows: run.skippedRows,
    trainedTokensPerEpoch: plan.trainedTokensPerEpoch,
    memory: estimateRunMemory(run),
  };
}

/** The peak memory `train()` will need for a prepared run. */
export function estimateRunMemory(run: PreparedRun): TrainingMemoryEstimate {
  const estimate = (recomputeLayers: boolean) => estimateRunMemoryWith(run, recomputeLayers);
  if (run.config.recompute !== "auto") return estimate(run.config.recompute === "on");
  // recompute only when the run would not fit otherwise: it costs speed
  const kept = estimate(false);
  return kept.fits ? kept : estimate(true);
}

function estimateRunMemoryWith(run: PreparedRun, recomputeLayers: boolean): TrainingMemoryEstimate {
  const { config, plan } = run;
  return estimateTrainingMemory(run.header, {
    recomputeLayers,
    contextLength: plan.contextLength,
    rank: config.rank,
    targets: config.targets,
    layers: config.layers,
    maxSequencesPerWindow: plan.maxSequencesPerWindow,
    maxLabelledTokensPerWindow: plan.maxLabelledTokensPerWindow,
    threads: config.threads,
    cudaBuild: run.cudaBuild,
    // the plan's orders and boundaries, and the windows of the one step (or validation window) being packed at a time
    planBytes: plan.heldBytes + windowBytes(plan.contextLength) * plan.windowsPerStep,
  });
}

const partLabels: [keyof TrainingMemoryEstimate["parts"], string][] = [
  ["modelWeightsBytes", "model weights (mmapped)"],
  ["adapterAndOptimizerBytes", "adapter and AdamW state"],
  ["activationsBytes", "activations and gradients"],
  ["logitsAndLabelsBytes", "logits of a loss chunk"],
  ["kvCacheBytes", "KV cache"],
  ["runtimeOverheadBytes", "runtime overhead"],
];

/** The estimate as a few lines of text: each part, the total against what is available, and suggestions. */
export function formatMemoryEstimate(estimate: TrainingMemoryEstimate): string {
  const width = Math.max(...partLabels.map(([, label]) => label.length));
  const lines = [
    `Estimated peak memory: ${formatBytes(estimate.totalBytes)} of ${formatBytes(estimate.availableBytes)} available` +
      (estimate.fits ? "" : " (does not fit)"),
    ...partLabels.map(([key, label]) => `  ${label.padEnd(width)}  ${formatBytes(estimate.parts[key]).padStart(11)}`),
    `Recompute: ${estimate.layout.recomputeLayers ? "on (each layer's activations evaluated again in the backward pass)" : "off"}; ` +
      `loss over chunks of ${estimate.layout.lossChunkRows} positions, attention over chunks of ${estimate.layout.attentionChunkRows} rows`,
  ];
  if (estimate.suggestions.length > 0) {
    lines.push("To fit, try one of:", ...estimate.suggestions.map((suggestion) => `  - ${suggestion}`));
  }
  return lines.join("\n");
}
