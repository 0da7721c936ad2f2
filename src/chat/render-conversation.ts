import { LoraGgufError } from "../errors.js";
import type { ChatConversation, PlainText, RecordSource } from "../data/conversation.js";
import {
  optionalBoolean,
  optionalPlainObject,
  rejectUnknownOptions,
  requireOptionsObject,
  requireString,
  requireStringAllowEmpty,
} from "../validate.js";
import { ChatTemplate, compileChatTemplate, type TemplateMessage, type TemplateVariables } from "./chat-template.js";

export interface RenderConversationOptions {
  /** Jinja chat template source (e.g. from readChatTemplateFromGguf) or a parsed ChatTemplate; needed for chat conversations. */
  template?: string | ChatTemplate;
  /** The model's BOS token text (bos_token in templates); "" for models without one. */
  bosToken: string;
  /** The model's EOS token text (eos_token in templates; appended to plain text). */
  eosToken: string;
  /** End the text with the template's assistant header, as for a prompt to complete. Default false. */
  addGenerationPrompt?: boolean;
  /** Train on every character, prompts and template markup included. Default false: assistant responses only. */
  trainOnPrompt?: boolean;
  /** Append eosToken to plain text records. Default true. */
  appendEos?: boolean;
  /** Extra variables for the template (date_string, enable_thinking, ...); cannot replace the four above. */
  templateVariables?: Record<string, unknown>;
}

export interface RenderedSegment {
  text: string;
  /** Whether the loss covers this text. */
  trained: boolean;
}

export interface RenderedConversation {
  /** The text to tokenize, with special tokens as text; it already holds any BOS the template writes. */
  text: string;
  /** `text` cut into runs that are trained or not: they concatenate to `text`, none is empty, neighbours differ in `trained`. */
  segments: RenderedSegment[];
}

/** A conversation as loadDataset returns it, or built by hand (then `source` may be left out). */
export type RenderableConversation =
  | (Omit<ChatConversation, "source"> & { source?: RecordSource })
  | (Omit<PlainText, "source"> & { source?: RecordSource });

const WHERE = "renderConversation";
const OPTION_NAMES = ["template", "bosToken", "eosToken", "addGenerationPrompt", "trainOnPrompt", "appendEos", "templateVariables"] as const;

/**
 * Renders one conversation for training and marks what the loss covers.
 *
 * Chat conversations go through the chat template. The span of each assistant message is found the
 * way LLaMA-Factory and TRL find it: the render of the messages before it with
 * add_generation_prompt=true ends where the response starts, and the render of the messages up to
 * and including it ends where its turn ends, so the span holds the response and the end-of-turn
 * marker the template writes after it (<|im_end|>, <|eot_id|>, </s>): trained, so the model learns to
 * stop. Whitespace after the marker (ChatML's "\n") stays untrained: generation ends at the marker,
 * so the model never produces it, and the template writes it as part of the next turn's framing.
 *
 * Both renders must be prefixes of the full render; templates that change earlier text depending on
 * later messages (Mistral v0.3/Nemo move the system prompt to the last user message, Qwen3 adds
 * <think></think> to the last assistant message only) break that, and then this throws
 * E_CHAT_TEMPLATE rather than guess the spans. trainOnPrompt needs no spans and renders any template.
 *
 * Plain text is trained on whole, with eosToken appended so the model learns where texts end; the
 * BOS token is left to the tokenizer's add_bos setting, since no template decides it.
 */
