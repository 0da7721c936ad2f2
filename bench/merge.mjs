#!/usr/bin/env node
// bench/merge: our merge against llama.cpp's llama-export-lora, built from the same patched source,
// on the same base and adapter and threads; time and peak RSS of each (in its own process), ratios.
//
//   npm run bench:merge [-- --layers 8 --embd 768 --rank 16 --threads 2 --repeats 7]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { readGgufHeader } from "../dist/index.js";
import { option } from "./bench-options.mjs";
import { llamaTool } from "./llama-tools.mjs";
import { writeTinyLlamaGguf } from "../dist/testing/tiny-llama.js";
import { SeededRandom } from "../dist/seeded-random.js";
import { initialAdapterTensors, writeAdapterGguf } from "../dist/train/adapter-file.js";
import { defaultLoraTargets, findLoraTargetTensors } from "../dist/train/lora-targets.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const layers = Number(option("layers", 8));
const embd = Number(option("embd", 768));
const rank = Number(option("rank", 16));
const threads = Number(option("threads", availableParallelism()));
const repeats = Number(option("repeats", 7));

const tool = llamaTool("llama-export-lora");

const workDir = path.join(root, ".bench", "merge");
mkdirSync(workDir, { recursive: true });
const base = path.join(workDir, `llama-${layers}l-${embd}-f16.gguf`);
if (!existsSync(base)) await writeTinyLlamaGguf(base, { seed: 1, nLayer: layers, nEmbd: embd, nHead: 12, nHeadKv: 4, nFf: 2048, vocabSize: 32000, weightType: "f16" });
const adapter = path.join(workDir, `adapter-r${rank}.gguf`);
const header = await readGgufHeader(base);
const tensors = initialAdapterTensors(findLoraTargetTensors(header, defaultLoraTargets), rank, 1);
const random = new SeededRandom(2);
for (const tensor of tensors) if (tensor.name.endsWith(".lora_b")) random.fillNormal(tensor.data, 0, 0.01);
await writeAdapterGguf(adapter, { architecture: "llama", alpha: 2 * rank, tensors });

function timed(command, commandArgs) {
  const started = performance.now();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", command, ...commandArgs], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr.slice(-500)}`);
  const peakKiB = Number(result.stderr.trim().split("\n").at(-1));
  return { seconds: (performance.now() - started) / 1000, peakBytes: peakKiB * 1024 };
}

const ours = path.join(workDir, "ours.gguf");
const theirs = path.join(workDir, "theirs.gguf");
// interleaved pairs, each run in its own process; the medians are reported (this machine is shared and noisy)
const oursRuns = [];
const theirsRuns = [];
for (let pair = 0; pair < repeats; pair++) {
  rmSync(ours, { force: true });
  oursRuns.push(timed(process.execPath, [path.join(root, "dist", "cli", "main.js"), "merge", "--model", base, "--lora", adapter, "-o", ours, "--threads", String(threads), "--force"]));
  theirsRuns.push(timed(tool, ["-m", base, "--lora", adapter, "-o", theirs, "-t", String(threads)]));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const oursSeconds = median(oursRuns.map((run) => run.seconds));
const theirsSeconds = median(theirsRuns.map((run) => run.seconds));
const oursPeak = median(oursRuns.map((run) => run.peakBytes));
const theirsPeak = median(theirsRuns.map((run) => run.peakBytes));
const oursBytes = readFileSync(ours);
const list = (runs) => runs.map((run) => run.seconds.toFixed(2)).join(", ");
console.log(`base ${path.basename(base)} (${(oursBytes.length / 2 ** 20).toFixed(0)} MiB f16), adapter rank ${rank} on every q,k,v,o,gate,up,down, ${threads} threads, ${repeats} interleaved pairs`);
console.log(`lora-gguf merge:   median ${oursSeconds.toFixed(2)} s (${list(oursRuns)}), peak RSS ${(oursPeak / 2 ** 20).toFixed(0)} MiB (node process included)`);
console.log(`llama-export-lora: median ${theirsSeconds.toFixed(2)} s (${list(theirsRuns)}), peak RSS ${(theirsPeak / 2 ** 20).toFixed(0)} MiB`);
console.log(`ratio (ours / llama-export-lora): time ${(oursSeconds / theirsSeconds).toFixed(2)}, peak RSS ${(oursPeak / theirsPeak).toFixed(2)}`);
