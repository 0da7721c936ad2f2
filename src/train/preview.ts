import type { RecordSource } from "../data/index.js";
import { loadNative } from "../native.js";
import { prepareTrainingRun } from "./prepare-run.js";
import { countSpanMethods } from "./training-samples.js";
import { resolveTrainOptions, type TrainOptions } from "./train-options.js";

/** What a run would train on, before any weights are loaded. */
export interface TrainingPreview {
  /**
   * A sample of the dataset, token by token, with whether the loss looks at each token: the first with
   * more than one trained span (a multi-turn conversation) if there is one, else the first.
   */
  example: { source: RecordSource; tokens: { text: string; trained: boolean }[] };
  stats: TrainingLengthStats;
}

/** Tokens per sample over the whole dataset (before the validation split). */
export interface TrainingLengthStats {
  samples: number;
  minTokens: number;
  /** Nearest-rank percentiles, so every value is the length of a real sample. */
  medianTokens: number;
  p95Tokens: number;
  maxTokens: number;
  contextLength: number;
  /** Samples longer than `contextLength`, which training cuts to it. */
  truncatedAtContext: number;
  /** Trained tokens over all tokens, before truncation. */
  trainedTokenFraction: number;
  /** Chat samples whose response spans were found by prefix renders, and by searching the render (templates that rewrite earlier turns). */
  chatSpans: { prefix: number; search: number };
  tokenLengthHistogram: TokenLengthHistogram;
}

/**
 * Samples by length: `counts[i]` is the number longer than `binTokens`·i and at most `binTokens`·(i+1)
 * tokens, in bins that reach the longest sample and the context length. `binTokens` is a power of two,
 * so while it is at most 256 (samples up to 16,384 tokens) the context length, a multiple of 256, is
 * a bin edge: the bins past it hold the samples training truncates.
 */
export interface TokenLengthHistogram {
  binTokens: number;
  counts: number[];
}

/** At most this many bins, few enough to draw and to read. */
const MAX_HISTOGRAM_BINS = 64;

/** Options as for train(); the output may be left out, since a preview writes nothing. */
export type TrainingPreviewOptions = Omit<TrainOptions, "output" | "signal" | "onProgress"> & { output?: string };

/**
 * Renders and tokenizes the dataset exactly as train() would (chat template, loss mask, context
 * length), with a vocabulary-only tokenizer: no model weights are loaded.
 */
export async function previewTraining(options: TrainingPreviewOptions): Promise<TrainingPreview> {
  // resolveTrainOptions checks every option as train() does; the output path is never opened here
  const { config } = resolveTrainOptions({ ...options, output: options.output ?? "preview.gguf" });
  const run = await prepareTrainingRun(config);
  const first = run.samples.find((sample) => trainedRuns(sample.targets) > 1) ?? run.samples[0];
  const native = await loadNative();
  const tokenizer = await native.openTokenizer(config.model);
  let pieces: string[];
  try {
    pieces = await tokenizer.pieces(first.tokens);
  } finally {
    await tokenizer.close();
  }
  const lengths = run.samples.map((sample) => sample.tokens.length).sort((a, b) => a - b);
  const contextLength = run.plan.contextLength;
  let trainedTokens = 0;
  for (const sample of run.samples) for (const target of sample.targets) trainedTokens += target;
  const totalTokens = lengths.reduce((sum, length) => sum + length, 0);
  return {
    example: { source: first.source, tokens: pieces.map((text, index) => ({ text, trained: first.targets[index] === 1 })) },
    stats: {
      samples: lengths.length,
      minTokens: lengths[0],
      medianTokens: nearestRank(lengths, 0.5),
      p95Tokens: nearestRank(lengths, 0.95),
      maxTokens: lengths[lengths.length - 1],
      contextLength,
      truncatedAtContext: lengths.filter((length) => length > contextLength).length,
      trainedTokenFraction: totalTokens > 0 ? trainedTokens / totalTokens : 0,
      chatSpans: countSpanMethods(run.samples),
      tokenLengthHistogram: tokenLengthHistogram(lengths, contextLength),
    },
  };
}

/** `sortedLengths` in ascending order. */
function tokenLengthHistogram(sortedLengths: readonly number[], contextLength: number): TokenLengthHistogram {
  const longest = Math.max(contextLength, sortedLengths[sortedLengths.length - 1] ?? 0, 1);
  let binTokens = 1;
  while (Math.ceil(longest / binTokens) > MAX_HISTOGRAM_BINS) binTokens *= 2;
  const counts = new Array<number>(Math.ceil(longest / binTokens)).fill(0);
  for (const length of sortedLengths) counts[Math.max(0, Math.ceil(length / binTokens) - 1)]++;
  return { binTokens, counts };
}

function trainedRuns(targets: Uint8Array): number {
  let runs = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] === 1 && (i === 0 || targets[i - 1] === 0)) runs++;
  return runs;
}

function nearestRank(sorted: readonly number[], fraction: number): number {
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)];
}

const ansi = { dim: "\x1b[2m", trained: "\x1b[1;32m", reset: "\x1b[0m" };

/**
 * The example with its masked (prompt) part dimmed and its trained part highlighted in colour,
 * or without colour the trained runs inside `[[` `]]`; then the length statistics.
 */
export function formatTrainingPreview(preview: TrainingPreview, options: { color: boolean }): string {
  const { example, stats } = preview;
  const shown = example.tokens.slice(0, stats.contextLength);
  let text = "";
  for (let start = 0; start < shown.length; ) {
    const trained = shown[start].trained;
    let end = start;
    while (end < shown.length && shown[end].trained === trained) end++;
    const run = visible(shown.slice(start, end).map((token) => token.text).join(""));
    if (options.color) text += `${trained ? ansi.trained : ansi.dim}${run}${ansi.reset}`;
    else text += trained ? `[[${run}]]` : run;
    start = end;
  }
  const legend = options.color ? `${ansi.trained}trained${ansi.reset}, ${ansi.dim}masked${ansi.reset}` : "[[trained]], the rest masked";
  const where = `${example.source.file}:${example.source.line}${example.source.index === undefined ? "" : ` element ${example.source.index}`}`;
  const lines = [`example from ${where}, ${example.tokens.length} tokens (${legend}):`, text];
  if (example.tokens.length > shown.length) lines.push(`... ${example.tokens.length - shown.length} more tokens cut at the context length`);

  const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
  const rows: [string, string][] = [
    ["samples", String(stats.samples)],
    ["tokens min", String(stats.minTokens)],
    ["tokens median", String(stats.medianTokens)],
    ["tokens p95", String(stats.p95Tokens)],
    ["tokens max", String(stats.maxTokens)],
    ["context length", String(stats.contextLength)],
    ["truncated", `${stats.truncatedAtContext} (${percent(stats.samples > 0 ? stats.truncatedAtContext / stats.samples : 0)}) longer than the context`],
    ["trained tokens", `${percent(stats.trainedTokenFraction)} of all tokens`],
  ];
  const { prefix, search } = stats.chatSpans;
  if (prefix + search > 0) {
    rows.push(["chat spans", `${prefix} by prefix renders, ${search} by searching the render (the template rewrites earlier turns)`]);
  }
  lines.push("", ...rows.map(([label, value]) => `${label.padEnd(16)}${value}`));
  return `${lines.join("\n")}\n`;
}

/** Control characters (other than newline and tab) as escapes, so a dataset cannot drive the terminal. */
function visible(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
