// Training on a GPU (gpuLayers "all" through llama.cpp's CUDA backend, patches/0012): every adapter
// tensor's gradient against the CPU's on the same base, for bases of each weight layout; the learning
// task; and no op of a LoRA step left to the CPU for want of a GPU kernel. Runs only where the addon
// found a GPU (scripts/device-check.sh on a lent machine); skipped everywhere else, CI included.
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { quantize, train } from "../src/index.js";
import { loadNative, type NativeTrainer } from "../src/native.js";
import { writeTinyModelGguf } from "../src/testing/tiny-model.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { greedyCompletions } from "./helpers/llama-eval.js";
import { instTemplate, renderedPrompt, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";
import { packedRandomWindow } from "./helpers/training-window.js";

// The CPU multiplies through a frozen non-f32 weight in bf16 where it has AVX512-BF16 (patches/0005:
// the forward's panels and OUT_PROD), rounding each activation by up to 2^-9, which moves these LoRA
// gradients by ~6e-3 relative; the GPU's products are f32 (patches/0012). The reference is the CPU's
// ggml/f32 path (patches/0013), read once by ggml-cpu: set before the addon is loaded.
process.env.LORA_GGUF_NO_BF16_KERNELS = "1";

const native = await loadNative();
// LORA_GGUF_GPU_TEST_REHEARSAL=1: the same checks with the "GPU" runs on the CPU, to try this file before device time
const rehearsal = process.env.LORA_GGUF_GPU_TEST_REHEARSAL === "1";
const gpus = rehearsal ? ["CPU (rehearsal)"] : native.buildInfo().gpuDevices;
const gpuLayersAll = rehearsal ? 0 : -1;
const noGpu = gpus.length === 0;
const needsGpu = noGpu ? " (skipped: the addon found no GPU)" : "";
if (noGpu) console.log(`test/train-gpu: skipped, no GPU (cuda build: ${native.buildInfo().cuda})`);

const temp = makeTempDir("gpu");
const contextLength = 256;
const vocabSize = 512;
const baseTypes = ["f32", "f16", "q8_0", "q4_k_m"] as const;
const basePath = (type: string) => path.join(temp.dir, `llama-256-${type}.gguf`);
const adapterPath = path.join(temp.dir, "adapter.gguf");
/**
 * The gradients' agreement, as the norm of the difference over the norm of the CPU's, per tensor: 1e-3 where both
 * backends round the activations alike (f32; f16's 10-bit mantissa; q8_0 and CUDA's q8_1 both quantize them per 32
 * with the block's absmax). For q4_K weights the CPU quantizes the activations per 256 (q8_K) and CUDA per 32 (q8_1):
 * on these random tiny models such a difference moves the attention's LoRA gradients by ~1e-2 (here, bf16 activations
 * against f32 ones moved them by 9e-3 on f16 and 3e-2 on q4_K weights).
 */
const gradientTolerance = { f32: 1e-3, f16: 1e-3, q8_0: 1e-3, q4_k_m: 5e-2 } as const;

beforeAll(async () => {
  if (noGpu) return;
  // rows of 256 so that q4_K applies; every matrix in the one type (pure)
  await writeTinyModelGguf(basePath("f32"), { architecture: "llama", seed: 21, nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, vocabSize });
  await writeRandomAdapter(basePath("f32"), adapterPath, { rank: 4, alpha: 16, seed: 5, bStd: 0.05 });
  for (const type of baseTypes.slice(1)) await quantize(basePath("f32"), basePath(type), { type, pure: true });
});
afterAll(() => temp.cleanup());

async function openTrainer(model: string, gpuLayers: number): Promise<NativeTrainer> {
  return native.createTrainer({
    modelPath: model,
    adapterPath,
    contextLength,
    maxSequencesPerWindow: 2,
    threads: 4,
    // two windows per optimizer step: the first step() only accumulates the gradients, the weights stay
    windowsPerOptimizerStep: 2,
    gpuLayers,
  });
}

const norm = (values: Float32Array) => Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));

