import type { TrainingSample } from "./training-samples.js";

/** One context window for a training step (see llama_opt_step_prepare in patches/0003). */
export interface TrainingWindow {
  tokens: Int32Array;
  /** Next-token targets; -1 where the loss does not look. */
  labels: Int32Array;
  positions: Int32Array;
  seqIds: Int32Array;
  labelledTokens: number;
  sampleCount: number;
}

export interface PackingReport {
  windows: TrainingWindow[];
  /** Samples cut to the context length. */
  truncatedSamples: number;
  /** Samples with nothing left to learn within the context (the prompt fills it), with their sources. */
  emptySamples: TrainingSample[];
  /** Most samples in one window, plus one for the padding: the context's sequence count. */
  maxSequencesPerWindow: number;
}

// llama.cpp's LLAMA_MAX_SEQ: a window holds at most this many sequences, padding included
const MAX_SEQUENCES = 256;

/**
 * Packs samples, in the order given, into windows of `contextLength` tokens. Each sample in a
 * window is its own sequence (its own positions from 0, attending only to itself), so packing
 * changes no sample's loss; the rest of a window is padding that the loss ignores. A sample longer
 * than the window is truncated to it.
 */
export function packSamples(samples: readonly TrainingSample[], contextLength: number, padToken: number): PackingReport {
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
    // a label at i is the token at i + 1 when that token is a target
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
}
