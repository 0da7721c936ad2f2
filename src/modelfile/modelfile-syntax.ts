// Ollama Modelfile syntax, after ollama/parser/parser.go (ParseFile, unquote): a value runs to the
// end of its line, or, when it opens with " or """, to the first line end where the text read so
// far (trimmed) closes that quote. There are no escape sequences, and characters Go's
// strconv.IsPrint rejects (controls other than tab/CR/LF, format characters, non-ASCII spaces) are
// dropped. So a value is written in the simplest form that reads back unchanged, or refused.
import { LoraGgufError } from "../errors.js";

export interface ParsedModelfile {
  /** The FROM line's model (the last one, when there are several). */
  from: string;
  adapters: string[];
  template?: string;
  system?: string;
  /** PARAMETER lines in file order, values as written (stop may repeat). */
  parameters: [name: string, value: string][];
  /** MESSAGE lines in file order. */
  messages: [role: string, content: string][];
  /** Every command in file order, names lower-case ("model" for FROM, as Ollama names it). */
  commands: { name: string; args: string }[];
}

const COMMANDS = ["from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", "requires"];
const MESSAGE_ROLES = ["system", "user", "assistant"];

const NOT_PRINTABLE = /[\p{C}\p{Z}]/u;

/** Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrintable(character: string): boolean {
  return character === " " || !NOT_PRINTABLE.test(character);
}

/** Dropped wherever it appears: not printable, and not a tab or line end (which the value state keeps). */
function isDropped(character: string): boolean {
  return !isPrintable(character) && character !== "\t" && !isNewline(character);
}

function isNewline(character: string): boolean {
  return character === "\n" || character === "\r";
}

function isSpace(character: string): boolean {
  return character === " " || character === "\t";
}

function isAlpha(character: string): boolean {
  return /^[A-Za-z]$/.test(character);
}

/** Go's strings.TrimSpace for the characters that can reach the buffer. */
function trimSpace(text: string): string {
  return text.replace(/^[\s\u0085]+|[\s\u0085]+$/gu, "");
}

/** parser.go's unquote: [value, complete]. */
function unquote(text: string): [string, boolean] {
  if (text.startsWith('"""')) {
    return text.length >= 6 && text.endsWith('"""') ? [text.slice(3, -3), true] : ["", false];
  }
  if (text.startsWith('"')) {
    return text.length >= 2 && text.endsWith('"') ? [text.slice(1, -1), true] : ["", false];
  }
  return [text, true];
}

/**
 * `value` as a Modelfile value that parses back to exactly `value`: bare when that is safe (paths,
 * numbers), "..." on one line, """...""" across lines. Throws E_BAD_MODELFILE (naming `what`) for
 * values no form can carry: characters the parser drops, or a line that ends in """.
 */
export function quoteModelfileValue(what: string, value: string, style: "bare" | "quoted" | "block"): string {
  const dropped = [...value].find(isDropped);
  if (dropped !== undefined) {
    throw new LoraGgufError(
      "E_BAD_MODELFILE",
      `${what} holds the character U+${dropped.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}, which Ollama's Modelfile parser drops`,
    );
  }
  const multiline = /[\r\n]/.test(value);
  const needsQuotes = value === "" || value.startsWith('"') || trimSpace(value) !== value;
  if (style === "bare" && !multiline && !needsQuotes) return value;
  if (style !== "block" && !multiline && !value.startsWith('""')) return `"${value}"`;
  // the parser closes a """ value at the first line end where the text so far ends in """
  for (let index = 0; index < value.length; index++) {
    if (!isNewline(value[index])) continue;
    const sofar = trimSpace(`"""${value.slice(0, index)}`);
    if (sofar.length >= 6 && sofar.endsWith('"""')) {
      throw new LoraGgufError("E_BAD_MODELFILE", `${what} has a line ending in """, which would close its """ quotes early`);
    }
  }
  return `"""${value}"""`;
}

