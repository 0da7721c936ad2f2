import type { PlainText, RecordSource } from "../conversation.js";
import type { DatasetFieldNames } from "../dataset-columns.js";
import type { RecordFormat } from "../record-format.js";
import { fieldLabel, fieldValue, requireNonBlankString, type DatasetRecord } from "../record-fields.js";

/** { "text": "..." }: trained on as a whole. */
export const textFormat: RecordFormat = {
  name: "text",
  markerRoles: ["text"],
  toConversation(record: DatasetRecord, names: DatasetFieldNames, source: RecordSource): PlainText {
    return { source, text: requireNonBlankString(fieldValue(record, names, "text"), fieldLabel(names, "text")) };
  },
};
