// Seeded mutations of valid input files: bit flips in the header, runs of random bytes, truncation,
// and per format the values most likely to break a reader: huge counts, lengths and dimensions in
// a GGUF header, a bad header length or tensor entry in safetensors, huge numbers, wrong types,
// missing keys and deep nesting in JSON, ragged rows, stray quotes and NULs in CSV.
import type { GgufHeader } from "../gguf/reader.js";
import { SeededRandom } from "../seeded-random.js";
import { editGgufHeader } from "./fuzz-gguf-edits.js";
import { ggufFields, ggufHeaderBytes, type GgufField, type GgufFieldKind } from "./fuzz-gguf-fields.js";

export type FuzzFileKind = "gguf" | "safetensors" | "json" | "jsonl" | "csv";

export interface FuzzMutation {
  /** What was changed, with offsets and values, to read beside a failure. */
  description: string;
  bytes: Buffer;
}

/**
 * A mutated copy of `original` (which is left as it is). GGUF files need their parsed `ggufHeader`
 * for the well-formed edits.
 */
export function mutateFile(kind: FuzzFileKind, original: Buffer, random: SeededRandom, context: { ggufHeader?: GgufHeader } = {}): FuzzMutation {
  const draw = new Draw(random);
  const bytes = Buffer.from(original);
  switch (kind) {
    case "gguf": {
      const fields = ggufFieldsOf(original);
      const header = context.ggufHeader;
      if (header === undefined) throw new Error("mutateFile: a GGUF needs its parsed header");
      return draw.weighted<() => FuzzMutation>([
        [3, () => flipBits(draw, bytes, ggufHeaderBytes(fields))],
        [2, () => overwriteRun(draw, bytes)],
        [2, () => truncate(draw, bytes, ggufHeaderBytes(fields))],
        [4, () => hugeGgufField(draw, bytes, fields)],
        // an edit the encoder refuses becomes a bit flip
        [5, () => editGgufHeader(draw, original, header) ?? flipBits(draw, bytes, ggufHeaderBytes(fields))],
      ])();
    }
    case "safetensors": {
      const headerEnd = 8 + Number(original.readBigUInt64LE(0));
      return draw.weighted<() => FuzzMutation>([
        [2, () => flipBits(draw, bytes, headerEnd)],
        [1, () => overwriteRun(draw, bytes)],
        [2, () => truncate(draw, bytes, headerEnd)],
        [2, () => safetensorsHeaderLength(draw, bytes, headerEnd)],
        [5, () => safetensorsHeaderJson(draw, original)],
      ])();
    }
    case "json":
      return draw.weighted<() => FuzzMutation>([
        [1, () => flipBits(draw, bytes, bytes.length)],
        [1, () => overwriteRun(draw, bytes)],
        [1, () => truncate(draw, bytes, bytes.length)],
        [6, () => {
          const edit = mutateJson(draw, JSON.parse(original.toString("utf8")), 1);
          return { description: edit.description, bytes: Buffer.from(edit.text) };
        }],
      ])();
    case "jsonl":
      return draw.weighted<() => FuzzMutation>([
        [1, () => flipBits(draw, bytes, bytes.length)],
        [1, () => overwriteRun(draw, bytes)],
        [1, () => truncate(draw, bytes, bytes.length)],
        [6, () => editJsonLines(draw, original.toString("utf8"))],
      ])();
    case "csv":
      return draw.weighted<() => FuzzMutation>([
        [1, () => flipBits(draw, bytes, bytes.length)],
        [1, () => overwriteRun(draw, bytes)],
        [1, () => truncate(draw, bytes, bytes.length)],
        [6, () => editCsv(draw, original.toString("utf8"))],
      ])();
  }
}

/** Small draws over a SeededRandom. */
class Draw {
  constructor(private readonly random: SeededRandom) {}

