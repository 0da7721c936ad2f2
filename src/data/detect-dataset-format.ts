import { LoraGgufError } from "../errors.js";
import { DEFAULT_FIELD_NAMES, resolveFieldNames, type DatasetColumns, type DatasetFieldNames } from "./dataset-columns.js";
import { alpacaFormat } from "./formats/alpaca.js";
import { messagesFormat } from "./formats/messages.js";
import { sharegptFormat } from "./formats/sharegpt.js";
import { textFormat } from "./formats/text.js";
import type { DatasetFormat, RecordFormat } from "./record-format.js";
import { hasField, isDatasetRecord } from "./record-fields.js";

/** In the order a record is tested against them: chat fields first, so a chat record that also carries a "text" column is read as chat. */
export const RECORD_FORMATS: readonly RecordFormat[] = [messagesFormat, sharegptFormat, alpacaFormat, textFormat];

export function recordFormatByName(name: DatasetFormat): RecordFormat {
  return RECORD_FORMATS.find((format) => format.name === name)!;
}

/** The format a record's fields mark it as, or undefined when it has none of the marker fields. */
export function recognizeRecordFormat(record: unknown, names: DatasetFieldNames = DEFAULT_FIELD_NAMES): RecordFormat | undefined {
  if (!isDatasetRecord(record)) return undefined;
  return RECORD_FORMATS.find((format) => format.markerRoles.some((role) => hasField(record, names, role)));
}

/** 'expected "text" (text), "instruction" and "output" (alpaca), ...' with the names `columns` gave. */
export function expectedFieldsDescription(names: DatasetFieldNames): string {
  const alternatives = [...RECORD_FORMATS].reverse().flatMap((format) => {
    const fields = format.markerRoles.map((role) => names[role]).filter((name) => name !== undefined);
    return fields.length === 0 ? [] : [`${fields.map((name) => JSON.stringify(name)).join(" and ")} (${format.name})`];
  });
  return `expected ${alternatives.slice(0, -1).join(", ")} or ${alternatives[alternatives.length - 1]}`;
}

/**
 * The one format the given records are in, judged by the first record with a marker field.
 * Throws E_BAD_DATASET when no record has one, or when two records are in different formats.
 */
export function detectDatasetFormat(records: readonly unknown[], columns?: DatasetColumns): DatasetFormat {
  const names = resolveFieldNames("detectDatasetFormat", columns);
  let first: { format: RecordFormat; index: number } | undefined;
  records.forEach((record, index) => {
    const format = recognizeRecordFormat(record, names);
    if (format === undefined) return;
    if (first === undefined) first = { format, index };
    else if (format !== first.format) {
      throw new LoraGgufError(
        "E_BAD_DATASET",
        `mixed dataset formats: record ${index} is ${format.name} but record ${first.index} is ${first.format.name}; use one format per file`,
      );
    }
  });
  if (first === undefined) {
    throw new LoraGgufError("E_BAD_DATASET", `no record has a known dataset format: ${expectedFieldsDescription(names)}`);
  }
  return first.format.name;
}
