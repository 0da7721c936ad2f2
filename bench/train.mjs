#!/usr/bin/env node
// bench/train: tokens/s and peak RSS of LoRA training on f32, q8_0 and q4_k_m bases against
// llama.cpp's own full fine-tune (llama_opt_param_filter_all, same patched library), on the same
// generated model, the same random token windows and the same threads, each in its own process.
//
//   npm run bench:train [-- --layers 8 --embd 512 --ctx 256 --steps 6 --threads 2 --rank 16]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantize, readGgufHeader } from "../dist/index.js";
import { writeTinyLlamaGguf } from "../dist/testing/tiny-llama.js";
import { initialAdapterTensors, writeAdapterGguf } from "../dist/train/adapter-file.js";
import { defaultLoraTargets, findLoraTargetTensors } from "../dist/train/lora-targets.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name, fallback) => Number(args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const layers = flag("layers", 8);
const embd = flag("embd", 512);
const contextLength = flag("ctx", 256);
const steps = flag("steps", 6);
const threads = flag("threads", availableParallelism());
const rank = flag("rank", 16);
const vocabularySize = 32000;

const workDir = path.join(root, ".bench", "train");
mkdirSync(workDir, { recursive: true });
const f32 = path.join(workDir, `llama-${layers}l-${embd}-f32.gguf`);
if (!existsSync(f32)) await writeTinyLlamaGguf(f32, { seed: 1, nLayer: layers, nEmbd: embd, nHead: 8, nHeadKv: 4, nFf: 3 * embd, vocabSize: vocabularySize });
const bases = { f32 };
for (const type of ["q8_0", "q4_k_m"]) {
  bases[type] = f32.replace("-f32.gguf", `-${type}.gguf`);
  if (!existsSync(bases[type])) await quantize(f32, bases[type], { type });
}
const header = await readGgufHeader(f32);
const adapter = path.join(workDir, `adapter-r${rank}.gguf`);
await writeAdapterGguf(adapter, {
  architecture: "llama",
  alpha: 2 * rank,
  tensors: initialAdapterTensors(findLoraTargetTensors(header, defaultLoraTargets), rank, 1),
});
const parameters = header.tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);

function run(label, options) {
  const output = execFileSync(process.execPath, [path.join(root, "bench", "train-child.mjs"), JSON.stringify({ contextLength, steps, threads, seed: 7, vocabularySize, ...options })], { encoding: "utf8" });
  return { label, ...JSON.parse(output.trim().split("\n").at(-1)) };
}

const results = [
  run("full fine-tune, f32 base (llama.cpp)", { model: f32, fullFineTune: true }),
  run(`LoRA r=${rank}, f32 base`, { model: f32, adapter }),
  run(`LoRA r=${rank}, q8_0 base`, { model: bases.q8_0, adapter }),
  run(`LoRA r=${rank}, q4_k_m base`, { model: bases.q4_k_m, adapter }),
];
const baseline = results[0];
console.log(`model: llama ${layers} layers, n_embd ${embd}, vocab ${vocabularySize} (${(parameters / 1e6).toFixed(1)}M parameters); ctx ${contextLength}, ${threads} threads, ${steps} steps (first left out)`);
for (const result of results) {
  console.log(
    `${result.label.padEnd(40)} ${result.tokensPerSecond.toFixed(0).padStart(6)} tok/s (x${(result.tokensPerSecond / baseline.tokensPerSecond).toFixed(2)})` +
      `   peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(0).padStart(5)} MiB (x${(result.peakRssBytes / baseline.peakRssBytes).toFixed(2)})`,
  );
}
