#!/usr/bin/env node
// bench/train: LoRA training tokens/s, peak RSS and MFU on bases of every type ggml can make here,
// on real model shapes with random weights, against llama.cpp's own full fine-tune (same patched
// library, llama_opt_param_filter_all) and a PyTorch LoRA (bench/peers/torch_lora.py), all on
// the same shape, window length and threads, each in its own process, in one run. MFU divides the
// FLOPs per token (bench/model-shapes.mjs) by a GEMM peak measured here with ggml's own mul_mat.
//
//   npm run bench:train -- --shape smollm2-135m --ctx 512 [--steps 4] [--threads 2] [--rank 16]
//                          [--types f32,q8_0,q4_k_m] [--no-peers] [--peft] [--thread-scaling] [--recompute-cost]
//                          [--gpu-layers N|all] [--json file] [--child-timeout-s S]
//
// --gpu-layers offloads the llama.cpp rows (createTrainer's gpuLayers; "all" is -1) and runs the
// PyTorch peers on CUDA, bf16 only; MFU is then not measured (the peak above is the CPU's), and a GPU
// MiB column gives each child's peak GPU memory, polled from nvidia-smi (bench/gpu-memory.mjs).
// The PyTorch+PEFT peer (bench/peers/peft_lora.py: transformers' own model classes and PEFT, bf16)
// runs where python3 imports transformers and peft: always on the GPU, on the CPU only with --peft
// (it is slow there). --json writes the header facts and every row to one file, again after each
// row, so that a run cut short still leaves what it measured. Every row runs in a process of its
// own and fails soft: a failing one shows its error and the rest go on; one that runs past
// --child-timeout-s (default 3600, 300 with --gpu-layers) is killed.
//
// Every run uses train()'s own memory layout (chunked loss and attention, trainingMemoryLayout) with
// recomputation off. --recompute-cost adds, for each listed type, two interleaved off/on pairs and
// the time per token with recomputation on over the time without (the machine's noise shows as the
// spread between the pairs).
import { spawnSync } from "node:child_process";
import { existsSync, renameSync, writeFileSync } from "node:fs";
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
import { gpuNames } from "./gpu-memory.mjs";
import { runJsonChild } from "./json-child.mjs";
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
const gpuLayersOption = option("gpu-layers", "0");
// llama.cpp's n_gpu_layers: -1 offloads every layer
const gpuLayers = gpuLayersOption === "all" ? -1 : Number(gpuLayersOption);
if (!Number.isInteger(gpuLayers) || gpuLayers < -1) throw new Error(`--gpu-layers must be a number of layers or "all", got ${gpuLayersOption}`);
const onGpu = gpuLayers !== 0;
const jsonFile = option("json", undefined);
const childTimeoutSeconds = Number(option("child-timeout-s", onGpu ? 300 : 3600));
// "NVIDIA H200, 143771 MiB" per GPU, or undefined without nvidia-smi: then GPU MiB shows "-"
const gpus = onGpu ? gpuNames() : undefined;
const notes = [];

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

const rows = [];
const peers = [];
const skipped = [];
const recomputePairs = [];

/** The header facts and every row so far, as one JSON file (written whole and renamed, so never half a file). */
function writeReport() {
  if (!jsonFile) return;
  const report = {
    shape: shapeName, architecture: shape.architecture, ctx: contextLength, steps, threads, rank, types,
    gpuLayers: gpuLayersOption === "all" ? "all" : gpuLayers, gpu: gpus?.join("; ") ?? null, gemmPeakFlopsPerSecond: gemmPeak ?? null, notes,
    rows: [...rows, ...peers].map((row) => ({
      label: row.label, type: row.type, tokensPerSecond: row.tokensPerSecond, peakRssBytes: row.peakRssBytes,
      peakGpuBytes: row.peakGpuBytes, loss: row.loss, mix: row.mix, error: row.error, ...row,
    })),
    skipped, recomputePairs,
  };
  const file = path.resolve(jsonFile);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** A row from one child's run: its JSON, and its peak GPU memory as polled from nvidia-smi (not the peer's own word for it). */
function rowOf(fields, { result, gpuMemory }) {
  const { peakGpuBytes: allocatorPeakGpuBytes, ...measured } = result;
  return { ...fields, ...measured, ...(allocatorPeakGpuBytes !== undefined ? { allocatorPeakGpuBytes } : {}), ...gpuMemory };
}

