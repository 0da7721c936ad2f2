// The trainer's analytic gradients for every kind of adapter tensor against central finite
// differences of the loss it reports. This is the test that catches llama.cpp's K/V gradient bug
// (attention reading K/V through the KV cache, a graph leaf): see patches/0002.
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { quantize } from "../src/index.js";
import { loadNative, type NativeTrainer, type NativeTrainerOptions } from "../src/native.js";
import { tinyModelArchitectures, writeTinyModelGguf, type TinyModelArchitecture } from "../src/testing/tiny-model.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { packedRandomWindow } from "./helpers/training-window.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";

const temp = makeTempDir("grad");
const modelPath = (architecture: TinyModelArchitecture) => path.join(temp.dir, `tiny-${architecture}.gguf`);
const adapterPath = (architecture: TinyModelArchitecture) => path.join(temp.dir, `adapter-${architecture}.gguf`);
const phi3LastDownAdapterPath = path.join(temp.dir, "adapter-phi3-last-down.gguf");
// bases of other weight types: rows of 256 so that q4_K applies, every matrix in the one type (pure)
const baseTypes = ["f16", "bf16", "q8_0", "q4_k_m"] as const;
const typedBasePath = (type: string) => path.join(temp.dir, `tiny-llama-256-${type}.gguf`);
const typedAdapterPath = path.join(temp.dir, "adapter-llama-256.gguf");
const contextLength = 256;
const vocabSize = 512;
const windowsPerOptimizerStep = 2;
// the tiny models' shape; phi3's fused attn_qkv has [q; k; v] output rows, its ffn_up [gate; up]
const shape = { nLayer: 2, nEmbd: 64, nHead: 4, nHeadKv: 2, nFf: 128, rank: 4 };
// gemma (1)'s gradients are checked against the float64 reference instead (test/train-gradients-reference.test.ts)
const separateArchitectures = tinyModelArchitectures.filter((architecture) => architecture !== "phi3" && architecture !== "gemma");

beforeAll(async () => {
  const { rank, ...layout } = shape;
  for (const architecture of tinyModelArchitectures) {
    await writeTinyModelGguf(modelPath(architecture), { architecture, seed: 21, ...layout, vocabSize });
    await writeRandomAdapter(modelPath(architecture), adapterPath(architecture), { rank, alpha: 16, seed: 5, bStd: 0.05 });
  }
  await writeRandomAdapter(modelPath("phi3"), phi3LastDownAdapterPath, { rank, alpha: 16, seed: 5, bStd: 0.05, targets: ["down"], layers: [shape.nLayer - 1] });
  const f32 = typedBasePath("f32");
  await writeTinyModelGguf(f32, { architecture: "llama", seed: 21, nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, vocabSize });
  await writeRandomAdapter(f32, typedAdapterPath, { rank: 4, alpha: 16, seed: 5, bStd: 0.05 });
  for (const type of baseTypes) {
    await quantize(f32, typedBasePath(type), { type, pure: true });
    await quantize(typedBasePath(type), typedBasePath(`${type}-dequantized`), { type: "f32", allowRequantize: true });
  }
});
afterAll(() => temp.cleanup());

const makeWindow = () => packedRandomWindow(contextLength, vocabSize);

type MemoryOptions = Pick<NativeTrainerOptions, "lossChunkRows" | "attentionChunkRows" | "recomputeLayers">;

async function openTrainer(
  architecture: TinyModelArchitecture,
  attentionThroughKvCache: boolean,
  paths = { model: modelPath(architecture), adapter: adapterPath(architecture) },
  memory: MemoryOptions = {},
): Promise<NativeTrainer> {
  const native = await loadNative();
  return native.createTrainer({
    modelPath: paths.model,
    adapterPath: paths.adapter,
    contextLength,
    maxSequencesPerWindow: 2,
    threads: 2,
    // two windows per optimizer step: the first train() call only accumulates gradients
    windowsPerOptimizerStep,
    attentionThroughKvCache,
    ...memory,
  });
}

interface Comparison {
  name: string;
  analytic: number;
  numeric: number;
}

/**
 * The element ranges of a fused tensor's parts, each checked on its own so that a part whose
 * gradient is missing or wrong cannot hide behind the others' larger ones: lora_b of phi3's
 * attn_qkv (ne [rank, out], rows q, k, v) and ffn_up (rows gate, up: 2·nFf of them, where llama's
 * and qwen's ffn_up has nFf). One range for the rest.
 */
function tensorParts(name: string, size: number): { part: string; start: number; end: number }[] {
  const { nEmbd, nHead, nHeadKv, nFf, rank } = shape;
  const kvWidth = (nEmbd / nHead) * nHeadKv;
  const rows = name.endsWith("attn_qkv.weight.lora_b")
    ? [["q", nEmbd], ["k", kvWidth], ["v", kvWidth]] as const
    : name.endsWith("ffn_up.weight.lora_b") && size === rank * 2 * nFf
      ? [["gate", nFf], ["up", nFf]] as const
      : [["", size / rank]] as const;
  let start = 0;
  return rows.map(([part, count]) => {
    const range = { part, start, end: start + rank * count };
    start = range.end;
    return range;
  });
}

