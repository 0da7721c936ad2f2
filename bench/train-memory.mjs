#!/usr/bin/env node
// bench/train-memory: peak RSS and tokens/s of LoRA training against the context length, with and
// without recomputation (patches/0007), on real model shapes with random weights. Each run is
// train() itself in a fresh process (test/fixtures/train-peak-rss.mjs: peak RSS from VmHWM, and the
// dry run's memory estimate for the same run), on text rows longer than the context, so that every
// window is full and every position labelled (the worst case for the loss). tok/s is the last
// step's (metrics.jsonl), so the first step's allocations are left out. The speed ratio compares the
// two runs at the same context; a run whose estimate does not fit this machine is left out.
//
//   npm run bench:train-memory -- [--shape smollm2-135m] [--type q8_0] [--contexts 256,512,1024,2048,4096]
//                                 [--steps 3] [--threads 2] [--rank 16] [--recompute off,on]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantize } from "../dist/index.js";
import { option } from "./bench-options.mjs";
import { modelShapes, shapeBaseModel } from "./model-shapes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const shapeName = option("shape", "smollm2-135m");
const shape = modelShapes[shapeName];
if (!shape) throw new Error(`--shape must be one of ${Object.keys(modelShapes).join(", ")}`);
const type = option("type", "q8_0");
const contexts = option("contexts", "256,512,1024,2048,4096").split(",").map(Number);
const steps = Number(option("steps", 3));
const threads = Number(option("threads", availableParallelism()));
const rank = Number(option("rank", 16));
const modes = option("recompute", "off,on").split(",").map((mode) => mode === "on");

const workDir = path.join(root, ".bench", "train");
const f32 = await shapeBaseModel(shapeName, workDir);
const model = type === "f32" ? f32 : f32.replace("-f32.gguf", `-${type}.gguf`);
if (!existsSync(model)) await quantize(f32, model, { type, threads });
// rows of random common words, each longer than the longest context: one truncated row per window
const data = path.join(workDir, "memory-bench-text.jsonl");
if (!existsSync(data)) {
  const words = "the of and to in is was for on that with as by at from his her an be this which or had are not but have were they one all".split(" ");
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const rows = Array.from({ length: 32 }, () => JSON.stringify({ text: Array.from({ length: 9000 }, () => words[Math.floor(next() * words.length)]).join(" ") }));
  writeFileSync(data, rows.join("\n") + "\n");
}
const fixture = path.join(root, "test", "fixtures", "train-peak-rss.mjs");

const MiB = 2 ** 20;
console.log(`${shapeName} (${type}): ${shape.nLayer} layers, hidden ${shape.nEmbd}, ffn ${shape.nFf}, heads ${shape.nHead}/${shape.nHeadKv}, vocab ${shape.vocabSize}; rank ${rank} on all seven targets, ${threads} threads, ${steps} steps (tok/s of the last)`);
console.log(`${"ctx".padStart(5)}  ${"recompute".padEnd(9)} ${"RSS MiB".padStart(8)} ${"estimate".padStart(9)} ${"error".padStart(6)} ${"tok/s".padStart(7)} ${"xRSS".padStart(6)} ${"xcost".padStart(6)}`);
for (const contextLength of contexts) {
  const rows = {};
  for (const recomputeLayers of modes) {
    const output = path.join(workDir, `memory-bench-out`, "adapter.gguf");
    mkdirSync(path.dirname(output), { recursive: true });
    const options = { model, data, output, noChatTemplate: true, contextLength, maxSteps: steps, threads, rank, recompute: recomputeLayers ? "on" : "off", force: true };
    const dryRun = JSON.parse(execFileSync(process.execPath, [fixture, JSON.stringify({ ...options, dryRunOnly: true })], { encoding: "utf8" }).trim().split("\n").at(-1));
    const estimate = dryRun.estimate;
    if (!estimate.fits) {
      console.log(`${String(contextLength).padStart(5)}  ${(recomputeLayers ? "on" : "off").padEnd(9)} ${"-".padStart(8)} ${(estimate.totalBytes / MiB).toFixed(0).padStart(9)}  (estimate does not fit ${(estimate.availableBytes / MiB).toFixed(0)} MiB: not run)`);
      continue;
    }
    const run = JSON.parse(execFileSync(process.execPath, [fixture, JSON.stringify(options)], { encoding: "utf8" }).trim().split("\n").at(-1));
    const metrics = readFileSync(path.join(path.dirname(output), "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const result = { peakRssBytes: run.peakRssBytes, tokensPerSecond: metrics.at(-1).tokensPerSecond };
    rows[recomputeLayers] = result;
    const error = estimate.totalBytes / result.peakRssBytes - 1;
    const off = rows[false];
    const ratios = recomputeLayers && off
      ? `${(result.peakRssBytes / off.peakRssBytes).toFixed(2).padStart(6)} ${(off.tokensPerSecond / result.tokensPerSecond).toFixed(2).padStart(6)}`
      : "";
    console.log(
      `${String(contextLength).padStart(5)}  ${(recomputeLayers ? "on" : "off").padEnd(9)} ${(result.peakRssBytes / MiB).toFixed(0).padStart(8)} ${(estimate.totalBytes / MiB).toFixed(0).padStart(9)} ` +
        `${`${(error * 100).toFixed(1)}%`.padStart(6)} ${result.tokensPerSecond.toFixed(1).padStart(7)} ${ratios}`,
    );
  }
}
