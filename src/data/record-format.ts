import type { Conversation, RecordSource } from "./conversation.js";
import type { DatasetFieldNames, DatasetFieldRole } from "./dataset-columns.js";
import type { DatasetRecord } from "./record-fields.js";

export const DATASET_FORMATS = ["text", "alpaca", "sharegpt", "messages"] as const;

export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** One record layout: how to recognise it and how to turn it into a Conversation. */
export interface RecordFormat {
  readonly name: DatasetFormat;
  /** Fields whose presence marks a record as this format when the format is detected. */
  readonly markerRoles: readonly DatasetFieldRole[];
  /** Throws InvalidRecord when the record does not hold a usable example. */
  toConversation(record: DatasetRecord, names: DatasetFieldNames, source: RecordSource): Conversation;
}
