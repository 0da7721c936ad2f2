import { LoraGgufError } from "../errors.js";
import type { ChatConversation, ChatTurn, PlainText, RecordSource } from "../data/conversation.js";
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
  /** For chat conversations rendered with spans: how they were found (renderConversation explains both). */
  spanMethod?: SpanMethod;
}

/** A conversation as loadDataset returns it, or built by hand (then `source` may be left out). */
export type RenderableConversation =
  | (Omit<ChatConversation, "source"> & { source?: RecordSource })
  | (Omit<PlainText, "source"> & { source?: RecordSource });

const WHERE = "renderConversation";
const OPTION_NAMES = ["template", "bosToken", "eosToken", "addGenerationPrompt", "trainOnPrompt", "appendEos", "templateVariables"] as const;

/**
 * The prompt for the next response: the conversation (ending with a user or tool message) rendered
 * with the generation prompt, exactly as training renders text (the same fallbacks, the same date).
 * What generate --chat gives the model and what the Ollama TEMPLATE is derived from.
 */
export function renderPrompt(
  conversation: RenderableConversation,
  options: { template: string | ChatTemplate; bosToken: string; eosToken: string; templateVariables?: Record<string, unknown> },
): string {
  return renderConversation(conversation, { ...options, addGenerationPrompt: true, trainOnPrompt: true }).text;
}

/**
 * The text a trained response ends with: the template's end-of-turn marker after a last response
 * (<|im_end|>, <|eot_id|>, "<|END_RESPONSE|><|END_OF_TURN_TOKEN|>"), without surrounding whitespace,
 * or EOS for templates that write none (training appends it). A runtime should stop on it.
 */
export function responseEndText(
  template: string | ChatTemplate,
  tokens: { bosToken: string; eosToken: string },
  templateVariables: Record<string, unknown> = {},
): string {
  const answer = "Q7ANSWERQ7";
  const text = renderConversation(
    { turns: [{ role: "user", content: "Q7PROMPTQ7" }, { role: "assistant", content: answer }] },
    { template, ...tokens, templateVariables, trainOnPrompt: true },
  ).text;
  const marker = endOfTurnMarker(text, answer, tokens.eosToken).trim();
  return marker === "" ? tokens.eosToken : marker;
}

/** How the spans of a conversation's responses were found (see renderConversation). */
export type SpanMethod = "prefix" | "search";

