// Nothing lost: a run killed with SIGKILL and resumed from its last checkpoint ends with the same
// adapter, bit for bit, and the same metrics after the kill point, as a run never interrupted.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isLoraGgufError, train } from "../src/index.js";
import { packageRoot } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { tensorBytesByName, runMetrics } from "./helpers/run-outputs.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("resume");
const model = path.join(temp.dir, "base.gguf");
const data = path.join(temp.dir, "colours.jsonl");
const distIndex = new URL(`file://${path.join(packageRoot, "dist", "index.js")}`).href;
const common = { model, data, rank: 8, alpha: 16, learningRate: 2e-3, epochs: 30, warmupSteps: 5, scheduler: "cosine", seed: 9, threads: 2, validationSplit: 0.2, evalInterval: 10, force: true };

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 4, chatTemplate: instTemplate });
  writeMemorizationJsonl(data);
});
afterAll(() => temp.cleanup());

/** Starts a run in a child process and SIGKILLs it once it has passed `killAfterStep`. */
function runAndKill(options: object, killAfterStep: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(packageRoot, "test", "fixtures", "train-child.mjs"), distIndex, JSON.stringify(options)]);
    let lastStep = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      for (const match of chunk.toString().matchAll(/step (\d+)/g)) lastStep = Number(match[1]);
      if (lastStep >= killAfterStep) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve(lastStep) : reject(new Error(`the run ended before the kill (${code})`))));
  });
}

describe("train: checkpoints and exact resume", () => {
  it("a run killed mid-way and resumed equals an uninterrupted run", async () => {
    const straightDir = path.join(temp.dir, "straight");
    const resumedDir = path.join(temp.dir, "resumed");
    mkdirSync(straightDir);
    mkdirSync(resumedDir);

    const straight = await train({ ...common, output: path.join(straightDir, "adapter.gguf"), checkpointInterval: 10 } as never);
    const killedAt = await runAndKill({ ...common, output: path.join(resumedDir, "adapter.gguf"), checkpointInterval: 10 }, 27);
    const resumed = await train({
      ...common,
      output: path.join(resumedDir, "adapter.gguf"),
      checkpointInterval: 10,
      resume: path.join(resumedDir, "checkpoint.gguf"),
    } as never);
    console.log(`killed after step ${killedAt}; resumed to step ${resumed.steps}; final loss ${straight.finalLoss} vs ${resumed.finalLoss}`);

    expect(killedAt).toBeGreaterThanOrEqual(27);
    expect(killedAt).toBeLessThan(straight.steps);
    const expected = await tensorBytesByName(straight.adapter);
    const actual = await tensorBytesByName(resumed.adapter);
    expect([...actual.keys()]).toEqual([...expected.keys()]);
    for (const [name, bytes] of expected) expect(actual.get(name)!.equals(bytes), name).toBe(true);
    expect(runMetrics(resumedDir)).toEqual(runMetrics(straightDir));
  });

  it("resume refuses what is not a checkpoint of this run", async () => {
    const dir = path.join(temp.dir, "refuse");
    mkdirSync(dir);
    const notCheckpoint = await train({ ...common, epochs: 1, output: path.join(dir, "adapter.gguf") } as never);
    const error = await train({ ...common, output: path.join(dir, "again.gguf"), resume: notCheckpoint.adapter } as never).catch((e: unknown) => e);
    expect(isLoraGgufError(error, "E_BAD_CHECKPOINT")).toBe(true);
    const otherOptions = await train({ ...common, rank: 4, output: path.join(dir, "again.gguf"), resume: notCheckpoint.checkpoint } as never).catch((e: unknown) => e);
    expect(isLoraGgufError(otherOptions, "E_BAD_CHECKPOINT")).toBe(true);
    expect((otherOptions as Error).message).toMatch(/rank/);

    // a checkpoint edited to hold fewer targets than the run trains
    const { readGgufHeader, writeGgufFile } = await import("../src/index.js");
    const header = await readGgufHeader(notCheckpoint.checkpoint);
    const bytes = await tensorBytesByName(notCheckpoint.checkpoint);
    const fewer = path.join(dir, "fewer-targets.gguf");
    await writeGgufFile(fewer, {
      metadata: header.metadata,
      tensors: header.tensors
        .filter((tensor) => !tensor.name.startsWith("blk.0.attn_q.weight.lora_"))
        .map((tensor) => ({ name: tensor.name, dims: tensor.dims, type: tensor.type, data: bytes.get(tensor.name)! })),
    });
    const fewerTargets = await train({ ...common, epochs: 1, output: path.join(dir, "adapter.gguf"), resume: fewer } as never).catch((e: unknown) => e);
    expect(isLoraGgufError(fewerTargets, "E_BAD_CHECKPOINT")).toBe(true);
    expect((fewerTargets as Error).message).toMatch(/missing blk\.0\.attn_q\.weight\.lora_a/);
  });
});
