#!/usr/bin/env node
// bench/train-abort: how soon an AbortSignal stops train() at real scale, and that what it leaves
// resumes exactly. On a SmolLM2-135M-shaped base (random weights) at a 2048-token context: a straight
// run of --steps steps; then runs aborted at --delays seconds into step 2, each timed from abort() to
// train()'s rejection (the checkpoint it writes included); the first of them resumed to --steps and its
// adapter compared bit for bit with the straight run's.
//
//   npm run bench:train-abort [-- --type q8_0 --ctx 2048 --steps 3 --delays 0.5,2,4 --threads 2]
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantize, readGgufHeader, train } from "../dist/index.js";
import { readCheckpoint } from "../dist/train/checkpoint.js";
import { option } from "./bench-options.mjs";
import { writeFullWindowText } from "./full-window-text.mjs";
import { shapeBaseModel } from "./model-shapes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const shapeName = option("shape", "smollm2-135m");
const type = option("type", "q8_0");
const contextLength = Number(option("ctx", 2048));
const steps = Number(option("steps", 3));
const delays = String(option("delays", "0.5,2,4")).split(",").map(Number);
const threads = Number(option("threads", 2));

const workDir = path.join(root, ".bench", "train");
const f32 = await shapeBaseModel(shapeName, workDir);
const model = path.join(workDir, `${shapeName}-${type}.gguf`);
if (!existsSync(model)) await quantize(f32, model, { type, threads });
const data = path.join(workDir, `abort-windows-${contextLength}.jsonl`);
writeFullWindowText(data, { rows: steps + 1, wordsPerRow: 1.5 * contextLength });
const runs = path.join(workDir, "abort-runs");
rmSync(runs, { recursive: true, force: true });

const common = { model, data, contextLength, rank: 16, alpha: 32, learningRate: 1e-4, maxSteps: steps, seed: 3, threads, checkpointInterval: 1000, force: true };
const runDir = (name) => {
  mkdirSync(path.join(runs, name), { recursive: true });
  return path.join(runs, name, "adapter.gguf");
};

const straightStarted = performance.now();
const straight = await train({ ...common, output: runDir("straight") });
const stepSeconds = (performance.now() - straightStarted) / 1000 / steps;
console.log(`${shapeName} ${type}, ctx ${contextLength}, rank 16, ${threads} threads: straight run of ${steps} steps, ${straight.tokensPerSecond.toFixed(0)} tok/s (about ${(contextLength / straight.tokensPerSecond).toFixed(1)} s a step)`);

const latencies = [];
let resumable;
for (const [index, delay] of delays.entries()) {
  const output = runDir(`aborted-${index}`);
  const controller = new AbortController();
  let abortedAt = 0;
  const error = await train({
    ...common,
    output,
    signal: controller.signal,
    onProgress: (progress) => {
      if (progress.step === 1) {
        setTimeout(() => {
          abortedAt = performance.now();
          controller.abort();
        }, delay * 1000);
      }
    },
  }).catch((e) => e);
  const latencyMs = performance.now() - abortedAt;
  if (error?.name !== "AbortError") throw new Error(`run ${index} did not end with the abort: ${error}`);
  const checkpointStep = (await readCheckpoint(path.join(path.dirname(output), "checkpoint.gguf"))).step;
  latencies.push(latencyMs);
  console.log(`abort ${delay} s into step 2: train() rejected ${latencyMs.toFixed(0)} ms after abort(); checkpoint at step ${checkpointStep}`);
  if (!resumable && checkpointStep === 1) resumable = output;
}
console.log(`abort latency: max ${Math.max(...latencies).toFixed(0)} ms over ${latencies.length} aborts (a step takes ${(stepSeconds * 1000).toFixed(0)} ms here)`);

if (resumable) {
  const resumed = await train({ ...common, output: resumable, resume: path.join(path.dirname(resumable), "checkpoint.gguf") });
  const bytes = async (file) => {
    const header = await readGgufHeader(file);
    const content = readFileSync(file);
    return new Map(header.tensors.map((tensor) => [tensor.name, content.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize)]));
  };
  const expected = await bytes(straight.adapter);
  const actual = await bytes(resumed.adapter);
  const differing = [...expected].filter(([name, value]) => !actual.get(name)?.equals(value)).length;
  console.log(`resumed from the step-1 checkpoint to step ${resumed.steps}: ${differing === 0 ? "bit for bit" : `${differing} of ${expected.size} tensors differ from`} the straight run's adapter`);
  if (differing !== 0) process.exitCode = 1;
}
