import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

import { LoraGgufError } from "../../errors.js";
import { isIncompleteJson, parseJsonRecord } from "./json-text.js";
import type { RawRecord } from "./raw-record.js";

/** JSON Lines: one record per line, read line by line; blank lines are skipped but counted. */
export async function* readJsonLinesRecords(path: string, file: string): AsyncGenerator<RawRecord> {
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  let isFirstRecord = true;
  try {
    for await (const lineText of lines) {
      line++;
      const text = line === 1 && lineText.charCodeAt(0) === 0xfeff ? lineText.slice(1) : lineText;
      if (text.trim() === "") continue;
      const record = parseJsonRecord(text, { file, line });
      if (isFirstRecord && "problem" in record && isIncompleteJson(text)) {
        // A pretty-printed object ({ "data": [...] }) fails on every line; say what the file is instead.
        throw new LoraGgufError(
          "E_BAD_DATASET",
          `${file}:${line}: the file holds a JSON object spread over several lines; a JSON dataset must be an array of records ([{...}, ...]) or one object per line (JSON Lines)`,
        );
      }
      isFirstRecord = false;
      yield record;
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