  /** Uniform in [0, count). */
  int(count: number): number {
    return Math.floor(this.random.nextFloat() * count);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(probability: number): boolean {
    return this.random.nextFloat() < probability;
  }

  weighted<T>(entries: readonly (readonly [number, T])[]): T {
    let ticket = this.random.nextFloat() * entries.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, value] of entries) {
      ticket -= weight;
      if (ticket < 0) return value;
    }
    return entries[entries.length - 1][1];
  }

  bytes(count: number): Buffer {
    const bytes = Buffer.alloc(count);
    for (let index = 0; index < count; index++) bytes[index] = this.random.nextUint32() & 0xff;
    return bytes;
  }
}

// ---- byte level ----

function flipBits(draw: Draw, bytes: Buffer, regionEnd: number): FuzzMutation {
  const end = Math.min(regionEnd, bytes.length);
  const flips: string[] = [];
  for (let count = 1 + draw.int(4); count > 0; count--) {
    const at = draw.int(end);
    const bit = draw.int(8);
    bytes[at] ^= 1 << bit;
    flips.push(`${at}:${bit}`);
  }
  return { description: `flipped bits (byte:bit) ${flips.join(", ")} within the first ${end} bytes`, bytes };
}

function overwriteRun(draw: Draw, bytes: Buffer): FuzzMutation {
  const at = draw.int(bytes.length);
  const length = Math.min(bytes.length - at, draw.chance(0.8) ? 1 + draw.int(64) : 1 + draw.int(4096));
  const fill = draw.pick(["random", "0x00", "0xff"] as const);
  const run = fill === "random" ? draw.bytes(length) : Buffer.alloc(length, fill === "0x00" ? 0 : 0xff);
  run.copy(bytes, at);
  return { description: `overwrote ${length} bytes at ${at} with ${fill} bytes`, bytes };
}

function truncate(draw: Draw, bytes: Buffer, headerEnd: number): FuzzMutation {
  const length = draw.weighted([
    [1, () => 0],
    [4, () => draw.int(Math.min(headerEnd, bytes.length))],
    [4, () => draw.int(bytes.length)],
    [1, () => bytes.length - 1 - draw.int(Math.min(8, bytes.length))],
  ])();
  return { description: `truncated to ${length} of ${bytes.length} bytes`, bytes: bytes.subarray(0, length) };
}

// ---- GGUF ----

const fieldCache = new WeakMap<Buffer, GgufField[]>();

function ggufFieldsOf(original: Buffer): GgufField[] {
  let fields = fieldCache.get(original);
  if (fields === undefined) {
    fields = ggufFields(original);
    fieldCache.set(original, fields);
  }
  return fields;
}

const HUGE_U64: readonly bigint[] = [
  0xffff_ffff_ffff_ffffn, 1n << 63n, (1n << 63n) - 1n, 1n << 62n, 1n << 40n, (1n << 32n) + 1n, 1n << 32n, (1n << 32n) - 1n,
  1n << 31n, (1n << 31n) - 1n, (1n << 30n) + 1n, 0n, 1n,
];
const HUGE_U32: readonly number[] = [0xffff_ffff, 0x8000_0000, 0x7fff_ffff, 0x1_0000, 0, 1, 12, 13, 39, 40, 41, 255];
const ODD_F32: readonly number[] = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, -1, 3.4e38, 1e-45];

/** A count, length, type or dimension of the header set to a huge (or zero, or off-by-one) value. */
function hugeGgufField(draw: Draw, bytes: Buffer, fields: readonly GgufField[]): FuzzMutation {
  // a kind first, so the two counts are chosen as often as the hundreds of dimensions
  const kinds = [...new Set(fields.map((field) => field.kind))] as GgufFieldKind[];
  const kind = draw.pick(kinds);
  const field = draw.pick(fields.filter((candidate) => candidate.kind === kind));
  let value: string;
  if (field.kind === "f32 value") {
    const number = draw.pick(ODD_F32);
    bytes.writeFloatLE(number, field.offset);
    value = String(number);
  } else if (field.width === 4) {
    const current = bytes.readUInt32LE(field.offset);
    const number = draw.chance(0.2) ? (current + 1) >>> 0 : draw.pick(HUGE_U32);
    bytes.writeUInt32LE(number, field.offset);
    value = String(number);
  } else {
    const current = bytes.readBigUInt64LE(field.offset);
    const number = draw.weighted([
      [8, () => draw.pick(HUGE_U64)],
      [1, () => current + 1n],
      [1, () => (current === 0n ? 0n : current - 1n)],
      [1, () => current * 2n],
    ])();
    bytes.writeBigUInt64LE(number & 0xffff_ffff_ffff_ffffn, field.offset);
    value = `${number} (0x${number.toString(16)})`;
  }
  return { description: `${field.kind} of ${field.owner} at byte ${field.offset} set to ${value}`, bytes };
}