/**
 * Central differences of `numeric`'s loss for the `count` largest-gradient elements of each tensor in
 * `names` (of each part of a fused one), against `analytic`'s gradient (the same trainer, or one on
 * another copy of the weights).
 */
async function compareGradients(analytic: NativeTrainer, names: string[], count: number, epsilon: number, numeric = analytic): Promise<Comparison[]> {
  const window = makeWindow();
  await analytic.step({ ...window, train: true, learningRate: 1e-3 });
  // the loss whose gradient the trainer computes: the mean over the window's positions
  const loss = async () => (await numeric.step({ ...window, train: false })).crossEntropySum / contextLength;
  const comparisons: Comparison[] = [];
  for (const name of names) {
    const gradient = await analytic.readTensor(name, "gradient");
    const values = await numeric.readTensor(name, "value");
    // for A and B alike, pick the elements that matter most; for K/V under the bug all are ~0, so take any
    const order = tensorParts(name, gradient.length).flatMap(({ part, start, end }) =>
      Array.from({ length: end - start }, (_, offset) => start + offset)
        .sort((a, b) => Math.abs(gradient[b]) - Math.abs(gradient[a]))
        .slice(0, count)
        .map((index) => ({ index, part })),
    );
    for (const { index, part } of order) {
      const original = values[index];
      const centralDifference = async (step: number) => {
        values[index] = original + step;
        await numeric.writeTensor(name, "value", values);
        const plus = await loss();
        values[index] = original - step;
        await numeric.writeTensor(name, "value", values);
        const minus = await loss();
        return (plus - minus) / (2 * step);
      };
      // Richardson extrapolation of two central differences cancels their O(step^2) error
      const numericGradient = (4 * (await centralDifference(epsilon / 2)) - (await centralDifference(epsilon))) / 3;
      values[index] = original;
      await numeric.writeTensor(name, "value", values);
      // ggml-opt scales the loss by 1/period while it accumulates gradients over the period's windows
      comparisons.push({ name: `${name}[${index}]${part ? ` (${part})` : ""}`, analytic: gradient[index] * windowsPerOptimizerStep, numeric: numericGradient });
    }
  }
  return comparisons;
}

const separateKinds = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];
const fusedKinds = ["attn_qkv", "attn_output", "ffn_up", "ffn_down"];
const adapterTensorNames = (kinds: string[]) =>
  [0, 1].flatMap((layer) => kinds.flatMap((kind) => [`blk.${layer}.${kind}.weight.lora_a`, `blk.${layer}.${kind}.weight.lora_b`]));
const tensorNames = adapterTensorNames(separateKinds);

function relativeError({ analytic, numeric }: Comparison): number {
  return Math.abs(analytic - numeric) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-6);
}

/**
 * The finite-difference step and the relative tolerance for an architecture. Gemma's GELU runs through
 * ggml's f16 table (GGML_GELU_FP16 in ggml-cpu/vec.h): the loss is a staircase in each gate input, and
 * at a step of 2e-2 the difference quotients of every tensor before the last GELU carry a few percent
 * of it (relative errors, median and worst: gemma2 1.1e-2 and 1.3e-1, gemma3 8.6e-3 and 3.4e-2; at 8e-2,
 * 3.0e-3 and 4.0e-2, 2.3e-3 and 1.2e-2: falling as 1/step, which is noise, not a gradient error).
 * gemma3's last up and down, after the last table lookup, agree within 1.5e-3 at a step of 2e-2.
 * test/train-gradients-reference.test.ts checks Gemma's gradients against the float64 reference
 * instead, without the table: within 5.6e-4.
 */
function checkSettings(architecture: TinyModelArchitecture | "llama-256"): { epsilon: number; relativeTolerance: number } {
  return architecture.startsWith("gemma") ? { epsilon: 8e-2, relativeTolerance: 0.05 } : { epsilon: 2e-2, relativeTolerance: 0.02 };
}

async function expectGradientsMatch(label: string, analytic: NativeTrainer, numeric = analytic, names = tensorNames, settings = checkSettings("llama")): Promise<void> {
  const { epsilon, relativeTolerance } = settings;
  try {
    const comparisons = await compareGradients(analytic, names, 3, epsilon, numeric);
    const large = comparisons.filter((c) => Math.abs(c.numeric) > 5e-3);
    const worst = large.reduce((a, b) => (relativeError(a) > relativeError(b) ? a : b));
    console.log(
      `${label}: ${comparisons.length} elements; worst relative error among the ${large.length} with |dL/dw| > 5e-3: ` +
        `${relativeError(worst).toExponential(2)} at ${worst.name} (analytic ${worst.analytic}, numeric ${worst.numeric})`,
    );
    for (const comparison of comparisons) {
      expect(Math.abs(comparison.numeric), comparison.name).toBeGreaterThan(1e-4);
      // the f32 loss resolves ~5e-7, which over a step of 1e-2 is ~1e-4 of noise in a difference quotient
      // (gemma: see checkSettings)
      expect(Math.abs(comparison.analytic - comparison.numeric), comparison.name).toBeLessThan(2e-4 + relativeTolerance * Math.abs(comparison.numeric));
    }
  } finally {
    await analytic.close();
    if (numeric !== analytic) await numeric.close();
  }
}