function runChild({ recompute = false, ...options }) {
  const layout = trainingMemoryLayout(shape.vocabSize, recompute);
  const config = { contextLength, steps, seed: 7, vocabularySize: shape.vocabSize, layout, gpuLayers, ...options };
  return runJsonChild(process.execPath, [path.join(root, "bench", "train-child.mjs"), JSON.stringify(config)], { watchGpu: Boolean(gpus), timeoutSeconds: childTimeoutSeconds });
}

/** The first python3 that imports `modules` ("torch, transformers"), or { reason } why none does. */
function pythonWith(modules) {
  let reason = "no python3 found";
  for (const python of ["python3", "/usr/bin/python3"]) {
    // a cold import of torch and transformers can take tens of seconds
    const probe = spawnSync(python, ["-c", `import ${modules}`], { encoding: "utf8", timeout: 120_000 });
    if (probe.status === 0) return { python };
    const said = (probe.stderr ?? "").trim().split("\n").at(-1);
    reason = `${python}: ${probe.error ? probe.error.message : said || `exit code ${probe.status}`}`;
  }
  return { reason };
}

function runPython(python, script, dtype) {
  const config = {
    architecture: shape.architecture, layers: shape.nLayer, hidden: shape.nEmbd, intermediate: shape.nFf, heads: shape.nHead,
    kvHeads: shape.nHeadKv, vocab: shape.vocabSize, tiedEmbeddings: shape.tiedEmbeddings, qkvBias: shape.architecture === "qwen2",
    headDim: shape.headDim, ...(shape.architecture === "gemma3" ? { gemma: true, slidingWindow: shape.slidingWindow, slidingWindowPattern: shape.slidingWindowPattern, ropeTheta: 1_000_000, ropeThetaLocal: 10_000, rmsNormEps: 1e-6 } : {}),
  };
  const args = [path.join(root, "bench", "peers", script), "--config", JSON.stringify(config), "--ctx", String(contextLength),
    "--steps", String(steps), "--threads", String(threads), "--rank", String(rank), "--dtype", dtype, "--device", onGpu ? "cuda" : "cpu"];
  return runJsonChild(python, args, { watchGpu: Boolean(gpus), timeoutSeconds: childTimeoutSeconds });
}

// GEMM peak: ggml's own mul_mat on this model's projection shapes and a square one, best of each type.
// It is the CPU's: a run that offloads to a GPU has no peak to divide by here, and shows no MFU.
const gemmShapes = [[shape.nEmbd, shape.nFf], [shape.nFf, shape.nEmbd], [2048, 2048]];
async function peakRate(native, op, weightType) {
  let best = 0;
  for (const [inputs, outputs] of gemmShapes) {
    const { flopsPerSecond } = await native.measureMatMulRate({ op, weightType, inputs, outputs, tokens: contextLength, threads, repeats: 5 }).promise;
    best = Math.max(best, flopsPerSecond);
  }
  return best;
}
let gemmPeak;
if (onGpu) {
  notes.push("MFU: not measured with --gpu-layers (the GEMM peak this bench measures is ggml's CPU mul_mat, not the GPU's)");
} else {
  const native = await loadNative();
  gemmPeak = { mulMatF32: await peakRate(native, "mul_mat", 0), mulMatBf16: await peakRate(native, "mul_mat", 30), outProdF32: await peakRate(native, "out_prod", 0) };
}
// written once before any row, so that a path it cannot write fails now and not after the run
writeReport();

