import { LoraGgufError } from "../errors.js";
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

/**
 * Where the windows of one sample order begin: window `w` packs the samples at
 * `order[windowStarts[w]]` up to (not including) `order[windowStarts[w + 1]]`, skipping those with
 * nothing to learn. The last entry is the order's length.
 */
export interface WindowLayout {
  windowStarts: Uint32Array;
  /** Samples cut to the context length. */
  truncatedSamples: number;
  /** Samples with nothing left to learn within the context (the prompt fills it), in order. */
  emptySamples: TrainingSample[];
  /** Most samples in one window, plus one for the padding: the context's sequence count. */
  maxSequencesPerWindow: number;
  /** Labelled tokens over all the windows. */
  labelledTokens: number;
  /** Most labelled tokens in one window: the rows of the output head a step computes (patches/0007). */
  maxLabelledTokensPerWindow: number;
}

// llama.cpp's LLAMA_MAX_SEQ: a window holds at most this many sequences, padding included
const MAX_SEQUENCES = 256;

interface Placement {
  /** The sample's first token in the window. */
  offset: number;
  /** Tokens of it in the window (truncated to the context). */
  length: number;
  labelled: number;
  /** Its sequence id in the window. */
  sequence: number;
  /** The sample begins a new window. */
  opensWindow: boolean;
}

interface PackingVisitor {
  placed(sample: TrainingSample, placement: Placement, position: number): void;
  /** The window just placed into is complete, `used` of its tokens holding `sequences` samples. */
  closed?(used: number, sequences: number): void;
  /** A sample with nothing to learn within the context, left out. */
  empty?(sample: TrainingSample): void;
}

/**
 * The packing rule, the one place it is written: walks `order[from..to)` and places each sample
 * after the previous one in the current window, opening a new window when it does not fit in the
 * rest of the context or the window has run out of sequence ids. A sample longer than the context
 * is truncated to it; one with no labelled token in what is kept is left out. Windows are
 * independent of what came before them, so walking one window's range from its start places its
 * samples exactly as walking the whole order did.
 */
function walkPacking(samples: readonly TrainingSample[], order: Uint32Array, from: number, to: number, contextLength: number, visitor: PackingVisitor): void {
  let used = 0;
  let sequences = 0;
  for (let position = from; position < to; position++) {
    const sample = samples[order[position]];
    const length = Math.min(sample.tokens.length, contextLength);
    // a label at i is the token at i + 1 when that token is a target
    let labelled = 0;
    for (let i = 0; i + 1 < length; i++) labelled += sample.targets[i + 1];
    if (labelled === 0) {
      visitor.empty?.(sample);
      continue;
    }
    const opensWindow = sequences === 0 || used + length > contextLength || sequences + 1 >= MAX_SEQUENCES;
    if (opensWindow && sequences > 0) {
      visitor.closed?.(used, sequences);
      used = 0;
      sequences = 0;
    }
    visitor.placed(sample, { offset: used, length, labelled, sequence: sequences, opensWindow }, position);
    used += length;
    sequences += 1;
  }
  if (sequences > 0) visitor.closed?.(used, sequences);
}

/** The window boundaries of packing `samples`, in `order` (indices into `samples`), into windows of `contextLength` tokens. */
export function layOutWindows(samples: readonly TrainingSample[], order: Uint32Array, contextLength: number): WindowLayout {
  const starts: number[] = [];
  const emptySamples: TrainingSample[] = [];
  let truncatedSamples = 0;
  let maxSequencesPerWindow = 1;
  let labelledTokens = 0;
  let maxLabelledTokensPerWindow = 0;
  let windowLabelled = 0;
  walkPacking(samples, order, 0, order.length, contextLength, {
    placed(sample, placement, position) {
      if (placement.opensWindow) starts.push(position);
      if (sample.tokens.length > contextLength) truncatedSamples += 1;
      labelledTokens += placement.labelled;
      windowLabelled += placement.labelled;
    },
    closed(used, sequences) {
      maxSequencesPerWindow = Math.max(maxSequencesPerWindow, sequences + (used < contextLength ? 1 : 0));
      maxLabelledTokensPerWindow = Math.max(maxLabelledTokensPerWindow, windowLabelled);
      windowLabelled = 0;
    },
    empty(sample) {
      if (sample.tokens.length > contextLength) truncatedSamples += 1;
      emptySamples.push(sample);
    },
  });
  starts.push(order.length);
  return { windowStarts: Uint32Array.from(starts), truncatedSamples, emptySamples, maxSequencesPerWindow, labelledTokens, maxLabelledTokensPerWindow };
}

/**
 * Packs the samples at `order[from..to)`, one window's range of a layout, into a window. Each
 * sample is its own sequence (its own positions from 0, attending only to itself), so packing
 * changes no sample's loss; the rest of the window is padding, one more sequence that the loss
 * ignores.
 */
export function packWindow(samples: readonly TrainingSample[], order: Uint32Array, from: number, to: number, contextLength: number, padToken: number): TrainingWindow {
  const window = unfilledWindow(contextLength);
  let used = 0;
  walkPacking(samples, order, from, to, contextLength, {
    placed(sample, { offset, length, labelled, sequence, opensWindow }) {
      if (opensWindow && window.sampleCount > 0) {
        throw new LoraGgufError("E_INVALID_OPTION", `packWindow: order[${from}..${to}) holds more than one window; give a range from layOutWindows`);
      }
      for (let i = 0; i < length; i++) {
        window.tokens[offset + i] = sample.tokens[i];
        window.labels[offset + i] = i + 1 < length && sample.targets[i + 1] ? sample.tokens[i + 1] : -1;
        window.positions[offset + i] = i;
        window.seqIds[offset + i] = sequence;
      }
      window.labelledTokens += labelled;
      window.sampleCount += 1;
      used = offset + length;
    },
  });
  padWindow(window, used, padToken);
  return window;
}

/** Bytes of one window's token arrays (tokens, labels, positions and sequence ids, Int32Array each). */
export function windowBytes(contextLength: number): number {
  return 4 * Int32Array.BYTES_PER_ELEMENT * contextLength;
}

/** A window with no sample in it, which the loss ignores: fills out a last, partial optimizer step. */
export function emptyWindow(contextLength: number, padToken: number): TrainingWindow {
  const window = unfilledWindow(contextLength);
  padWindow(window, 0, padToken);
  return window;
}

function unfilledWindow(contextLength: number): TrainingWindow {
  return {
    tokens: new Int32Array(contextLength),
    labels: new Int32Array(contextLength),
    positions: new Int32Array(contextLength),
    seqIds: new Int32Array(contextLength),
    labelledTokens: 0,
    sampleCount: 0,
  };
}

function padWindow(window: TrainingWindow, used: number, padToken: number): void {
  const padSequence = window.sampleCount;
  for (let i = used; i < window.tokens.length; i++) {
    window.tokens[i] = padToken;
    window.labels[i] = -1;
    window.positions[i] = i - used;
    window.seqIds[i] = padSequence;
  }
}