export function renderConversation(conversation: RenderableConversation, options: RenderConversationOptions): RenderedConversation {
  const given = requireOptionsObject(WHERE, options);
  rejectUnknownOptions(WHERE, given, OPTION_NAMES);
  const bosToken = requireStringAllowEmpty(WHERE, "bosToken", given.bosToken);
  const eosToken = requireString(WHERE, "eosToken", given.eosToken);
  const addGenerationPrompt = optionalBoolean(WHERE, "addGenerationPrompt", given.addGenerationPrompt) ?? false;
  const trainOnPrompt = optionalBoolean(WHERE, "trainOnPrompt", given.trainOnPrompt) ?? false;
  const appendEos = optionalBoolean(WHERE, "appendEos", given.appendEos) ?? true;
  const templateVariables = optionalPlainObject(WHERE, "templateVariables", given.templateVariables) ?? {};

  if ("text" in conversation) {
    const text = appendEos ? conversation.text + eosToken : conversation.text;
    return { text, segments: text === "" ? [] : [{ text, trained: true }] };
  }

  if (given.template === undefined || (typeof given.template !== "string" && !(given.template instanceof ChatTemplate))) {
    throw new LoraGgufError("E_INVALID_OPTION", `${WHERE}: template must be a chat template string or a ChatTemplate for a chat conversation`);
  }
  const template = compileChatTemplate(given.template);
  const context = conversation.source === undefined ? "" : ` on ${conversation.source.file}:${conversation.source.line}`;
  const messages: TemplateMessage[] = [
    ...(conversation.system === undefined ? [] : [{ role: "system" as const, content: conversation.system }]),
    ...conversation.turns.map((turn) => ({ role: turn.role, content: turn.content })),
  ];
  const render = (count: number, withGenerationPrompt: boolean): string => {
    const variables: TemplateVariables = {
      ...templateVariables,
      messages: messages.slice(0, count),
      bos_token: bosToken,
      eos_token: eosToken,
      add_generation_prompt: withGenerationPrompt,
    };
    return template.render(variables, context);
  };

  const text = render(messages.length, addGenerationPrompt);
  if (trainOnPrompt) return { text, segments: text === "" ? [] : [{ text, trained: true }] };

  const segments: RenderedSegment[] = [];
  let cursor = 0;
  messages.forEach((message, index) => {
    if (message.role !== "assistant") return;
    const promptEnd = requirePrefix(text, render(index, true), index, "with add_generation_prompt", context);
    const turnEnd = requirePrefix(text, render(index + 1, false), index + 1, "", context);
    if (promptEnd < cursor) {
      throw new LoraGgufError(
        "E_CHAT_TEMPLATE",
        `the chat template's prompt for messages[${index}] (assistant) ends inside the previous response${context}, so its span cannot be located`,
      );
    }
    if (turnEnd <= promptEnd) {
      throw new LoraGgufError(
        "E_CHAT_TEMPLATE",
        `the chat template renders no text for messages[${index}] (assistant) after the generation prompt${context}, so its span cannot be located`,
      );
    }
    let responseEnd = turnEnd;
    while (responseEnd > promptEnd && isWhitespace(text.charCodeAt(responseEnd - 1))) responseEnd--;
    appendSegment(segments, text.slice(cursor, promptEnd), false);
    appendSegment(segments, text.slice(promptEnd, responseEnd), true);
    cursor = responseEnd;
  });
  appendSegment(segments, text.slice(cursor), false);
  return { text, segments };
}

/** The length of `prefix`, after checking that `text` starts with it. */
function requirePrefix(text: string, prefix: string, messageCount: number, how: string, context: string): number {
  if (text.startsWith(prefix)) return prefix.length;
  let same = 0;
  while (same < prefix.length && prefix.charCodeAt(same) === text.charCodeAt(same)) same++;
  const excerpt = (s: string): string => JSON.stringify(s.slice(Math.max(0, same - 20), same + 30));
  throw new LoraGgufError(
    "E_CHAT_TEMPLATE",
    `the chat template is not prefix-stable${context}: rendering the first ${messageCount} messages${how === "" ? "" : ` ${how}`} ` +
      `gives text the whole conversation's render does not start with (they differ at character ${same}: ${excerpt(prefix)} vs ${excerpt(text)}), ` +
      `so the assistant spans cannot be located. The template changes earlier text depending on later messages ` +
      `(Mistral v0.3/Nemo move the system prompt to the last user message; Qwen3 adds <think></think> to the last assistant message only); ` +
      `use another template, drop the system prompt, or set trainOnPrompt`,
  );
}

function appendSegment(segments: RenderedSegment[], text: string, trained: boolean): void {
  if (text === "") return;
  const last = segments[segments.length - 1];
  if (last !== undefined && last.trained === trained) last.text += text;
  else segments.push({ text, trained });
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}
