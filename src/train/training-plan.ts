import { LoraGgufError } from "../errors.js";
import { describeDatasetProblem } from "../data/index.js";
import { emptyWindow, layOutWindows, packWindow, type TrainingWindow } from "./packing.js";
import { seededPermutation } from "./seeded-order.js";
import type { TrainingSample } from "./training-samples.js";

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

/** One epoch's sample order (indices into the samples) and where its windows begin in it (see WindowLayout). */
interface EpochLayout {
  order: Uint32Array;
  windowStarts: Uint32Array;
  /** Index of the epoch's first window among all the run's windows. */
  firstWindow: number;
}

/** What a plan is made of; see TrainingPlan. */
interface PlanParts {
  samples: readonly TrainingSample[];
  contextLength: number;
  windowsPerStep: number;
  padToken: number;
  /** The epochs that steps reach, in order. */
  epochs: EpochLayout[];
  /** Windows over those epochs that steps reach. */
  windowCount: number;
  validation: { order: Uint32Array; windowStarts: Uint32Array };
  stepCount: number;
  maxSequencesPerWindow: number;
  maxLabelledTokensPerWindow: number;
  trainingSampleCount: number;
  validationSampleCount: number;
  truncatedSamples: number;
  skippedSamples: string[];
  trainedTokensPerEpoch: number;
}

/**
 * Every optimizer step of a run, decided before the first one: the same options give the same plan.
 * It keeps, per epoch, the sample order and the window boundaries in it; a step's windows are packed
 * when asked for, so the plan grows with the number of samples, not with the windows' tokens.
 */
export class TrainingPlan {
  /** The samples the orders index, shared with the caller (not copied). */
  readonly samples: readonly TrainingSample[];
  readonly contextLength: number;
  readonly windowsPerStep: number;
  /** Optimizer steps of the run (maxSteps applied). */
  readonly stepCount: number;
  /** Most samples in one window, plus one for the padding, over every window of every epoch and validation. */
  readonly maxSequencesPerWindow: number;
  /** Most labelled tokens in one window, over every window of every epoch and validation. */
  readonly maxLabelledTokensPerWindow: number;
  readonly trainingSampleCount: number;
  readonly validationSampleCount: number;
  readonly truncatedSamples: number;
  /** Samples left out because nothing trainable fits in the context (e.g. the prompt fills it). */
  readonly skippedSamples: string[];
  readonly trainedTokensPerEpoch: number;
  private readonly padToken: number;
  private readonly epochs: readonly EpochLayout[];
  private readonly windowCount: number;
  private readonly validation: { order: Uint32Array; windowStarts: Uint32Array };

  constructor(parts: PlanParts) {
    this.samples = parts.samples;
    this.contextLength = parts.contextLength;
    this.windowsPerStep = parts.windowsPerStep;
    this.stepCount = parts.stepCount;
    this.maxSequencesPerWindow = parts.maxSequencesPerWindow;
    this.maxLabelledTokensPerWindow = parts.maxLabelledTokensPerWindow;
    this.trainingSampleCount = parts.trainingSampleCount;
    this.validationSampleCount = parts.validationSampleCount;
    this.truncatedSamples = parts.truncatedSamples;
    this.skippedSamples = parts.skippedSamples;
    this.trainedTokensPerEpoch = parts.trainedTokensPerEpoch;
    this.padToken = parts.padToken;
    this.epochs = parts.epochs;
    this.windowCount = parts.windowCount;
    this.validation = parts.validation;
  }

  /** The epoch of the step's first window. */
  stepEpoch(step: number): number {
    this.checkStep(step);
    return this.epochOfWindow(step * this.windowsPerStep);
  }

  /**
   * The windows of one optimizer step, packed now: always `windowsPerStep` of them; those of the
   * last step past the run's last window are empty ones that the loss ignores.
   */
  stepWindows(step: number): TrainingWindow[] {
    this.checkStep(step);
    const windows: TrainingWindow[] = [];
    let filler: TrainingWindow | undefined;
    for (let slot = 0; slot < this.windowsPerStep; slot++) {
      const window = step * this.windowsPerStep + slot;
      if (window >= this.windowCount) {
        filler ??= emptyWindow(this.contextLength, this.padToken);
        windows.push(filler);
        continue;
      }
      const epoch = this.epochs[this.epochOfWindow(window)];
      const index = window - epoch.firstWindow;
      windows.push(packWindow(this.samples, epoch.order, epoch.windowStarts[index], epoch.windowStarts[index + 1], this.contextLength, this.padToken));
    }
    return windows;
  }

  get validationWindowCount(): number {
    return this.validation.windowStarts.length - 1;
  }

  /** One validation window, packed now. */
  validationWindow(index: number): TrainingWindow {
    if (!Number.isInteger(index) || index < 0 || index >= this.validationWindowCount) {
      throw new LoraGgufError("E_INVALID_OPTION", `validationWindow: index ${index} is outside 0..${this.validationWindowCount - 1}`);
    }
    const { order, windowStarts } = this.validation;
    return packWindow(this.samples, order, windowStarts[index], windowStarts[index + 1], this.contextLength, this.padToken);
  }

