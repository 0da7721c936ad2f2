// Multi-turn spans over llama.cpp's corpus of real chat templates (models/templates/*.jinja in the
// cloned tree): each template renders a three-exchange conversation with a system prompt (without
// one where it refuses system messages), and what is trained is exactly each response, the in-turn
// framing the template writes around it (a documented list), and its end-of-turn marker.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { renderConversation, type RenderedConversation } from "../src/chat/index.js";
import type { ChatConversation } from "../src/data/index.js";
import { isLoraGgufError } from "../src/errors.js";
import { llamaSourceDir } from "../src/testing/llama-source-dir.js";

const templatesDir = path.join(llamaSourceDir(), "models", "templates");

/**
 * What templates write inside an assistant turn between the generation prompt and the response,
 * trained because the model must write it after that prompt at inference: empty reasoning blocks
 * (Qwen3, Qwen3.5, StepFun, GLM, Kimi, Ling, Laguna, MiniMax), channel or recipient headers (gpt-oss,
 * Kimi K3, muse, Functionary, Solar Open) and the space or line break some put before the response.
 */
export const TRAINED_IN_TURN_FRAMING: readonly string[] = [
  "",
  "<think>\n\n</think>\n\n",
  "\n</think>\n\n",
  "\n</think>\n",
  "\n<think></think>\n",
  "<think></think>",
  "</think>",
  "</mm:think>",
  "<|close|>think<|sep|><|open|>response<|sep|>",
  "<|channel|>final<|message|>",
  " to=user<|message|>",
  "all\n",
  "<|content|>",
  " ",
  "\n",
];

/**
 * Templates that end earlier turns with text other than the last turn's marker, so only the last
 * response is trained with one: gpt-oss closes earlier turns with <|end|> and the last with <|return|>;
 * GLM and RWKV write nothing after a response (the next turn's header stops generation).
 */
const NO_MARKER_ON_EARLIER_TURNS = new Set(["openai-gpt-oss-120b.jinja", "GLM-4.6.jinja", "GLM-4.7-Flash.jinja", "llama-cpp-rwkv-world.jinja"]);

/** The EOS token of models whose templates write it or close turns with it ("</s>" for the rest). */
const EOS_BY_TEMPLATE: Readonly<Record<string, string>> = {
  "Apertus-8B-Instruct.jinja": "<|assistant_end|>",
  "Apriel-1.6-15b-Thinker-fixed.jinja": "<|end|>",
  "Cohere2MoE.jinja": "<|END_OF_TURN_TOKEN|>",
  "CohereForAI-c4ai-command-r-plus-tool_use.jinja": "<|END_OF_TURN_TOKEN|>",
  "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja": "<|END_OF_TURN_TOKEN|>",
  "microsoft-Phi-3.5-mini-instruct.jinja": "<|endoftext|>",
};

/** Templates the corpus cannot render, and why (listed in the README). */
export const UNRENDERABLE_TEMPLATES: Readonly<Record<string, RegExp>> = {
  // @huggingface/jinja refuses a dict literal with integer keys
  "ByteDance-Seed-OSS.jinja": /Object keys must be strings/,
  // needs the `functions` and `datetime` variables its model card passes (templateVariables)
  "fireworks-ai-llama-3-firefunction-v2.jinja": /Cannot perform operation \+ on undefined values/,
  // calls Python's str.format, which @huggingface/jinja does not have
  "tencent-Hy3.jinja": /Cannot call something that is not a function/,
};

const responses = ["Paris.", "Rome.", "Madrid."];
const conversation = (withSystem: boolean): ChatConversation => ({
  source: { file: "corpus.jsonl", line: 1 },
  ...(withSystem ? { system: "You are terse." } : {}),
  turns: [
    { role: "user", content: "Capital of France?" },
    { role: "assistant", content: responses[0] },
    { role: "user", content: "And of Italy?" },
    { role: "assistant", content: responses[1] },
    { role: "user", content: "And of Spain?" },
    { role: "assistant", content: responses[2] },
  ],
});

function renderWithSystemIfAllowed(template: string, eosToken: string): RenderedConversation {
  try {
    return renderConversation(conversation(true), { template, bosToken: "<s>", eosToken });
  } catch (error) {
    // Gemma 2 and others raise_exception on a system message
    if (isLoraGgufError(error) && /system/i.test(error.message)) return renderConversation(conversation(false), { template, bosToken: "<s>", eosToken });
    throw error;
  }
}

