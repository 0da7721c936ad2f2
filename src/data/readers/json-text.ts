import type { RecordSource } from "../conversation.js";
import type { RawRecord } from "./raw-record.js";

/** Parses one record's JSON text; a syntax error becomes the record's problem instead of an exception. */
export function parseJsonRecord(text: string, source: RecordSource): RawRecord {
  try {
    return { source, value: JSON.parse(text) };
  } catch (error) {
    return { source, problem: `invalid JSON: ${jsonErrorReason(error)}` };
  }
}

/**
 * V8's message without the quoted input it appends ('Unexpected token \'}\', "{"a":}" is not valid
 * JSON'), which can be a whole multi-line record.
 */
function jsonErrorReason(error: unknown): string {
  const message = (error as Error).message;
  const quoteAt = message.indexOf(', "');
  return quoteAt > 0 ? message.slice(0, quoteAt) : message;
}

/** Whether `text` fails as JSON only because it stops early (its first line of a pretty-printed value). */
export function isIncompleteJson(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (error) {
    const message = (error as Error).message;
    if (/end of JSON input/.test(message)) return true;
    const position = /at position (\d+)/.exec(message);
    return position !== null && Number(position[1]) >= text.trimEnd().length;
  }
}
