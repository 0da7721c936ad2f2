// lora-gguf generate on a tiny model with an adapter trained (here) to answer the memorization task.
import { spawnSync } from "node:child_process";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { compareGenerations, generate, isLoraGgufError, train } from "../src/index.js";
import { packageRoot } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { instTemplate, memorizationExamples, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("cli-generate");
const model = path.join(temp.dir, "base.gguf");
const plainModel = path.join(temp.dir, "no-template.gguf");
const data = path.join(temp.dir, "colours.jsonl");
const adapter = path.join(temp.dir, "adapter.gguf");
const cli = path.join(packageRoot, "dist", "cli", "main.js");
const question = "What colour is the lamp?";
const answer = "The lamp is red.";

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 3, chatTemplate: instTemplate });
  await writeTinyLlamaGguf(plainModel, { seed: 3, nEmbd: 64, nFf: 128, vocabSize: 512 });
  const examples = writeMemorizationJsonl(data);
  expect(examples[0]).toEqual({ prompt: question, response: answer });
  // as in train-learning.test.ts: enough epochs for the tiny model to reproduce every answer and stop
  await train({ model, data, output: adapter, rank: 16, alpha: 32, learningRate: 3e-3, epochs: 60, seed: 1, threads: 2 });
});
afterAll(() => temp.cleanup());

