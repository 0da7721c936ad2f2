// Option checks shared by every public function, so that messages read the same everywhere
// ("quantize: threads must be an integer from 1 to 1024, got 0").
import { LoraGgufError } from "./errors.js";

type Options = Record<string, unknown>;

export function requireOptionsObject(where: string, options: unknown): Options {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalid(where, `options must be an object, got ${describe(options)}`);
  }
  return options as Options;
}

/** Rejects misspelled option names instead of ignoring them (as better-sqlite3 does). */
export function rejectUnknownOptions(where: string, options: Options, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key) && options[key] !== undefined) {
      throw invalid(where, `unknown option "${key}"; known options: ${known.join(", ")}`);
    }
  }
}

export function requireString(where: string, name: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(where, `${name} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

/** Any string, the empty one included (a model without a BOS token passes ""). */
export function requireStringAllowEmpty(where: string, name: string, value: unknown): string {
  if (typeof value !== "string") throw invalid(where, `${name} must be a string, got ${describe(value)}`);
  return value;
}

export function optionalOneOf<T extends string>(where: string, name: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw invalid(where, `${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${describe(value)}`);
  }
  return value as T;
}

export function optionalPlainObject(where: string, name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid(where, `${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function optionalInteger(where: string, name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(where, `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

export function optionalBoolean(where: string, name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw invalid(where, `${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function optionalFunction<T extends (...args: never[]) => unknown>(where: string, name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw invalid(where, `${name} must be a function, got ${describe(value)}`);
  return value as T;
}

export function optionalSignal(where: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalid(where, `signal must be an AbortSignal, got ${describe(value)}`);
  return value;
}

function invalid(where: string, message: string): LoraGgufError {
  return new LoraGgufError("E_INVALID_OPTION", `${where}: ${message}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}
