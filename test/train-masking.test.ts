// The loss the trainer reports before its first update, against cross-entropy computed from
// node-llama-cpp's logits on the same rendered examples: over response tokens only by default,
// over every token with trainOnPrompt.
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { train } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { sharedLlama, tokenCrossEntropy } from "./helpers/llama-eval.js";
import { instTemplate, memorizationExamples, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("mask");
const model = path.join(temp.dir, "base.gguf");
const data = path.join(temp.dir, "colours.jsonl");
const exampleCount = 6;

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 13, chatTemplate: instTemplate });
  writeMemorizationJsonl(data, exampleCount);
});
afterAll(() => temp.cleanup());

/** Mean cross-entropy of the tokens after each example's first `fromToken(prompt)` tokens, from node-llama-cpp logits. */
async function referenceLoss(trainOnPrompt: boolean): Promise<number> {
  const llama = await sharedLlama();
  const llamaModel = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
  const context = await llamaModel.createContext({ contextSize: 256, threads: 2 });
  let sum = 0;
  let count = 0;
  const sequence = context.getSequence();
  try {
    for (const { prompt, response } of memorizationExamples(exampleCount)) {
      const bos = llamaModel.tokens.bos!;
      // the rendering the template defines: "<s>[INST] q [/INST] a</s>"
      const promptTokens = [bos, ...llamaModel.tokenize(`[INST] ${prompt} [/INST]`, true)];
      const allTokens = [bos, ...llamaModel.tokenize(`[INST] ${prompt} [/INST] ${response}</s>`, true)];
      expect(allTokens.slice(0, promptTokens.length)).toEqual(promptTokens);
      await sequence.clearHistory();
      const results = await sequence.controlledEvaluate(allTokens.map((token) => [token, { generateNext: { logits: true } }]));
      const firstTarget = trainOnPrompt ? 1 : promptTokens.length;
      for (let i = firstTarget; i < allTokens.length; i++) {
        sum += tokenCrossEntropy(results[i - 1]!.next!.logits!, allTokens[i]);
        count += 1;
      }
    }
  } finally {
    await context.dispose();
    await llamaModel.dispose();
  }
  return sum / count;
}

async function firstStepLoss(trainOnPrompt: boolean): Promise<number> {
  const dir = path.join(temp.dir, trainOnPrompt ? "all" : "responses");
  mkdirSync(dir, { recursive: true });
  // one window holds every example, so step 1 sees them all, before any update
  await train({ model, data, output: path.join(dir, "adapter.gguf"), maxSteps: 1, trainOnPrompt, threads: 2, seed: 1 });
  const first = JSON.parse(readFileSync(path.join(dir, "metrics.jsonl"), "utf8").split("\n")[0]);
  return first.loss;
}

describe("train: the loss covers what it should", () => {
  for (const trainOnPrompt of [false, true]) {
    it(trainOnPrompt ? "trainOnPrompt: the mean over all tokens" : "default: the mean over response tokens (and </s>) only", async () => {
      const ours = await firstStepLoss(trainOnPrompt);
      const reference = await referenceLoss(trainOnPrompt);
      console.log(`trainOnPrompt=${trainOnPrompt}: trainer ${ours.toFixed(6)}, node-llama-cpp ${reference.toFixed(6)}`);
      expect(Math.abs(ours - reference)).toBeLessThan(1e-3);
    });
  }

  it("the two differ, so the test can tell them apart", async () => {
    expect(Math.abs((await referenceLoss(true)) - (await referenceLoss(false)))).toBeGreaterThan(0.05);
  });
});
