#!/usr/bin/env node
// bench/train: LoRA training tokens/s, peak RSS and MFU on bases of every type ggml can make here,
// on real model shapes with random weights, against llama.cpp's own full fine-tune (same patched
// library, llama_opt_param_filter_all) and a PyTorch CPU LoRA (bench/peers/torch_lora.py), all on
// the same shape, window length and threads, each in its own process, in one run. MFU divides the
// FLOPs per token (bench/model-shapes.mjs) by a GEMM peak measured here with ggml's own mul_mat.
//
//   npm run bench:train -- --shape smollm2-135m --ctx 512 [--steps 4] [--threads 2] [--rank 16]
//                          [--types f32,q8_0,q4_k_m] [--no-peers] [--thread-scaling] [--recompute-cost]
//
// Every run uses train()'s own memory layout (chunked loss and attention, trainingMemoryLayout) with
// recomputation off. --recompute-cost adds, for each listed type, two interleaved off/on pairs and
// the time per token with recomputation on over the time without (the machine's noise shows as the
// spread between the pairs).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { quantize, readGgufHeader } from "../dist/index.js";
import { ggmlTypeInfo } from "../dist/gguf/ggml-types.js";
import { loadNative } from "../dist/native.js";
import { initialAdapterTensors, writeAdapterGguf } from "../dist/train/adapter-file.js";
import { defaultLoraTargets, findLoraTargetTensors } from "../dist/train/lora-targets.js";
import { trainingMemoryLayout } from "../dist/train/memory-estimate.js";
import { flag, option } from "./bench-options.mjs";
import { flopsPerToken, modelShapes, shapeBaseModel } from "./model-shapes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const shapeName = option("shape", "smollm2-135m");
const shape = modelShapes[shapeName];
if (!shape) throw new Error(`--shape must be one of ${Object.keys(modelShapes).join(", ")}`);
const contextLength = Number(option("ctx", 512));
const steps = Number(option("steps", 4));
const threads = Number(option("threads", availableParallelism()));
const rank = Number(option("rank", 16));
// every storage type llama_model_quantize offers, f32 first (the reference row); those that need an
// importance matrix fail to quantize here and are listed as skipped
const allTypes = ["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_0", "q5_1", "q4_k_m", "q4_0", "q4_1", "q3_k_m", "q2_k", "iq4_nl", "iq4_xs", "iq3_s", "iq3_xxs", "iq2_s", "iq2_m", "iq1_m", "tq2_0", "tq1_0"];
const types = option("types", allTypes.join(",")).split(",");
const withPeers = !flag("no-peers");

const workDir = path.join(root, ".bench", "train");
const f32 = await shapeBaseModel(shapeName, workDir);
const header = await readGgufHeader(f32);
const adapter = path.join(workDir, `${shapeName}-adapter-r${rank}.gguf`);
await writeAdapterGguf(adapter, {
  architecture: shape.architecture,
  alpha: 2 * rank,
  tensors: initialAdapterTensors(findLoraTargetTensors(header, defaultLoraTargets), rank, 1),
});

/** The weight matrices' types, e.g. "q4_K 120, q5_0 60, q6_K 30, q8_0 1": k-quants need rows of 256. */
function typeMix(gguf) {
  const counts = new Map();
  for (const tensor of gguf.tensors) {
    if (tensor.dims.length < 2) continue;
    const name = ggmlTypeInfo(tensor.type)?.name ?? String(tensor.type);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, count]) => `${name} ${count}`).join(", ");
}

async function baseOfType(type) {
  if (type === "f32") return f32;
  const file = f32.replace("-f32.gguf", `-${type}.gguf`);
  if (!existsSync(file)) await quantize(f32, file, { type, threads });
  return file;
}

