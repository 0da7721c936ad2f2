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
 * The date every render gives templates that write one (Llama 3.x's "Today Date", Granite's
 * "Today's Date"): Llama 3.1's own fallback date, fixed so that training, generation and the
 * Ollama TEMPLATE derived from renders write the same text on any day (and a resumed run renders
 * what it started with). Recorded in training.json as chatTemplateDate.
 */
export const CHAT_TEMPLATE_DATE = "2024-07-26";

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const FIXED_STRFTIME = "lora_gguf_strftime_now";

/** Python's strftime for CHAT_TEMPLATE_DATE at midnight, English names (what templates call as strftime_now). */
function fixedStrftime(format: unknown): string {
  const [year, month, day] = CHAT_TEMPLATE_DATE.split("-").map(Number);
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  const pad = (value: number) => String(value).padStart(2, "0");
  const fields: Record<string, string> = {
    Y: String(year), y: pad(year % 100), m: pad(month), d: pad(day), e: String(day).padStart(2, " "), "-d": String(day), "-m": String(month),
    B: MONTHS[month - 1], b: MONTHS[month - 1].slice(0, 3), A: DAYS[weekday], a: DAYS[weekday].slice(0, 3), H: "00", M: "00", S: "00", "%": "%",
  };
  return String(format).replace(/%(-?[A-Za-z%])/g, (token, field: string) => fields[field] ?? token);
}

/**
 * A parsed Jinja chat template (rendered with @huggingface/jinja, which follows transformers'
 * trim_blocks/lstrip_blocks settings). Parsing costs far more than rendering: parse once per run.
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(readonly source: string) {
    try {
      // @huggingface/jinja's own strftime_now (today, in the host's locale) is a global a render
      // cannot replace, so the template calls ours under another name
      this.template = new Template(source.replace(/\bstrftime_now\b/g, FIXED_STRFTIME));
    } catch (error) {
      throw new LoraGgufError("E_CHAT_TEMPLATE", `the chat template does not parse: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Throws E_CHAT_TEMPLATE when the template fails (raise_exception included); `context` names the conversation. */
  render(variables: TemplateVariables, context: string): string {
    let text: unknown;
    try {
      text = this.template.render({ [FIXED_STRFTIME]: fixedStrftime, ...variables } as unknown as Record<string, unknown>);
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
