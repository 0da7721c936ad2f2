// train() on a 100k-row dataset at a 2048-token context for 3 epochs, with the streamed training
// plan (test/train-streamed-plan.test.ts): the run stays under 1 GB resident up to its first step,
// and a run stopped after step 3 resumes to the same adapter, bit for bit, as a straight one.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { train } from "../../src/index.js";
import { packageRoot } from "../../src/native.js";
import { SeededRandom } from "../../src/seeded-random.js";
import { llamaSourceDir, writeTinyLlamaGguf } from "../../src/testing/tiny-llama.js";
import { tensorBytesByName, runMetrics } from "../helpers/run-outputs.js";
import { makeTempDir } from "../helpers/temp-dir.js";

const MiB = 1024 * 1024;

describe("train: 100k rows at a 2048-token context for 3 epochs", () => {
  const temp = makeTempDir("streamed-plan");
  const model = path.join(temp.dir, "base.gguf");
  const data = path.join(temp.dir, "rows.jsonl");
  const distIndex = new URL(`file://${path.join(packageRoot, "dist", "index.js")}`).href;
  const fixture = path.join(packageRoot, "test", "fixtures", "train-until-child.mjs");
  const common = {
    model,
    data,
    contextLength: 2048,
    epochs: 3,
    maxSteps: 6,
    rank: 4,
    learningRate: 1e-3,
    warmupSteps: 2,
    scheduler: "cosine",
    seed: 3,
    threads: 2,
    validationSplit: 0.0005,
    evalInterval: 2,
    checkpointInterval: 100,
    force: true,
  };

  beforeAll(async () => {
    // llama.cpp's BPE vocabulary tokenizes about twice as fast as its SentencePiece one
    await writeTinyLlamaGguf(model, { seed: 12, vocabPath: path.join(llamaSourceDir(), "models", "ggml-vocab-llama-bpe.gguf") });
    // plain-text rows of 4 to 140 words (12.5M tokens in all): a dozen or more of them to a window
    const words = ["the", "lamp", "river", "stone", "cloud", "apple", "chair", "window", "garden", "bottle", "is", "red", "blue", "green", "and", "under", "a", "small", "old", "bright"];
    const random = new SeededRandom(21);
    const rows: string[] = [];
    for (let row = 0; row < 100_000; row++) {
      const count = 4 + Math.floor(random.nextFloat() * 137);
      const text = Array.from({ length: count }, () => words[Math.floor(random.nextFloat() * words.length)]).join(" ");
      rows.push(JSON.stringify({ text: `${row}: ${text}.` }));
    }
    writeFileSync(data, `${rows.join("\n")}\n`);
  });
  afterAll(() => temp.cleanup());

  /** train() in a fresh process, aborted after `abortAfter` steps. */
  function runUntil(options: object, abortAfter: number): Promise<{ firstStep: { rssBytes: number; peakRssBytes: number }; lastStep: number; error: { name: string } | null }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fixture, distIndex, JSON.stringify(options), String(abortAfter)], { stdio: ["ignore", "pipe", "inherit"] });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(stdout.trim().split("\n").at(-1)!)) : reject(new Error(`the run exited with ${code}: ${stdout}`))));
    });
  }

  it("stays under 1 GB resident up to its first step, and resumes from a checkpoint bit for bit", async () => {
    const straightDir = path.join(temp.dir, "straight");
    const resumedDir = path.join(temp.dir, "resumed");
    mkdirSync(straightDir);
    mkdirSync(resumedDir);

    const interrupted = await runUntil({ ...common, output: path.join(resumedDir, "adapter.gguf") }, 3);
    console.log(
      `first step of a 100k-row run at ctx 2048: ${(interrupted.firstStep.rssBytes / MiB).toFixed(0)} MiB resident, ` +
        `${(interrupted.firstStep.peakRssBytes / MiB).toFixed(0)} MiB at the peak so far`,
    );
    expect(interrupted.error?.name).toBe("AbortError");
    expect(interrupted.lastStep).toBe(3);
    // the peak includes planning and the first step: about 540 MiB, where packing every window of
    // the three epochs up front (about 19,000 windows of 32 KiB) peaked at 1150 to 1230 MiB
    expect(interrupted.firstStep.peakRssBytes).toBeLessThan(1024 * MiB);

    const straight = await train({ ...common, output: path.join(straightDir, "adapter.gguf") } as never);
    const resumed = await train({ ...common, output: path.join(resumedDir, "adapter.gguf"), resume: path.join(resumedDir, "checkpoint.gguf") } as never);
    expect(straight.steps).toBe(6);
    expect(resumed.steps).toBe(6);
    const expected = await tensorBytesByName(straight.adapter);
    const actual = await tensorBytesByName(resumed.adapter);
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expect(actual.get(name)!.equals(bytes), name).toBe(true);
    const metrics = runMetrics(straightDir);
    expect(runMetrics(resumedDir)).toEqual(metrics);
    expect(metrics.filter((record) => record.validationLoss !== undefined).map((record) => record.step)).toEqual([2, 4, 6]);
  });
});