// ---- safetensors ----

const SAFETENSORS_LENGTHS = (fileSize: number, length: number): bigint[] => [
  0xffff_ffff_ffff_ffffn, 1n << 63n, 1n << 40n, 1n << 32n, 100_000_001n, BigInt(fileSize), BigInt(fileSize - 7),
  BigInt(length + 1), BigInt(Math.max(0, length - 1)), 0n, 1n, 2n,
];

function safetensorsHeaderLength(draw: Draw, bytes: Buffer, headerEnd: number): FuzzMutation {
  const length = draw.pick(SAFETENSORS_LENGTHS(bytes.length, headerEnd - 8));
  bytes.writeBigUInt64LE(length, 0);
  return { description: `header length set to ${length} (header is ${headerEnd - 8} bytes, file ${bytes.length})`, bytes };
}

const SAFETENSORS_DTYPES: readonly unknown[] = ["F16", "BF16", "I32", "I64", "F64", "U8", "BOOL", "F8_E4M3", "f32", "float32", "", 7, null];

/** A tensor entry's dtype, shape or data_offsets (or the metadata) changed, the header re-encoded with its length. */
function safetensorsHeaderJson(draw: Draw, original: Buffer): FuzzMutation {
  const length = Number(original.readBigUInt64LE(0));
  const header = JSON.parse(original.toString("utf8", 8, 8 + length)) as Record<string, Record<string, unknown>>;
  const data = original.subarray(8 + length);
  const names = Object.keys(header).filter((name) => name !== "__metadata__");
  const name = draw.pick(names);
  const entry = header[name];
  const [begin, end] = entry.data_offsets as [number, number];
  const other = header[draw.pick(names)];
  let description: string;
  let text: string | undefined;
  const edit = draw.int(7);
  if (edit === 0) {
    const offsets = draw.pick<unknown>([
      [2 ** 53, 2 ** 53 + 4], [end, begin], [0, end], [begin, 2 ** 53], [begin, 2 ** 64], [-4, end], [begin + 1, end + 1],
      [begin, end + 4], [begin, begin], [1.5, end], ["0", String(end)], [begin], [begin, end, end], other.data_offsets, [data.length, data.length + 4],
    ]);
    entry.data_offsets = offsets;
    description = `data_offsets of ${name} ([${begin}, ${end}]) set to ${JSON.stringify(offsets)}`;
  } else if (edit === 1) {
    const shape = entry.shape as number[];
    const changed = draw.pick<unknown>([
      [2 ** 31, 2 ** 31], [2 ** 53, 1], [0, ...shape.slice(1)], [-1, ...shape.slice(1)], [], [...shape, 1], [...shape].reverse(),
      shape.map((dim) => dim * 2), shape.map(String), [shape.reduce((a, b) => a * b, 1)], [1, 1, 1, 1, 1, 1, 1, 1, 1], [2 ** 32, 0],
    ]);
    entry.shape = changed;
    description = `shape of ${name} (${JSON.stringify(shape)}) set to ${JSON.stringify(changed)}`;
  } else if (edit === 2) {
    const dtype = draw.pick(SAFETENSORS_DTYPES);
    entry.dtype = dtype;
    description = `dtype of ${name} set to ${JSON.stringify(dtype)}`;
  } else if (edit === 3) {
    const key = draw.pick(["dtype", "shape", "data_offsets"]);
    delete entry[key];
    description = `${key} of ${name} removed`;
  } else if (edit === 4) {
    const metadata = draw.pick<unknown>([{ format: 1 }, ["pt"], "pt", null, { format: "x".repeat(1 << 16) }, { total_size: 2 ** 64 }]);
    (header as Record<string, unknown>).__metadata__ = metadata;
    description = `__metadata__ set to ${abbreviate(JSON.stringify(metadata))}`;
  } else if (edit === 5) {
    const renamed = draw.pick([`${name}.extra`, "", name.toUpperCase(), `${name}\u0000`, "x".repeat(300)]);
    header[renamed] = entry;
    delete header[name];
    description = `tensor ${name} renamed to ${abbreviate(JSON.stringify(renamed))}`;
  } else {
    const json = mutateJson(draw, header as JsonValue, 0);
    description = json.description;
    text = json.text;
  }
  let headerText = text ?? JSON.stringify(header);
  // the format pads the header with spaces to a multiple of 8
  headerText += " ".repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  return { description: `header JSON: ${description}`, bytes: Buffer.concat([prefix, headerBytes, data]) };
}