/**
 * Parses a Modelfile as Ollama does (ollama/parser/parser.go ParseFile), so what lora-gguf writes
 * can be read back the way `ollama create` will read it. Throws E_BAD_MODELFILE with the line number.
 */
export function parseModelfile(text: string): ParsedModelfile {
  const commands: { name: string; args: string }[] = [];
  type State = "nil" | "name" | "value" | "parameter" | "message" | "comment";
  let state: State = "nil";
  let line = 1;
  let buffer = "";
  let name = "";
  let role = "";
  const fail = (message: string): never => {
    throw new LoraGgufError("E_BAD_MODELFILE", `parseModelfile: line ${line}: ${message}`);
  };
  const invalidCommand = `command must be one of ${COMMANDS.map((command) => `"${command}"`).join(", ")}`;

  const nextState = (character: string): [State, string] => {
    switch (state) {
      case "nil":
        if (character === "#") return ["comment", ""];
        if (isSpace(character) || isNewline(character)) return ["nil", ""];
        return ["name", character];
      case "name":
        if (isAlpha(character)) return ["name", character];
        if (isSpace(character)) return ["value", ""];
        return fail(invalidCommand);
      case "value":
        if (isNewline(character) || isSpace(character)) return ["nil", character];
        return ["value", character];
      case "parameter":
        if (isAlpha(character) || /^[0-9_]$/.test(character)) return ["parameter", character];
        if (isSpace(character)) return ["value", ""];
        return fail("unexpected end of a PARAMETER name");
      case "message":
        if (isAlpha(character)) return ["message", character];
        if (isSpace(character)) return ["value", ""];
        return fail("unexpected end of a MESSAGE role");
      case "comment":
        return isNewline(character) ? ["nil", ""] : ["comment", ""];
    }
  };

  const finishValue = (value: string) => {
    commands.push({ name, args: role === "" ? value : `${role}: ${value}` });
    role = "";
  };

  for (const character of text.startsWith("\uFEFF") ? text.slice(1) : text) {
    if (isNewline(character)) line++;
    const [proposed, kept] = nextState(character);
    let next = proposed;
    if (next !== state) {
      if (state === "name") {
        const command = buffer.toLowerCase();
        if (!COMMANDS.includes(command)) fail(invalidCommand);
        if (command === "from") name = "model";
        else if (command === "parameter") next = "parameter";
        else {
          if (command === "message") next = "message";
          name = command;
        }
      } else if (state === "parameter") {
        name = buffer;
      } else if (state === "message") {
        if (!MESSAGE_ROLES.includes(buffer)) fail(`message role must be one of "system", "user", or "assistant"`);
        role = buffer;
      } else if (state === "value") {
        const [value, complete] = unquote(trimSpace(buffer));
        if (!complete || isSpace(kept)) {
          buffer += kept;
          continue;
        }
        finishValue(value);
      }
      buffer = "";
      state = next;
    }
    if (kept !== "" && isPrintable(kept)) buffer += kept;
  }

  if (state === "value") {
    const [value, complete] = unquote(trimSpace(buffer));
    if (!complete) fail("unexpected end of file inside a quoted value");
    finishValue(value);
  } else if (state !== "nil" && state !== "comment") {
    fail("unexpected end of file");
  }

  const last = (command: string) => commands.filter((entry) => entry.name === command).at(-1)?.args;
  const from = last("model");
  if (from === undefined) throw new LoraGgufError("E_BAD_MODELFILE", "parseModelfile: no FROM line");
  const known = new Set(["model", "license", "template", "system", "adapter", "draft", "renderer", "parser", "message", "requires"]);
  return {
    from,
    adapters: commands.filter((entry) => entry.name === "adapter").map((entry) => entry.args),
    template: last("template"),
    system: last("system"),
    parameters: commands.filter((entry) => !known.has(entry.name)).map((entry) => [entry.name, entry.args]),
    messages: commands
      .filter((entry) => entry.name === "message")
      .map((entry) => {
        const separator = entry.args.indexOf(": ");
        return [entry.args.slice(0, separator), entry.args.slice(separator + 2)];
      }),
    commands,
  };
}