const loraFlops = flopsPerToken(shape, { contextLength, rank });
for (const type of types) {
  let model;
  try {
    model = await baseOfType(type);
  } catch (error) {
    skipped.push(`${type}: ${error.code ?? ""} ${String(error.message).split("\n")[0]}`);
    continue;
  }
  rows.push(rowOf({ label: `LoRA r${rank}, ${type} base`, kind: "lora", type, mix: typeMix(await readGgufHeader(model)), flops: loraFlops }, await runChild({ model, adapter, threads })));
  writeReport();
}
if (flag("thread-scaling")) {
  for (const type of ["f32", "q4_k_m"]) {
    const model = await baseOfType(type);
    rows.push(rowOf({ label: `LoRA r${rank}, ${type} base, 1 thread`, kind: "lora", type, flops: loraFlops }, await runChild({ model, adapter, threads: 1 })));
    writeReport();
  }
}
if (flag("recompute-cost")) {
  const rate = ({ result }) => result.tokensPerSecond;
  for (const type of types) {
    const model = await baseOfType(type);
    for (let pair = 0; pair < 2; pair++) {
      const off = rate(await runChild({ model, adapter, threads }));
      const on = rate(await runChild({ model, adapter, threads, recompute: true }));
      recomputePairs.push({ type, off, on });
      writeReport();
    }
  }
}
peers.push(rowOf({ label: "llama.cpp full fine-tune, f32", kind: "full", type: "f32", flops: flopsPerToken(shape, { contextLength, fullFineTune: true }) }, await runChild({ model: f32, fullFineTune: true, threads })));
writeReport();
if (withPeers) {
  const torch = pythonWith("torch");
  if (!torch.python) {
    notes.push(`PyTorch peer not installed (apt-get install python3-torch libopenblas0-pthread): ${torch.reason}`);
  } else {
    // on the GPU the comparison is bf16 against bf16; f32 stays the CPU's reference as before
    let versionNoted = false;
    for (const dtype of onGpu ? ["bf16"] : ["f32", "bf16"]) {
      const row = rowOf({ label: `PyTorch LoRA r${rank}, ${dtype} weights`, kind: "torch", type: dtype, flops: loraFlops }, await runPython(torch.python, "torch_lora.py", dtype));
      peers.push(row);
      if (!row.error && !versionNoted) {
        versionNoted = true;
        notes.push(`PyTorch ${row.torch} (${torch.python}), ${row.device === "cuda" ? `CUDA ${row.cuda} on ${row.gpu}` : `BLAS: ${row.blas}`}`);
      }
      writeReport();
    }
  }
  if (!onGpu && !flag("peft")) {
    notes.push("PyTorch+PEFT peer skipped: slow on the CPU (--peft runs it)");
  } else {
    const peft = pythonWith("torch, transformers, peft");
    if (!peft.python) {
      notes.push(`PyTorch+PEFT peer skipped: no python3 here imports torch, transformers and peft (${peft.reason})`);
    } else {
      const row = rowOf({ label: `PyTorch+PEFT LoRA r${rank}, bf16`, kind: "peft", type: "bf16", flops: loraFlops }, await runPython(peft.python, "peft_lora.py", "bf16"));
      peers.push(row);
      if (!row.error) {
        notes.push(`PyTorch+PEFT: torch ${row.torch}, transformers ${row.transformers}, peft ${row.peft} (${peft.python}); ${row.model}, attention ${row.attention}, adapter in ${row.adapterDtype}`);
      }
      writeReport();
    }
  }
}

// what the llama.cpp rows ran on: gpuLayers offloads nothing where the addon found no GPU
const llamaRows = [...rows, ...peers].filter((row) => (row.kind === "lora" || row.kind === "full") && !row.error);
if (onGpu && llamaRows.length) {
  const { cudaBuild, gpuDevices = [] } = llamaRows[0];
  notes.push(gpuDevices.length
    ? `llama.cpp rows: gpuLayers ${gpuLayersOption} on ${gpuDevices.join("; ")}`
    : `llama.cpp rows trained on the CPU: ${cudaBuild ? "the addon's CUDA backend found no GPU" : "this build of the addon has no GPU backend (build it with LORA_GGUF_CUDA=1)"}`);
  // the same ops usually fall back in every row: one line for each distinct list
  const fallbacks = new Map();
  for (const row of llamaRows.filter((r) => r.cpuFallbacks?.length)) {
    const ops = row.cpuFallbacks.join(", ");
    fallbacks.set(ops, [...(fallbacks.get(ops) ?? []), row.label]);
  }
  for (const [ops, labels] of fallbacks) notes.push(`on the CPU for want of a GPU kernel (${labels.join("; ")}): ${ops}`);
}
if (gpus) {
  notes.push("GPU MiB: nvidia-smi's used memory of each row's process (its CUDA context included), polled every 200 ms; the PyTorch rows' own allocator peak is allocatorPeakGpuBytes in --json");
  if ([...rows, ...peers].some((row) => row.gpuMemorySource === "device")) {
    notes.push("GPU MiB marked *: nvidia-smi listed no process with the row's pid (another PID namespace?), so all GPUs' used memory over their level before the row");
  }
}
for (const row of [...rows, ...peers].filter((r) => r.childExit)) notes.push(`${row.label}: printed its result, then its process ended with ${row.childExit}`);
writeReport();

