// End to end through Ollama's prompt: a tiny model fine-tuned on multi-turn chats with a system
// prompt (Qwen3's and Llama 3.1's real templates, on their real vocabularies), merged, and prompted
// with what the Modelfile's TEMPLATE renders under Go's text/template (as Ollama renders it) gives
// the trained answers and stops. The TEMPLATE's prompts equal the chat template's, so the model
// sees in Ollama what it saw in training.
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { renderPrompt } from "../../src/chat/index.js";
import { buildModelfile, merge, readGgufHeader, train } from "../../src/index.js";
import { llamaSourceDir } from "../../src/testing/llama-source-dir.js";
import { writeTinyModelGguf } from "../../src/testing/tiny-model.js";
import { greedyCompletions } from "../helpers/llama-eval.js";
import { multiTurnConversations, multiTurnPrompts, writeMultiTurnJsonl } from "../helpers/multiturn-task.js";
import { OLLAMA_RENDERER_MISSING, ollamaRendererAvailable, renderWithOllama } from "../helpers/ollama-render.js";
import { makeTempDir } from "../helpers/temp-dir.js";

const temp = makeTempDir("ollama-e2e");
afterAll(() => temp.cleanup());
const haveGo = ollamaRendererAvailable();
if (!haveGo) console.warn(`skipping the Ollama end-to-end tests: ${OLLAMA_RENDERER_MISSING}`);

const families = [
  { name: "Qwen3", architecture: "qwen3" as const, template: "Qwen-Qwen3-0.6B", vocab: "qwen2", epochs: 80, learningRate: 1e-2 },
  { name: "Llama 3.1", architecture: "llama" as const, template: "meta-llama-Llama-3.1-8B-Instruct", vocab: "llama-bpe", epochs: 100, learningRate: 3e-3 },
];

describe.skipIf(!haveGo)("a fine-tune prompted through its Modelfile's TEMPLATE, rendered as Ollama renders it", () => {
  for (const family of families) {
    it(`${family.name}: trained with a system prompt, merged, answers every turn from Ollama's prompt and stops`, async () => {
      const dir = path.join(temp.dir, family.architecture);
      mkdirSync(dir, { recursive: true });
      const base = path.join(dir, "base.gguf");
      const vocabPath = path.join(llamaSourceDir(), "models", `ggml-vocab-${family.vocab}.gguf`);
      const vocabSize = ((await readGgufHeader(vocabPath)).metadataByKey.get("tokenizer.ggml.tokens")!.value as string[]).length;
      const chatTemplate = readFileSync(path.join(llamaSourceDir(), "models", "templates", `${family.template}.jinja`), "utf8");
      await writeTinyModelGguf(base, {
        architecture: family.architecture, seed: 5, nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, nFf: 256, vocabPath, vocabSize, tiedEmbeddings: true, chatTemplate,
      });
      const data = path.join(dir, "chats.jsonl");
      writeMultiTurnJsonl(data, multiTurnConversations);
      const adapter = path.join(dir, "adapter.gguf");
      const trained = await train({ model: base, data, output: adapter, rank: 32, alpha: 64, learningRate: family.learningRate, epochs: family.epochs, threads: 2, seed: 1 });
      const merged = path.join(dir, "merged.gguf");
      await merge({ model: base, adapters: [{ path: adapter }], output: merged, threads: 2 });

      const modelfile = await buildModelfile({ model: merged });
      expect(modelfile.templateSource).toBe("derived-messages");
      const cases = multiTurnPrompts(multiTurnConversations);
      const rendered = renderWithOllama(cases.map(({ messages }) => ({ template: modelfile.template!, messages })));
      const prompts = rendered.map((result) => ("text" in result ? result.text : `Go failed: ${result.error}`));
      // Ollama's prompt is the one training renders (BOS aside: both runtimes add it)
      const header = await readGgufHeader(merged);
      const eosText = family.architecture === "qwen3" ? "<|endoftext|>" : "<|end_of_text|>";
      cases.forEach(({ messages }, index) => {
        const turns = messages.slice(1).map((message) => ({ role: message.role as "user" | "assistant", content: message.content }));
        expect(prompts[index]).toBe(renderPrompt({ system: messages[0].content, turns }, { template: chatTemplate, bosToken: "", eosToken: eosText }));
      });
      expect(header.metadataByKey.get("tokenizer.chat_template")?.value).toBe(chatTemplate);

      const completions = await greedyCompletions(merged, prompts, { maxTokens: 32 });
      const answerOf = (text: string) => text.replace(/^<think>\n\n<\/think>\n\n/, "").trim();
      const reproduced = completions.filter((completion, index) => answerOf(completion.text) === cases[index].answer).length;
      const stopped = completions.filter((completion) => completion.endedWithEog).length;
      console.log(
        `${family.name} through Ollama's prompt: ${trained.steps} steps, loss ${trained.firstLoss.toFixed(2)} -> ${trained.finalLoss.toFixed(3)}, ` +
          `reproduced ${reproduced}/${cases.length}, stopped ${stopped}/${cases.length}; e.g. ${JSON.stringify(completions[1])}`,
      );
      expect(reproduced / cases.length).toBeGreaterThanOrEqual(0.9);
      expect(stopped).toBe(cases.length);
    }, 300_000);
  }
});
