// The QLoRA workflow: train the adapter on a quantized copy of the model, merge it into the
// full-precision original. The adapter records the model's identity (baseModelIdentity), which every
// encoding of one checkpoint shares, so merge accepts the f16 and f32 originals with a note and
// refuses another model of the same shapes unless allowOtherBase says so.
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isLoraGgufError, merge, quantize, readGgufHeader, train } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { baseModelFingerprint, baseModelIdentity } from "../src/train/base-fingerprint.js";
import { maxAbsDifferenceOfRows, tokenSequenceProbabilities } from "./helpers/llama-eval.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("qlora-workflow");
const file = (name: string) => path.join(temp.dir, name);
const sequences = [[1, 300, 400, 500, 600], [1, 20, 21, 22, 23, 24, 25]];
const adapters: Record<string, string> = {};

beforeAll(async () => {
  await writeTinyLlamaGguf(file("base-f32.gguf"), { seed: 6, chatTemplate: instTemplate });
  // same shapes and vocabulary, other weights (norms included)
  await writeTinyLlamaGguf(file("other-f32.gguf"), { seed: 7, chatTemplate: instTemplate });
  for (const type of ["f16", "q8_0", "q4_k_m"]) await quantize(file("base-f32.gguf"), file(`base-${type}.gguf`), { type });
  writeMemorizationJsonl(file("colours.jsonl"));
  for (const type of ["q8_0", "q4_k_m"]) {
    const output = file(`adapter-${type}/adapter.gguf`);
    (await import("node:fs")).mkdirSync(path.dirname(output), { recursive: true });
    await train({ model: file(`base-${type}.gguf`), data: file("colours.jsonl"), output, learningRate: 3e-3, maxSteps: 6, seed: 2, threads: 2 });
    adapters[type] = output;
  }
}, 240_000);
afterAll(() => temp.cleanup());

describe("QLoRA: trained on a quantized copy, merged into the original", () => {
  it("every encoding of one model shares its identity; another model of the same shapes does not; fingerprints tell encodings apart", async () => {
    const identity = async (name: string) => baseModelIdentity(file(name), await readGgufHeader(file(name)));
    const base = await identity("base-f32.gguf");
    for (const type of ["f16", "q8_0", "q4_k_m"]) expect(await identity(`base-${type}.gguf`)).toBe(base);
    expect(await identity("other-f32.gguf")).not.toBe(base);
    expect(baseModelFingerprint(await readGgufHeader(file("base-q8_0.gguf")))).not.toBe(baseModelFingerprint(await readGgufHeader(file("base-f32.gguf"))));
    expect((await readGgufHeader(adapters.q8_0)).metadataByKey.get("adapter.lora.base_identity")?.value).toBe(base);
  });

  for (const trainedOn of ["q8_0", "q4_k_m"]) {
    it(`an adapter trained on ${trainedOn} merges into the f16 and the f32 original, with a note; the f32 merge equals base + adapter at run time within 1e-4`, async () => {
      for (const into of ["f16", "f32"]) {
        const output = file(`merged-${trainedOn}-into-${into}.gguf`);
        const result = await merge({ model: file(`base-${into}.gguf`), adapters: [{ path: adapters[trainedOn] }], output, threads: 2 });
        expect(result.warnings).toEqual([
          `adapter.gguf was trained on another encoding of the same model as base-${into}.gguf (other tensor types): fine, a LoRA applies to the weights whatever their encoding`,
        ]);
      }
      const merged = await tokenSequenceProbabilities(file(`merged-${trainedOn}-into-f32.gguf`), sequences);
      const runtime = await tokenSequenceProbabilities(file("base-f32.gguf"), sequences, { adapterPath: adapters[trainedOn] });
      const plain = await tokenSequenceProbabilities(file("base-f32.gguf"), sequences);
      const difference = maxAbsDifferenceOfRows(merged, runtime);
      console.log(`${trainedOn} adapter merged into f32: max |p - p_runtime| = ${difference.toExponential(2)}; the adapter moves p by up to ${maxAbsDifferenceOfRows(runtime, plain).toFixed(4)}`);
      expect(difference).toBeLessThan(1e-4);
      expect(maxAbsDifferenceOfRows(runtime, plain)).toBeGreaterThan(1e-3);
    });
  }

  it("another model of the same shapes is E_ADAPTER_MISMATCH, unless allowOtherBase (with a warning); nothing is written when refused", async () => {
    const output = file("merged-other.gguf");
    let error: unknown;
    try {
      await merge({ model: file("other-f32.gguf"), adapters: [{ path: adapters.q8_0 }], output });
    } catch (caught) {
      error = caught;
    }
    expect(isLoraGgufError(error) && error.code).toBe("E_ADAPTER_MISMATCH");
    expect((error as Error).message).toBe(
      "merge: adapter.gguf was trained on a different model than other-f32.gguf (tensor shapes, vocabulary or norm weights differ); give allowOtherBase (--allow-other-base) to use it anyway",
    );
    expect((await import("node:fs")).existsSync(output)).toBe(false);
    const forced = await merge({ model: file("other-f32.gguf"), adapters: [{ path: adapters.q8_0 }], output, allowOtherBase: true, threads: 2 });
    expect(forced.warnings).toEqual([
      "adapter.gguf was trained on a different model than other-f32.gguf (tensor shapes, vocabulary or norm weights differ); used anyway (allowOtherBase)",
    ]);
  });
});
