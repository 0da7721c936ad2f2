#!/usr/bin/env node
// bench/train-memory-8b (issue 9): does LoRA training of a Qwen3-8B Q4_K_M base at ctx 2048 fit in
// 16 GiB, and how well does the estimate hold at these widths?
//
// Default: a dry run on a Qwen3-8B-shaped Q4_K_M GGUF whose header (metadata, tokenizer, tensor
// table) is real and whose tensor data is a sparse hole: the estimate with recomputation off and on,
// and the dry run's own peak RSS (it reads only the header and vocabulary).
// --train-slice: a 2-layer slice of the same widths with random weights, quantized to Q4_K_M, trained
// for a few steps in a fresh process per run (test/fixtures/train-peak-rss.mjs), with recompute on
// and then off where the estimate fits this machine: measured peak RSS against the estimate. Heavy:
// writes a 6.5 GB f32 model once, quantizes it and trains at 4096 wide.
//
// Both use one text dataset whose rows are longer than the context, so every window holds one
// truncated row, packed full, with every position but the last labelled (the last one's next token
// lies past the cut).
//
//   npm run bench:train-memory-8b -- [--train-slice] [--threads 2] [--steps 2]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantize } from "../dist/index.js";
import { llamaSourceDir } from "../dist/testing/llama-source-dir.js";
import { writeSparseModelGguf, writeTinyModelGguf } from "../dist/testing/tiny-model.js";
import { formatMemoryEstimate } from "../dist/train/dry-run.js";
import { formatBytes } from "../dist/train/memory-estimate.js";
import { flag, option } from "./bench-options.mjs";
import { writeFullWindowText } from "./full-window-text.mjs";
import { modelShapes } from "./model-shapes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const trainSlice = flag("train-slice");
const threads = Number(option("threads", 2));
const steps = Number(option("steps", 2));

const CONTEXT_LENGTH = 2048;
const RANK = 16;
const BUDGET_BYTES = 16 * 2 ** 30;
const MiB = 2 ** 20;
// Qwen3-8B's max_position_embeddings; the runs give contextLength, so only the metadata needs it
const MODEL_CONTEXT = 40960;
const { vocab, ...shape } = modelShapes["qwen3-8b"];
const vocabPath = path.join(llamaSourceDir(), "models", `ggml-vocab-${vocab}.gguf`);

const workDir = path.join(root, ".bench", "train");
mkdirSync(workDir, { recursive: true });
const fixture = path.join(root, "test", "fixtures", "train-peak-rss.mjs");

const data = path.join(workDir, `full-windows-${CONTEXT_LENGTH}.jsonl`);
writeFullWindowText(data, { rows: Math.max(4, steps), wordsPerRow: 1.5 * CONTEXT_LENGTH });

/** The fixture's report for one run: a dry run, then train() unless dryRunOnly. */
function runFixture(options) {
  const output = execFileSync(process.execPath, [fixture, JSON.stringify(options)], { encoding: "utf8", maxBuffer: 64 * MiB });
  return JSON.parse(output.trim().split("\n").at(-1));
}

function trainOptions(model, recompute, name) {
  const output = path.join(workDir, `${name}-recompute-${recompute}`, "adapter.gguf");
  return { model, data, output, noChatTemplate: true, contextLength: CONTEXT_LENGTH, rank: RANK, maxSteps: steps, threads, recompute, seed: 7, force: true };
}

/** Whether every window the plan packs is one row cut to the context, labelled at all but its last position. */
function describeWindows(report) {
  const labelled = report.contextLength - 1;
  const full = report.truncatedSamples === report.trainingSamples && report.trainedTokensPerEpoch === report.trainingSamples * labelled;
  return `${report.trainingSamples} windows of ${report.contextLength} tokens, ${report.trainedTokensPerEpoch} labelled ` +
    (full ? `(every window full, ${labelled} labelled each)` : "(NOT all full: make the rows longer)");
}

const mib = (bytes) => (bytes / MiB).toFixed(0);

