#!/usr/bin/env node
// bench/quantize: our quantize() against llama.cpp's own llama-quantize, built from the same
// patched source, on the same generated model, same type and threads, in one run.
//
//   npm run bench:quantize [-- --type q4_k_m --threads 2 --runs 3 --layers 12]
//
// Prints the median wall time of each, their ratio, and whether the outputs are byte-identical.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantize } from "../dist/index.js";
import { llamaTool } from "./llama-tools.mjs";
import { writeTinyLlamaGguf } from "../dist/testing/tiny-llama.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const type = flag("type", "q4_k_m");
const threads = Number(flag("threads", String(availableParallelism())));
const runs = Number(flag("runs", "3"));
const layers = Number(flag("layers", "12"));

const tool = llamaTool("llama-quantize");

const workDir = path.join(root, ".bench");
mkdirSync(workDir, { recursive: true });
const input = path.join(workDir, `bench-llama-${layers}l-f32.gguf`);
if (!existsSync(input)) {
  await writeTinyLlamaGguf(input, { seed: 1, nLayer: layers, nEmbd: 768, nFf: 2048, nHead: 12, nHeadKv: 4, vocabSize: 32000 });
}
const ours = path.join(workDir, "ours.gguf");
const theirs = path.join(workDir, "llama-quantize.gguf");

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ourTimes = [];
const theirTimes = [];
for (let run = 0; run < runs; run++) {
  rmSync(theirs, { force: true });
  let started = performance.now();
  const result = spawnSync(tool, [input, theirs, type.toUpperCase(), String(threads)], { stdio: "ignore" });
  if (result.status !== 0) throw new Error(`llama-quantize failed with ${result.status}`);
  theirTimes.push((performance.now() - started) / 1000);

  started = performance.now();
  await quantize(input, ours, { type, threads, force: true });
  ourTimes.push((performance.now() - started) / 1000);
}

const identical = readFileSync(ours).equals(readFileSync(theirs));
const inputMiB = statSync(input).size / 2 ** 20;
console.log(`input: ${path.relative(root, input)} (${inputMiB.toFixed(0)} MiB f32), type ${type}, threads ${threads}, ${runs} runs`);
console.log(`lora-gguf quantize: median ${median(ourTimes).toFixed(2)} s  [${ourTimes.map((t) => t.toFixed(2)).join(", ")}]`);
console.log(`llama-quantize:     median ${median(theirTimes).toFixed(2)} s  [${theirTimes.map((t) => t.toFixed(2)).join(", ")}]`);
console.log(`ratio (ours / llama-quantize): ${(median(ourTimes) / median(theirTimes)).toFixed(3)}`);
console.log(`outputs byte-identical: ${identical}`);