describe("LoRA gradients match finite differences", () => {
  it.each(separateArchitectures)("%s: every adapter tensor kind (q, k, v, o, gate, up, down; A and B), with packed samples and a loss mask", async (architecture) => {
    await expectGradientsMatch(architecture, await openTrainer(architecture, false), undefined, tensorNames, checkSettings(architecture));
  });

  // phi3 multiplies through the fused weights and splits q/k/v by strided views; its fused ffn_up
  // goes through ggml_swiglu of one tensor (llama-graph.cpp's build_ffn, LLM_FFN_SWIGLU without a
  // gate), whose backward ggml lacked (GGML_ASSERT(src1 && "backward pass only implemented for split
  // swiglu"), patches/0009). The last block's down needs neither backward.
  it("phi3: the last block's down (A and B), with packed samples and a loss mask", async () => {
    const trainer = await openTrainer("phi3", false, { model: modelPath("phi3"), adapter: phi3LastDownAdapterPath });
    await expectGradientsMatch("phi3 last down", trainer, undefined, adapterTensorNames(["ffn_down"]).filter((name) => name.startsWith(`blk.${shape.nLayer - 1}.`)));
  });

  // Each part of a fused lora_b checked on its own (patches/0009: the fused swiglu's backward, the q/k/v views').
  it("phi3: every adapter tensor kind (qkv, o, gate_up, down; A and B, each fused part of B)", async () => {
    await expectGradientsMatch("phi3", await openTrainer("phi3", false), undefined, adapterTensorNames(fusedKinds));
  });

  // patches/0007: the loss over chunks of 48 labelled positions (each chunk's logits recomputed in the
  // backward pass), attention over chunks of 64 query rows, and every layer recomputed from its output.
  // gemma2 (its softcapped, sliding-window attention and sa_out residual) with recomputation, which chunks too
  it.each([
    ["chunked loss and attention", { lossChunkRows: 48, attentionChunkRows: 64 }, ["llama", "qwen3"]],
    ["chunked, with layers recomputed", { lossChunkRows: 48, attentionChunkRows: 64, recomputeLayers: true }, ["llama", "qwen3", "gemma2"]],
  ] as const)("%s: every adapter tensor kind on %j", async (_label, memory, architectures) => {
    for (const architecture of architectures) {
      await expectGradientsMatch(`${architecture} ${_label}`, await openTrainer(architecture, false, undefined, memory), undefined, tensorNames, checkSettings(architecture));
    }
  });

  // The activation gradient through a frozen weight of another type goes through patch 0005's
  // converted panels. Finite differences of that model itself would measure the rounding of its
  // activations (ggml's mul_mat converts them to the weight's dot type: f16, bf16, q8_0, q8_K), a
  // staircase at this step size; so they are taken on an f32 copy holding the dequantized weights.
  it.each(baseTypes)("llama on a %s base: every adapter tensor kind, against the dequantized weights", async (type) => {
    const analytic = await openTrainer("llama", false, { model: typedBasePath(type), adapter: typedAdapterPath });
    const numeric = await openTrainer("llama", false, { model: typedBasePath(`${type}-dequantized`), adapter: typedAdapterPath });
    await expectGradientsMatch(`llama ${type}`, analytic, numeric);
  });

  // gemma2 through the sliding-window cache pair (llama_kv_cache_iswa), which patches/0010 routes like the single cache
  it.each(["llama", "gemma2"] as const)("%s: with upstream attention through the KV cache, K and V gradients are wrong (the check catches the bug)", async (architecture) => {
    const trainer = await openTrainer(architecture, true);
    const ours = await openTrainer(architecture, false);
    try {
      // the same forward pass either way: our attention over the window's own K/V, masked as the cache's
      // cells would be (for gemma2's sliding layer too), computes the loss the cache path does
      const window = makeWindow();
      const throughCache = (await trainer.step({ ...window, train: false })).crossEntropySum;
      const throughWindow = (await ours.step({ ...window, train: false })).crossEntropySum;
      expect(Math.abs(throughWindow - throughCache)).toBeLessThan(1e-5 * Math.abs(throughCache));
      const comparisons = await compareGradients(trainer, ["blk.0.attn_k.weight.lora_b", "blk.0.attn_v.weight.lora_b"], 2, 1e-2);
      for (const comparison of comparisons) {
        console.log(`KV-cache attention: ${comparison.name} analytic ${comparison.analytic}, numeric ${comparison.numeric}`);
        expect(relativeError(comparison)).toBeGreaterThan(0.5);
      }
    } finally {
      await trainer.close();
      await ours.close();
    }
  });
});