describe("training on the GPU", () => {
  it.skipIf(noGpu).each(baseTypes)(`%s base: every adapter tensor's gradient as the CPU's (1e-3; q4_K 5e-2), the ops all on the GPU${needsGpu}`, async (type) => {
    const window = packedRandomWindow(contextLength, vocabSize);
    const [cpu, gpu] = [await openTrainer(basePath(type), 0), await openTrainer(basePath(type), gpuLayersAll)];
    try {
      const cpuStep = await cpu.step({ ...window, train: true, learningRate: 1e-3 });
      const gpuStep = await gpu.step({ ...window, train: true, learningRate: 1e-3 });
      const lossDifference = Math.abs(gpuStep.crossEntropySum - cpuStep.crossEntropySum) / cpuStep.crossEntropySum;
      let worst = { name: "", relative: -1 };
      for (const { name } of await cpu.parameterNames()) {
        const [a, b] = [await cpu.readTensor(name, "gradient"), await gpu.readTensor(name, "gradient")];
        const relative = norm(b.map((value, i) => value - a[i])) / norm(a);
        if (!(relative <= worst.relative)) worst = { name, relative }; // NaN counts as worst
        expect(norm(a), name).toBeGreaterThan(0);
      }
      console.log(
        `${type} on ${gpus[0]}: loss ${cpuStep.crossEntropySum.toFixed(4)} CPU, ${gpuStep.crossEntropySum.toFixed(4)} GPU (relative ${lossDifference.toExponential(2)}); ` +
          `worst gradient ${worst.relative.toExponential(2)} (${worst.name}); on the CPU for want of a kernel: ${gpuStep.cpuFallbacks.join("; ") || "nothing"}`,
      );
      expect(cpuStep.cpuFallbacks).toEqual([]);
      expect(lossDifference).toBeLessThan(1e-4);
      expect(worst.relative).toBeLessThan(gradientTolerance[type]);
      // the frozen weight's activation gradient (OUT_PROD), the loss and the optimizer: on the GPU (patches/0012)
      expect(gpuStep.cpuFallbacks.filter((op) => /OUT_PROD|CROSS_ENTROPY|OPT_STEP/.test(op))).toEqual([]);
    } finally {
      await cpu.close();
      await gpu.close();
    }
  });

  it.skipIf(noGpu)(`learns the memorization task with gpuLayers "all", as on the CPU${needsGpu}`, async () => {
    const model = path.join(temp.dir, "base.gguf");
    const data = path.join(temp.dir, "colours.jsonl");
    await writeTinyLlamaGguf(model, { seed: 3, chatTemplate: instTemplate });
    const examples = writeMemorizationJsonl(data);
    const output = path.join(temp.dir, "learned", "adapter.gguf");
    mkdirSync(path.dirname(output));
    const warnings: string[] = [];
    const result = await train({ model, data, output, rank: 16, alpha: 32, learningRate: 3e-3, epochs: 60, seed: 1, threads: 4, gpuLayers: rehearsal ? 0 : "all", onWarning: (message) => warnings.push(message) });
    const completions = await greedyCompletions(model, examples.map((e) => renderedPrompt(e.prompt)), { adapterPath: output, maxTokens: 24 });
    const reproduced = completions.filter((completion, index) => completion.text.trim() === examples[index].response).length;
    const stopped = completions.filter((completion) => completion.endedWithEog).length;
    const metrics = readFileSync(result.metrics, "utf8").trim().split("\n").length;
    console.log(
      `GPU: steps ${result.steps} (${metrics} metrics records), loss ${result.firstLoss.toFixed(3)} -> ${result.finalLoss.toFixed(3)}, ${result.tokensPerSecond.toFixed(0)} tok/s, ` +
        `${result.seconds.toFixed(1)} s; reproduced ${reproduced}/${examples.length}, ended with EOS ${stopped}/${examples.length}; warnings: ${warnings.join(" | ") || "none"}`,
    );
    expect(result.finalLoss).toBeLessThan(result.firstLoss * 0.5);
    expect(reproduced / examples.length).toBeGreaterThanOrEqual(0.9);
    expect(stopped / examples.length).toBeGreaterThanOrEqual(0.95);
    expect(warnings.filter((warning) => /gpuLayers .* asked for a GPU/.test(warning))).toEqual([]);
  }, 600_000);
});
