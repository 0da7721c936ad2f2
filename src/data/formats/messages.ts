import type { ChatConversation, RecordSource } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import type { RecordFormat } from "../record-format.js";
import {
  describeValue,
  InvalidRecord,
  type DatasetRecord,
} from "../record-fields.js";
import { chatRecordToConversation, readToolCalls, type MappedMessage } from "./chat-turns.js";

const ROLES: readonly string[] = ["system", "user", "assistant", "tool"];

/**
 * OpenAI / Hugging Face chat records: { "messages": [{ "role": "user", "content": "..." }, ...] }.
 * An assistant message may carry its reasoning as `reasoning_content` (Qwen3, DeepSeek) or
 * `thinking` (gpt-oss), and `tool_calls`; `tool` messages hold results (with `tool_call_id` and
 * `name` where given); the record's `tools` lists the definitions.
 */
export const messagesFormat: RecordFormat = {
  name: "messages",
  markerRoles: ["messages"],
  toConversation(record: DatasetRecord, names: DatasetFieldNames, source: RecordSource): ChatConversation {
    return chatRecordToConversation(record, names, source, "messages", (item, itemLabel) => {
      const role = item.role;
      if (role === undefined) throw new InvalidRecord(`missing ${itemLabel}.role`);
      if (typeof role !== "string" || !ROLES.includes(role)) {
        throw new InvalidRecord(
          `${itemLabel}: unknown role ${typeof role === "string" ? JSON.stringify(role) : describeValue(role)}; ` +
            `expected "system", "user", "assistant" or "tool"`,
        );
      }
      const hasToolCalls = role === "assistant" && item.tool_calls !== undefined && item.tool_calls !== null;
      // an assistant message that only calls tools may have null or no content
      const content = item.content ?? (hasToolCalls ? "" : undefined);
      if (content === undefined) throw new InvalidRecord(`missing ${itemLabel}.content`);
      // Content parts ([{ type: "text", text }]) carry images and tool data this trainer cannot use.
      if (typeof content !== "string") throw new InvalidRecord(`${itemLabel}.content must be a string, got ${describeValue(content)}`);
      const message: MappedMessage = { role: role as MappedMessage["role"], content, label: itemLabel };
      if (hasToolCalls) message.toolCalls = readToolCalls(item.tool_calls, `${itemLabel}.tool_calls`);
      if (role === "tool") {
        if (typeof item.tool_call_id === "string") message.toolCallId = item.tool_call_id;
        if (typeof item.name === "string") message.name = item.name;
      }
      const reasoningFields = (["reasoning_content", "thinking"] as const).filter((field) => item[field] !== undefined && item[field] !== null);
      if (reasoningFields.length > 1) throw new InvalidRecord(`${itemLabel} has both reasoning_content and thinking; give one`);
      if (reasoningFields.length === 0) return message;
      const reasoning = item[reasoningFields[0]];
      if (typeof reasoning !== "string") throw new InvalidRecord(`${itemLabel}.${reasoningFields[0]} must be a string, got ${describeValue(reasoning)}`);
      // an empty reasoning is the same as none (templates write an empty think block either way)
      if (reasoning.trim() !== "") message.reasoning = reasoning;
      return message;
    });
  },
};