function runChild({ recompute = false, ...options }) {
  const layout = trainingMemoryLayout(shape.vocabSize, recompute);
  const output = execFileSync(process.execPath, [path.join(root, "bench", "train-child.mjs"), JSON.stringify({ contextLength, steps, seed: 7, vocabularySize: shape.vocabSize, layout, ...options })], { encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").at(-1));
}

/** The PyTorch peer under the first python3 that imports torch, or undefined. */
function torchPython() {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import torch"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return undefined;
}

function runTorch(python, dtype) {
  const config = {
    architecture: shape.architecture, layers: shape.nLayer, hidden: shape.nEmbd, intermediate: shape.nFf, heads: shape.nHead,
    kvHeads: shape.nHeadKv, vocab: shape.vocabSize, tiedEmbeddings: shape.tiedEmbeddings, qkvBias: shape.architecture === "qwen2",
    headDim: shape.headDim, ...(shape.architecture === "gemma3" ? { gemma: true, slidingWindow: shape.slidingWindow, slidingWindowPattern: shape.slidingWindowPattern, ropeTheta: 1_000_000, ropeThetaLocal: 10_000, rmsNormEps: 1e-6 } : {}),
  };
  const output = execFileSync(python, [path.join(root, "bench", "peers", "torch_lora.py"), "--config", JSON.stringify(config), "--ctx", String(contextLength),
    "--steps", String(steps), "--threads", String(threads), "--rank", String(rank), "--dtype", dtype], { encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").at(-1));
}

// GEMM peak: ggml's own mul_mat on this model's projection shapes and a square one, best of each type
const native = await loadNative();
const gemmShapes = [[shape.nEmbd, shape.nFf], [shape.nFf, shape.nEmbd], [2048, 2048]];
async function peakRate(op, weightType) {
  let best = 0;
  for (const [inputs, outputs] of gemmShapes) {
    const { flopsPerSecond } = await native.measureMatMulRate({ op, weightType, inputs, outputs, tokens: contextLength, threads, repeats: 5 }).promise;
    best = Math.max(best, flopsPerSecond);
  }
  return best;
}
const peakF32 = await peakRate("mul_mat", 0);
const peakBf16 = await peakRate("mul_mat", 30);
const outProdF32 = await peakRate("out_prod", 0);

const loraFlops = flopsPerToken(shape, { contextLength, rank });
const rows = [];
const skipped = [];
for (const type of types) {
  let model;
  try {
    model = await baseOfType(type);
  } catch (error) {
    skipped.push(`${type}: ${error.code ?? ""} ${String(error.message).split("\n")[0]}`);
    continue;
  }
  const result = runChild({ model, adapter, threads });
  rows.push({ label: `LoRA r${rank}, ${type} base`, type, mix: typeMix(await readGgufHeader(model)), flops: loraFlops, ...result });
}
if (flag("thread-scaling")) {
  for (const type of ["f32", "q4_k_m"]) {
    const model = await baseOfType(type);
    rows.push({ label: `LoRA r${rank}, ${type} base, 1 thread`, type, flops: loraFlops, ...runChild({ model, adapter, threads: 1 }) });
  }
}
const recomputePairs = [];
if (flag("recompute-cost")) {
  for (const type of types) {
    const model = await baseOfType(type);
    for (let pair = 0; pair < 2; pair++) {
      const off = runChild({ model, adapter, threads }).tokensPerSecond;
      const on = runChild({ model, adapter, threads, recompute: true }).tokensPerSecond;
      recomputePairs.push({ type, off, on });
    }
  }
}
const peers = [];
peers.push({ label: "llama.cpp full fine-tune, f32", flops: flopsPerToken(shape, { contextLength, fullFineTune: true }), ...runChild({ model: f32, fullFineTune: true, threads }) });
let torchNote = "";
if (withPeers) {
  const python = torchPython();
  if (!python) {
    torchNote = "PyTorch peer not installed (apt-get install python3-torch libopenblas0-pthread)";
  } else {
    for (const dtype of ["f32", "bf16"]) {
      const result = runTorch(python, dtype);
      if (result.error) { torchNote = `PyTorch peer: ${result.error}`; break; }
      torchNote = `PyTorch ${result.torch} (${python}), BLAS: ${result.blas}`;
      peers.push({ label: `PyTorch LoRA r${rank}, ${dtype} weights`, flops: loraFlops, ...result });
    }
  }
}

const f32Row = rows.find((row) => row.type === "f32");
const torchBf16 = peers.find((row) => row.label.includes("bf16 weights"));
const fullFt = peers[0];
const gflops = (x) => (x / 1e9).toFixed(0);
console.log(`${shapeName}: ${shape.architecture}, ${shape.nLayer} layers, hidden ${shape.nEmbd}, ffn ${shape.nFf}, heads ${shape.nHead}/${shape.nHeadKv}, vocab ${shape.vocabSize}; ctx ${contextLength}, ${threads} threads, rank ${rank} on q,k,v,o,gate,up,down, ${steps} steps (first left out)`);
console.log(`GEMM peak (ggml mul_mat, ${contextLength} tokens, best of ${gemmShapes.map((s) => s.join("x")).join(", ")}): f32 ${gflops(peakF32)} GFLOP/s, bf16 ${gflops(peakBf16)} GFLOP/s; our f32 OUT_PROD ${gflops(outProdF32)} GFLOP/s`);
console.log(`FLOPs per token: LoRA ${gflops(loraFlops * 1e3)} MFLOP, full fine-tune ${gflops(fullFt.flops * 1e3)} MFLOP`);
if (torchNote) console.log(torchNote);
const ratio = (a, b) => (b ? (a / b).toFixed(2) : "-").padStart(6);
console.log(`${"".padEnd(42)} ${"tok/s".padStart(6)} ${"xf32".padStart(6)} ${"xtorch".padStart(6)} ${"xfull".padStart(6)} ${"MFU32".padStart(6)} ${"MFUbf".padStart(6)} ${"RSS MiB".padStart(8)}  weights`);
for (const row of [...rows, ...peers]) {
  const mfu = (peak) => `${((100 * row.flops * row.tokensPerSecond) / peak).toFixed(0)}%`.padStart(6);
  console.log(
    `${row.label.padEnd(42)} ${row.tokensPerSecond.toFixed(0).padStart(6)} ${ratio(row.tokensPerSecond, f32Row?.tokensPerSecond)} ${ratio(row.tokensPerSecond, torchBf16?.tokensPerSecond)} ` +
      `${ratio(row.tokensPerSecond, fullFt.tokensPerSecond)} ${mfu(peakF32)} ${mfu(peakBf16)} ${(row.peakRssBytes / 2 ** 20).toFixed(0).padStart(8)}  ${row.mix ?? ""}`,
  );
}
for (const line of skipped) console.log(`skipped ${line}`);
if (recomputePairs.length) {
  console.log(`\nrecompute cost (interleaved pairs): ${"type".padEnd(8)} ${"off tok/s".padStart(9)} ${"on tok/s".padStart(9)} ${"time on/off".padStart(11)}`);
  for (const { type, off, on } of recomputePairs) {
    console.log(`${"".padEnd(35)} ${type.padEnd(8)} ${off.toFixed(0).padStart(9)} ${on.toFixed(0).padStart(9)} ${(off / on).toFixed(2).padStart(11)}`);
  }
}
