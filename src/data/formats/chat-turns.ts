// The rules every chat record follows once its roles are mapped, shared by sharegpt and messages:
// an optional leading system message, then user/assistant turns that alternate, start with the user
// and end with the assistant (a trailing user turn has no response to learn; templates such as
// Mistral's reject anything but strict alternation).
import type { ChatConversation, ChatTurn, RecordSource } from "../conversation.js";
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
  role: "system" | "user" | "assistant";
  content: string;
  /** An assistant message's reasoning, where the format carries one. */
  reasoning?: string;
  /** How messages name it: 'messages[2]'. */
  label: string;
}

export function assembleChatConversation(
  messages: readonly MappedMessage[],
  systemField: { value: string | undefined; label: string },
  source: RecordSource,
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
    const expected = turns.length % 2 === 0 ? "user" : "assistant";
    if (message.role !== expected) {
      throw new InvalidRecord(
        turns.length === 0
          ? `${message.label}: the conversation starts with an assistant turn; it must start with a user turn`
          : `${message.label}: two ${message.role} turns in a row; turns must alternate user/assistant`,
      );
    }
    if (message.content.trim() === "") throw new InvalidRecord(`${message.label} has empty content`);
    if (message.reasoning !== undefined && message.role !== "assistant") {
      throw new InvalidRecord(`${message.label}: only assistant messages carry reasoning`);
    }
    turns.push(message.reasoning === undefined ? { role: message.role, content: message.content } : { role: message.role, content: message.content, reasoning: message.reasoning });
  });
  if (turns.length === 0) throw new InvalidRecord("the conversation has no user or assistant turn");
  if (turns.length === 1) throw new InvalidRecord("the conversation has no assistant turn");
  if (turns[turns.length - 1].role !== "assistant") {
    throw new InvalidRecord("the conversation ends with a user turn; the last turn must be the assistant's");
  }
  return system === undefined ? { source, turns } : { source, system, turns };
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
  return assembleChatConversation(messages, { value: system, label: systemLabel }, source);
}
