// The rules every chat record follows once its roles are mapped, shared by sharegpt and messages:
// an optional leading system message, then turns that start with the user and end with the
// assistant; a user turn is answered by the assistant, an assistant turn with tool calls by one or
// more tool results, and tool results by the assistant (a trailing user turn has no response to
// learn; templates such as Mistral's reject anything but strict alternation).
import type { ChatConversation, ChatTurn, RecordSource, ToolCall } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import {
  describeValue,
  fieldLabel,
  fieldValue,
  InvalidRecord,
  isDatasetRecord,
  optionalNonBlankString,
  type DatasetRecord,
} from "../record-fields.js";

export interface MappedMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** An assistant message's reasoning, where the format carries one. */
  reasoning?: string;
  /** An assistant message's tool calls. */
  toolCalls?: ToolCall[];
  /** A tool result's call id and function name. */
  toolCallId?: string;
  name?: string;
  /** How messages name it: 'messages[2]'. */
  label: string;
}

export function assembleChatConversation(
  messages: readonly MappedMessage[],
  systemField: { value: string | undefined; label: string },
  source: RecordSource,
  tools?: unknown[],
): ChatConversation {
  let system = systemField.value;
  const turns: ChatTurn[] = [];
  messages.forEach((message, index) => {
    if (message.role === "system") {
      if (index !== 0) throw new InvalidRecord(`${message.label}: a system message is only allowed first`);
      if (system !== undefined && message.content.trim() !== "") {
        throw new InvalidRecord(`${message.label}: a system message and a ${systemField.label} field both give the system prompt`);
      }
      if (message.content.trim() !== "") system = message.content;
      return;
    }
    const previous = turns[turns.length - 1];
    const expected: readonly ChatTurn["role"][] =
      previous === undefined ? ["user"]
      : previous.role === "user" ? ["assistant"]
      : previous.role === "tool" ? ["tool", "assistant"]
      : previous.toolCalls !== undefined ? ["tool"]
      : ["user"];
    if (!expected.includes(message.role)) {
      throw new InvalidRecord(
        previous === undefined
          ? `${message.label}: the conversation starts with ${message.role === "assistant" ? "an assistant" : "a tool"} turn; it must start with a user turn`
          : previous.role === "assistant" && previous.toolCalls !== undefined
            ? `${message.label}: an assistant turn that calls tools must be followed by their results (role "tool"), got ${message.role}`
            : message.role === "tool"
              ? `${message.label}: a tool result must follow an assistant turn that calls tools`
              : `${message.label}: two ${message.role} turns in a row; turns must alternate user/assistant`,
      );
    }
    if (message.reasoning !== undefined && message.role !== "assistant") {
      throw new InvalidRecord(`${message.label}: only assistant messages carry reasoning`);
    }
    if (message.content.trim() === "" && message.toolCalls === undefined) throw new InvalidRecord(`${message.label} has empty content`);
    const turn: ChatTurn = { role: message.role, content: message.content };
    if (message.reasoning !== undefined) turn.reasoning = message.reasoning;
    if (message.toolCalls !== undefined) turn.toolCalls = message.toolCalls;
    if (message.toolCallId !== undefined) turn.toolCallId = message.toolCallId;
    if (message.name !== undefined) turn.name = message.name;
    turns.push(turn);
  });
  if (turns.length === 0) throw new InvalidRecord("the conversation has no user or assistant turn");
  if (!turns.some((turn) => turn.role === "assistant")) throw new InvalidRecord("the conversation has no assistant turn");
  if (turns[turns.length - 1].role !== "assistant") {
    throw new InvalidRecord(`the conversation ends with a ${turns[turns.length - 1].role} turn; the last turn must be the assistant's`);
  }
  const conversation: ChatConversation = system === undefined ? { source, turns } : { source, system, turns };
  if (tools !== undefined) conversation.tools = tools;
  return conversation;
}

/**
 * A chat record whose `listField` holds message objects: checks the list and each item's shape,
 * maps each item with `mapItem` (which names its own fields' problems), adds the optional `system`
 * field and assembles the conversation.
 */
export function chatRecordToConversation(
  record: DatasetRecord,
  names: DatasetFieldNames,
  source: RecordSource,
  listField: "messages" | "conversations",
  mapItem: (item: DatasetRecord, itemLabel: string) => MappedMessage,
): ChatConversation {
  const label = fieldLabel(names, listField);
  const list = fieldValue(record, names, listField);
  if (list === undefined) throw new InvalidRecord(`missing ${label}`);
  if (!Array.isArray(list)) throw new InvalidRecord(`${label} must be an array of messages, got ${describeValue(list)}`);
  if (list.length === 0) throw new InvalidRecord(`${label} is empty`);
  const messages = list.map((item: unknown, index): MappedMessage => {
    const itemLabel = `${label}[${index}]`;
    if (!isDatasetRecord(item)) throw new InvalidRecord(`${itemLabel} must be an object, got ${describeValue(item)}`);
    return mapItem(item, itemLabel);
  });
  const systemLabel = fieldLabel(names, "system");
  const system = optionalNonBlankString(fieldValue(record, names, "system"), systemLabel);
  const tools = record.tools;
  if (tools !== undefined && tools !== null && !Array.isArray(tools)) throw new InvalidRecord(`"tools" must be an array of tool definitions, got ${describeValue(tools)}`);
  return assembleChatConversation(messages, { value: system, label: systemLabel }, source, Array.isArray(tools) && tools.length > 0 ? tools : undefined);
}

/**
 * Tool calls as OpenAI's messages give them ([{ type: "function", id, function: { name, arguments } }],
 * arguments an object or its JSON text) or as LLaMA-Factory's sharegpt function_call value gives
 * them ({ name, arguments }, or a list of those).
 */
export function readToolCalls(value: unknown, label: string): ToolCall[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new InvalidRecord(`${label} is empty`);
  return list.map((item: unknown, index): ToolCall => {
    const itemLabel = Array.isArray(value) ? `${label}[${index}]` : label;
    if (!isDatasetRecord(item)) throw new InvalidRecord(`${itemLabel} must be an object, got ${describeValue(item)}`);
    const call = isDatasetRecord(item.function) ? item.function : item;
    const name = call.name;
    if (typeof name !== "string" || name.trim() === "") throw new InvalidRecord(`${itemLabel} needs a function name`);
    let args: unknown = call.arguments ?? {};
    if (typeof args === "string") {
      try {
        args = JSON.parse(args);
      } catch {
        throw new InvalidRecord(`${itemLabel}.arguments is not valid JSON`);
      }
    }
    if (!isDatasetRecord(args)) throw new InvalidRecord(`${itemLabel}.arguments must be an object, got ${describeValue(args)}`);
    const id = item.id;
    return typeof id === "string" && id !== "" ? { name, arguments: args, id } : { name, arguments: args };
  });
}