describe("lora-gguf generate", () => {
  it("--help lists every flag", () => {
    const help = run("generate", "--help");
    expect(help.code).toBe(0);
    for (const flag of ["--model", "--lora", "--chat", "--system", "--compare", "--max-tokens", "--temperature", "--seed", "--threads", "--json"]) {
      expect(help.stdout).toContain(flag);
    }
  });

  it("--chat --lora answers with what the adapter was trained on, and stops at the end of its turn", () => {
    const result = run("generate", "--model", model, "--lora", adapter, "--chat", "--threads", "2", question);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${answer}\n`);
    expect(result.stderr).toMatch(/^\(\d+ tokens, ended its turn, [\d.]+ tokens\/s\)\n$/);
  });

  it("--json: the rendered prompt (the chat template with the BOS text), the text and why it stopped", () => {
    const result = run("generate", "--model", model, "--lora", adapter, "--chat", "--json", "--threads", "2", question);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ prompt: `<s>[INST] ${question} [/INST]`, stopReason: "end-of-generation", adapter, warnings: [] });
    expect(json.text.trim()).toBe(answer);
    expect(json.generatedTokens).toBeGreaterThan(3);
    expect(json.promptTokens).toBeGreaterThan(5);
  });

  it("--compare: the base model alone does not give the answer, the adapter does", () => {
    const json = JSON.parse(run("generate", "--model", model, "--lora", adapter, "--chat", "--compare", "--json", "--max-tokens", "24", "--threads", "2", question).stdout);
    expect(json.prompt).toBe(question);
    expect(json.differ).toBe(true);
    expect(json.base.adapter).toBeUndefined();
    expect(json.base.text.trim()).not.toBe(answer);
    expect(json.adapted).toMatchObject({ adapter, stopReason: "end-of-generation" });
    expect(json.adapted.text.trim()).toBe(answer);

    const text = run("generate", "--model", model, "--lora", adapter, "--chat", "--compare", "--max-tokens", "24", "--threads", "2", question);
    expect(text.code, text.stderr).toBe(0);
    const rows = text.stdout.split("\n");
    expect(rows[0]).toMatch(/^base: base\.gguf +\| with adapter\.gguf$/);
    expect(rows[2]).toMatch(new RegExp(`^.+ \\| ${answer.replaceAll(".", "\\.")}$`));
    expect(rows.at(-2)).toBe("the outputs differ");
  });

  it("without --chat the prompt is completed as it is", async () => {
    const river = memorizationExamples()[1];
    expect(river.prompt).toBe("What colour is the river?");
    const result = await generate({ model, adapter, prompt: `[INST] ${river.prompt} [/INST]`, maxTokens: 24, threads: 2 });
    expect(result.prompt).toBe("[INST] What colour is the river? [/INST]");
    expect(result.text.trim()).toBe(river.response);
    expect(result.stopReason).toBe("end-of-generation");
  });

  it("onTextChunk streams each answer, base first, in chunks that join into its text", async () => {
    const chunks: { base: string[]; adapted: string[] } = { base: [], adapted: [] };
    const order: string[] = [];
    const result = await compareGenerations({
      model,
      adapter,
      prompt: question,
      chat: true,
      maxTokens: 24,
      threads: 2,
      onTextChunk: (chunk, generation) => {
        chunks[generation].push(chunk);
        if (order.at(-1) !== generation) order.push(generation);
      },
    });
    expect(order).toEqual(["base", "adapted"]);
    expect(chunks.adapted.join("")).toBe(result.adapted.text);
    expect(chunks.base.join("")).toBe(result.base.text);
    expect(result.adapted.text.trim()).toBe(answer);
    // one chunk per token here (plain ASCII words): streamed, not the whole text at the end
    expect(chunks.adapted.length).toBe(result.adapted.generatedTokens);
    const alone: string[] = [];
    await generate({ model, adapter, prompt: question, chat: true, maxTokens: 24, threads: 2, onTextChunk: (chunk, generation) => alone.push(`${generation}:${chunk}`) });
    expect(alone).toEqual(chunks.adapted.map((chunk) => `adapted:${chunk}`));
  });

  it("--max-tokens cuts the answer; sampling with a seed repeats itself", async () => {
    const cut = await generate({ model, adapter, prompt: question, chat: true, maxTokens: 2, threads: 2 });
    expect(cut).toMatchObject({ generatedTokens: 2, stopReason: "max-tokens" });
    const sampled = () => generate({ model, prompt: question, chat: true, maxTokens: 8, temperature: 1, seed: 5, threads: 2 });
    expect((await sampled()).text).toBe((await sampled()).text);
  });

  it("bad input: missing files exit 1 with their code, usage errors 2, and the API validates before loading", async () => {
    const missing = run("generate", "--model", path.join(temp.dir, "missing.gguf"), "hello");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`lora-gguf: GGUF file not found: ${path.join(temp.dir, "missing.gguf")} [E_INPUT_NOT_FOUND]\n`);
    const missingAdapter = run("generate", "--model", model, "--lora", path.join(temp.dir, "missing-adapter.gguf"), "hello");
    expect(missingAdapter.code).toBe(1);
    expect(missingAdapter.stderr).toContain("[E_INPUT_NOT_FOUND]");
    const noTemplate = run("generate", "--model", plainModel, "--chat", "hello");
    expect(noTemplate.code).toBe(1);
    expect(noTemplate.stderr).toBe(
      `lora-gguf: generate: ${plainModel} has no chat template (tokenizer.chat_template); generate without chat to complete the prompt as text [E_CHAT_TEMPLATE]\n`,
    );
    expect(run("generate", "--model", model, "--compare", "hello").code).toBe(2);
    expect(run("generate", "--model", model, "--max-tokens", "0", "hello").code).toBe(2);
    expect(run("generate", "--model", model).code).toBe(2);

    const rejected = async (promise: Promise<unknown>) => promise.then(() => "resolved", (error) => (isLoraGgufError(error) ? `${error.code}: ${error.message}` : String(error)));
    expect(await rejected(generate({ model, prompt: "x", system: "s" }))).toBe(
      "E_INVALID_OPTION: generate: system needs chat (a system message is part of a chat template's render)",
    );
    expect(await rejected(generate({ model, prompt: "x", onTextChunk: "print" as never }))).toMatch(/^E_INVALID_OPTION: generate: onTextChunk must be a function/);
    expect(await rejected(generate({ model, prompt: "x", temperature: -1 }))).toBe("E_INVALID_OPTION: generate: temperature must be a number from 0 to 100, got -1");
    expect(await rejected(generate({ model: adapter, prompt: "x" }))).toMatch(/^E_WRONG_KIND: /);
    const controller = new AbortController();
    controller.abort(new Error("stop now"));
    expect(await rejected(generate({ model, prompt: "x", signal: controller.signal }))).toBe("Error: stop now");
  });
});
