import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import {
  builtInChatTemplates,
  ChatTemplate,
  readChatTemplateFromGguf,
  renderConversation,
  type RenderConversationOptions,
  type RenderedConversation,
} from "../src/chat/index.js";
import { loadDataset, type ChatConversation } from "../src/data/index.js";
import { isLoraGgufError } from "../src/errors.js";
import { readGgufHeader, stringEntry, uint32Entry, writeGgufFile } from "../src/gguf/index.js";
import { llamaSourceDir } from "../src/testing/llama-source-dir.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("chat-template");
afterAll(() => temp.cleanup());

/** Real templates from Hugging Face tokenizer_config.json files, as llama.cpp keeps them. */
function llamaCppTemplate(name: string): string {
  return readFileSync(path.join(llamaSourceDir(), "models", "templates", name), "utf8");
}

const conversation: ChatConversation = {
  source: { file: "chat.jsonl", line: 7 },
  system: "You are terse.",
  turns: [
    { role: "user", content: "Capital of France?" },
    { role: "assistant", content: "Paris." },
    { role: "user", content: "And of Italy?" },
    { role: "assistant", content: "Rome." },
  ],
};
const withoutSystem: ChatConversation = { source: conversation.source, turns: conversation.turns };

function trainedTexts(rendered: RenderedConversation): string[] {
  return rendered.segments.filter((segment) => segment.trained).map((segment) => segment.text);
}

/** Segments concatenate to the text, none is empty, and neighbours alternate between trained and not. */
function expectWellFormed(rendered: RenderedConversation): void {
  expect(rendered.segments.map((segment) => segment.text).join("")).toBe(rendered.text);
  for (const [index, segment] of rendered.segments.entries()) {
    expect(segment.text).not.toBe("");
    if (index > 0) expect(segment.trained).not.toBe(rendered.segments[index - 1].trained);
  }
}

