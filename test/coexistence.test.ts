// The addon is context-aware and carries its own hidden copy of ggml: it must work inside a
// worker thread, and next to node-llama-cpp in one process.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("coexist");
const model = path.join(temp.dir, "tiny.gguf");
const distIndex = new URL(`file://${path.join(packageRoot, "dist", "index.js")}`).href;

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 11 });
});
afterAll(() => temp.cleanup());

describe("addon in other hosts", () => {
  it("loads and quantizes inside a worker thread, while the main thread does the same", async () => {
    const worker = new Worker(path.join(packageRoot, "test", "fixtures", "quantize-in-worker.mjs"), {
      workerData: { distIndex, input: model, output: path.join(temp.dir, "worker-q8.gguf"), type: "q8_0" },
    });
    const fromWorker = new Promise<{ type: string; fileType: string; tensorCount: number }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    const { quantize } = await import("../src/index.js");
    const [workerResult, mainResult] = await Promise.all([fromWorker, quantize(model, path.join(temp.dir, "main-q4.gguf"), { type: "q4_0" })]);
    await worker.terminate();
    expect(workerResult.type).toBe("Q8_0");
    expect(workerResult.fileType).toBe("Q8_0");
    expect(workerResult.tensorCount).toBeGreaterThan(10);
    expect(mainResult.type).toBe("Q4_0");
  });

  it("a worker terminated in the middle of a quantize: the process lives on, its job stops, nothing is left behind", async () => {
    const medium = path.join(temp.dir, "medium.gguf");
    await writeTinyLlamaGguf(medium, { seed: 12, nLayer: 8, nEmbd: 512, nFf: 1536, nHead: 8, nHeadKv: 4 });
    const outputDir = path.join(temp.dir, "terminated");
    mkdirSync(outputDir);
    const worker = new Worker(path.join(packageRoot, "test", "fixtures", "quantize-until-terminated.mjs"), {
      workerData: { distIndex, input: medium, output: path.join(outputDir, "out.gguf") },
    });
    const firstMessage = await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    expect(firstMessage).toBe("running");
    const started = performance.now();
    await worker.terminate();
    const terminateMs = performance.now() - started;
    console.log(`worker terminate took ${terminateMs.toFixed(0)} ms`);
    // the environment's cleanup hook cancels the job, which stops after the tensor in hand
    expect(terminateMs).toBeLessThan(5000);
    expect(readdirSync(outputDir)).toEqual([]);
    // and this process still quantizes
    const { quantize } = await import("../src/index.js");
    expect((await quantize(model, path.join(temp.dir, "after-terminate.gguf"), { type: "q8_0" })).type).toBe("Q8_0");
  });

  it("works in a process that has loaded node-llama-cpp and evaluated a model", () => {
    const output = execFileSync(
      process.execPath,
      [path.join(packageRoot, "test", "fixtures", "coexist-with-node-llama-cpp.mjs"), distIndex, model, path.join(temp.dir, "coexist-q8.gguf")],
      { encoding: "utf8", timeout: 120_000 },
    );
    const result = JSON.parse(output.trim().split("\n").at(-1)!);
    expect(result.type).toBe("Q8_0");
    expect(result.llamaCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(typeof result.before).toBe("number");
    // q8_0 keeps the greedy next token of this model
    expect(result.after).toBe(result.before);
  });

  it.runIf(process.platform === "linux")("exports no ggml or llama symbols from the .node (static, hidden)", () => {
    const symbols = execFileSync("nm", ["-D", "--defined-only", path.join(packageRoot, "build", "Release", "lora_gguf.node")], { encoding: "utf8" });
    const leaked = symbols.split("\n").filter((line) => /\b(ggml_|gguf_|llama_)/.test(line));
    expect(leaked).toEqual([]);
    expect(symbols).toContain("napi_register_module_v1");
  });
});
