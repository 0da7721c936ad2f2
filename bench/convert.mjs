#!/usr/bin/env node
// bench/convert: converting a generated Hugging Face checkpoint of over 1 GB (bf16 -> bf16, which
// takes the same byte-copy path as f16 -> f16) against `cp` of the same bytes on the same disk.
// Prints the time ratio and the converter's peak RSS against the target (2x the largest tensor + 64 MiB).
//
//   npm run bench:convert [-- --hidden 1536 --layers 4]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { readSafetensorsHeader } from "../dist/convert/safetensors.js";
import { writeTinyHfCheckpoint } from "../dist/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../dist/testing/tiny-hf-tokenizer.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name, fallback) => Number(args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const hidden = flag("hidden", 1536);
const layers = flag("layers", 4);

const workDir = path.join(root, ".bench", "convert");
const checkpoint = path.join(workDir, `qwen2-${layers}l-${hidden}-bf16`);
mkdirSync(workDir, { recursive: true });
if (!existsSync(path.join(checkpoint, "config.json"))) {
  console.error("bench: generating the checkpoint (once)...");
  const tokenizer = await tinyHfTokenizer({ family: "qwen2" });
  await writeTinyHfCheckpoint(checkpoint, {
    architecture: "qwen2", dtype: "bfloat16", seed: 1, nLayer: layers, hiddenSize: hidden, nHead: 12, nKvHead: 2,
    intermediateSize: Math.round((hidden * 8) / 3 / 256) * 256, maxPositionEmbeddings: 4096, ropeTheta: 1e6, rmsNormEps: 1e-6,
    vocabSize: tokenizer.vocabSize, shards: 2, tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
  });
}
const shards = readdirSync(checkpoint).filter((file) => file.endsWith(".safetensors")).map((file) => path.join(checkpoint, file));
const checkpointBytes = shards.reduce((sum, file) => sum + statSync(file).size, 0);
let largestTensor = 0;
for (const shard of shards) for (const tensor of (await readSafetensorsHeader(shard)).tensors) largestTensor = Math.max(largestTensor, tensor.byteLength);

const copyTarget = path.join(workDir, "copy.bin");
let started = performance.now();
for (const shard of shards) execFileSync("cp", [shard, `${copyTarget}.${path.basename(shard)}`]);
execFileSync("sync");
const copySeconds = (performance.now() - started) / 1000;
for (const shard of shards) rmSync(`${copyTarget}.${path.basename(shard)}`);

const output = path.join(workDir, "converted.gguf");
started = performance.now();
const result = JSON.parse(execFileSync(process.execPath, [path.join(root, "bench", "convert-child.mjs"), checkpoint, output], { encoding: "utf8" }).trim().split("\n").at(-1));
execFileSync("sync");
const convertSeconds = (performance.now() - started) / 1000;
rmSync(output);

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const rssTarget = 2 * largestTensor + 64 * 2 ** 20;
console.log(`checkpoint: ${mib(checkpointBytes)} in ${shards.length} shards, largest tensor ${mib(largestTensor)}`);
console.log(`cp:        ${copySeconds.toFixed(2)} s`);
console.log(`convert:   ${convertSeconds.toFixed(2)} s (process included; ${result.seconds.toFixed(2)} s inside)  ratio ${(convertSeconds / copySeconds).toFixed(2)} (target <= 1.5)`);
console.log(`peak RSS:  ${mib(result.peakRssBytes)} (target <= ${mib(rssTarget)}: 2x largest tensor + 64 MiB) ${result.peakRssBytes <= rssTarget ? "ok" : "OVER"}`);
