import { createReadStream } from "node:fs";
import { pipeline } from "node:stream";

import { CsvError, parse, type Options as CsvParseOptions } from "csv-parse";

import { LoraGgufError } from "../../errors.js";
import { CsvLineNumbers } from "./csv-line-numbers.js";
import type { RawRecord } from "./raw-record.js";

interface ParsedRow {
  fields: string[];
  line: number;
}

/**
 * CSV (RFC 4180: quoted fields may hold delimiters, newlines and doubled quotes) with a header row
 * naming the fields (trimmed); a UTF-8 BOM is dropped. Rows are parsed as the file streams in.
 *
 * A row with the wrong number of fields is a bad record; a quoting error is fatal, because after
 * one the parser cannot tell where the following records start.
 */
export async function* readCsvRecords(path: string, file: string, delimiter: "," | "\t"): AsyncGenerator<RawRecord> {
  const input = createReadStream(path);
  const lineNumbers = new CsvLineNumbers();
  const options: CsvParseOptions<ParsedRow, string[]> = {
    bom: true,
    delimiter,
    skip_empty_lines: true,
    relax_column_count: true,
    // `bytes` is the offset just past the row's record delimiter, so `bytes - 1` is on its last line;
    // quoted newlines inside the row take it back to its first.
    on_record: (fields: string[], context): ParsedRow => ({
      fields,
      line: lineNumbers.lineAt(context.bytes - 1) - countNewlines(fields),
    }),
  };
  // csv-parse's overloads type on_record's result as a row of strings; the options above are what it accepts
  const parser = parse(options as unknown as CsvParseOptions);
  // pipeline (not pipe) so that a read error reaches the parser and ends the loop below
  pipeline(input, lineNumbers, parser, () => {});

  let header: string[] | undefined;
  try {
    for await (const row of parser as AsyncIterable<ParsedRow>) {
      if (header === undefined) {
        header = readHeader(row, file);
        continue;
      }
      const source = { file, line: row.line };
      if (row.fields.length !== header.length) {
        yield { source, problem: `the row has ${row.fields.length} fields but the header has ${header.length}` };
        continue;
      }
      const record: Record<string, string> = {};
      header.forEach((name, column) => {
        record[name] = row.fields[column];
      });
      yield { source, value: record };
    }
  } catch (error) {
    if (error instanceof CsvError) {
      const line = lineNumbers.firstContentLineFrom(error.bytes as number);
      // csv-parse's message carries its own (CRLF-miscounted) "at line N"
      const reason = error.message.replace(/ at line \d+/, "");
      throw new LoraGgufError("E_BAD_DATASET", `${file}:${line}: malformed CSV: ${reason}`, { cause: error });
    }
    throw error;
  } finally {
    input.destroy();
    parser.destroy();
  }
}

function readHeader(row: ParsedRow, file: string): string[] {
  const names = row.fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new LoraGgufError("E_BAD_DATASET", `${file}:${row.line}: the CSV header names the column ${JSON.stringify(name)} twice`);
    }
    seen.add(name);
  }
  return names;
}

function countNewlines(fields: readonly string[]): number {
  let count = 0;
  for (const field of fields) {
    for (let at = field.indexOf("\n"); at !== -1; at = field.indexOf("\n", at + 1)) count++;
  }
  return count;
}
