import { LoraGgufError } from "../../errors.js";

export interface JsonArrayElement {
  /** Offsets of the element's text in the file's text, end exclusive. */
  start: number;
  end: number;
  /** 1-based line the element starts on. */
  line: number;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Splits the text of a top-level JSON array into its elements' text, tracking strings and nesting
 * but not checking the JSON itself, so that each element can be parsed on its own: a syntax error
 * then names its record's line, and the other records stay usable.
 */
export function splitJsonArray(text: string, file: string): JsonArrayElement[] {
  const fail = (line: number, message: string): never => {
    throw new LoraGgufError("E_BAD_DATASET", `${file}:${line}: ${message}`);
  };
  let line = 1;
  let at = 0;
  const skipWhitespace = (): void => {
    while (at < text.length && isJsonWhitespace(text.charCodeAt(at))) {
      if (text.charCodeAt(at) === NEWLINE) line++;
      at++;
    }
  };

  skipWhitespace();
  if (text.charCodeAt(at) !== OPEN_BRACKET) {
    fail(line, `expected a JSON array of records ("[{...}, ...]") or one JSON object per line, found ${JSON.stringify(text.slice(at, at + 10))}`);
  }
  at++;
  const elements: JsonArrayElement[] = [];
  skipWhitespace();
  if (text.charCodeAt(at) === CLOSE_BRACKET) {
    at++;
  } else {
    for (;;) {
      skipWhitespace();
      const start = at;
      const startLine = line;
      let depth = 0;
      let inString = false;
      for (; at < text.length; at++) {
        const code = text.charCodeAt(at);
        if (code === NEWLINE) line++;
        if (inString) {
          if (code === BACKSLASH) at++;
          else if (code === QUOTE) inString = false;
        } else if (code === QUOTE) {
          inString = true;
        } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
          depth++;
        } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
          if (depth === 0) break;
          depth--;
        } else if (code === COMMA && depth === 0) {
          break;
        }
      }
      if (at >= text.length) fail(startLine, "invalid JSON: the array is not closed (a missing \"]\", or an unterminated string or object)");
      let end = at;
      while (end > start && isJsonWhitespace(text.charCodeAt(end - 1))) end--;
      if (end === start) fail(line, "invalid JSON: a comma with no array element after it");
      elements.push({ start, end, line: startLine });
      if (text.charCodeAt(at++) === CLOSE_BRACKET) break;
    }
  }
  skipWhitespace();
  if (at < text.length) fail(line, 'invalid JSON: text after the array\'s closing "]"');
  return elements;
}

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}
