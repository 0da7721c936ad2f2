import type { ChatConversation, ChatTurn, RecordSource } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import type { RecordFormat } from "../record-format.js";
import {
  describeValue,
  fieldLabel,
  fieldValue,
  InvalidRecord,
  optionalNonBlankString,
  requireNonBlankString,
  type DatasetRecord,
} from "../record-fields.js";

/**
 * Stanford Alpaca records: instruction, optional input, output, plus LLaMA-Factory's optional
 * system and history ([[user, assistant], ...] turns before this one).
 *
 * The user turn is instruction and input joined by one "\n", as LLaMA-Factory's
 * AlpacaDatasetConverter does ('"\n".join(query)  # "prompt\nquery"'). Stanford Alpaca's own
 * "\n\n" separates "### Instruction:" / "### Input:" sections of its prompt format, which a chat
 * template replaces, so it is not the join to copy here.
 */
export const alpacaFormat: RecordFormat = {
  name: "alpaca",
  markerRoles: ["instruction", "output"],
  toConversation(record: DatasetRecord, names: DatasetFieldNames, source: RecordSource): ChatConversation {
    const instruction = requireNonBlankString(fieldValue(record, names, "instruction"), fieldLabel(names, "instruction"));
    const input = optionalNonBlankString(fieldValue(record, names, "input"), fieldLabel(names, "input"));
    const output = requireNonBlankString(fieldValue(record, names, "output"), fieldLabel(names, "output"));
    const system = optionalNonBlankString(fieldValue(record, names, "system"), fieldLabel(names, "system"));
    const turns = readHistory(fieldValue(record, names, "history"), fieldLabel(names, "history"));
    turns.push({ role: "user", content: input === undefined ? instruction : `${instruction}\n${input}` });
    turns.push({ role: "assistant", content: output });
    return system === undefined ? { source, turns } : { source, system, turns };
  },
};

function readHistory(value: unknown, label: string): ChatTurn[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new InvalidRecord(`${label} must be an array of [user, assistant] pairs, got ${describeValue(value)}`);
  }
  const turns: ChatTurn[] = [];
  value.forEach((pair: unknown, index) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InvalidRecord(`${label}[${index}] must be a [user, assistant] pair, got ${describeValue(pair)}`);
    }
    turns.push({ role: "user", content: requireNonBlankString(pair[0], `${label}[${index}][0]`) });
    turns.push({ role: "assistant", content: requireNonBlankString(pair[1], `${label}[${index}][1]`) });
  });
  return turns;
}
