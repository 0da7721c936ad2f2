// The training plan keeps sample orders and window boundaries and packs a step's windows when asked:
// the same windows as packing everything up front did, in a plan that grows with the samples, not
// with the windows' tokens. A real run of 100k rows on this plan: test/long/train-streamed-plan-100k.test.ts.
import { describe, expect, it } from "vitest";

import { describeDatasetProblem } from "../src/data/index.js";
import { SeededRandom } from "../src/seeded-random.js";
import { windowBytes, type TrainingWindow } from "../src/train/packing.js";
import { planTraining, type PlanOptions, type TrainingPlan } from "../src/train/training-plan.js";
import type { TrainingSample } from "../src/train/training-samples.js";

const MiB = 1024 * 1024;

/**
 * The plan as it was computed before it was streamed (every window of every epoch packed up
 * front), kept verbatim as the reference the streamed plan must reproduce.
 */
function eagerPlan(samples: readonly TrainingSample[], options: PlanOptions) {
  const MAX_SEQUENCES = 256;
  const permutation = (count: number, seed: number) => {
    const order = Array.from({ length: count }, (_, index) => index);
    const random = new SeededRandom(seed);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random.nextFloat() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  };
  const pack = (samples: readonly TrainingSample[], contextLength: number, padToken: number) => {
    const windows: TrainingWindow[] = [];
    const emptySamples: TrainingSample[] = [];
    let truncatedSamples = 0;
    let maxSequencesPerWindow = 1;
    let current: TrainingWindow | undefined;
    let used = 0;
    const closeWindow = () => {
      if (!current) return;
      const padSeq = current.sampleCount;
      for (let i = used; i < contextLength; i++) {
        current.tokens[i] = padToken;
        current.labels[i] = -1;
        current.positions[i] = i - used;
        current.seqIds[i] = padSeq;
      }
      maxSequencesPerWindow = Math.max(maxSequencesPerWindow, current.sampleCount + (used < contextLength ? 1 : 0));
      windows.push(current);
      current = undefined;
      used = 0;
    };
    for (const sample of samples) {
      const length = Math.min(sample.tokens.length, contextLength);
      if (sample.tokens.length > contextLength) truncatedSamples += 1;
      let labelled = 0;
      for (let i = 0; i + 1 < length; i++) labelled += sample.targets[i + 1];
      if (labelled === 0) {
        emptySamples.push(sample);
        continue;
      }
      if (current && (used + length > contextLength || current.sampleCount + 1 >= MAX_SEQUENCES)) closeWindow();
      current ??= {
        tokens: new Int32Array(contextLength),
        labels: new Int32Array(contextLength),
        positions: new Int32Array(contextLength),
        seqIds: new Int32Array(contextLength),
        labelledTokens: 0,
        sampleCount: 0,
      };
      for (let i = 0; i < length; i++) {
        current.tokens[used + i] = sample.tokens[i];
        current.labels[used + i] = i + 1 < length && sample.targets[i + 1] ? sample.tokens[i + 1] : -1;
        current.positions[used + i] = i;
        current.seqIds[used + i] = current.sampleCount;
      }
      current.labelledTokens += labelled;
      current.sampleCount += 1;
      used += length;
    }
    closeWindow();
    return { windows, truncatedSamples, emptySamples, maxSequencesPerWindow };
  };
  const emptyWindow = (contextLength: number, padToken: number): TrainingWindow => ({
    tokens: new Int32Array(contextLength).fill(padToken),
    labels: new Int32Array(contextLength).fill(-1),
    positions: Int32Array.from({ length: contextLength }, (_, index) => index),
    seqIds: new Int32Array(contextLength),
    labelledTokens: 0,
    sampleCount: 0,
  });

  const order = permutation(samples.length, options.seed);
  const validationCount = options.validationSplit > 0 ? Math.max(1, Math.round(samples.length * options.validationSplit)) : 0;
  const validationSamples = order.slice(0, validationCount).map((index) => samples[index]);
  const trainingSamples = order.slice(validationCount).map((index) => samples[index]);
  const validation = pack(validationSamples, options.contextLength, options.padToken);
  const steps: { epoch: number; windows: TrainingWindow[] }[] = [];
  let pending: { epoch: number; window: TrainingWindow }[] = [];
  let truncatedSamples = validation.truncatedSamples;
  let maxSequencesPerWindow = validation.maxSequencesPerWindow;
  let skipped = validation.emptySamples;
  let trainedTokensPerEpoch = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const epochOrder = permutation(trainingSamples.length, options.seed + 7919 * (epoch + 1));
    const packed = pack(epochOrder.map((index) => trainingSamples[index]), options.contextLength, options.padToken);
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
    const filler = emptyWindow(options.contextLength, options.padToken);
    while (pending.length < options.windowsPerStep) pending.push({ epoch: pending[0].epoch, window: filler });
    steps.push({ epoch: pending[0].epoch, windows: pending.map((entry) => entry.window) });
  }
  const skippedSamples = skipped.map((sample) =>
    describeDatasetProblem({ ...sample.source, message: `nothing to learn within ${options.contextLength} tokens (the prompt fills the context, or the response is empty)` }),
  );
  return {
    steps: options.maxSteps !== undefined ? steps.slice(0, options.maxSteps) : steps,
    validationWindows: validation.windows,
    maxSequencesPerWindow,
    trainingSampleCount: trainingSamples.length,
    validationSampleCount: validationSamples.length,
    truncatedSamples,
    skippedSamples,
    trainedTokensPerEpoch,
  };
}

