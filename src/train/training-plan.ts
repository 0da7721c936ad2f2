import { LoraGgufError } from "../errors.js";
import { describeDatasetProblem } from "../data/index.js";
import { packSamples, type TrainingWindow } from "./packing.js";
import { seededPermutation } from "./seeded-order.js";
import type { TrainingSample } from "./training-samples.js";

/** Every optimizer step of a run, decided before the first one: the same options give the same plan. */
export interface TrainingPlan {
  contextLength: number;
  /** The windows of each optimizer step (always `windowsPerStep` of them; the last may be padded with empty ones). */
  steps: { epoch: number; windows: TrainingWindow[] }[];
  validationWindows: TrainingWindow[];
  windowsPerStep: number;
  maxSequencesPerWindow: number;
  trainingSampleCount: number;
  validationSampleCount: number;
  truncatedSamples: number;
  /** Samples left out because nothing trainable fits in the context (e.g. the prompt fills it). */
  skippedSamples: string[];
  trainedTokensPerEpoch: number;
}

export interface PlanOptions {
  contextLength: number;
  epochs: number;
  maxSteps?: number;
  windowsPerStep: number;
  validationSplit: number;
  seed: number;
  padToken: number;
  onBadRow: "error" | "skip";
}

/** Auto context length: the longest sample rounded up to llama.cpp's 256-token padding, at most `limit`. */
export function autoContextLength(samples: readonly TrainingSample[], limit: number): number {
  const longest = samples.reduce((max, sample) => Math.max(max, sample.tokens.length), 1);
  const rounded = Math.ceil(longest / 256) * 256;
  return Math.max(256, Math.min(rounded, Math.floor(limit / 256) * 256 || 256));
}

export function planTraining(samples: readonly TrainingSample[], options: PlanOptions): TrainingPlan {
  const order = seededPermutation(samples.length, options.seed);
  const validationCount = options.validationSplit > 0 ? Math.max(1, Math.round(samples.length * options.validationSplit)) : 0;
  if (validationCount >= samples.length) {
    throw new LoraGgufError("E_BAD_DATASET", `validationSplit ${options.validationSplit} leaves no training samples out of ${samples.length}`);
  }
  const validationSamples = order.slice(0, validationCount).map((index) => samples[index]);
  const trainingSamples = order.slice(validationCount).map((index) => samples[index]);

  const validation = packSamples(validationSamples, options.contextLength, options.padToken);
  const steps: TrainingPlan["steps"] = [];
  let pending: { epoch: number; window: TrainingWindow }[] = [];
  let truncatedSamples = validation.truncatedSamples;
  let maxSequencesPerWindow = validation.maxSequencesPerWindow;
  let skipped = validation.emptySamples;
  let trainedTokensPerEpoch = 0;

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // each epoch visits the training samples in its own seeded order
    const epochOrder = seededPermutation(trainingSamples.length, options.seed + 7919 * (epoch + 1));
    const packed = packSamples(epochOrder.map((index) => trainingSamples[index]), options.contextLength, options.padToken);
    if (epoch === 0) {
      truncatedSamples += packed.truncatedSamples;
      skipped = skipped.concat(packed.emptySamples);
      trainedTokensPerEpoch = packed.windows.reduce((sum, window) => sum + window.labelledTokens, 0);
    }
    maxSequencesPerWindow = Math.max(maxSequencesPerWindow, packed.maxSequencesPerWindow);
    for (const window of packed.windows) {
      pending.push({ epoch, window });
      if (pending.length === options.windowsPerStep) {
        steps.push({ epoch: pending[0].epoch, windows: pending.map((entry) => entry.window) });
        pending = [];
      }
    }
  }
  if (pending.length > 0) {
    // a last partial step is completed with windows that the loss ignores
    const filler = emptyWindow(options.contextLength, options.padToken);
    while (pending.length < options.windowsPerStep) pending.push({ epoch: pending[0].epoch, window: filler });
    steps.push({ epoch: pending[0].epoch, windows: pending.map((entry) => entry.window) });
  }

  const skippedSamples = skipped.map((sample) =>
    describeDatasetProblem({ ...sample.source, message: `nothing to learn within ${options.contextLength} tokens (the prompt fills the context, or the response is empty)` }),
  );
  if (skippedSamples.length > 0 && options.onBadRow === "error") {
    throw new LoraGgufError("E_BAD_DATASET", `${skippedSamples[0]}; raise contextLength, shorten the record, or skip such rows (onBadRow: "skip")`);
  }
  if (steps.length === 0) {
    throw new LoraGgufError("E_BAD_DATASET", "the dataset has no sample with anything to train on");
  }
  return {
    contextLength: options.contextLength,
    steps: options.maxSteps !== undefined ? steps.slice(0, options.maxSteps) : steps,
    validationWindows: validation.windows,
    windowsPerStep: options.windowsPerStep,
    maxSequencesPerWindow,
    trainingSampleCount: trainingSamples.length,
    validationSampleCount: validationSamples.length,
    truncatedSamples,
    skippedSamples,
    trainedTokensPerEpoch,
  };
}

function emptyWindow(contextLength: number, padToken: number): TrainingWindow {
  return {
    tokens: new Int32Array(contextLength).fill(padToken),
    labels: new Int32Array(contextLength).fill(-1),
    positions: Int32Array.from({ length: contextLength }, (_, index) => index),
    seqIds: new Int32Array(contextLength),
    labelledTokens: 0,
    sampleCount: 0,
  };
}