function renderError(conversationToRender: Parameters<typeof renderConversation>[0], options: RenderConversationOptions): { code: string; message: string } {
  try {
    renderConversation(conversationToRender, options);
  } catch (error) {
    if (isLoraGgufError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected renderConversation to throw");
}

describe("built-in chat templates", () => {
  it("are the llama.cpp copies of the Hugging Face templates, verbatim", () => {
    expect(builtInChatTemplates.qwen25).toBe(llamaCppTemplate("Qwen-Qwen2.5-7B-Instruct.jinja"));
    expect(builtInChatTemplates.llama3).toBe(llamaCppTemplate("meta-llama-Llama-3.1-8B-Instruct.jinja"));
    expect(builtInChatTemplates.mistral).toBe(llamaCppTemplate("mistralai-Mistral-Nemo-Instruct-2407.jinja"));
  });

  it("chatml renders as Qwen2.5 does when there is a system message", () => {
    const options = { bosToken: "", eosToken: "<|im_end|>" };
    expect(renderConversation(conversation, { ...options, template: builtInChatTemplates.chatml }).text).toBe(
      renderConversation(conversation, { ...options, template: builtInChatTemplates.qwen25 }).text,
    );
  });
});

describe("renderConversation: ChatML (Qwen2.5)", () => {
  const options = { template: llamaCppTemplate("Qwen-Qwen2.5-7B-Instruct.jinja"), bosToken: "", eosToken: "<|im_end|>" };

  it("renders the exact text and trains only the responses with their <|im_end|>", () => {
    const rendered = renderConversation(conversation, options);
    expect(rendered.text).toBe(
      "<|im_start|>system\nYou are terse.<|im_end|>\n" +
        "<|im_start|>user\nCapital of France?<|im_end|>\n" +
        "<|im_start|>assistant\nParis.<|im_end|>\n" +
        "<|im_start|>user\nAnd of Italy?<|im_end|>\n" +
        "<|im_start|>assistant\nRome.<|im_end|>\n",
    );
    expectWellFormed(rendered);
    expect(trainedTexts(rendered)).toEqual(["Paris.<|im_end|>", "Rome.<|im_end|>"]);
    // the newline after <|im_end|> is template framing, never generated: untrained
    expect(rendered.segments[rendered.segments.length - 1]).toEqual({ text: "\n", trained: false });
  });

  it("Qwen2.5 adds its default system prompt when there is none", () => {
    const rendered = renderConversation(withoutSystem, options);
    expect(rendered.text.startsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n")).toBe(true);
    expect(trainedTexts(rendered)).toEqual(["Paris.<|im_end|>", "Rome.<|im_end|>"]);
  });

  it("trailing spaces of a response stay in it; only whitespace after the end-of-turn marker is untrained", () => {
    const rendered = renderConversation({ turns: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello  " }] }, options);
    expect(trainedTexts(rendered)).toEqual(["Hello  <|im_end|>"]);
  });
});

describe("renderConversation: Llama 3.1", () => {
  const options = { template: llamaCppTemplate("meta-llama-Llama-3.1-8B-Instruct.jinja"), bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>" };

  it("renders the exact text and trains only the responses with their <|eot_id|>", () => {
    const rendered = renderConversation(conversation, options);
    expect(rendered.text).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
        "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nAnd of Italy?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nRome.<|eot_id|>",
    );
    expectWellFormed(rendered);
    expect(trainedTexts(rendered)).toEqual(["Paris.<|eot_id|>", "Rome.<|eot_id|>"]);
  });

  it("templateVariables reach the template", () => {
    const rendered = renderConversation(conversation, { ...options, templateVariables: { date_string: "01 Jan 2025" } });
    expect(rendered.text).toContain("Today Date: 01 Jan 2025\n");
  });
});

describe("renderConversation: Mistral", () => {
  it("Mistral Small 3.2 ([SYSTEM_PROMPT]) renders the exact text and trains the responses with their </s>", () => {
    const template = llamaCppTemplate("Mistral-Small-3.2-24B-Instruct-2506.jinja");
    const rendered = renderConversation(conversation, { template, bosToken: "<s>", eosToken: "</s>" });
    expect(rendered.text).toBe(
      "<s>[SYSTEM_PROMPT]You are terse.[/SYSTEM_PROMPT]" + "[INST]Capital of France?[/INST]Paris.</s>" + "[INST]And of Italy?[/INST]Rome.</s>",
    );
    expectWellFormed(rendered);
    expect(trainedTexts(rendered)).toEqual(["Paris.</s>", "Rome.</s>"]);
  });

  it("Mistral Nemo (v0.3 layout) renders the exact text without a system prompt", () => {
    const rendered = renderConversation(withoutSystem, { template: builtInChatTemplates.mistral, bosToken: "<s>", eosToken: "</s>" });
    expect(rendered.text).toBe("<s>[INST]Capital of France?[/INST]Paris.</s>[INST]And of Italy?[/INST]Rome.</s>");
    expectWellFormed(rendered);
    expect(trainedTexts(rendered)).toEqual(["Paris.</s>", "Rome.</s>"]);
  });

  it("Mistral Nemo with a system prompt trains the responses; the system prompt is never trained", () => {
    // Nemo writes the system prompt into the last message only when that is a user message (a prompt
    // for inference), so a whole conversation renders without it, as transformers renders it; the
    // generation prompts for the responses have it, which is why no prefix holds
    const rendered = renderConversation(conversation, { template: builtInChatTemplates.mistral, bosToken: "<s>", eosToken: "</s>" });
    expect(rendered.text).toBe("<s>[INST]Capital of France?[/INST]Paris.</s>[INST]And of Italy?[/INST]Rome.</s>");
    expectWellFormed(rendered);
    expect(trainedTexts(rendered)).toEqual(["Paris.</s>", "Rome.</s>"]);
    expect(rendered.spanMethod).toBe("search");
    expect(renderConversation(withoutSystem, { template: builtInChatTemplates.mistral, bosToken: "<s>", eosToken: "</s>" }).spanMethod).toBe("prefix");
  });
});

describe("renderConversation: options and failures", () => {
  const options = { template: builtInChatTemplates.chatml, bosToken: "", eosToken: "<|im_end|>" };

  it("trainOnPrompt trains everything", () => {
    const rendered = renderConversation(conversation, { ...options, trainOnPrompt: true });
    expect(rendered.segments).toEqual([{ text: rendered.text, trained: true }]);
    expect(rendered.text).toBe(renderConversation(conversation, options).text);
  });

  it("addGenerationPrompt ends the text with the untrained assistant header", () => {
    const rendered = renderConversation(conversation, { ...options, addGenerationPrompt: true });
    expect(rendered.text.endsWith("Rome.<|im_end|>\n<|im_start|>assistant\n")).toBe(true);
    expect(rendered.segments[rendered.segments.length - 1]).toEqual({ text: "\n<|im_start|>assistant\n", trained: false });
    expect(trainedTexts(rendered)).toEqual(["Paris.<|im_end|>", "Rome.<|im_end|>"]);
  });

  // writes the number of messages up front, so no shorter render is a prefix of the full one
  const counting = "{{ messages | length }}{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";

  it("a template whose earlier text depends on later messages is searched: each response and the marker it ends with", () => {
    const rendered = renderConversation(conversation, { ...options, template: counting });
    expectWellFormed(rendered);
    expect(rendered.spanMethod).toBe("search");
    expect(trainedTexts(rendered)).toEqual(["Paris.</assistant>", "Rome.</assistant>"]);
  });

  it("a response the template does not write is E_CHAT_TEMPLATE, not a wrong mask", () => {
    const shouting = "{% for m in messages %}<{{ m.role }}>{{ m.content | upper }}</{{ m.role }}>{% endfor %}";
    expect(renderError(conversation, { ...options, template: shouting })).toEqual({
      code: "E_CHAT_TEMPLATE",
      message:
        "the chat template does not write the text of messages[2] (assistant) on chat.jsonl:7 after the messages before it, " +
        "so its span cannot be located; use another template or set trainOnPrompt",
    });
    // with the whole text trained there are no spans to find, so any template renders
    expect(renderConversation(conversation, { ...options, template: shouting, trainOnPrompt: true }).text.startsWith("<system>YOU ARE")).toBe(true);
  });

  it("a response that repeats the user's words is found after them", () => {
    const echo: ChatConversation = { source: conversation.source, turns: [{ role: "user", content: "Say ok." }, { role: "assistant", content: "ok" }] };
    const rendered = renderConversation(echo, { ...options, template: counting });
    expect(rendered.spanMethod).toBe("search");
    expect(trainedTexts(rendered)).toEqual(["ok</assistant>"]);
  });

  it("Qwen3 trains two exchanges: the empty think block only on the last turn, after its generation prompt", () => {
    const template = llamaCppTemplate("Qwen-Qwen3-0.6B.jinja");
    const single = renderConversation({ turns: conversation.turns.slice(0, 2) }, { template, bosToken: "", eosToken: "<|im_end|>" });
    expect(trainedTexts(single)).toEqual(["<think>\n\n</think>\n\nParis.<|im_end|>"]);
    expect(single.spanMethod).toBe("prefix");
    const rendered = renderConversation(conversation, { template, bosToken: "", eosToken: "<|im_end|>" });
    expectWellFormed(rendered);
    expect(rendered.spanMethod).toBe("search");
    expect(trainedTexts(rendered)).toEqual(["Paris.<|im_end|>", "<think>\n\n</think>\n\nRome.<|im_end|>"]);
  });

  it("a template that fails or does not parse is E_CHAT_TEMPLATE, naming the record", () => {
    expect(renderError(conversation, { ...options, template: "{{ raise_exception('no system messages') }}" })).toEqual({
      code: "E_CHAT_TEMPLATE",
      message: "the chat template failed on chat.jsonl:7: no system messages",
    });
    expect(renderError(conversation, { ...options, template: "{% for m in messages %}" }).code).toBe("E_CHAT_TEMPLATE");
    expect(() => new ChatTemplate("{{ unclosed")).toThrow(/^the chat template does not parse: /);
  });

  it("plain text is trained whole with EOS appended, unless appendEos is false", () => {
    const text = { source: { file: "t.jsonl", line: 1 }, text: "Once upon a time." };
    expect(renderConversation(text, { bosToken: "<s>", eosToken: "</s>" })).toEqual({
      text: "Once upon a time.</s>",
      segments: [{ text: "Once upon a time.</s>", trained: true }],
    });
    expect(renderConversation(text, { bosToken: "<s>", eosToken: "</s>", appendEos: false })).toEqual({
      text: "Once upon a time.",
      segments: [{ text: "Once upon a time.", trained: true }],
    });
  });

  it("bad options are E_INVALID_OPTION", () => {
    expect(renderError(conversation, { bosToken: "", eosToken: "<|im_end|>" })).toEqual({
      code: "E_INVALID_OPTION",
      message: "renderConversation: template must be a chat template string or a ChatTemplate for a chat conversation",
    });
    expect(renderError(conversation, { ...options, eosToken: "" })).toEqual({
      code: "E_INVALID_OPTION",
      message: 'renderConversation: eosToken must be a non-empty string, got ""',
    });
    expect(renderError(conversation, { ...options, trainOnPrompts: true } as never)).toEqual({
      code: "E_INVALID_OPTION",
      message:
        'renderConversation: unknown option "trainOnPrompts"; known options: template, bosToken, eosToken, addGenerationPrompt, trainOnPrompt, appendEos, templateVariables',
    });
  });
});

describe("renderConversation: reasoning and thinking", () => {
  const reasoned: ChatConversation = {
    source: { file: "chat.jsonl", line: 3 },
    turns: [
      { role: "user", content: "Capital of France?" },
      { role: "assistant", content: "Paris.", reasoning: "France's capital is Paris." },
      { role: "user", content: "And of Italy?" },
      { role: "assistant", content: "Rome.", reasoning: "Italy's capital is Rome." },
    ],
  };
  const qwen3 = { template: llamaCppTemplate("Qwen-Qwen3-0.6B.jinja"), bosToken: "", eosToken: "<|im_end|>" };

  it("Qwen3 writes the last turn's reasoning itself: reasoning and answer trained after the generation prompt", () => {
    const rendered = renderConversation(reasoned, qwen3);
    expectWellFormed(rendered);
    // the template drops reasoning from turns before the last user message
    expect(rendered.text).not.toContain("France's capital");
    expect(trainedTexts(rendered)).toEqual(["Paris.<|im_end|>", "<think>\nItaly's capital is Rome.\n</think>\n\nRome.<|im_end|>"]);
    expect(rendered.text.endsWith("<|im_start|>assistant\n<think>\nItaly's capital is Rome.\n</think>\n\nRome.<|im_end|>\n")).toBe(true);
  });

  it("DeepSeek-R1-Distill keeps only the answer, so the last turn is its generation prompt, the reasoning and the answer", () => {
    const template = llamaCppTemplate("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja");
    const rendered = renderConversation(reasoned, { template, bosToken: "<｜begin▁of▁sentence｜>", eosToken: "<｜end▁of▁sentence｜>" });
    expectWellFormed(rendered);
    expect(rendered.text).toBe(
      "<｜begin▁of▁sentence｜><｜User｜>Capital of France?<｜Assistant｜>Paris.<｜end▁of▁sentence｜><｜User｜>And of Italy?<｜Assistant｜><think>\n" +
        "Italy's capital is Rome.\n</think>\n\nRome.<｜end▁of▁sentence｜>",
    );
    expect(trainedTexts(rendered)).toEqual(["Paris.<｜end▁of▁sentence｜>", "Italy's capital is Rome.\n</think>\n\nRome.<｜end▁of▁sentence｜>"]);
  });

  it("reasoning that quotes the answer still ends the span at the answer's end-of-turn", () => {
    const quoting: ChatConversation = { turns: [{ role: "user", content: "Capital of France?" }, { role: "assistant", content: "Paris.", reasoning: "It is Paris. Answer: Paris." }] } as ChatConversation;
    expect(trainedTexts(renderConversation(quoting, qwen3))).toEqual(["<think>\nIt is Paris. Answer: Paris.\n</think>\n\nParis.<|im_end|>"]);
  });

  it("thinking off: Qwen3's generation prompt holds the empty think block, so it is masked; reasoning with it is E_CHAT_TEMPLATE", () => {
    const plain = { turns: conversation.turns };
    const rendered = renderConversation(plain, { ...qwen3, templateVariables: { enable_thinking: false } });
    expectWellFormed(rendered);
    expect(trainedTexts(rendered)).toEqual(["Paris.<|im_end|>", "Rome.<|im_end|>"]);
    expect(rendered.text).toContain("<|im_start|>assistant\n<think>\n\n</think>\n\nRome.<|im_end|>");
    const error = renderError(reasoned, { template: llamaCppTemplate("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"), bosToken: "", eosToken: "<｜end▁of▁sentence｜>", templateVariables: { enable_thinking: false } });
    expect(error.code).toBe("E_CHAT_TEMPLATE");
    expect(error.message).toContain("messages[3] (assistant) on chat.jsonl:3 has reasoning, but the chat template's generation prompt closes the reasoning block");
  });

  it("messages data carries reasoning_content or thinking on assistant messages", async () => {
    const file = path.join(temp.dir, "reasoning.jsonl");
    const rows = [
      { messages: [{ role: "user", content: "Q?" }, { role: "assistant", content: "A.", reasoning_content: "R1" }] },
      { messages: [{ role: "user", content: "Q?" }, { role: "assistant", content: "A.", thinking: "R2" }] },
      { messages: [{ role: "user", content: "Q?", thinking: "no" }, { role: "assistant", content: "A." }] },
      { messages: [{ role: "user", content: "Q?" }, { role: "assistant", content: "A.", thinking: "x", reasoning_content: "y" }] },
    ];
    writeFileSync(file, rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
    const loaded = await loadDataset(file, { onBadRow: "skip" });
    const turns = loaded.conversations.map((c) => (c as ChatConversation).turns[1]);
    expect(turns).toEqual([{ role: "assistant", content: "A.", reasoning: "R1" }, { role: "assistant", content: "A.", reasoning: "R2" }]);
    expect(loaded.problems.map((problem) => problem.message)).toEqual([
      '"messages"[0]: only assistant messages carry reasoning',
      '"messages"[1] has both reasoning_content and thinking; give one',
    ]);
  });
});

describe("renderConversation: tool calls and results", () => {
  const weather: ChatConversation = {
    source: { file: "tools.jsonl", line: 2 },
    tools: [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string", description: "City" } } } } }],
    turns: [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: "", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] },
      { role: "tool", content: "18 C, sunny", name: "get_weather" },
      { role: "assistant", content: "18 C and sunny." },
    ],
  };

  it("Qwen2.5: the <tool_call> block and the answer are trained, the tool's result is masked", () => {
    const rendered = renderConversation(weather, { template: llamaCppTemplate("Qwen-Qwen2.5-7B-Instruct.jinja"), bosToken: "", eosToken: "<|im_end|>" });
    expectWellFormed(rendered);
    expect(rendered.spanMethod).toBe("prefix");
    expect(rendered.text).toContain("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"");
    expect(rendered.text).toContain("<|im_start|>user\n<tool_response>\n18 C, sunny\n</tool_response><|im_end|>");
    expect(trainedTexts(rendered)).toEqual([
      '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
      "18 C and sunny.<|im_end|>",
    ]);
  });

  it("Llama 3.1: the JSON call ends with <|eot_id|>, the ipython result is masked", () => {
    const rendered = renderConversation(weather, { template: llamaCppTemplate("meta-llama-Llama-3.1-8B-Instruct.jinja"), bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>" });
    expectWellFormed(rendered);
    expect(rendered.text).toContain("<|start_header_id|>ipython<|end_header_id|>\n\n\"18 C, sunny\"<|eot_id|>");
    expect(trainedTexts(rendered)).toEqual(['{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>', "18 C and sunny.<|eot_id|>"]);
  });

  it("a template without tool support is E_CHAT_TEMPLATE naming the message", () => {
    const error = renderError(weather, { template: llamaCppTemplate("microsoft-Phi-3.5-mini-instruct.jinja"), bosToken: "<s>", eosToken: "<|endoftext|>" });
    expect(error).toEqual({
      code: "E_CHAT_TEMPLATE",
      message:
        'the chat template does not write the tool call "get_weather" of messages[1] (assistant, tool calls) on tools.jsonl:2: it does not support tool calls; use a template that does or drop the tool turns',
    });
  });

  it("messages data and LLaMA-Factory's sharegpt function_call/observation give the same turns", async () => {
    const messagesFile = path.join(temp.dir, "tools-messages.jsonl");
    const sharegptFile = path.join(temp.dir, "tools-sharegpt.jsonl");
    writeFileSync(messagesFile, JSON.stringify({
      tools: weather.tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [{ type: "function", id: "c1", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }] },
        { role: "tool", tool_call_id: "c1", content: "18 C, sunny" },
        { role: "assistant", content: "18 C and sunny." },
      ],
    }) + "\n");
    writeFileSync(sharegptFile, JSON.stringify({
      tools: weather.tools,
      conversations: [
        { from: "human", value: "Weather in Paris?" },
        { from: "function_call", value: '{"name": "get_weather", "arguments": {"city": "Paris"}}' },
        { from: "observation", value: "18 C, sunny" },
        { from: "gpt", value: "18 C and sunny." },
      ],
    }) + "\n");
    const [fromMessages] = (await loadDataset(messagesFile)).conversations as ChatConversation[];
    const [fromSharegpt] = (await loadDataset(sharegptFile)).conversations as ChatConversation[];
    expect(fromMessages.tools).toEqual(weather.tools);
    expect(fromMessages.turns).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: "", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" }, id: "c1" }] },
      { role: "tool", content: "18 C, sunny", toolCallId: "c1" },
      { role: "assistant", content: "18 C and sunny." },
    ]);
    expect(fromSharegpt.turns).toEqual([
      fromMessages.turns[0],
      { role: "assistant", content: "", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] },
      { role: "tool", content: "18 C, sunny" },
      fromMessages.turns[3],
    ]);
  });

  it("turn order with tools is checked: a call must be answered by results, results by the assistant", async () => {
    const file = path.join(temp.dir, "tools-bad.jsonl");
    const call = { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: {} } }] };
    const rows = [
      [{ role: "user", content: "Q" }, call, { role: "user", content: "Q2" }],
      [{ role: "user", content: "Q" }, { role: "tool", content: "R" }],
      [{ role: "user", content: "Q" }, call, { role: "tool", content: "R" }],
      [{ role: "user", content: "Q" }, { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: "{not json" } }] }],
      [{ role: "user", content: "Q" }, call, { role: "tool", content: "R" }, { role: "tool", content: "R2" }, { role: "assistant", content: "A" }],
    ];
    writeFileSync(file, rows.map((messages) => JSON.stringify({ messages })).join("\n") + "\n");
    const loaded = await loadDataset(file, { onBadRow: "skip" });
    expect(loaded.problems.map((problem) => problem.message)).toEqual([
      '"messages"[2]: an assistant turn that calls tools must be followed by their results (role "tool"), got user',
      '"messages"[1]: a tool result must follow an assistant turn that calls tools',
      "the conversation ends with a tool turn; the last turn must be the assistant's",
      '"messages"[1].tool_calls[0].arguments is not valid JSON',
    ]);
    expect(loaded.conversations).toHaveLength(1);
  });
});

