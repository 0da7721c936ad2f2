import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { inspect, train } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { greedyCompletions } from "./helpers/llama-eval.js";
import { instTemplate, renderedPrompt, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("learn");
const model = path.join(temp.dir, "base.gguf");
const data = path.join(temp.dir, "colours.jsonl");
let examples: { prompt: string; response: string }[];

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 3, chatTemplate: instTemplate });
  examples = writeMemorizationJsonl(data);
});
afterAll(() => temp.cleanup());

describe("train: a tiny model learns a small task", () => {
  it("loss falls by half, the adapter reproduces the trained responses and stops, the base is untouched", async () => {
    const before = sha256(model);
    const output = path.join(temp.dir, "out", "adapter.gguf");
    (await import("node:fs")).mkdirSync(path.dirname(output));
    const progress: number[] = [];
    const result = await train({
      model,
      data,
      output,
      rank: 16,
      alpha: 32,
      learningRate: 3e-3,
      epochs: 60,
      seed: 1,
      threads: 2,
      onProgress: (p) => progress.push(p.loss),
    });
    console.log(`steps ${result.steps}, loss ${result.firstLoss.toFixed(3)} -> ${result.finalLoss.toFixed(3)}, ${result.tokensPerSecond.toFixed(0)} tok/s, ${result.seconds.toFixed(1)} s`);
    expect(result.finalLoss).toBeLessThan(result.firstLoss * 0.5);
    expect(progress.length).toBe(result.steps);
    expect(sha256(model)).toBe(before);
    for (const file of [result.trainingConfig, result.metrics, result.lossPlot, result.checkpoint]) expect(existsSync(file)).toBe(true);

    const info = await inspect(output);
    expect(info.kind).toBe("adapter");
    expect(info.adapter).toMatchObject({ adapterType: "lora", rank: 16, alpha: 32, targetCount: 2 * 7 });

    const completions = await greedyCompletions(model, examples.map((e) => renderedPrompt(e.prompt)), { adapterPath: output, maxTokens: 24 });
    const reproduced = completions.filter((completion, index) => completion.text.trim() === examples[index].response).length;
    const stopped = completions.filter((completion) => completion.endedWithEog).length;
    console.log(`reproduced ${reproduced}/${examples.length}, ended with EOS ${stopped}/${examples.length}; e.g. ${JSON.stringify(completions[0])}`);
    expect(reproduced / examples.length).toBeGreaterThanOrEqual(0.9);
    expect(stopped / examples.length).toBeGreaterThanOrEqual(0.95);

    // and the base model alone does not know the answers
    const baseline = await greedyCompletions(model, examples.map((e) => renderedPrompt(e.prompt)), { maxTokens: 24 });
    expect(baseline.filter((completion, index) => completion.text.trim() === examples[index].response).length).toBe(0);
  });
});

// phi3: fused qkv and gate_up (patches/0009); gemma3: GELU, post norms, q/k norms, a sliding-window
// layer (window 16, shorter than the samples) and a global one (patches/0010)
describe.each([
  { architecture: "phi3", targets: 4 },
  { architecture: "gemma3", targets: 7 },
] as const)("train: a tiny $architecture learns the same task", ({ architecture, targets }) => {
  it("16/16 answers reproduced, each ending with EOS", async () => {
    const { writeTinyModelGguf } = await import("../src/testing/tiny-model.js");
    const base = path.join(temp.dir, `${architecture}.gguf`);
    await writeTinyModelGguf(base, { architecture, seed: 3, chatTemplate: instTemplate });
    const output = path.join(temp.dir, `${architecture}-out`, "adapter.gguf");
    (await import("node:fs")).mkdirSync(path.dirname(output));
    const result = await train({ model: base, data, output, rank: 16, alpha: 32, learningRate: 3e-3, epochs: 60, seed: 1, threads: 2 });
    expect(result.finalLoss).toBeLessThan(result.firstLoss * 0.5);
    expect((await inspect(output)).adapter?.targetCount).toBe(2 * targets);
    const completions = await greedyCompletions(base, examples.map((e) => renderedPrompt(e.prompt)), { adapterPath: output, maxTokens: 24 });
    const reproduced = completions.filter((completion, index) => completion.text.trim() === examples[index].response).length;
    const stopped = completions.filter((completion) => completion.endedWithEog).length;
    console.log(`${architecture}: steps ${result.steps}, loss ${result.firstLoss.toFixed(3)} -> ${result.finalLoss.toFixed(3)}, ${result.seconds.toFixed(1)} s; reproduced ${reproduced}/${examples.length}, ended with EOS ${stopped}/${examples.length}`);
    expect(reproduced).toBe(examples.length);
    expect(stopped).toBe(examples.length);
    // and the base model alone does not know the answers
    const baseline = await greedyCompletions(base, examples.map((e) => renderedPrompt(e.prompt)), { maxTokens: 24 });
    expect(baseline.filter((completion, index) => completion.text.trim() === examples[index].response).length).toBe(0);
  });
});

describe("train: deeper models", () => {
  it("a 24-layer model with every target: the training graph fits (llama.cpp sizes graphs for inference)", async () => {
    const deep = path.join(temp.dir, "deep.gguf");
    await writeTinyLlamaGguf(deep, { seed: 5, nLayer: 24, nEmbd: 64, nHead: 4, nHeadKv: 2, nFf: 128, vocabSize: 1024, chatTemplate: instTemplate });
    const output = path.join(temp.dir, "deep-out", "adapter.gguf");
    (await import("node:fs")).mkdirSync(path.dirname(output));
    const result = await train({ model: deep, data, output, maxSteps: 3, epochs: 2, threads: 2 });
    expect(result.steps).toBe(3);
    expect((await inspect(output)).adapter?.targetCount).toBe(24 * 7);
  });
});