// Part 1: the dry run of the whole model
const sparse = path.join(workDir, "qwen3-8b-q4_k_m-sparse.gguf");
await writeSparseModelGguf(sparse, { ...shape, weightType: "q4_k_m", nCtx: MODEL_CONTEXT, vocabPath });
const sparseStat = statSync(sparse);
console.log(
  `Qwen3-8B-shaped Q4_K_M (sparse): ${shape.nLayer} layers, hidden ${shape.nEmbd}, ffn ${shape.nFf}, heads ${shape.nHead}/${shape.nHeadKv} of ${shape.headDim}, vocab ${shape.vocabSize}; ` +
    `file ${formatBytes(sparseStat.size)}, ${formatBytes(sparseStat.blocks * 512)} on disk`,
);
console.log(`rank ${RANK} on all seven targets, ctx ${CONTEXT_LENGTH}, ${threads} threads\n`);
const dryRuns = [];
for (const recompute of ["off", "on"]) {
  const report = runFixture({ ...trainOptions(sparse, recompute, "qwen3-8b-sparse"), dryRunOnly: true });
  dryRuns.push({ recompute, report });
  console.log(`recompute ${recompute}: ${describeWindows(report)}`);
  console.log(formatMemoryEstimate(report.estimate));
  console.log(`${report.estimate.totalBytes <= BUDGET_BYTES ? "within" : "OVER"} 16 GiB; dry run's own peak RSS ${mib(report.dryRunPeakRssBytes)} MiB\n`);
}
console.log(`${"recompute".padEnd(9)} ${"estimate".padStart(10)} ${"<= 16 GiB".padStart(9)} ${"dry-run RSS".padStart(11)}`);
for (const { recompute, report } of dryRuns) {
  const small = report.dryRunPeakRssBytes < report.estimate.parts.modelWeightsBytes / 10 ? "" : "  (not below a tenth of the weights)";
  console.log(
    `${recompute.padEnd(9)} ${formatBytes(report.estimate.totalBytes).padStart(10)} ${(report.estimate.totalBytes <= BUDGET_BYTES ? "yes" : "no").padStart(9)} ` +
      `${`${mib(report.dryRunPeakRssBytes)} MiB`.padStart(11)}${small}`,
  );
}

// Part 2: a 2-layer slice of the same widths, trained
if (trainSlice) {
  const sliceShape = { ...shape, nLayer: 2 };
  const slice = path.join(workDir, "qwen3-8b-slice2-q4_k_m.gguf");
  if (!existsSync(slice)) {
    const f32 = path.join(workDir, "qwen3-8b-slice2-f32.gguf");
    if (!existsSync(f32)) {
      console.error("\nbench: writing a 2-layer Qwen3-8B-wide f32 model with random weights (6.5 GB, once)...");
      await writeTinyModelGguf(f32, { ...sliceShape, seed: 1, nCtx: MODEL_CONTEXT, vocabPath });
    }
    console.error("bench: quantizing it to Q4_K_M...");
    await quantize(f32, slice, { type: "Q4_K_M", threads });
    // only the quantized copy is trained on; the f32 intermediate is rewritten if the cache is cleared
    rmSync(f32);
  }
  console.log(`\n2-layer slice (${formatBytes(statSync(slice).size)}, Q4_K_M), ${steps} steps each:`);
  const rows = [];
  for (const recompute of ["on", "off"]) {
    const options = trainOptions(slice, recompute, "qwen3-8b-slice2");
    const planned = runFixture({ ...options, dryRunOnly: true });
    if (!planned.estimate.fits) {
      rows.push({ recompute, estimate: planned.estimate, skipped: `estimate does not fit ${mib(planned.estimate.availableBytes)} MiB: not run` });
      continue;
    }
    mkdirSync(path.dirname(options.output), { recursive: true });
    const report = runFixture(options);
    console.log(`recompute ${recompute}: ${describeWindows(report)}, ${report.steps} steps in ${report.seconds.toFixed(1)} s`);
    rows.push({ recompute, estimate: report.estimate, peakRssBytes: report.peakRssBytes });
  }
  const parts = [
    ["weights", "modelWeightsBytes"], ["adapter", "adapterAndOptimizerBytes"], ["activ.", "activationsBytes"],
    ["logits", "logitsAndLabelsBytes"], ["KV", "kvCacheBytes"], ["runtime", "runtimeOverheadBytes"],
  ];
  console.log(
    `\n${"recompute".padEnd(9)} ${"RSS MiB".padStart(8)} ${"estimate".padStart(9)} ${"error".padStart(7)}  ` +
      parts.map(([label]) => label.padStart(8)).join(" "),
  );
  for (const { recompute, estimate, peakRssBytes, skipped } of rows) {
    const measured = peakRssBytes === undefined ? "-" : mib(peakRssBytes);
    const error = peakRssBytes === undefined ? "-" : `${((estimate.totalBytes / peakRssBytes - 1) * 100).toFixed(1)}%`;
    console.log(
      `${recompute.padEnd(9)} ${measured.padStart(8)} ${mib(estimate.totalBytes).padStart(9)} ${error.padStart(7)}  ` +
        parts.map(([, key]) => mib(estimate.parts[key]).padStart(8)).join(" ") + (skipped ? `  (${skipped})` : ""),
    );
  }
}