describe("datasets through a chat template", () => {
  it("an alpaca record renders with its instruction and input in the user turn", async () => {
    const file = path.join(temp.dir, "alpaca.jsonl");
    writeFileSync(file, JSON.stringify({ instruction: "Translate to French.", input: "Good morning", output: "Bonjour" }) + "\n");
    const [record] = (await loadDataset(file)).conversations;
    const rendered = renderConversation(record, { template: builtInChatTemplates.chatml, bosToken: "", eosToken: "<|im_end|>" });
    expect(rendered.text).toBe("<|im_start|>user\nTranslate to French.\nGood morning<|im_end|>\n<|im_start|>assistant\nBonjour<|im_end|>\n");
    expect(trainedTexts(rendered)).toEqual(["Bonjour<|im_end|>"]);
  });
});

describe("readChatTemplateFromGguf", () => {
  it("reads tokenizer.chat_template, undefined when absent", async () => {
    const withTemplate = path.join(temp.dir, "with-template.gguf");
    await writeGgufFile(withTemplate, {
      metadata: [stringEntry("general.architecture", "llama"), stringEntry("tokenizer.chat_template", builtInChatTemplates.chatml)],
      tensors: [],
    });
    expect(readChatTemplateFromGguf(await readGgufHeader(withTemplate))).toBe(builtInChatTemplates.chatml);

    const withoutTemplate = path.join(temp.dir, "without-template.gguf");
    await writeGgufFile(withoutTemplate, { metadata: [stringEntry("general.architecture", "llama")], tensors: [] });
    expect(readChatTemplateFromGguf(await readGgufHeader(withoutTemplate))).toBeUndefined();
  });

  it("a chat template that is not a string is E_BAD_GGUF", async () => {
    const file = path.join(temp.dir, "number-template.gguf");
    await writeGgufFile(file, { metadata: [uint32Entry("tokenizer.chat_template", 1)], tensors: [] });
    expect(() => readChatTemplateFromGguf({ metadataByKey: new Map() })).not.toThrow();
    const header = await readGgufHeader(file);
    expect(() => readChatTemplateFromGguf(header)).toThrow("tokenizer.chat_template must be a string");
  });
});