/**
 * Renders one conversation for training and marks what the loss covers.
 *
 * Chat conversations go through the chat template, once for the whole conversation. Each assistant
 * message's trained span holds its response and the end-of-turn marker the template writes after it
 * (<|im_end|>, <|eot_id|>, </s>), so the model learns to stop. Whitespace after the marker (ChatML's
 * "\n") stays untrained: generation ends at the marker, and the template writes it as part of the
 * next turn's framing.
 *
 * The span is found the way LLaMA-Factory and TRL find it where the template allows ("prefix"): the
 * render of the messages before the response with add_generation_prompt=true ends where the span
 * starts, and the render up to and including it ends where its turn ends. Whatever the template
 * writes between the generation prompt and the response (Qwen3's empty <think></think> block on the
 * final turn) is then trained: the model must write it after that prompt at inference to look like
 * the template.
 *
 * Templates that rewrite earlier text depending on later messages (Mistral v0.3/Nemo move the system
 * prompt to the last user message; Qwen3 writes the think block only after the last user message)
 * break one or both prefixes. Then the span is searched for in the whole render ("search"): each
 * message's content is found in order (a response never matches text of an earlier message), the
 * span starts at the generation prompt's end where that prefix still holds and at the response
 * otherwise (framing the template writes inside an earlier turn is then not trained: no prompt the
 * model is given at inference ends there), and the marker after it is what the template writes after
 * the same response when it is the last message. A response whose text is not in the render at all
 * is E_CHAT_TEMPLATE. trainOnPrompt needs no spans and renders any template.
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
    ...conversation.turns.map(templateMessage),
  ];
  // templates written for tool use only (Hermes and Command R+ tool_use, Functionary) iterate over
  // `tools` unguarded: with none given they render as with an empty list
  let extraVariables: Record<string, unknown> =
    conversation.tools !== undefined && !("tools" in templateVariables) ? { ...templateVariables, tools: conversation.tools } : templateVariables;
  // a conversation that teaches reasoning renders with thinking on unless the caller says otherwise
  // (DeepSeek-R1's distills, as llama.cpp keeps them, close the think block unless enable_thinking)
  if (!("enable_thinking" in templateVariables) && messages.at(-1)?.reasoning_content !== undefined) {
    extraVariables = { ...templateVariables, enable_thinking: true };
  }
  const render = (count: number, withGenerationPrompt: boolean): string => {
    const variables: TemplateVariables = {
      ...extraVariables,
      messages: messages.slice(0, count),
      bos_token: bosToken,
      eos_token: eosToken,
      add_generation_prompt: withGenerationPrompt,
    };
    return template.render(variables, context);
  };

  let text: string;
  try {
    text = render(messages.length, addGenerationPrompt);
  } catch (error) {
    if (!("tools" in extraVariables) && template.source.includes("tools")) {
      extraVariables = { ...extraVariables, tools: [] };
      try {
        text = render(messages.length, addGenerationPrompt);
      } catch {
        throw error;
      }
    } else throw error;
  }
  text = withLastReasoning(text, messages, addGenerationPrompt, render, context);
  if (trainOnPrompt) return { text, segments: text === "" ? [] : [{ text, trained: true }] };

  const segments: RenderedSegment[] = [];
  let spanMethod: SpanMethod = "prefix";
  // where the last span ended, and how far the search has read through the messages' contents
  let cursor = 0;
  let searched = 0;
  messages.forEach((message, index) => {
    if (message.role === "tool") {
      const result = findContent(text, message.content, searched);
      if (result === undefined) {
        throw new LoraGgufError(
          "E_CHAT_TEMPLATE",
          `the chat template does not write the tool result messages[${index}]${context}: it does not support tool turns; use a template that does (Qwen2.5, Qwen3, Llama 3.1, Hermes, Mistral Small) or drop the tool turns`,
        );
      }
      searched = result.end;
      return;
    }
    if (message.role !== "assistant") {
      // a system prompt may be moved (Mistral Nemo), so only user text advances the search
      if (message.role === "user") searched = findContent(text, message.content, searched)?.end ?? searched;
      return;
    }
    if (message.tool_calls !== undefined) {
      const span = toolCallSpan(text, messages, index, render, { cursor, searched, eosToken, context });
      if (span.method === "search") spanMethod = "search";
      appendSegment(segments, text.slice(cursor, span.start), false);
      appendSegment(segments, text.slice(span.start, span.end), true);
      cursor = searched = span.end;
      return;
    }
    const prompt = render(index, true);
    const promptHolds = prompt.length >= cursor && text.startsWith(prompt);
    const from = Math.max(searched, promptHolds ? prompt.length : cursor);
    // the reasoning comes first, and may quote the answer
    const reasoning = message.reasoning_content === undefined ? undefined : findContent(text, message.reasoning_content, from);
    const response = findContent(text, message.content, reasoning?.end ?? from);
    if (response === undefined) {
      throw new LoraGgufError(
        "E_CHAT_TEMPLATE",
        `the chat template does not write the text of messages[${index}] (assistant)${context} after the messages before it, ` +
          `so its span cannot be located; use another template or set trainOnPrompt`,
      );
    }
    const turn = render(index + 1, false);
    const turnHolds = turn.length >= response.end && text.startsWith(turn);
    if (!promptHolds || !turnHolds) spanMethod = "search";
    const marker = endOfTurnMarker(turn, message.content, eosToken);
    let spanEnd = response.end + markerLengthAt(text, response.end, marker, eosToken);
    if (spanEnd === response.end && index === messages.length - 1 && !addGenerationPrompt && text.slice(spanEnd).trim() === "") {
      // the template closes no turn after the last response (Apertus, Apriel, GLM, RWKV): the EOS
      // token is appended and trained, as LLaMA-Factory does for such templates, so the model learns to stop
      text = text.slice(0, spanEnd) + eosToken + text.slice(spanEnd);
      spanEnd += eosToken.length;
    }
    const spanStart = promptHolds ? prompt.length : (reasoning?.start ?? response.start);
    appendSegment(segments, text.slice(cursor, spanStart), false);
    appendSegment(segments, text.slice(spanStart, spanEnd), true);
    cursor = spanEnd;
    searched = spanEnd;
  });
  appendSegment(segments, text.slice(cursor), false);
  return { text, segments, spanMethod };
}

/** A turn as templates receive it: reasoning under both names, tool calls in OpenAI's shape. */
function templateMessage(turn: ChatTurn): TemplateMessage {
  const message: TemplateMessage = { role: turn.role, content: turn.content };
  if (turn.reasoning !== undefined) {
    message.reasoning_content = turn.reasoning;
    message.thinking = turn.reasoning;
  }
  if (turn.toolCalls !== undefined) {
    message.tool_calls = turn.toolCalls.map((call) => ({
      type: "function" as const,
      ...(call.id === undefined ? {} : { id: call.id }),
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  if (turn.toolCallId !== undefined) message.tool_call_id = turn.toolCallId;
  if (turn.name !== undefined) message.name = turn.name;
  return message;
}

/**
 * The trained span of an assistant turn that calls tools: from the end of its generation prompt
 * (a call's text has no content of ours to search for but the function names) through its end of turn, as the render ending with it has it where that is a prefix of the whole
 * render, else through the first end-of-turn marker after the last call's name (the marker the
 * template writes after the conversation's last response). Each call's name must be in it.
 */
function toolCallSpan(
  text: string,
  messages: readonly TemplateMessage[],
  index: number,
  render: (count: number, withGenerationPrompt: boolean) => string,
  where: { cursor: number; searched: number; eosToken: string; context: string },
): { start: number; end: number; method: SpanMethod } {
  const label = `messages[${index}] (assistant, tool calls)${where.context}`;
  const prompt = render(index, true);
  const start = toolCallTurnStart(text, prompt, messages[index - 1]?.content ?? "", where.searched);
  if (start === undefined || start < where.cursor) {
    throw new LoraGgufError(
      "E_CHAT_TEMPLATE",
      `the chat template's generation prompt for ${label} is not in the conversation's render, so the tool calls cannot be located; use another template or set trainOnPrompt`,
    );
  }
  const method: SpanMethod = start === prompt.length && text.startsWith(prompt) ? "prefix" : "search";
  let end = start;
  const content = messages[index].content;
  if (content.trim() !== "") end = findContent(text, content, end)?.end ?? end;
  for (const call of messages[index].tool_calls ?? []) {
    const name = findContent(text, call.function.name, end);
    if (name === undefined) {
      throw new LoraGgufError("E_CHAT_TEMPLATE", `the chat template does not write the tool call ${JSON.stringify(call.function.name)} of ${label}: it does not support tool calls; use a template that does or drop the tool turns`);
    }
    end = name.end;
  }
  const last = messages[messages.length - 1];
  const marker = endOfTurnMarker(text, last.content, where.eosToken);
  const markerAt = marker === "" ? -1 : text.indexOf(marker, end);
  const turn = render(index + 1, false);
  if (turn.length >= end && text.startsWith(turn)) {
    // up to the first end-of-turn marker in it (DeepSeek-R1's distills open another turn after it)
    const turnEnd = trimEndWhitespace(turn).length;
    return { start, end: markerAt >= 0 && markerAt + marker.length <= turnEnd ? markerAt + marker.length : turnEnd, method };
  }
  if (markerAt < 0) {
    throw new LoraGgufError("E_CHAT_TEMPLATE", `the end of the turn of ${label} cannot be located: the template writes no end-of-turn marker after it`);
  }
  return { start, end: markerAt + marker.length, method: "search" };
}

/**
 * Where the body of an assistant turn starts in `text`, given its generation prompt: where the prompt
 * is a prefix of the text, its end; else after the prompt's assistant header (what the prompt writes
 * after the previous message's content: Mistral Nemo moves the system prompt but keeps "[/INST]")
 * found after that content; else where the prompt and the text part, backed off to the start of a
 * tag (QwQ, DeepSeek R1 and Gemma 4 prompts open a think block that turns with tool calls lack).
 */
function toolCallTurnStart(text: string, prompt: string, previousContent: string, searched: number): number | undefined {
  if (text.startsWith(prompt) && prompt.length >= searched) return prompt.length;
  const previousEnd = previousContent === "" ? -1 : findLast(prompt, previousContent);
  if (previousEnd !== undefined && previousEnd >= 0) {
    const header = prompt.slice(previousEnd);
    const at = header.trim() === "" ? -1 : text.indexOf(header, searched);
    if (at >= 0) return at + header.length;
  }
  let start = 0;
  while (start < prompt.length && prompt.charCodeAt(start) === text.charCodeAt(start)) start++;
  while (start > searched && !/[\s>\]}]/.test(text[start - 1])) start--;
  return start > searched ? start : undefined;
}

/**
 * The text with the last response's reasoning in it. Templates that render reasoning (Qwen3, gpt-oss,
 * Kimi, GLM, ...) write it into the last turn themselves. Where the render lacks it (DeepSeek-R1's
 * distills keep only what follows </think>; most templates know no reasoning), the text becomes the
 * generation prompt for the last response followed by what the model must write after it: <think>
 * (unless the prompt opens the block), the reasoning, </think>, the response and the template's end
 * of turn, as LLaMA-Factory renders reasoning for such templates. Earlier turns' reasoning is written
 * only where the template writes it (Qwen3 and most reasoning templates drop it from history).
 */
function withLastReasoning(
  text: string,
  messages: readonly TemplateMessage[],
  addGenerationPrompt: boolean,
  render: (count: number, withGenerationPrompt: boolean) => string,
  context: string,
): string {
  const last = messages[messages.length - 1];
  const reasoning = last.role === "assistant" ? last.reasoning_content?.trim() : undefined;
  if (reasoning === undefined || addGenerationPrompt || text.includes(reasoning)) return text;
  const prompt = render(messages.length - 1, true);
  if (/<\/think>\s*$/.test(prompt)) {
    throw new LoraGgufError(
      "E_CHAT_TEMPLATE",
      `messages[${messages.length - 1}] (assistant)${context} has reasoning, but the chat template's generation prompt closes the reasoning block ` +
        `(thinking is off): set thinking on or auto, or drop the reasoning`,
    );
  }
  const answerEnd = findLast(text, last.content);
  const after = answerEnd === undefined ? "" : text.slice(answerEnd);
  const open = /<think>\s*$/.test(prompt) ? "" : "<think>\n";
  return `${prompt}${open}${reasoning}\n</think>\n\n${last.content}${after}`;
}

/** Where `content` (or, for templates that trim it, its trimmed text) first occurs in `text` at or after `from`. */
function findContent(text: string, content: string, from: number): { start: number; end: number } | undefined {
  for (const candidate of [content, content.trim()]) {
    if (candidate === "") continue;
    const start = text.indexOf(candidate, from);
    if (start >= 0) return { start, end: start + candidate.length };
  }
  return undefined;
}

/**
 * What the template writes after `content` when it is the last message (`turn`, the render that
 * ends with it), without trailing whitespace and up to the first EOS in it: <|im_end|>, <|eot_id|>,
 * "<|END_RESPONSE|><|END_OF_TURN_TOKEN|>" (Command R7B then opens a turn that no generation reaches).
 */
function endOfTurnMarker(turn: string, content: string, eosToken: string): string {
  const inTurn = findLast(turn, content);
  if (inTurn === undefined) return "";
  let marker = trimEndWhitespace(turn.slice(inTurn));
  const eos = marker.indexOf(eosToken);
  if (eos >= 0) marker = marker.slice(0, eos + eosToken.length);
  return marker;
}

/**
 * The length of the end-of-turn text at `at`: the marker where `text` has it there; else the part
 * of it up to a line break that `text` has (Phi-3.5 ends the last turn with "<|end|>\n</s>", earlier
 * ones with "<|end|>\n"); else an EOS token after at most some whitespace (Apertus and Apriel close
 * a turn only when another message follows); else 0 (gpt-oss ends earlier turns with <|end|> and the
 * last one with <|return|>: only the last one's is trained).
 */
function markerLengthAt(text: string, at: number, marker: string, eosToken: string): number {
  if (marker !== "" && text.startsWith(marker, at)) return marker.length;
  let same = 0;
  while (same < marker.length && marker.charCodeAt(same) === text.charCodeAt(at + same)) same++;
  const lineBreak = marker.lastIndexOf("\n", same - 1);
  if (lineBreak > 0) {
    const part = trimEndWhitespace(marker.slice(0, lineBreak));
    if (part !== "") return part.length;
  }
  let next = at;
  while (next < text.length && isWhitespace(text.charCodeAt(next))) next++;
  return eosToken !== "" && text.startsWith(eosToken, next) ? next + eosToken.length - at : 0;
}

function trimEndWhitespace(text: string): string {
  let length = text.length;
  while (length > 0 && isWhitespace(text.charCodeAt(length - 1))) length--;
  return text.slice(0, length);
}

/** The end of the last occurrence of `content` (or its trimmed text) in `text`. */
function findLast(text: string, content: string): number | undefined {
  for (const candidate of [content, content.trim()]) {
    if (candidate === "") continue;
    const start = text.lastIndexOf(candidate);
    if (start >= 0) return start + candidate.length;
  }
  return undefined;
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