describe("chat template corpus (llama.cpp models/templates)", () => {
  const files = readdirSync(templatesDir).filter((file) => file.endsWith(".jinja")).sort();

  it("trains three exchanges on at least 64 of the real templates, exactly the responses, their framing and markers", () => {
    const trainedTemplates: string[] = [];
    const methods = { prefix: 0, search: 0 };
    const problems: string[] = [];
    for (const file of files) {
      const template = readFileSync(path.join(templatesDir, file), "utf8");
      const eosToken = EOS_BY_TEMPLATE[file] ?? "</s>";
      let rendered: RenderedConversation;
      try {
        rendered = renderWithSystemIfAllowed(template, eosToken);
      } catch (error) {
        if (!isLoraGgufError(error) || error.code !== "E_CHAT_TEMPLATE") throw error;
        const expected = UNRENDERABLE_TEMPLATES[file];
        if (expected === undefined || !expected.test(error.message)) problems.push(`${file}: ${error.message}`);
        continue;
      }
      const trained = rendered.segments.filter((segment) => segment.trained).map((segment) => segment.text);
      const issues: string[] = [];
      if (trained.length !== responses.length) issues.push(`${trained.length} trained spans`);
      trained.forEach((span, index) => {
        const at = span.indexOf(responses[index]);
        if (at < 0) return issues.push(`span ${index} lacks its response: ${JSON.stringify(span)}`);
        const framing = span.slice(0, at);
        const marker = span.slice(at + responses[index].length);
        if (!TRAINED_IN_TURN_FRAMING.includes(framing)) issues.push(`undocumented framing ${JSON.stringify(framing)}`);
        const last = index === responses.length - 1;
        if (marker === "" && (last || !NO_MARKER_ON_EARLIER_TURNS.has(file))) issues.push(`span ${index} has no end-of-turn marker`);
        // a marker closes the turn: nothing of a later message, no whitespace after it (the next turn's framing)
        if (/\s$/.test(marker) || /Italy|Spain|terse/.test(marker)) issues.push(`marker ${JSON.stringify(marker)}`);
      });
      // prompts stay masked: every user and system text lies outside the trained spans
      for (const prompt of ["Capital of France?", "And of Italy?", "And of Spain?", "You are terse."]) {
        if (trained.some((span) => span.includes(prompt))) issues.push(`trains prompt text ${JSON.stringify(prompt)}`);
      }
      if (issues.length > 0) problems.push(`${file}: ${issues.join("; ")}`);
      else {
        trainedTemplates.push(file);
        methods[rendered.spanMethod!]++;
      }
    }
    console.log(
      `chat template corpus: ${trainedTemplates.length} of ${files.length} templates train three exchanges ` +
        `(${methods.prefix} by prefix, ${methods.search} by search); not rendered: ${Object.keys(UNRENDERABLE_TEMPLATES).join(", ")}`,
    );
    expect(problems).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(70);
    expect(trainedTemplates.length).toBeGreaterThanOrEqual(64);
    expect(trainedTemplates.length + Object.keys(UNRENDERABLE_TEMPLATES).length).toBe(files.length);
  });

  it("renders a tool call and its result on the templates that support tools: the call and the answer trained, the result masked", () => {
    const tools = [{ type: "function", function: { name: "get_weather", description: "Current weather in a city", parameters: { type: "object", properties: { city: { type: "string", description: "City name" } }, required: ["city"] } } }];
    const withTools: ChatConversation = {
      source: { file: "tools.jsonl", line: 1 },
      system: "You are terse.",
      tools,
      turns: [
        { role: "user", content: "What is the weather in Paris?" },
        // Mistral's templates want 9-character alphanumeric call ids
        { role: "assistant", content: "", toolCalls: [{ name: "get_weather", arguments: { city: "Paris" }, id: "abc123def" }] },
        { role: "tool", content: "18 C and sunny", toolCallId: "abc123def", name: "get_weather" },
        { role: "assistant", content: "It is 18 C and sunny in Paris." },
      ],
    };
    const rendered: string[] = [];
    const refused: string[] = [];
    const problems: string[] = [];
    for (const file of files) {
      const template = readFileSync(path.join(templatesDir, file), "utf8");
      let result: RenderedConversation;
      try {
        result = renderConversation(withTools, { template, bosToken: "<s>", eosToken: EOS_BY_TEMPLATE[file] ?? "</s>" });
      } catch (error) {
        if (!isLoraGgufError(error) || error.code !== "E_CHAT_TEMPLATE") throw error;
        refused.push(file);
        continue;
      }
      const trained = result.segments.filter((segment) => segment.trained).map((segment) => segment.text);
      const issues: string[] = [];
      if (trained.length !== 2) issues.push(`${trained.length} trained spans`);
      else {
        if (!trained[0].includes("get_weather") || !trained[0].includes("Paris")) issues.push(`the call span ${JSON.stringify(trained[0])}`);
        if (trained[0].includes("[object")) issues.push(`arguments written as ${JSON.stringify(trained[0])}`);
        if (!trained[1].includes("It is 18 C and sunny in Paris.")) issues.push(`the answer span ${JSON.stringify(trained[1])}`);
      }
      if (!result.text.includes("18 C and sunny")) issues.push("no tool result in the render");
      for (const prompt of ["What is the weather in Paris?", "You are terse.", "Current weather in a city"]) {
        if (trained.some((span) => span.includes(prompt))) issues.push(`trains prompt text ${JSON.stringify(prompt)}`);
      }
      if (trained.some((span) => span.replace("It is 18 C and sunny in Paris.", "").includes("18 C and sunny"))) issues.push("trains the tool result");
      if (issues.length > 0) problems.push(`${file}: ${issues.join("; ")}`);
      else rendered.push(file);
    }
    console.log(`tool calls: ${rendered.length} of ${files.length} templates train them; E_CHAT_TEMPLATE on ${refused.length}: ${refused.join(", ")}`);
    expect(problems).toEqual([]);
    for (const file of [
      "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja", "Mistral-Small-3.2-24B-Instruct-2506.jinja",
      "mistralai-Mistral-Nemo-Instruct-2407.jinja", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "openai-gpt-oss-120b.jinja", "deepseek-ai-DeepSeek-V3.1.jinja",
      "ibm-granite-granite-4.0.jinja", "google-gemma-4-31B-it.jinja",
    ]) {
      expect(rendered).toContain(file);
    }
    expect(rendered.length).toBeGreaterThanOrEqual(45);
  });
});