const isOk = (row) => row && !row.error;
const f32Row = rows.find((row) => row.type === "f32" && isOk(row));
const torchBf16 = peers.find((row) => row.kind === "torch" && row.type === "bf16" && isOk(row));
const peftBf16 = peers.find((row) => row.kind === "peft" && isOk(row));
const fullFt = peers[0];
const gflops = (x) => (x / 1e9).toFixed(0);
const gpuFacts = onGpu ? `; gpuLayers ${gpuLayersOption}, GPU: ${gpus ? gpus.join("; ") : "none listed (nvidia-smi missing or failing; GPU MiB not measured)"}` : "";
console.log(`${shapeName}: ${shape.architecture}, ${shape.nLayer} layers, hidden ${shape.nEmbd}, ffn ${shape.nFf}, heads ${shape.nHead}/${shape.nHeadKv}, vocab ${shape.vocabSize}; ctx ${contextLength}, ${threads} threads, rank ${rank} on q,k,v,o,gate,up,down, ${steps} steps (first left out)${gpuFacts}`);
if (gemmPeak) {
  console.log(`GEMM peak (ggml mul_mat, ${contextLength} tokens, best of ${gemmShapes.map((s) => s.join("x")).join(", ")}): f32 ${gflops(gemmPeak.mulMatF32)} GFLOP/s, bf16 ${gflops(gemmPeak.mulMatBf16)} GFLOP/s; our f32 OUT_PROD ${gflops(gemmPeak.outProdF32)} GFLOP/s`);
}
console.log(`FLOPs per token: LoRA ${gflops(loraFlops * 1e3)} MFLOP, full fine-tune ${gflops(fullFt.flops * 1e3)} MFLOP`);
for (const note of notes) console.log(note);
const ratio = (a, b) => (b ? (a / b).toFixed(2) : "-").padStart(6);
const mebibytes = (bytes) => (bytes === undefined ? "-" : (bytes / 2 ** 20).toFixed(0));
console.log(
  `${"".padEnd(42)} ${"tok/s".padStart(6)} ${"xf32".padStart(6)} ${"xtorch".padStart(6)} ${peftBf16 ? `${"xpeft".padStart(6)} ` : ""}${"xfull".padStart(6)} ${"MFU32".padStart(6)} ${"MFUbf".padStart(6)} ` +
    `${"RSS MiB".padStart(8)} ${onGpu ? `${"GPU MiB".padStart(8)} ` : ""} weights`,
);
for (const row of [...rows, ...peers]) {
  if (row.error) {
    console.log(`${row.label.padEnd(42)} error: ${row.error}`);
    continue;
  }
  const mfu = (peak) => (peak ? `${((100 * row.flops * row.tokensPerSecond) / peak).toFixed(0)}%` : "-").padStart(6);
  const gpuMiB = row.peakGpuBytes === undefined ? "-" : `${mebibytes(row.peakGpuBytes)}${row.gpuMemorySource === "device" ? "*" : ""}`;
  console.log(
    `${row.label.padEnd(42)} ${row.tokensPerSecond.toFixed(0).padStart(6)} ${ratio(row.tokensPerSecond, f32Row?.tokensPerSecond)} ${ratio(row.tokensPerSecond, torchBf16?.tokensPerSecond)} ` +
      `${peftBf16 ? `${ratio(row.tokensPerSecond, peftBf16.tokensPerSecond)} ` : ""}${ratio(row.tokensPerSecond, isOk(fullFt) ? fullFt.tokensPerSecond : undefined)} ` +
      `${mfu(gemmPeak?.mulMatF32)} ${mfu(gemmPeak?.mulMatBf16)} ${mebibytes(row.peakRssBytes).padStart(8)} ${onGpu ? `${gpuMiB.padStart(8)} ` : ""} ${row.mix ?? ""}`,
  );
}
for (const line of skipped) console.log(`skipped ${line}`);
if (recomputePairs.length) {
  const rate = (x) => (x === undefined ? "-" : x.toFixed(0));
  console.log(`\nrecompute cost (interleaved pairs): ${"type".padEnd(8)} ${"off tok/s".padStart(9)} ${"on tok/s".padStart(9)} ${"time on/off".padStart(11)}`);
  for (const { type, off, on } of recomputePairs) {
    console.log(`${"".padEnd(35)} ${type.padEnd(8)} ${rate(off).padStart(9)} ${rate(on).padStart(9)} ${(off && on ? (off / on).toFixed(2) : "-").padStart(11)}`);
  }
}
