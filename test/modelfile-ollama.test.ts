// The Modelfile's TEMPLATE rendered by Ollama's own engine (Go's text/template, as Ollama's template
// package executes it: test/helpers/ollama-template) against the chat template's render of the same
// conversation, as training renders prompts, over llama.cpp's 70 real templates. BOS is left out of
// both: llama.cpp and Ollama add it when the vocabulary asks for it.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { renderPrompt } from "../src/chat/index.js";
import type { ChatConversation } from "../src/data/index.js";
import { chooseOllamaTemplate } from "../src/modelfile/ollama-template.js";
import { llamaSourceDir } from "../src/testing/llama-source-dir.js";
import { OLLAMA_RENDERER_MISSING, ollamaRendererAvailable, renderWithOllama, type OllamaMessage } from "./helpers/ollama-render.js";

const templatesDir = path.join(llamaSourceDir(), "models", "templates");

/** Gemma 3's chat template (as its GGUFs carry it, string content; not in llama.cpp's corpus). */
const GEMMA3 = "Gemma 3 (tokenizer_config)";
const GEMMA3_TEMPLATE = "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- else -%}\n        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n    {%- endif -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n";

/** Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template (not in llama.cpp's corpus). */
const LLAMA3 = "Meta-Llama-3-8B-Instruct (tokenizer_config)";
const LLAMA3_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}" +
  "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
const haveGo = ollamaRendererAvailable();
if (!haveGo) console.warn(`skipping Ollama render tests: ${OLLAMA_RENDERER_MISSING}`);

/** Prompts as they reach the model at inference: each ends with the user's message. */
const conversations: OllamaMessage[][] = [
  [{ role: "user", content: "Capital of France?" }],
  [{ role: "user", content: "Capital of France?" }, { role: "assistant", content: "Paris." }, { role: "user", content: "And of Italy?" }],
  [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Capital of France?" },
    { role: "assistant", content: "Paris." },
    { role: "user", content: "And of Italy?" },
  ],
];

/** The chat template's prompt for `messages`, rendered as training renders (fixed date, the same fallbacks), or its error. */
function trainingPrompt(template: string, messages: readonly OllamaMessage[]): string | Error {
  const system = messages[0].role === "system" ? messages[0].content : undefined;
  const turns = messages.filter((message) => message.role !== "system").map((message) => ({ role: message.role as "user" | "assistant", content: message.content }));
  const conversation: Omit<ChatConversation, "source"> = system === undefined ? { turns } : { system, turns };
  try {
    return renderPrompt(conversation, { template, bosToken: "", eosToken: "</s>" });
  } catch (error) {
    return error as Error;
  }
}

