import { open, stat } from "node:fs/promises";
import { extname } from "node:path";

import { LoraGgufError } from "../errors.js";

export type DatasetFileType = "jsonl" | "json-array" | "csv" | "tsv";

const SNIFF_CHUNK_BYTES = 64 * 1024;

/** The names a dataset file goes by: .csv and .tsv, and JSON (an array or JSON Lines) under the rest. */
export const DATASET_FILE_EXTENSIONS = [".jsonl", ".json", ".ndjson", ".csv", ".tsv"] as const;

/**
 * .csv and .tsv by extension. Anything else is JSON, and its first character decides between a
 * JSON array ("[") and JSON Lines ("{"): Hugging Face `datasets` writes JSON Lines under a .json
 * name by default, and a .jsonl that holds an array would otherwise fail on every line.
 */
export async function resolveDatasetFileType(path: string): Promise<DatasetFileType> {
  await requireReadableFile(path);
  const extension = extname(path).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".tsv") return "tsv";
  const first = await firstNonWhitespaceCharacter(path);
  if (first === undefined) throw new LoraGgufError("E_BAD_DATASET", `${path}: the file is empty`);
  if (first === "[") return "json-array";
  if (first === "{") return "jsonl";
  const known = (DATASET_FILE_EXTENSIONS as readonly string[]).includes(extension);
  throw new LoraGgufError(
    "E_BAD_DATASET",
    known
      ? `${path}:1: expected a JSON array of records or one JSON object per line, found ${JSON.stringify(first)}`
      : `${path}: cannot tell the dataset's file type: name it .jsonl, .json, .csv or .tsv`,
  );
}

async function requireReadableFile(path: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new LoraGgufError("E_INPUT_NOT_FOUND", `dataset file not found: ${path}`, { cause: error });
    }
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (!isFile) throw new LoraGgufError("E_INPUT_NOT_FOUND", `${path} is not a regular file`);
}

/** Skips a UTF-8 BOM and JSON whitespace; undefined for a file with nothing else. */
async function firstNonWhitespaceCharacter(path: string): Promise<string | undefined> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(SNIFF_CHUNK_BYTES);
    for (let position = 0; ; ) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return undefined;
      let at = 0;
      if (position === 0 && bytesRead >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) at = 3;
      for (; at < bytesRead; at++) {
        const byte = buffer[at];
        if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return String.fromCharCode(byte);
      }
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
