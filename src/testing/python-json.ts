// JSON text as Python's `json.dumps(value, indent=2, sort_keys=True)` writes it, which is how
// transformers writes config.json and generation_config.json. Python tells ints from floats
// (`"rope_theta": 500000.0`, `"rms_norm_eps": 1e-05`), so floats are marked with `pythonFloat`.

export class PythonFloat {
  constructor(readonly value: number) {}
}

export function pythonFloat(value: number): PythonFloat {
  return new PythonFloat(value);
}

export type PythonJsonValue =
  | null
  | boolean
  | number
  | string
  | PythonFloat
  | readonly PythonJsonValue[]
  | { readonly [key: string]: PythonJsonValue };

/** `json.dumps(value, indent=2, sort_keys=True)`: plain numbers must be integers (Python ints). */
export function pythonJsonDumps(value: PythonJsonValue, indent = 2): string {
  return encode(value, indent, 0);
}

function encode(value: PythonJsonValue, indent: number, depth: number): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`${value} is not an integer; mark floats with pythonFloat()`);
    return String(value);
  }
  if (typeof value === "string") return pythonString(value);
  if (value instanceof PythonFloat) return pythonFloatRepr(value.value);
  const inner = " ".repeat(indent * (depth + 1));
  const outer = " ".repeat(indent * depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + encode(item, indent, depth + 1)).join(",\n")}\n${outer}]`;
  }
  const entries = Object.entries(value as Record<string, PythonJsonValue>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([key, item]) => `${inner}${pythonString(key)}: ${encode(item, indent, depth + 1)}`).join(",\n")}\n${outer}}`;
}

/** ensure_ascii=True: everything outside space..~ is escaped, as \uXXXX in lowercase hex. */
function pythonString(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Python's float repr: the shortest round-tripping digits (JavaScript finds the same ones), in
 * positional notation when the decimal exponent is from -4 to 15, else scientific with a signed
 * two-digit exponent; positional integers get ".0".
 */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  if (value === 0) return `${sign}0.0`;
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const exponentSign = exponent < 0 ? "-" : "+";
    return `${sign}${digits[0]}${fraction}e${exponentSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const pointAt = exponent + 1;
  if (pointAt <= 0) return `${sign}0.${"0".repeat(-pointAt)}${digits}`;
  if (pointAt >= digits.length) return `${sign}${digits}${"0".repeat(pointAt - digits.length)}.0`;
  return `${sign}${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
}