// ---- JSON ----

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const HUGE_NUMBERS: readonly number[] = [1e308, -1e308, 2 ** 53 + 2, 2 ** 64, 2 ** 32, 2 ** 31, 2 ** 31 - 1, -1, -(2 ** 31), 0, 0.5, 1e-320, 2 ** 32 * 1024];
/** Literals JSON.parse refuses or reads as something else (Python's json writes NaN and Infinity). */
const RAW_NUMBERS: readonly string[] = ["1e400", "-1e400", "NaN", "Infinity", "-0", "1e-400", "123456789012345678901234567890"];
const WRONG_TYPES: readonly JsonValue[] = ["", "x", "32", [], [1], {}, { a: 1 }, null, true, false, 0];
const ODD_STRINGS: readonly string[] = ["\u0000", "a\u0000b", "\ud800", "\u202e", "\uffff", " ", "\\", "\n", "{{ raise_exception('x') }}", "{% for %}", "</s>", "<|eot_id|>"];

/** One edit at a node reached by a random walk down from the root, serialized again. */
function mutateJson(draw: Draw, root: JsonValue, indent: number): { description: string; text: string } {
  const raws: string[] = [];
  const raw = (text: string): string => {
    raws.push(text);
    return `\u0001raw${raws.length - 1}\u0001`;
  };
  const holder: { root: JsonValue } = { root };
  let parent: Record<string, JsonValue> | JsonValue[] = holder as unknown as Record<string, JsonValue>;
  let key: string | number = "root";
  let path = "$";
  // stop at each level with probability 0.35: top-level keys are hit often, leaves sometimes
  for (;;) {
    const node: JsonValue = (parent as Record<string, JsonValue>)[key as string];
    const children: (string | number)[] = node !== null && typeof node === "object" ? (Array.isArray(node) ? node.map((_, index) => index) : Object.keys(node)) : [];
    if (children.length === 0 || (path !== "$" && draw.chance(0.35)) || (path === "$" && draw.chance(0.05))) break;
    parent = node as Record<string, JsonValue> | JsonValue[];
    key = draw.pick<string | number>(children);
    path += typeof key === "number" ? `[${key}]` : `.${key}`;
  }
  const node = (parent as Record<string, JsonValue>)[key as string];
  const set = (value: JsonValue) => ((parent as Record<string, JsonValue>)[key as string] = value);
  let description: string;
  switch (draw.int(10)) {
    case 0: {
      const value = draw.pick(HUGE_NUMBERS);
      set(value);
      description = `set to ${value}`;
      break;
    }
    case 1: {
      const literal = draw.pick(RAW_NUMBERS);
      set(raw(literal));
      description = `set to the literal ${literal}`;
      break;
    }
    case 2: {
      const value = draw.pick(WRONG_TYPES);
      set(value);
      description = `set to ${JSON.stringify(value)}`;
      break;
    }
    case 3: {
      if (parent === (holder as unknown)) {
        set(null);
        description = "replaced by null";
      } else if (Array.isArray(parent)) {
        parent.splice(key as number, 1);
        description = "removed";
      } else {
        delete parent[key as string];
        description = "removed";
      }
      break;
    }
    case 4: {
      const depth = draw.pick([1000, 20_000, 200_000]);
      const arrays = draw.chance(0.5);
      set(raw(arrays ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth)));
      description = `set to ${depth} nested ${arrays ? "arrays" : "objects"}`;
      break;
    }
    case 5: {
      // runs of one character stay short: llama.cpp's SPM tokenizer takes time quadratic in their length
      const [unit, repeats] = draw.pick([["x", 1 << 12], ["é", 1 << 14], ["\u{1F600}", 1 << 12], [" ", 1 << 16], ["lamp stone ", 1 << 16]] as const);
      set(unit.repeat(repeats));
      description = `set to ${JSON.stringify(unit)} repeated ${repeats} times`;
      break;
    }
    case 6: {
      const value = draw.pick(ODD_STRINGS);
      set(typeof node === "string" && draw.chance(0.5) ? node + value : value);
      description = `set to (or appended) ${JSON.stringify(value)}`;
      break;
    }
    case 7: {
      if (Array.isArray(node) && node.length > 0) {
        const copies = draw.pick([100, 1000, 10_000]);
        set(Array.from({ length: copies }, () => node[0]));
        description = `replaced by ${copies} copies of its first element`;
      } else {
        set([node]);
        description = "wrapped in an array";
      }
      break;
    }
    case 8: {
      if (typeof node === "number") {
        set(String(node));
        description = "number written as a string";
      } else if (typeof node === "string" && /^-?\d+(\.\d+)?$/.test(node)) {
        set(Number(node));
        description = "numeric string written as a number";
      } else {
        set(typeof node === "string" ? node.length : node === null ? 0 : JSON.stringify(node).length);
        description = "set to a number";
      }
      break;
    }
    default: {
      if (node !== null && typeof node === "object" && !Array.isArray(node)) {
        const extra = draw.pick(["__proto__", "constructor", "", "extra", "0"]);
        // defined, not assigned: assigning "__proto__" would set the prototype instead of adding a key
        Object.defineProperty(node, extra, { value: draw.pick(WRONG_TYPES), enumerable: true, writable: true, configurable: true });
        description = `gained key ${JSON.stringify(extra)}`;
      } else {
        set(-1);
        description = "set to -1";
      }
    }
  }
  let text = JSON.stringify(holder.root, null, indent || undefined) ?? "";
  raws.forEach((literal, index) => (text = text.replace(`"\\u0001raw${index}\\u0001"`, () => literal)));
  return { description: `${path} ${description}`, text };
}

