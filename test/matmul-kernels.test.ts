// patches/0005's training kernels against a float64 reference over the weights as the kernel sees
// them (dequantized), on shapes with every kind of tail: columns past the last 64- and 16-wide
// strip, rows past the last 4-row tile, an odd depth (the bf16 kernel pairs rows of W) that also
// ends inside a 128-row panel. A wrong tile, panel offset or pairing errs by about the outputs' own
// size (sqrt(depth)); rounding errs by about 0.5% of it in bf16 products, 2% where ggml's own
// forward quantizes the activations to q8 (CPUs without AVX512-BF16), and 1e-6 in f32.
import { describe, expect, it } from "vitest";

import { GgmlType } from "../src/index.js";
import { loadNative } from "../src/native.js";

interface Case {
  type: keyof typeof GgmlType;
  inputs: number;
}

const cases: Case[] = [
  { type: "F32", inputs: 40 },
  { type: "F32", inputs: 96 },
  { type: "F16", inputs: 96 },
  { type: "BF16", inputs: 96 },
  { type: "Q8_0", inputs: 160 },
  { type: "Q4_0", inputs: 96 },
  { type: "Q4_1", inputs: 96 },
  { type: "Q5_0", inputs: 96 },
  { type: "Q5_1", inputs: 96 },
  { type: "IQ4_NL", inputs: 96 },
  { type: "Q4_K", inputs: 256 },
  { type: "Q6_K", inputs: 512 },
];

async function maxRelativeError(op: "mul_mat" | "out_prod", type: keyof typeof GgmlType, inputs: number, outputs: number, tokens: number): Promise<number> {
  const native = await loadNative();
  const { maxAbsError } = await native.measureMatMulRate({ op, weightType: GgmlType[type], inputs, outputs, tokens, threads: 2, repeats: 1 }).promise;
  // each output is a sum of `depth` products of two unit normals
  const depth = op === "out_prod" ? outputs : inputs;
  return maxAbsError / Math.sqrt(depth);
}

describe("training matmul kernels", () => {
  it.each(cases)("OUT_PROD(W, gᵀ) for a $type W of $inputs columns: odd depth, row and column tails", async ({ type, inputs }) => {
    const error = await maxRelativeError("out_prod", type, inputs, 131, 70);
    console.log(`out_prod ${type}: max error ${error.toExponential(2)} of sqrt(depth)`);
    expect(error).toBeLessThan(type === "F32" ? 1e-5 : 2e-2);
  });

  it.each(cases.filter((c) => c.type !== "F32"))("MUL_MAT(W, x) for a $type W over a 70-token window", async ({ type, inputs }) => {
    // rows a multiple of 16 and 64+ tokens: the bf16 GEMM where the CPU has one
    const error = await maxRelativeError("mul_mat", type, inputs, 48, 70);
    console.log(`mul_mat ${type}: max error ${error.toExponential(2)} of sqrt(depth)`);
    expect(error).toBeLessThan(5e-2);
  });
});
