import type { ChatConversation, RecordSource } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import type { RecordFormat } from "../record-format.js";
import {
  describeValue,
  InvalidRecord,
  type DatasetRecord,
} from "../record-fields.js";
import { chatRecordToConversation, type MappedMessage } from "./chat-turns.js";

const ROLES: readonly string[] = ["system", "user", "assistant"];

/**
 * OpenAI / Hugging Face chat records: { "messages": [{ "role": "user", "content": "..." }, ...] }.
 * An assistant message may carry its reasoning as `reasoning_content` (Qwen3, DeepSeek) or
 * `thinking` (gpt-oss).
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
            `expected "system", "user" or "assistant"`,
        );
      }
      const content = item.content;
      if (content === undefined) throw new InvalidRecord(`missing ${itemLabel}.content`);
      // Content parts ([{ type: "text", text }]) carry images and tool data this trainer cannot use.
      if (typeof content !== "string") throw new InvalidRecord(`${itemLabel}.content must be a string, got ${describeValue(content)}`);
      const reasoningFields = (["reasoning_content", "thinking"] as const).filter((field) => item[field] !== undefined && item[field] !== null);
      if (reasoningFields.length > 1) throw new InvalidRecord(`${itemLabel} has both reasoning_content and thinking; give one`);
      if (reasoningFields.length === 0) return { role: role as MappedMessage["role"], content, label: itemLabel };
      const reasoning = item[reasoningFields[0]];
      if (typeof reasoning !== "string") throw new InvalidRecord(`${itemLabel}.${reasoningFields[0]} must be a string, got ${describeValue(reasoning)}`);
      // an empty reasoning is the same as none (templates write an empty think block either way)
      if (reasoning.trim() === "") return { role: role as MappedMessage["role"], content, label: itemLabel };
      return { role: role as MappedMessage["role"], content, reasoning, label: itemLabel };
    });
  },
};