/**
 * Samples of varied lengths: a masked prompt then a trained response, some longer than the
 * context, some with nothing to learn (all prompt, or a single token).
 */
function syntheticSamples(count: number, seed: number, maxLength: number): TrainingSample[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, (_, index) => {
    const length = 1 + Math.floor(random.nextFloat() * maxLength);
    const tokens = Int32Array.from({ length }, () => 3 + Math.floor(random.nextFloat() * 1000));
    const targets = new Uint8Array(length);
    // one sample in seven is all prompt
    if (index % 7 !== 3) targets.fill(1, Math.floor(random.nextFloat() * length));
    return { tokens, targets, source: { file: "synthetic.jsonl", line: index + 1 } };
  });
}

/** Bytes of the typed arrays reachable from the plan, leaving out the samples it shares with the caller. */
function typedArrayBytes(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || typeof value !== "object" || seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;
  return Object.entries(value)
    .filter(([key]) => key !== "samples")
    .reduce((sum, [, field]) => sum + typedArrayBytes(field, seen), 0);
}

function expectSameAsEager(samples: readonly TrainingSample[], options: PlanOptions): TrainingPlan {
  const plan = planTraining(samples, options);
  const eager = eagerPlan(samples, options);
  expect(plan.stepCount).toBe(eager.steps.length);
  for (let step = 0; step < plan.stepCount; step++) {
    expect(plan.stepEpoch(step), `epoch of step ${step}`).toBe(eager.steps[step].epoch);
    expect(plan.stepWindows(step), `windows of step ${step}`).toEqual(eager.steps[step].windows);
  }
  expect(Array.from({ length: plan.validationWindowCount }, (_, index) => plan.validationWindow(index))).toEqual(eager.validationWindows);
  const { steps: _, validationWindows: __, ...statistics } = eager;
  expect({
    maxSequencesPerWindow: plan.maxSequencesPerWindow,
    trainingSampleCount: plan.trainingSampleCount,
    validationSampleCount: plan.validationSampleCount,
    truncatedSamples: plan.truncatedSamples,
    skippedSamples: plan.skippedSamples,
    trainedTokensPerEpoch: plan.trainedTokensPerEpoch,
  }).toEqual(statistics);
  return plan;
}

