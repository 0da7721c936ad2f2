#!/usr/bin/env node
// Extracts llama.cpp's BPE pre-tokenizer table into src/convert/tokenizer/pre-tokenizer-hashes.json,
// so that `lora-gguf convert` identifies pre-tokenizers without the llama.cpp source at hand.
//
// llama.cpp names a BPE pre-tokenizer by encoding a probe text (CHK_TXT in
// convert_hf_to_gguf_update.py) with the checkpoint's own tokenizer and hashing the ids;
// get_vocab_base_pre() (generated into conversion/base.py, formerly convert_hf_to_gguf.py) maps
// each known hash to a name, and src/llama-vocab.cpp lists the names llama.cpp accepts at load time.
//
//   node scripts/dev/extract-pre-tokenizer-hashes.mjs            rewrite the JSON from deps/llama.cpp
//   node scripts/dev/extract-pre-tokenizer-hashes.mjs --check    exit 1 when the committed JSON is stale
//   ... --llama-cpp <dir>                                         read another llama.cpp checkout
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const defaultLlamaCppDir = path.join(packageRoot, "deps", "llama.cpp");
export const preTokenizerHashesPath = path.join(packageRoot, "src", "convert", "tokenizer", "pre-tokenizer-hashes.json");

/** Files that have held get_vocab_base_pre(), newest layout first. */
const TABLE_SOURCES = ["conversion/base.py", "convert_hf_to_gguf.py"];
const UPDATE_SCRIPT = "convert_hf_to_gguf_update.py";
const VOCAB_SOURCE = "src/llama-vocab.cpp";

const START_MARKER = "# Marker: Start get_vocab_base_pre";
const END_MARKER = "# Marker: End get_vocab_base_pre";

/** The table as committed: probe text, hash entries in source order, names llama.cpp loads. */
export function extractPreTokenizerHashes(llamaCppDir = defaultLlamaCppDir) {
  const read = (relative) => readFileSync(path.join(llamaCppDir, relative), "utf8");

  const probeText = pythonAssignedString(read(UPDATE_SCRIPT), "CHK_TXT", UPDATE_SCRIPT);

  const tableFile = TABLE_SOURCES.find((relative) => {
    const file = path.join(llamaCppDir, relative);
    return existsSync(file) && readFileSync(file, "utf8").includes(START_MARKER);
  });
  if (tableFile === undefined) {
    throw new Error(`no get_vocab_base_pre() between "${START_MARKER}" markers in ${TABLE_SOURCES.join(" or ")} under ${llamaCppDir}`);
  }
  const source = read(tableFile);
  const start = source.indexOf(START_MARKER);
  const end = source.indexOf(END_MARKER, start);
  if (end < 0) throw new Error(`${tableFile}: "${START_MARKER}" without "${END_MARKER}"`);
  const body = source.slice(start, end);

  // The generated function repeats the probe text; a mismatch means the table was built from another text.
  const generatedProbe = pythonAssignedString(body, "chktxt", tableFile);
  if (generatedProbe !== probeText) {
    throw new Error(`${tableFile}: chktxt differs from ${UPDATE_SCRIPT}'s CHK_TXT; rerun convert_hf_to_gguf_update.py there`);
  }

  const entries = [];
  const entryPattern = /if chkhsh == "([0-9a-f]{64})":\n((?:[ \t]*#[^\n]*\n)*)[ \t]*res = "([^"]+)"/g;
  for (const match of body.matchAll(entryPattern)) {
    const ref = /#\s*ref:\s*(\S+)/.exec(match[2])?.[1] ?? null;
    entries.push({ hash: match[1], name: match[3], ref });
  }
  const conditionCount = body.split("if chkhsh ==").length - 1;
  if (entries.length === 0 || entries.length !== conditionCount) {
    throw new Error(`${tableFile}: parsed ${entries.length} of ${conditionCount} "if chkhsh ==" entries; the generated code changed shape`);
  }

  const llamaCppNames = [...new Set([...read(VOCAB_SOURCE).matchAll(/tokenizer_pre == "([^"]+)"/g)].map((m) => m[1]))].sort();
  if (llamaCppNames.length === 0) throw new Error(`${VOCAB_SOURCE}: no tokenizer_pre == "..." comparisons found`);

  return {
    generatedBy: "scripts/dev/extract-pre-tokenizer-hashes.mjs; do not edit by hand",
    sources: {
      probeText: `${UPDATE_SCRIPT} CHK_TXT`,
      entries: `${tableFile} get_vocab_base_pre()`,
      llamaCppNames: `${VOCAB_SOURCE} tokenizer_pre comparisons`,
    },
    probeText,
    entries,
    llamaCppNames,
  };
}

export function serializePreTokenizerHashes(table) {
  return `${JSON.stringify(table, null, 2)}\n`;
}

/** The string literal assigned to `name` (`name = '...'`), decoded the way Python reads it. */
function pythonAssignedString(source, name, file) {
  const match = new RegExp(`(?:^|\\n)[ \\t]*${name}\\s*=\\s*(?=['"])`).exec(source);
  if (!match) throw new Error(`${file}: no string assigned to ${name}`);
  return parsePythonStringLiteral(source, match.index + match[0].length, file);
}

/** A single-line, non-raw, non-f Python string literal starting at `start` (its opening quote). */
export function parsePythonStringLiteral(source, start, file = "<source>") {
  const quote = source[start];
  let value = "";
  for (let i = start + 1; i < source.length; ) {
    const char = source[i];
    if (char === quote) return value;
    if (char === "\n") break;
    if (char !== "\\") {
      const codePoint = source.codePointAt(i);
      value += String.fromCodePoint(codePoint);
      i += codePoint > 0xffff ? 2 : 1;
      continue;
    }
    const escape = source[i + 1];
    const simple = { "\\": "\\", "'": "'", '"': '"', n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", "0": "\0" };
    const hexLength = { x: 2, u: 4, U: 8 }[escape];
    if (hexLength !== undefined) {
      const hex = source.slice(i + 2, i + 2 + hexLength);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLength) throw new Error(`${file}: bad \\${escape} escape at offset ${i}`);
      value += String.fromCodePoint(Number.parseInt(hex, 16));
      i += 2 + hexLength;
    } else if (escape in simple && !(escape === "0" && /[0-7]/.test(source[i + 2] ?? ""))) {
      value += simple[escape];
      i += 2;
    } else {
      throw new Error(`${file}: unsupported escape \\${escape} at offset ${i}`);
    }
  }
  throw new Error(`${file}: unterminated string literal at offset ${start}`);
}

function main(argv) {
  const check = argv.includes("--check");
  const dirFlag = argv.indexOf("--llama-cpp");
  const llamaCppDir = dirFlag >= 0 ? path.resolve(argv[dirFlag + 1]) : defaultLlamaCppDir;
  const text = serializePreTokenizerHashes(extractPreTokenizerHashes(llamaCppDir));
  const committed = existsSync(preTokenizerHashesPath) ? readFileSync(preTokenizerHashesPath, "utf8") : undefined;
  const relative = path.relative(packageRoot, preTokenizerHashesPath);
  if (check) {
    if (committed !== text) {
      console.error(`${relative} is stale; run node scripts/dev/extract-pre-tokenizer-hashes.mjs`);
      process.exit(1);
    }
    console.log(`${relative} is up to date`);
    return;
  }
  writeFileSync(preTokenizerHashesPath, text);
  const table = JSON.parse(text);
  console.log(`wrote ${relative}: ${table.entries.length} hashes, ${new Set(table.entries.map((e) => e.name)).size} names`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
