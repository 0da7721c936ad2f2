import type { ChatConversation, RecordSource } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import type { RecordFormat } from "../record-format.js";
import {
  describeValue,
  InvalidRecord,
  type DatasetRecord,
} from "../record-fields.js";
import { chatRecordToConversation, readToolCalls, type MappedMessage } from "./chat-turns.js";

/**
 * ShareGPT speaker names, mapped as LLaMA-Factory's SharegptDatasetConverter maps its default
 * tags (human → user, gpt → assistant, system → system, function_call → an assistant turn that
 * calls tools, observation → a tool result), widened to the names other exports use.
 */
const ROLE_BY_SPEAKER: Readonly<Record<string, MappedMessage["role"]>> = {
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  model: "assistant",
  system: "system",
  function_call: "assistant",
  observation: "tool",
  tool: "tool",
};

/** { "conversations": [{ "from": "human", "value": "..." }, ...], "system"?: "..." } */
export const sharegptFormat: RecordFormat = {
  name: "sharegpt",
  markerRoles: ["conversations"],
  toConversation(record: DatasetRecord, names: DatasetFieldNames, source: RecordSource): ChatConversation {
    return chatRecordToConversation(record, names, source, "conversations", (item, itemLabel) => {
      const from = item.from;
      if (from === undefined) throw new InvalidRecord(`missing ${itemLabel}.from`);
      const role = typeof from === "string" && Object.hasOwn(ROLE_BY_SPEAKER, from) ? ROLE_BY_SPEAKER[from] : undefined;
      if (role === undefined) {
        throw new InvalidRecord(
          `${itemLabel}: unknown speaker ${typeof from === "string" ? JSON.stringify(from) : describeValue(from)}; ` +
            `expected "human" or "user", "gpt", "assistant" or "model", "function_call", "observation", or "system"`,
        );
      }
      const value = item.value;
      if (value === undefined) throw new InvalidRecord(`missing ${itemLabel}.value`);
      if (typeof value !== "string") throw new InvalidRecord(`${itemLabel}.value must be a string, got ${describeValue(value)}`);
      if (from !== "function_call") return { role, content: value, label: itemLabel };
      // LLaMA-Factory's function_call value: the call (or a list of calls) as JSON
      let calls: unknown;
      try {
        calls = JSON.parse(value);
      } catch {
        throw new InvalidRecord(`${itemLabel}.value (a function_call) is not valid JSON`);
      }
      return { role, content: "", toolCalls: readToolCalls(calls, `${itemLabel}.value`), label: itemLabel };
    });
  },
};