// ---- JSON Lines ----

function editJsonLines(draw: Draw, text: string): FuzzMutation {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const line = draw.int(lines.length);
  let description: string;
  switch (draw.int(9)) {
    case 0:
    case 1:
    case 2: {
      const edit = mutateJson(draw, JSON.parse(lines[line]) as JsonValue, 0);
      lines[line] = edit.text;
      description = `record ${line + 1}: ${edit.description}`;
      break;
    }
    case 3: {
      const garbage = draw.pick(["{", "not json", "[1, 2]", "null", '"text"', "{}", '{"text": 1}', "\u0000", "}{", "{} {}", '{"text": "a"}\u0000']);
      lines.splice(line, 0, garbage);
      description = `inserted line ${line + 1}: ${JSON.stringify(garbage)}`;
      break;
    }
    case 4: {
      const copies = draw.pick([10, 200]);
      lines.splice(line, 0, ...Array<string>(copies).fill(lines[line]));
      description = `line ${line + 1} repeated ${copies} times`;
      break;
    }
    case 5: {
      const whitespace = draw.pick(["", " ", "\t", "\r", "\ufeff"]);
      lines.splice(0, lines.length, ...Array<string>(3).fill(whitespace));
      description = `every line replaced by ${JSON.stringify(whitespace)}`;
      break;
    }
    case 6: {
      if (line + 1 < lines.length) {
        lines.splice(line, 2, lines[line] + draw.pick(["", " ", "\r"]) + lines[line + 1]);
        description = `lines ${line + 1} and ${line + 2} joined`;
      } else {
        lines[line] += " trailing";
        description = `text after the record on line ${line + 1}`;
      }
      break;
    }
    case 7: {
      const prefix = draw.pick(["\ufeff", "\ufeff\ufeff", "\r\n", "\u0000"]);
      lines[0] = prefix + lines[0];
      description = `file starts with ${JSON.stringify(prefix)}`;
      break;
    }
    default: {
      const separator = draw.pick(["\r\n", "\r", "\u2028"]);
      return { description: `lines separated by ${JSON.stringify(separator)}`, bytes: Buffer.from(lines.join(separator) + separator) };
    }
  }
  return { description, bytes: Buffer.from(lines.join("\n") + "\n") };
}

