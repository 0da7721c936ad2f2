import { readFile } from "node:fs/promises";

import { splitJsonArray } from "./json-array-elements.js";
import { parseJsonRecord } from "./json-text.js";
import type { RawRecord } from "./raw-record.js";

/**
 * A JSON file holding one array of records. JSON has no record boundaries to stream on, so the
 * file is read whole; use JSON Lines for datasets that should not be.
 */
export async function* readJsonArrayRecords(path: string, file: string): AsyncGenerator<RawRecord> {
  let text = await readFile(path, "utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const elements = splitJsonArray(text, file);
  for (const [index, element] of elements.entries()) {
    yield parseJsonRecord(text.slice(element.start, element.end), { file, line: element.line, index });
  }
}