describe.skipIf(!haveGo)("Ollama renders the Modelfile's TEMPLATE as training rendered the chat template", () => {
  it("over the 70 real templates: the same prompt for at least 62, and a warning on every other", () => {
    const files = readdirSync(templatesDir).filter((file) => file.endsWith(".jinja")).sort();
    const cases: { file: string; messages: OllamaMessage[]; expected: string | Error }[] = [];
    const choices = new Map<string, ReturnType<typeof chooseOllamaTemplate>>();
    for (const file of files) {
      const template = readFileSync(path.join(templatesDir, file), "utf8");
      const choice = chooseOllamaTemplate(template, { bosToken: "", eosToken: "</s>" });
      choices.set(file, choice);
      for (const messages of conversations) {
        const expected = trainingPrompt(template, messages);
        // a template that refuses system messages is compared without one
        if (expected instanceof Error && messages[0].role === "system" && /system/i.test(expected.message)) continue;
        cases.push({ file, messages, expected });
      }
    }
    const results = renderWithOllama(cases.map(({ file, messages }) => ({ template: choices.get(file)!.template ?? "{{ .Prompt }}", messages })));
    const differing = new Map<string, string>();
    cases.forEach(({ file, expected }, index) => {
      const result = results[index];
      const text = "text" in result ? result.text : undefined;
      if (typeof expected === "string" && text === expected) return;
      if (differing.has(file)) return;
      differing.set(file, typeof expected !== "string" ? `the chat template fails: ${expected.message}` : text === undefined ? `Go: ${"error" in result ? result.error : ""}` : "differs");
    });
    const same = files.filter((file) => !differing.has(file));
    console.log(`Ollama prompts as trained: ${same.length} of ${files.length} templates; the others: ${[...differing].map(([file, why]) => `${file} (${why})`).join("; ")}`);
    expect(same.length).toBeGreaterThanOrEqual(62);

    // an earlier answer with reasoning (Ollama passes it as .Thinking): written as the chat template writes it, or dropped as it drops it
    const reasoningCases = same.map((file) => ({
      file,
      template: choices.get(file)!.template!,
      messages: [
        { role: "user" as const, content: "Capital of France?" },
        { role: "assistant" as const, content: "Paris.", thinking: "France's capital is Paris." },
        { role: "user" as const, content: "And of Italy?" },
      ],
    }));
    const reasoningResults = renderWithOllama(reasoningCases);
    const reasoningDiffers = reasoningCases.filter(({ file }, index) => {
      const source = readFileSync(path.join(templatesDir, file), "utf8");
      const turns = [
        { role: "user" as const, content: "Capital of France?" },
        { role: "assistant" as const, content: "Paris.", reasoning: "France's capital is Paris." },
        { role: "user" as const, content: "And of Italy?" },
      ];
      const expected = renderPrompt({ turns }, { template: source, bosToken: "", eosToken: "</s>" });
      const result = reasoningResults[index];
      return !("text" in result) || result.text !== expected;
    }).map(({ file }) => file);
    console.log(`with reasoning in the history: ${same.length - reasoningDiffers.length} of ${same.length} the same; differ: ${reasoningDiffers.join(", ")}`);
    expect(same.length - reasoningDiffers.length).toBeGreaterThanOrEqual(62);
    for (const file of reasoningDiffers) expect(choices.get(file)!.warnings.join(" "), file).toContain("reasoning");
    for (const file of differing.keys()) expect(choices.get(file)!.warnings.length, file).toBeGreaterThan(0);
    for (const file of same) expect(choices.get(file)!.source, file).toBe("derived-messages");
  });

  // system prompt, two exchanges; the literal prompt each family's model was trained on
  const literals: [string, string][] = [
    [
      "meta-llama-Llama-3.1-8B-Instruct",
      "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nAnd of Italy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    ],
    [
      "Qwen-Qwen2.5-7B-Instruct",
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n" +
        "<|im_start|>user\nAnd of Italy?<|im_end|>\n<|im_start|>assistant\n",
    ],
    // no <think> opening the answer (Ollama's library qwen3 template writes one; training does not)
    [
      "Qwen-Qwen3-0.6B",
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n" +
        "<|im_start|>user\nAnd of Italy?<|im_end|>\n<|im_start|>assistant\n",
    ],
    // the system prompt in the last user message
    ["mistralai-Mistral-Nemo-Instruct-2407", "[INST]Capital of France?[/INST]Paris.</s>[INST]You are terse.\n\nAnd of Italy?[/INST]"],
    [
      "microsoft-Phi-3.5-mini-instruct",
      "<|system|>\nYou are terse.<|end|>\n<|user|>\nCapital of France?<|end|>\n<|assistant|>\nParis.<|end|>\n<|user|>\nAnd of Italy?<|end|>\n<|assistant|>\n",
    ],
    // llama.cpp's copy closes the think block unless enable_thinking
    [
      "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
      "You are terse.<｜User｜>Capital of France?<｜Assistant｜>Paris.<｜end▁of▁sentence｜><｜User｜>And of Italy?<｜Assistant｜><think>\n</think>",
    ],
  ];
  it("Llama 3, 3.1, 3.2, 3.3, Qwen2.5, Qwen3, Mistral Nemo, Phi-3.5, DeepSeek-R1-Distill, Gemma 2 and 3: exactly the trained prompt", () => {
    const gemma = "google-gemma-2-2b-it";
    const llama31 = literals[0][1];
    const cases = [
      ...literals.map(([name]) => ({ name, messages: conversations[2] })),
      // the same prompt as 3.1's, date header and all
      { name: "meta-llama-Llama-3.2-3B-Instruct", messages: conversations[2] },
      { name: "meta-llama-Llama-3.3-70B-Instruct", messages: conversations[2] },
      { name: LLAMA3, messages: conversations[2] },
      // the system prompt opens the first user turn
      { name: GEMMA3, messages: conversations[2] },
      // Gemma 2 refuses system messages
      { name: gemma, messages: conversations[1] },
    ];
    const expected = [
      ...literals.map(([, text]) => text),
      llama31,
      llama31,
      // Llama 3 (the tutorial's model): no date header; Ollama's library match for it is ChatML (dolphin-llama3)
      "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd of Italy?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
      "<start_of_turn>user\nYou are terse.\n\nCapital of France?<end_of_turn>\n<start_of_turn>model\nParis.<end_of_turn>\n<start_of_turn>user\nAnd of Italy?<end_of_turn>\n" +
        "<start_of_turn>model\n",
      "<start_of_turn>user\nCapital of France?<end_of_turn>\n<start_of_turn>model\nParis.<end_of_turn>\n<start_of_turn>user\nAnd of Italy?<end_of_turn>\n<start_of_turn>model\n",
    ];
    const inline: Record<string, string> = { [LLAMA3]: LLAMA3_TEMPLATE, [GEMMA3]: GEMMA3_TEMPLATE };
    const sources = cases.map(({ name }) => inline[name] ?? readFileSync(path.join(templatesDir, `${name}.jinja`), "utf8"));
    const rendered = renderWithOllama(cases.map(({ messages }, index) => ({ template: chooseOllamaTemplate(sources[index], { bosToken: "", eosToken: "</s>" }).template!, messages })));
    cases.forEach(({ name, messages }, index) => {
      expect(rendered[index], name).toEqual({ text: expected[index] });
      expect(trainingPrompt(sources[index], messages), name).toBe(expected[index]);
    });
  });

  it("Qwen3 with thinking off: Ollama's prompt ends with the empty think block, as training's does", () => {
    const source = readFileSync(path.join(templatesDir, "Qwen-Qwen3-0.6B.jinja"), "utf8");
    const choice = chooseOllamaTemplate(source, { bosToken: "", eosToken: "</s>" }, { enable_thinking: false });
    const [result] = renderWithOllama([{ template: choice.template!, messages: conversations[2] }]);
    const expected =
      "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n" +
      "<|im_start|>user\nAnd of Italy?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
    expect(result).toEqual({ text: expected });
    const system = conversations[2][0].content;
    const turns = conversations[2].slice(1).map((message) => ({ role: message.role as "user" | "assistant", content: message.content }));
    expect(renderPrompt({ system, turns }, { template: source, bosToken: "", eosToken: "</s>", templateVariables: { enable_thinking: false } })).toBe(expected);
  });
});
