// QLoRA-style: the same task trained on q8_0 and q4_k_m copies of the base lands close to the f32 run.
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

beforeAll(async () => {
  await writeTinyLlamaGguf(f32, { seed: 6, chatTemplate: instTemplate });
  writeMemorizationJsonl(data);
  await quantize(f32, path.join(temp.dir, "base-q8_0.gguf"), { type: "q8_0" });
  await quantize(f32, path.join(temp.dir, "base-q4_k_m.gguf"), { type: "q4_k_m" });
});
afterAll(() => temp.cleanup());

async function finalLoss(type: string): Promise<number> {
  const dir = path.join(temp.dir, type);
  mkdirSync(dir);
  const model = path.join(temp.dir, `base-${type}.gguf`);
  const before = createHash("sha256").update(readFileSync(model)).digest("hex");
  // stopped well before the loss reaches ~0, where relative differences say nothing
  const result = await train({ model, data, output: path.join(dir, "adapter.gguf"), learningRate: 1e-3, epochs: 8, seed: 2, threads: 2 });
  expect(createHash("sha256").update(readFileSync(model)).digest("hex")).toBe(before);
  console.log(`${type}: loss ${result.firstLoss.toFixed(4)} -> ${result.finalLoss.toFixed(4)} in ${result.steps} steps, ${result.tokensPerSecond.toFixed(0)} tok/s`);
  return result.finalLoss;
}

describe("train on a quantized base", () => {
  it("q8_0 and q4_k_m reach a final loss within 10% of the f32 base's", async () => {
    const reference = await finalLoss("f32");
    for (const type of ["q8_0", "q4_k_m"]) {
      const loss = await finalLoss(type);
      expect(Math.abs(loss - reference) / reference, type).toBeLessThan(0.1);
    }
  });
});