describe("planTraining: windows packed per step", () => {
  const base: PlanOptions = { contextLength: 64, epochs: 3, windowsPerStep: 3, validationSplit: 0.2, seed: 11, padToken: 2, onBadRow: "skip" };

  it("stepWindows(step) equals the windows packed up front, across epochs and in the last partial step", () => {
    const samples = syntheticSamples(150, 5, 90);
    const plan = expectSameAsEager(samples, base);
    // the case under test: windows that do not divide into steps, truncated and skipped samples
    const last = plan.stepWindows(plan.stepCount - 1);
    expect(last.at(-1)!.sampleCount).toBe(0);
    expect(plan.stepEpoch(plan.stepCount - 1)).toBe(2);
    expect(plan.truncatedSamples).toBeGreaterThan(0);
    expect(plan.skippedSamples.length).toBeGreaterThan(0);
  });

  it("equals it with maxSteps cutting an epoch short, past the end, and with no validation split", () => {
    const samples = syntheticSamples(150, 6, 90);
    const full = expectSameAsEager(samples, base);
    expect(expectSameAsEager(samples, { ...base, maxSteps: Math.ceil(full.stepCount / 2) }).stepCount).toBe(Math.ceil(full.stepCount / 2));
    expect(expectSameAsEager(samples, { ...base, maxSteps: full.stepCount + 5 }).stepCount).toBe(full.stepCount);
    expect(expectSameAsEager(samples, { ...base, validationSplit: 0, windowsPerStep: 1 }).validationWindowCount).toBe(0);
  });

  it("equals it when windows run out of sequence ids before tokens (255 samples each)", () => {
    // two-token samples: 512 of them would fit a 1024-token window, llama.cpp allows 256 sequences
    const samples = Array.from({ length: 700 }, (_, index) => ({ tokens: Int32Array.of(5, 6 + (index % 50)), targets: Uint8Array.of(0, 1), source: { file: "pairs.jsonl", line: index + 1 } }));
    const plan = expectSameAsEager(samples, { ...base, contextLength: 1024, windowsPerStep: 2 });
    expect(plan.maxSequencesPerWindow).toBe(256);
  });

  it("refuses a step outside the plan", () => {
    const plan = planTraining(syntheticSamples(20, 7, 30), base);
    for (const step of [-1, plan.stepCount, 0.5]) {
      expect(() => plan.stepWindows(step)).toThrow(expect.objectContaining({ code: "E_INVALID_OPTION", message: `training plan: step ${step} is outside 0..${plan.stepCount - 1}` }));
    }
  });

  it("holds a few bytes per sample and epoch for 100k samples x 3 epochs at a 2048-token context, not the windows", () => {
    const samples = syntheticSamples(100_000, 8, 160);
    const started = performance.now();
    const plan = planTraining(samples, { ...base, contextLength: 2048, windowsPerStep: 1, validationSplit: 0.05 });
    const seconds = (performance.now() - started) / 1000;
    const windows = plan.stepCount + plan.validationWindowCount;
    const eagerBytes = windows * windowBytes(plan.contextLength);
    console.log(
      `100k samples x 3 epochs, ctx 2048: planned in ${seconds.toFixed(2)} s, ${plan.stepCount} steps; the plan holds ${(plan.heldBytes / MiB).toFixed(2)} MiB ` +
        `where its windows packed up front take ${(eagerBytes / MiB).toFixed(0)} MiB`,
    );
    expect(typedArrayBytes(plan)).toBe(plan.heldBytes);
    // a sample index per sample and epoch (and validation), a boundary per window
    expect(plan.heldBytes).toBeLessThanOrEqual(4 * (samples.length * 4 + windows + 4));
    expect(plan.heldBytes).toBeLessThan(eagerBytes / 100);
    expect(plan.heldBytes).toBeLessThan(windowBytes(plan.contextLength) * 50);
  });
});