// ---- CSV ----

function editCsv(draw: Draw, text: string): FuzzMutation {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const row = 1 + draw.int(lines.length - 1);
  let description: string;
  switch (draw.int(12)) {
    case 0:
      lines[row] += ",extra";
      description = `row on line ${row + 1} has an extra field`;
      break;
    case 1:
      lines[row] = lines[row].slice(0, Math.max(0, lines[row].lastIndexOf(",")));
      description = `row on line ${row + 1} lost its last field`;
      break;
    case 2: {
      const line = draw.int(lines.length);
      const at = draw.int(lines[line].length + 1);
      lines[line] = lines[line].slice(0, at) + '"' + lines[line].slice(at);
      description = `a quote inserted at column ${at} of line ${line + 1}`;
      break;
    }
    case 3: {
      const line = draw.int(lines.length);
      const at = draw.int(lines[line].length + 1);
      lines[line] = lines[line].slice(0, at) + "\u0000" + lines[line].slice(at);
      description = `a NUL inserted at column ${at} of line ${line + 1}`;
      break;
    }
    case 4: {
      const prefix = draw.pick(["\ufeff", "\ufeff\ufeff", "\n\n", " "]);
      lines[0] = prefix + lines[0];
      description = `file starts with ${JSON.stringify(prefix)}`;
      break;
    }
    case 5: {
      const length = draw.pick([1 << 12, 1 << 16, 1 << 20]);
      const quoted = draw.chance(0.5);
      const field = quoted ? `"${'red "",'.repeat(length / 8)}"` : "red lamp".repeat(length / 8);
      lines[row] = field + lines[row].slice(lines[row].indexOf(","));
      description = `first field of line ${row + 1} is ${length} characters${quoted ? ", quoted" : ""}`;
      break;
    }
    case 6: {
      const header = lines[0].split(",");
      const edited = draw.pick([
        [header[0], header[0], header[2]], ["", "", ""], ["a", "b", "c"], [" instruction ", "input", "output"], [...header, ...Array<string>(1000).fill("")],
      ]);
      lines[0] = edited.join(",");
      description = `header line set to ${abbreviate(JSON.stringify(lines[0]))}`;
      break;
    }
    case 7:
      if (draw.chance(0.5)) {
        lines.splice(1);
        description = "only the header line kept";
      } else {
        lines.splice(0, 1);
        description = "header line removed";
      }
      break;
    case 8: {
      const columns = draw.pick([1000, 100_000]);
      lines[row] += ",".repeat(columns);
      description = `row on line ${row + 1} has ${columns} more fields`;
      break;
    }
    case 9: {
      const delimiter = draw.pick([";", "\t", "|"]);
      for (let line = 0; line < lines.length; line++) lines[line] = lines[line].replaceAll(",", delimiter);
      description = `commas replaced by ${JSON.stringify(delimiter)}`;
      break;
    }
    case 10: {
      lines[row] = `"open quote, never closed${"\n".repeat(3)}` + lines[row];
      description = `unterminated quoted field on line ${row + 1}`;
      break;
    }
    default: {
      const separator = draw.pick(["\r\n", "\r", "\n\r"]);
      return { description: `lines separated by ${JSON.stringify(separator)}`, bytes: Buffer.from(lines.join(separator) + separator) };
    }
  }
  return { description, bytes: Buffer.from(lines.join("\n") + "\n") };
}

function abbreviate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
