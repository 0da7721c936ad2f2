// QLoRA-style: the same task trained on copies of the base in every type llama.cpp quantizes to
// without an importance matrix lands close to the f32 run.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { quantize, train } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("qlora");
const f32 = path.join(temp.dir, "base-f32.gguf");
const data = path.join(temp.dir, "colours.jsonl");
// q3_k_m keeps its attention and feed-forward outputs at q4_K/q5_K; the others below 4 bits change
// the (random) base model itself too much for its adapter to land within 2%: they are checked for
// learning as much as the f32 run does from their own starting loss
const baseTypes = ["f16", "bf16", "q8_0", "q6_k", "q5_k_m", "q5_0", "q5_1", "q4_k_m", "q4_0", "q4_1", "iq4_nl", "iq4_xs", "q3_k_m"];
const lowBitTypes = ["iq3_s", "q2_k", "tq2_0", "tq1_0"];

beforeAll(async () => {
  await writeTinyLlamaGguf(f32, { seed: 6, chatTemplate: instTemplate });
  writeMemorizationJsonl(data);
  for (const type of [...baseTypes, ...lowBitTypes]) await quantize(f32, path.join(temp.dir, `base-${type}.gguf`), { type });
});
afterAll(() => temp.cleanup());

async function trainedLosses(type: string): Promise<{ firstLoss: number; finalLoss: number }> {
  const dir = path.join(temp.dir, type);
  mkdirSync(dir);
  const model = path.join(temp.dir, `base-${type}.gguf`);
  const before = createHash("sha256").update(readFileSync(model)).digest("hex");
  // stopped well before the loss reaches ~0, where relative differences say nothing
  const result = await train({ model, data, output: path.join(dir, "adapter.gguf"), learningRate: 1e-3, epochs: 8, seed: 2, threads: 2 });
  expect(createHash("sha256").update(readFileSync(model)).digest("hex")).toBe(before);
  console.log(`${type}: loss ${result.firstLoss.toFixed(4)} -> ${result.finalLoss.toFixed(4)} in ${result.steps} steps, ${result.tokensPerSecond.toFixed(0)} tok/s`);
  return result;
}

describe("train on a quantized base", () => {
  it("every base type of 3 bits or more reaches a final loss within 2% of the f32 base's; lower ones learn as much", async () => {
    const reference = await trainedLosses("f32");
    const gaps: string[] = [];
    for (const type of baseTypes) {
      const { finalLoss } = await trainedLosses(type);
      gaps.push(`${type} ${((100 * (finalLoss - reference.finalLoss)) / reference.finalLoss).toFixed(2)}%`);
      expect(Math.abs(finalLoss - reference.finalLoss) / reference.finalLoss, type).toBeLessThan(0.02);
    }
    const referenceDrop = reference.firstLoss - reference.finalLoss;
    for (const type of lowBitTypes) {
      const { firstLoss, finalLoss } = await trainedLosses(type);
      gaps.push(`${type} ${((100 * (finalLoss - reference.finalLoss)) / reference.finalLoss).toFixed(2)}% (drop ${(firstLoss - finalLoss).toFixed(3)} vs ${referenceDrop.toFixed(3)})`);
      expect(Math.abs(firstLoss - finalLoss - referenceDrop) / referenceDrop, type).toBeLessThan(0.05);
    }
    console.log(`final loss against f32 (${reference.finalLoss.toFixed(4)}): ${gaps.join(", ")}`);
  });
});
