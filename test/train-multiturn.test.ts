// Multi-turn chat data on Qwen3's real template (models/templates/Qwen-Qwen3-0.6B.jinja), which is not
// prefix-stable: it writes an empty <think></think> block only into turns after the last user message.
// A Qwen3-shaped model with the real Qwen2/3 BPE vocabulary: the loss before the first update is
// node-llama-cpp's cross-entropy over exactly the spans we name by hand, and a memorization task
// trains, its answers coming back greedily through node-llama-cpp, every turn ending at <|im_end|>.
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { builtInChatTemplates, ChatTemplate } from "../src/chat/index.js";
import { readGgufHeader, train } from "../src/index.js";
import { formatTrainingPreview, previewTraining } from "../src/train/preview.js";
import { llamaSourceDir } from "../src/testing/llama-source-dir.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { writeTinyModelGguf } from "../src/testing/tiny-model.js";
import { greedyCompletions, sharedLlama, tokenCrossEntropy } from "./helpers/llama-eval.js";
import { multiTurnConversations, multiTurnPrompts, multiTurnSystem, writeMultiTurnJsonl } from "./helpers/multiturn-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("multiturn");
const model = path.join(temp.dir, "qwen3.gguf");
const qwen3Template = readFileSync(path.join(llamaSourceDir(), "models", "templates", "Qwen-Qwen3-0.6B.jinja"), "utf8");
const system = multiTurnSystem;
const conversations = multiTurnConversations;
const writeJsonl = writeMultiTurnJsonl;

beforeAll(async () => {
  const vocabPath = path.join(llamaSourceDir(), "models", "ggml-vocab-qwen2.gguf");
  const vocabSize = ((await readGgufHeader(vocabPath)).metadataByKey.get("tokenizer.ggml.tokens")!.value as string[]).length;
  await writeTinyModelGguf(model, {
    architecture: "qwen3", seed: 5, nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, nFf: 256, vocabPath, vocabSize, tiedEmbeddings: true, chatTemplate: qwen3Template,
  });
}, 120_000);
afterAll(() => temp.cleanup());