  /** Bytes of the orders and window boundaries the plan keeps: all it holds besides the samples. */
  get heldBytes(): number {
    const arrays = [this.validation.order, this.validation.windowStarts, ...this.epochs.flatMap((epoch) => [epoch.order, epoch.windowStarts])];
    return arrays.reduce((sum, array) => sum + array.byteLength, 0);
  }

  private checkStep(step: number): void {
    if (!Number.isInteger(step) || step < 0 || step >= this.stepCount) {
      throw new LoraGgufError("E_INVALID_OPTION", `training plan: step ${step} is outside 0..${this.stepCount - 1}`);
    }
  }

  private epochOfWindow(window: number): number {
    let low = 0;
    let high = this.epochs.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.epochs[middle].firstWindow <= window) low = middle;
      else high = middle - 1;
    }
    return low;
  }
}

/** Auto context length: the longest sample rounded up to llama.cpp's 256-token padding, at most `limit`. */
export function autoContextLength(samples: readonly TrainingSample[], limit: number): number {
  const longest = samples.reduce((max, sample) => Math.max(max, sample.tokens.length), 1);
  const rounded = Math.ceil(longest / 256) * 256;
  return Math.max(256, Math.min(rounded, Math.floor(limit / 256) * 256 || 256));
}

/**
 * Plans a run: the validation split and each epoch's sample order (seeded, so a function of the
 * options), and where that order's windows begin. No window is packed here.
 */
export function planTraining(samples: readonly TrainingSample[], options: PlanOptions): TrainingPlan {
  const order = seededPermutation(samples.length, options.seed);
  const validationCount = options.validationSplit > 0 ? Math.max(1, Math.round(samples.length * options.validationSplit)) : 0;
  if (validationCount >= samples.length) {
    throw new LoraGgufError("E_BAD_DATASET", `validationSplit ${options.validationSplit} leaves no training samples out of ${samples.length}`);
  }
  const validationOrder = order.slice(0, validationCount);
  const trainingOrder = order.subarray(validationCount);
  const validation = layOutWindows(samples, validationOrder, options.contextLength);

  // steps past maxSteps are never taken, but every epoch is laid out so that the statistics do not depend on maxSteps
  const windowLimit = options.maxSteps !== undefined ? options.maxSteps * options.windowsPerStep : Infinity;
  const epochs: EpochLayout[] = [];
  let windowCount = 0;
  let truncatedSamples = validation.truncatedSamples;
  let maxSequencesPerWindow = validation.maxSequencesPerWindow;
  let maxLabelledTokensPerWindow = validation.maxLabelledTokensPerWindow;
  let skipped = validation.emptySamples;
  let trainedTokensPerEpoch = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // each epoch visits the training samples in its own seeded order
    const epochPermutation = seededPermutation(trainingOrder.length, options.seed + 7919 * (epoch + 1));
    const epochOrder = epochPermutation.map((index) => trainingOrder[index]);
    const layout = layOutWindows(samples, epochOrder, options.contextLength);
    if (epoch === 0) {
      truncatedSamples += layout.truncatedSamples;
      skipped = skipped.concat(layout.emptySamples);
      trainedTokensPerEpoch = layout.labelledTokens;
    }
    maxSequencesPerWindow = Math.max(maxSequencesPerWindow, layout.maxSequencesPerWindow);
    maxLabelledTokensPerWindow = Math.max(maxLabelledTokensPerWindow, layout.maxLabelledTokensPerWindow);
    if (windowCount < windowLimit) epochs.push({ order: epochOrder, windowStarts: layout.windowStarts, firstWindow: windowCount });
    windowCount += layout.windowStarts.length - 1;
  }

  const skippedSamples = skipped.map((sample) =>
    describeDatasetProblem({ ...sample.source, message: `nothing to learn within ${options.contextLength} tokens (the prompt fills the context, or the response is empty)` }),
  );
  if (skippedSamples.length > 0 && options.onBadRow === "error") {
    throw new LoraGgufError("E_BAD_DATASET", `${skippedSamples[0]}; raise contextLength, shorten the record, or skip such rows (onBadRow: "skip")`);
  }
  if (windowCount === 0) {
    throw new LoraGgufError("E_BAD_DATASET", "the dataset has no sample with anything to train on");
  }
  // a last partial step is completed with windows that the loss ignores
  const fullStepCount = Math.ceil(windowCount / options.windowsPerStep);
  return new TrainingPlan({
    samples,
    contextLength: options.contextLength,
    windowsPerStep: options.windowsPerStep,
    padToken: options.padToken,
    epochs,
    windowCount: Math.min(windowCount, windowLimit),
    validation: { order: validationOrder, windowStarts: validation.windowStarts },
    stepCount: Math.min(fullStepCount, options.maxSteps ?? Infinity),
    maxSequencesPerWindow,
    maxLabelledTokensPerWindow,
    trainingSampleCount: trainingOrder.length,
    validationSampleCount: validationCount,
    truncatedSamples,
    skippedSamples,
    trainedTokensPerEpoch,
  });
}
