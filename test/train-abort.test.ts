// An abort stops the training step in progress between two graph nodes (patches/0008), never in the
// middle of an optimizer update: the tensors read afterwards are the last completed step's, so the
// checkpoint train() writes on an abort resumes exactly. (The latency at real scale is a figure of
// `npm run bench:train-abort`, not a timed assertion here.)
import { mkdirSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isLoraGgufError, train } from "../src/index.js";
import { loadNative, type NativeTrainerStep } from "../src/native.js";
import { SeededRandom } from "../src/seeded-random.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { readCheckpoint } from "../src/train/checkpoint.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { runMetrics, tensorBytesByName } from "./helpers/run-outputs.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";

const temp = makeTempDir("train-abort");
const file = (name: string) => path.join(temp.dir, name);
const CONTEXT = 256;

beforeAll(async () => {
  await writeTinyLlamaGguf(file("base.gguf"), { seed: 4, chatTemplate: instTemplate });
  writeMemorizationJsonl(file("colours.jsonl"));
  await writeRandomAdapter(file("base.gguf"), file("adapter.gguf"), { rank: 4, alpha: 8, seed: 3, bStd: 0.02 });
});
afterAll(() => temp.cleanup());

function randomWindow(seed: number): NativeTrainerStep {
  const random = new SeededRandom(seed);
  const tokens = Int32Array.from({ length: CONTEXT }, () => 3 + Math.floor(random.nextFloat() * 500));
  const labels = Int32Array.from({ length: CONTEXT }, (_, i) => (i + 1 < CONTEXT ? tokens[i + 1] : -1));
  return { tokens, labels, train: true, learningRate: 1e-2 };
}

describe("abort inside a training step", () => {
  it("interrupt() stops a step of a two-window accumulation and the next: they reject with E_ABORTED; values, moments and the step counter are the last completed step's", async () => {
    const native = await loadNative();
    const trainer = await native.createTrainer({
      modelPath: file("base.gguf"),
      adapterPath: file("adapter.gguf"),
      contextLength: CONTEXT,
      maxSequencesPerWindow: 1,
      threads: 2,
      windowsPerOptimizerStep: 2,
    });
    try {
      // one whole optimizer step (two windows), then half of the next
      for (const seed of [1, 2, 3]) await trainer.step(randomWindow(seed));
      const names = (await trainer.parameterNames()).map((parameter) => parameter.name);
      const snapshot = async () => ({
        iter: await trainer.optimizerIter(),
        tensors: await Promise.all(names.flatMap((name) => (["value", "adamwM", "adamwV"] as const).map((kind) => trainer.readTensor(name, kind)))),
      });
      const before = await snapshot();
      expect(before.iter).toBe(2);

      trainer.interrupt();
      for (const seed of [4, 5]) {
        const error = await trainer.step(randomWindow(seed)).catch((e: unknown) => e);
        expect(isLoraGgufError(error, "E_ABORTED"), String(error)).toBe(true);
      }
      const after = await snapshot();
      expect(after.iter).toBe(before.iter);
      after.tensors.forEach((tensor, index) => expect(Buffer.from(tensor.buffer).equals(Buffer.from(before.tensors[index].buffer)), `tensor ${index}`).toBe(true));
    } finally {
      await trainer.close();
    }
  });

  it("train(): an abort during a step rejects, leaves the last completed step's checkpoint, and the resumed run equals an uninterrupted one bit for bit", async () => {
    const common = { model: file("base.gguf"), data: file("colours.jsonl"), rank: 8, alpha: 16, learningRate: 2e-3, epochs: 12, seed: 9, threads: 2, checkpointInterval: 1000 };
    for (const dir of ["straight", "aborted"]) mkdirSync(file(dir));
    const straight = await train({ ...common, output: file("straight/adapter.gguf") });

    const controller = new AbortController();
    const abortAfterStep = 5;
    const error = await train({
      ...common,
      output: file("aborted/adapter.gguf"),
      signal: controller.signal,
      // the abort lands while the next step runs on the native thread: after this callback the loop
      // starts that step before the event loop reaches setImmediate
      onProgress: (progress) => {
        if (progress.step === abortAfterStep) setImmediate(() => controller.abort());
      },
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    // step 6 had started and did not count: the checkpoint (written on the abort only) is step 5's
    expect((await readCheckpoint(file("aborted/checkpoint.gguf"))).step).toBe(abortAfterStep);
    expect(runMetrics(file("aborted")).map((record) => record.step)).toEqual([1, 2, 3, 4, 5]);

    const resumed = await train({ ...common, output: file("aborted/adapter.gguf"), resume: file("aborted/checkpoint.gguf") });
    expect(resumed.steps).toBe(straight.steps);
    const expected = await tensorBytesByName(straight.adapter);
    const actual = await tensorBytesByName(resumed.adapter);
    for (const [name, bytes] of expected) expect(actual.get(name)!.equals(bytes), name).toBe(true);
    expect(runMetrics(file("aborted"))).toEqual(runMetrics(file("straight")));
  });
});
