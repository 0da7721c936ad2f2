// The trainer's LoRA gradients for Gemma against finite differences of the float64 reference forward
// pass (transformers' semantics, test/helpers/hf-reference-forward.ts) with the adapter merged in.
// The finite differences of test/train-gradients.test.ts are taken on llama.cpp's own loss, whose
// GELU looks up an f16 table, so for Gemma they carry a few percent of staircase noise; these carry
// none (float64, exact GELU), so the bound is tight: what remains is the f32 arithmetic and the
// table on the analytic side. They also check that what training differentiates is the checkpoint's
// model, through the conversion, with the attention softcap, the sliding window and the global layer.
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { loadNative } from "../src/native.js";
import { tinyHfTokenizer } from "../src/testing/tiny-hf-tokenizer.js";
import type { TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { writeTinyPeftAdapter, type TinyPeftAdapter } from "../src/testing/tiny-peft-adapter.js";
import { loadHfReferenceModel, writeReferenceCheckpoint, type HfReferenceModel, type ReferenceProjection } from "./helpers/hf-reference-forward.js";
import { tinyPeftModules } from "./helpers/peft-modules.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("grad-reference");
afterAll(() => temp.cleanup());

const hidden = 64;
const headDim = 32;
const ffn = 128;
// 4 heads of 32 (head_dim given, as Gemma's configs do), 2 KV heads
const modules = tinyPeftModules(hidden, 2 * headDim, ffn).map((module) =>
  module.name === "self_attn.q_proj" ? { ...module, out: 4 * headDim } : module.name === "self_attn.o_proj" ? { ...module, in: 4 * headDim } : module,
);
const rank = 4;
const windowsPerOptimizerStep = 2;
// one sequence, every position labelled with the next token but the last; the window (llama.cpp's
// context is a multiple of 256) holds it, then an unlabelled filler sequence of its own
const tokens = [5, 17, 300, 42, 9, 251, 252, 253, 77, 600, 13, 14, 15, 400, 401, 2, 88, 99, 123, 321, 222, 111, 500, 7];
const windowLength = 256;

const kinds: { gguf: string; hf: string; projection: ReferenceProjection }[] = [
  { gguf: "attn_q", hf: "self_attn.q_proj", projection: "q" },
  { gguf: "attn_k", hf: "self_attn.k_proj", projection: "k" },
  { gguf: "attn_v", hf: "self_attn.v_proj", projection: "v" },
  { gguf: "attn_output", hf: "self_attn.o_proj", projection: "o" },
  { gguf: "ffn_gate", hf: "mlp.gate_proj", projection: "gate" },
  { gguf: "ffn_up", hf: "mlp.up_proj", projection: "up" },
  { gguf: "ffn_down", hf: "mlp.down_proj", projection: "down" },
];

/** W + scale·B·A for one adapted weight, written into the reference model's live weights. */
function mergeInto(model: HfReferenceModel, layer: number, kind: (typeof kinds)[number], base: Float64Array, a: Float64Array, b: Float64Array, scale: number, columns: number): void {
  const weight = model.projection(layer, kind.projection);
  const rows = base.length / columns;
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += b[row * rank + k] * a[k * columns + column];
      weight[row * columns + column] = base[row * columns + column] + scale * sum;
    }
  }
}

/** The trainer's objective: cross-entropy summed over the labelled positions, over the window's length (the filler adds none). */
function referenceLoss(model: HfReferenceModel): number {
  const logits = model.logits(tokens);
  let sum = 0;
  for (let position = 0; position + 1 < tokens.length; position++) {
    const row = logits[position];
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const logSum = Math.log(row.reduce((total, value) => total + Math.exp(value - max), 0)) + max;
    sum += logSum - row[tokens[position + 1]];
  }
  return sum / windowLength;
}

const cases: { name: string; options: Partial<TinyHfCheckpointOptions> & Pick<TinyHfCheckpointOptions, "architecture"> }[] = [
  { name: "gemma (every layer global)", options: { architecture: "gemma" } },
  // caps that bind on the tiny model's scores and logits; layer 0 slides over 3 positions, layer 1 is global
  { name: "gemma2 (softcaps, a sliding and a global layer)", options: { architecture: "gemma2", attnLogitSoftcapping: 0.5, finalLogitSoftcapping: 2.5, slidingWindow: 3 } },
  { name: "gemma3 (q/k norms, both layers sliding over 3 positions)", options: { architecture: "gemma3", slidingWindow: 3 } },
];

