import type { ChatConversation, RecordSource } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import type { RecordFormat } from "../record-format.js";
import {
  describeValue,
  InvalidRecord,
  type DatasetRecord,
} from "../record-fields.js";
import { chatRecordToConversation, type MappedMessage } from "./chat-turns.js";

/**
 * ShareGPT speaker names, mapped as LLaMA-Factory's SharegptDatasetConverter maps its default
 * tags (human → user, gpt → assistant, system → system), widened to the names other exports use.
 * Tool roles (function_call, observation) are not supported and are reported as unknown.
 */
const ROLE_BY_SPEAKER: Readonly<Record<string, MappedMessage["role"]>> = {
  human: "user",
  user: "user",
  gpt: "assistant",
  assistant: "assistant",
  model: "assistant",
  system: "system",
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
            `expected "human" or "user", "gpt", "assistant" or "model", or "system"`,
        );
      }
      const value = item.value;
      if (value === undefined) throw new InvalidRecord(`missing ${itemLabel}.value`);
      if (typeof value !== "string") throw new InvalidRecord(`${itemLabel}.value must be a string, got ${describeValue(value)}`);
      return { role, content: value, label: itemLabel };
    });
  },
};
