import { LoraGgufError } from "../errors.js";
import { optionalOneOf, rejectUnknownOptions, requireOptionsObject, requireString } from "../validate.js";
import type { Conversation, RecordSource } from "./conversation.js";
import { resolveFieldNames, type DatasetColumns, type DatasetFieldNames } from "./dataset-columns.js";
import { resolveDatasetFileType, type DatasetFileType } from "./dataset-file-type.js";
import { describeDatasetProblem, type DatasetProblem } from "./dataset-problem.js";
import { expectedFieldsDescription, recognizeRecordFormat, recordFormatByName } from "./detect-dataset-format.js";
import { DATASET_FORMATS, type DatasetFormat, type RecordFormat } from "./record-format.js";
import { describeValue, InvalidRecord, isDatasetRecord, type DatasetRecord } from "./record-fields.js";
import { readCsvRecords } from "./readers/csv-records.js";
import { readJsonArrayRecords } from "./readers/json-array-records.js";
import { readJsonLinesRecords } from "./readers/json-lines-records.js";
import type { RawRecord } from "./readers/raw-record.js";

export interface LoadDatasetOptions {
  /** Record layout; "auto" (default) takes it from the first record with a known field and rejects files that mix layouts. */
  format?: "auto" | DatasetFormat;
  /** "error" (default) throws E_BAD_DATASET at the first unusable record; "skip" leaves such records out and lists them in `problems`. */
  onBadRow?: "skip" | "error";
  /** The names this file uses for the fields the formats read (see DatasetColumns). */
  columns?: DatasetColumns;
}

export interface LoadedDataset {
  format: DatasetFormat;
  conversations: Conversation[];
  /** The records left out with onBadRow "skip", in file order. */
  problems: DatasetProblem[];
  /** Records read, usable or not (blank lines and the CSV header not counted). */
  rowCount: number;
}

const WHERE = "loadDataset";
const OPTION_NAMES = ["format", "onBadRow", "columns"] as const;

/**
 * Reads a training data file (JSON Lines, a JSON array, CSV or TSV) in the text, alpaca, sharegpt or
 * messages layout into conversations. Throws E_INPUT_NOT_FOUND for a missing file, E_INVALID_OPTION
 * for bad options, and E_BAD_DATASET, naming file:line, for bad records (with onBadRow "error"),
 * mixed layouts, unreadable CSV/JSON structure, or a file with no usable record.
 */
export async function loadDataset(path: string, options?: LoadDatasetOptions): Promise<LoadedDataset> {
  requireString(WHERE, "path", path);
  const given = requireOptionsObject(WHERE, options);
  rejectUnknownOptions(WHERE, given, OPTION_NAMES);
  const formatOption = optionalOneOf(WHERE, "format", given.format, ["auto", ...DATASET_FORMATS]) ?? "auto";
  const onBadRow = optionalOneOf(WHERE, "onBadRow", given.onBadRow, ["skip", "error"]) ?? "error";
  const names = resolveFieldNames(WHERE, given.columns);

  const records = openRecords(await resolveDatasetFileType(path), path);
  const conversations: Conversation[] = [];
  const problems: DatasetProblem[] = [];
  let rowCount = 0;
  let format: RecordFormat | undefined = formatOption === "auto" ? undefined : recordFormatByName(formatOption);
  let detectedAt: RecordSource | undefined;

  const report = (source: RecordSource, message: string): void => {
    const problem = { ...source, message };
    if (onBadRow === "error") throw new LoraGgufError("E_BAD_DATASET", describeDatasetProblem(problem));
    problems.push(problem);
  };

  for await (const raw of records) {
    rowCount++;
    if ("problem" in raw) {
      report(raw.source, raw.problem);
      continue;
    }
    if (!isDatasetRecord(raw.value)) {
      report(raw.source, `a record must be a JSON object, got ${describeValue(raw.value)}`);
      continue;
    }
    const recordFormat = formatOption === "auto" ? recognizeRecordFormat(raw.value, names) : format!;
    if (recordFormat === undefined) {
      report(raw.source, unknownLayoutMessage(raw.value, names));
      continue;
    }
    if (format === undefined) {
      format = recordFormat;
      detectedAt = raw.source;
    } else if (recordFormat !== format) {
      throw new LoraGgufError(
        "E_BAD_DATASET",
        describeDatasetProblem({
          ...raw.source,
          message: `mixed dataset formats: this record is ${recordFormat.name} but the one at line ${detectedAt!.line} is ${format.name}; use one format per file`,
        }),
      );
    }
    try {
      conversations.push(format.toConversation(raw.value, names, raw.source));
    } catch (error) {
      if (!(error instanceof InvalidRecord)) throw error;
      report(raw.source, error.message);
    }
  }

  if (conversations.length === 0) {
    throw new LoraGgufError(
      "E_BAD_DATASET",
      rowCount === 0
        ? `${path}: the dataset has no records`
        : `${path}: the dataset has no usable records; all ${rowCount} are bad, the first: ${describeDatasetProblem(problems[0])}`,
    );
  }
  return { format: format!.name, conversations, problems, rowCount };
}

function openRecords(fileType: DatasetFileType, path: string): AsyncGenerator<RawRecord> {
  switch (fileType) {
    case "jsonl":
      return readJsonLinesRecords(path, path);
    case "json-array":
      return readJsonArrayRecords(path, path);
    case "csv":
      return readCsvRecords(path, path, ",");
    case "tsv":
      return readCsvRecords(path, path, "\t");
  }
}

function unknownLayoutMessage(record: DatasetRecord, names: DatasetFieldNames): string {
  const fields = Object.keys(record);
  const shown = fields.slice(0, 8).map((name) => JSON.stringify(name)).join(", ");
  const found = fields.length === 0 ? "no fields" : `fields ${shown}${fields.length > 8 ? ", ..." : ""}`;
  return `no known dataset format (${found}): ${expectedFieldsDescription(names)}`;
}
