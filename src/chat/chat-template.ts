import { Template } from "@huggingface/jinja";

import { LoraGgufError } from "../errors.js";

/** A message as chat templates receive it (`messages` in the Hugging Face chat-template convention). */
export interface TemplateMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** An assistant message's calls, in the OpenAI shape Hugging Face templates read. */
  tool_calls?: { type: "function"; id?: string; function: { name: string; arguments: Record<string, unknown> } }[];
  /** A tool result's call id and function name. */
  tool_call_id?: string;
  name?: string;
  /** An assistant message's reasoning, under both names templates read it by (Qwen3/DeepSeek, gpt-oss). */
  reasoning_content?: string;
  thinking?: string;
}

/** The variables Hugging Face passes to chat templates, plus any extra ones the template reads (date_string, enable_thinking, ...). */
export interface TemplateVariables {
  messages: readonly TemplateMessage[];
  bos_token: string;
  eos_token: string;
  add_generation_prompt: boolean;
  [name: string]: unknown;
}

/**
 * A parsed Jinja chat template (rendered with @huggingface/jinja, which follows transformers'
 * trim_blocks/lstrip_blocks settings). Parsing costs far more than rendering: parse once per run.
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(readonly source: string) {
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new LoraGgufError("E_CHAT_TEMPLATE", `the chat template does not parse: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Throws E_CHAT_TEMPLATE when the template fails (raise_exception included); `context` names the conversation. */
  render(variables: TemplateVariables, context: string): string {
    let text: unknown;
    try {
      text = this.template.render(variables as unknown as Record<string, unknown>);
    } catch (error) {
      throw new LoraGgufError("E_CHAT_TEMPLATE", `the chat template failed${context}: ${(error as Error).message}`, { cause: error });
    }
    if (typeof text !== "string") throw new LoraGgufError("E_CHAT_TEMPLATE", `the chat template rendered no text${context}`);
    return text;
  }
}

const MAX_CACHED_TEMPLATES = 8;
const templatesBySource = new Map<string, ChatTemplate>();

/** The parsed template for `template`, reusing recent parses so callers may pass the source string for every conversation. */
export function compileChatTemplate(template: string | ChatTemplate): ChatTemplate {
  if (template instanceof ChatTemplate) return template;
  let compiled = templatesBySource.get(template);
  if (compiled === undefined) {
    compiled = new ChatTemplate(template);
    if (templatesBySource.size >= MAX_CACHED_TEMPLATES) templatesBySource.delete(templatesBySource.keys().next().value!);
    templatesBySource.set(template, compiled);
  }
  return compiled;
}