describe("LoRA gradients match finite differences of the float64 reference", () => {
  it.each(cases)("$name: every adapter tensor kind, A and B, within 0.5%", async ({ name, options }) => {
    const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 1000 });
    const baseDir = path.join(temp.dir, options.architecture);
    await writeReferenceCheckpoint(baseDir, tokenizer, { dtype: "float32", seed: 11, headDim, ...options });
    const baseGguf = path.join(temp.dir, `${options.architecture}.gguf`);
    await convert(baseDir, baseGguf, { outType: "f32" });
    const peftDir = path.join(temp.dir, `${options.architecture}-peft`);
    const adapter: TinyPeftAdapter = await writeTinyPeftAdapter(peftDir, { modules, layers: 2, rank, alpha: 8, seed: 3 });
    const adapterGguf = path.join(temp.dir, `${options.architecture}-adapter.gguf`);
    await convert(peftDir, adapterGguf, { base: baseDir });

    const trainer = await (await loadNative()).createTrainer({
      modelPath: baseGguf, adapterPath: adapterGguf, contextLength: windowLength, maxSequencesPerWindow: 2, threads: 2,
      // two windows per optimizer step: this step only accumulates gradients, the values stay
      windowsPerOptimizerStep, attentionThroughKvCache: false,
    });
    const model = await loadHfReferenceModel(baseDir);
    try {
      const n = tokens.length;
      const window = {
        tokens: Int32Array.from({ length: windowLength }, (_, i) => (i < n ? tokens[i] : 3 + (i % 900))),
        labels: Int32Array.from({ length: windowLength }, (_, i) => (i + 1 < n ? tokens[i + 1] : -1)),
        positions: Int32Array.from({ length: windowLength }, (_, i) => (i < n ? i : i - n)),
        seqIds: Int32Array.from({ length: windowLength }, (_, i) => (i < n ? 0 : 1)),
      };
      const { crossEntropySum } = await trainer.step({ ...window, train: true, learningRate: 1e-3 });

      // the adapter merged into every projection, as PEFT applies it
      const factors = new Map<string, { a: Float64Array; b: Float64Array; base: Float64Array; columns: number }>();
      for (let layer = 0; layer < 2; layer++) {
        for (const kind of kinds) {
          const lora = adapter.weights.get(`model.layers.${layer}.${kind.hf}.weight`)!;
          const entry = { a: Float64Array.from(lora.a), b: Float64Array.from(lora.b), base: Float64Array.from(model.projection(layer, kind.projection)), columns: lora.in };
          factors.set(`${layer}.${kind.gguf}`, entry);
          mergeInto(model, layer, kind, entry.base, entry.a, entry.b, adapter.scale, entry.columns);
        }
      }
      // the trainer's loss is the reference's (llama.cpp's f16 GELU table and f32 arithmetic apart)
      const loss = referenceLoss(model);
      console.log(`${name}: loss ${(crossEntropySum / windowLength).toFixed(6)} (trainer) vs ${loss.toFixed(6)} (reference)`);
      expect(Math.abs(crossEntropySum / windowLength - loss)).toBeLessThan(1e-3 * loss);

      let worst = { error: 0, label: "" };
      let compared = 0;
      for (let layer = 0; layer < 2; layer++) {
        for (const kind of kinds) {
          const entry = factors.get(`${layer}.${kind.gguf}`)!;
          for (const factor of ["a", "b"] as const) {
            const ggufName = `blk.${layer}.${kind.gguf}.weight.lora_${factor}`;
            // GGUF's lora_a [rank, in] and lora_b [out, rank] rows are PEFT's A and B (Gemma's rope needs no row permutation)
            expect(Array.from(await trainer.readTensor(ggufName, "value"))).toEqual(Array.from(entry[factor], Math.fround));
            const gradient = await trainer.readTensor(ggufName, "gradient");
            const largest = Array.from(gradient.keys()).sort((i, j) => Math.abs(gradient[j]) - Math.abs(gradient[i])).slice(0, 1);
            for (const index of largest) {
              const values = entry[factor];
              const original = values[index];
              const lossAt = (value: number) => {
                values[index] = value;
                mergeInto(model, layer, kind, entry.base, entry.a, entry.b, adapter.scale, entry.columns);
                return referenceLoss(model);
              };
              const step = 1e-3;
              const central = (h: number) => (lossAt(original + h) - lossAt(original - h)) / (2 * h);
              const numeric = (4 * central(step / 2) - central(step)) / 3;
              lossAt(original);
              // ggml-opt scales the loss by 1/period while it accumulates over the period's windows
              const analytic = gradient[index] * windowsPerOptimizerStep;
              const error = Math.abs(analytic - numeric) / Math.abs(numeric);
              if (error > worst.error) worst = { error, label: `${ggufName}[${index}] analytic ${analytic.toExponential(4)} numeric ${numeric.toExponential(4)}` };
              expect(Math.abs(numeric), ggufName).toBeGreaterThan(1e-4);
              expect(Math.abs(analytic - numeric), `${ggufName}[${index}]`).toBeLessThan(1e-5 + 0.005 * Math.abs(numeric));
              compared++;
            }
          }
        }
      }
      console.log(`${name}: ${compared} elements; worst relative error ${worst.error.toExponential(2)} at ${worst.label}`);
    } finally {
      await trainer.close();
    }
  });
});