describe("train: multi-turn conversations on Qwen3's template", () => {
  it("the first step's loss is node-llama-cpp's cross-entropy over each response, the first without and the last with its think block", async () => {
    const data = path.join(temp.dir, "one.jsonl");
    writeJsonl(data, [conversations[0]]);
    // the render, cut by hand into what is trained and what is not
    const pieces: [string, boolean][] = [
      [`<|im_start|>system\n${system}<|im_end|>\n<|im_start|>user\nWhat colour is the lamp?<|im_end|>\n<|im_start|>assistant\n`, false],
      ["The lamp is red.<|im_end|>", true],
      ["\n<|im_start|>user\nAnd the cloud?<|im_end|>\n<|im_start|>assistant\n", false],
      ["<think>\n\n</think>\n\nThe cloud is yellow.<|im_end|>", true],
      ["\n", false],
    ];
    const llama = await sharedLlama();
    const llamaModel = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
    const context = await llamaModel.createContext({ contextSize: 256, threads: 2 });
    let sum = 0;
    let count = 0;
    try {
      const text = pieces.map(([piece]) => piece).join("");
      const tokens = llamaModel.tokenize(text, true);
      const targets = new Uint8Array(tokens.length);
      let prefix = "";
      for (const [piece, trained] of pieces) {
        const start = llamaModel.tokenize(prefix, true).length;
        prefix += piece;
        const end = llamaModel.tokenize(prefix, true).length;
        expect(llamaModel.tokenize(prefix, true)).toEqual(tokens.slice(0, end));
        if (trained) targets.fill(1, start, end);
      }
      const results = await context.getSequence().controlledEvaluate(tokens.map((token) => [token, { generateNext: { logits: true } }]));
      for (let i = 1; i < tokens.length; i++) {
        if (!targets[i]) continue;
        sum += tokenCrossEntropy(results[i - 1]!.next!.logits!, tokens[i]);
        count += 1;
      }
    } finally {
      await context.dispose();
      await llamaModel.dispose();
    }
    const output = path.join(temp.dir, "mask", "adapter.gguf");
    mkdirSync(path.dirname(output), { recursive: true });
    await train({ model, data, output, maxSteps: 1, threads: 2, seed: 1 });
    const first = JSON.parse(readFileSync(path.join(path.dirname(output), "metrics.jsonl"), "utf8").split("\n")[0]);
    console.log(`multi-turn Qwen3: trainer ${first.loss.toFixed(6)}, node-llama-cpp ${(sum / count).toFixed(6)} over ${count} tokens`);
    expect(count).toBeGreaterThan(10);
    expect(Math.abs(first.loss - sum / count)).toBeLessThan(1e-3);
  }, 120_000);

  it("a multi-turn memorization task trains: greedy answers to every turn's prompt come back and stop at <|im_end|>", async () => {
    const data = path.join(temp.dir, "all.jsonl");
    writeJsonl(data, conversations);
    const output = path.join(temp.dir, "learn", "adapter.gguf");
    mkdirSync(path.dirname(output), { recursive: true });
    const result = await train({ model, data, output, rank: 32, alpha: 64, learningRate: 1e-2, epochs: 80, threads: 2, seed: 1 });
    console.log(`multi-turn Qwen3: ${result.steps} steps, loss ${result.firstLoss.toFixed(3)} -> ${result.finalLoss.toFixed(3)}, ${result.seconds.toFixed(1)} s`);
    expect(result.finalLoss).toBeLessThan(result.firstLoss * 0.2);
    // Qwen3 rewrites earlier turns, so every conversation's spans were searched for
    expect(JSON.parse(readFileSync(result.trainingConfig, "utf8")).chatSpans).toEqual({ prefix: 0, search: conversations.length });

    // each turn's prompt as the template gives it at inference: the history, then the generation prompt
    const template = new ChatTemplate(qwen3Template);
    const cases = multiTurnPrompts(conversations);
    const prompts = cases.map(({ messages }) => template.render({ messages, bos_token: "", eos_token: "<|im_end|>", add_generation_prompt: true }, ""));
    const expected = cases.map(({ answer }) => answer);
    const completions = await greedyCompletions(model, prompts, { adapterPath: output, maxTokens: 32 });
    // the first turn was trained as an earlier turn (no think block), the second as the last one (with it)
    const answerOf = (text: string) => text.replace(/^<think>\n\n<\/think>\n\n/, "").trim();
    const reproduced = completions.filter((completion, index) => answerOf(completion.text) === expected[index]).length;
    const stopped = completions.filter((completion) => completion.endedWithEog).length;
    console.log(`multi-turn Qwen3: reproduced ${reproduced}/${prompts.length}, stopped ${stopped}/${prompts.length}; e.g. ${JSON.stringify(completions[1])}`);
    expect(reproduced / prompts.length).toBeGreaterThanOrEqual(0.9);
    expect(stopped).toBe(prompts.length);
  }, 300_000);

  it("the preview shows a multi-turn example's spans and counts how they were found", async () => {
    const data = path.join(temp.dir, "preview.jsonl");
    writeJsonl(data, conversations.slice(0, 3));
    const preview = await previewTraining({ model, data });
    expect(preview.stats.chatSpans).toEqual({ prefix: 0, search: 3 });
    const text = formatTrainingPreview(preview, { color: false });
    expect(text).toContain("[[The lamp is red.<|im_end|>]]");
    expect(text).toContain("[[<think>\n\n</think>\n\nThe cloud is yellow.<|im_end|>]]");
    expect(text).toContain("chat spans      0 by prefix renders, 3 by searching the render");
  });

  it("Mistral Nemo with a system prompt trains; the system prompt is in no trained span (its template leaves it out of whole conversations)", async () => {
    const nemo = path.join(temp.dir, "nemo.gguf");
    await writeTinyLlamaGguf(nemo, { seed: 2, chatTemplate: builtInChatTemplates.mistral });
    const data = path.join(temp.dir, "nemo.jsonl");
    writeJsonl(data, conversations.slice(0, 4));
    const preview = await previewTraining({ model: nemo, data });
    expect(preview.stats.chatSpans).toEqual({ prefix: 0, search: 4 });
    const trainedText = preview.example.tokens.filter((token) => token.trained).map((token) => token.text).join("");
    expect(trainedText).toContain("The lamp is red.");
    expect(trainedText).not.toContain("colours");
    const output = path.join(temp.dir, "nemo", "adapter.gguf");
    mkdirSync(path.dirname(output), { recursive: true });
    const result = await train({ model: nemo, data, output, epochs: 2, threads: 2, seed: 1 });
    expect(result.steps).toBe(2);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
    expect(JSON.parse(readFileSync(result.trainingConfig, "utf8")).chatSpans).toEqual({ prefix: 0, search: 4 });
  });
});
