// Reading the fields of one record with uniform messages ('missing "output"', '"output" must be a
// string, got number 42', '"output" is empty'), which the loader prefixes with file:line.
import type { DatasetFieldNames, DatasetFieldRole } from "./dataset-columns.js";

/** One record as parsed: a JSON object, or a CSV row keyed by the header. */
export type DatasetRecord = Record<string, unknown>;

/** A record that cannot be used; the loader turns it into a DatasetProblem with the record's location. */
export class InvalidRecord extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidRecord";
  }
}

export function isDatasetRecord(value: unknown): value is DatasetRecord {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The value of a role's field, or undefined when absent (own properties only: "constructor" is not a field). */
export function fieldValue(record: DatasetRecord, names: DatasetFieldNames, role: DatasetFieldRole): unknown {
  const name = names[role];
  return name !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
}

export function hasField(record: DatasetRecord, names: DatasetFieldNames, role: DatasetFieldRole): boolean {
  const name = names[role];
  return name !== undefined && Object.hasOwn(record, name);
}

/** How messages name a role's field: its name in the file, quoted. */
export function fieldLabel(names: DatasetFieldNames, role: DatasetFieldRole): string {
  const name = names[role];
  return name === undefined ? `the ${role} field (its default name is mapped to another column)` : JSON.stringify(name);
}

/** A string with something other than whitespace in it. */
export function requireNonBlankString(value: unknown, label: string): string {
  if (value === undefined) throw new InvalidRecord(`missing ${label}`);
  if (typeof value !== "string") throw new InvalidRecord(`${label} must be a string, got ${describeValue(value)}`);
  if (value.trim() === "") throw new InvalidRecord(`${label} is empty`);
  return value;
}

/** A string, or undefined when absent, null or blank: empty optional cells ("system", "input") mean "none". */
export function optionalNonBlankString(value: unknown, label: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new InvalidRecord(`${label} must be a string, got ${describeValue(value)}`);
  return value.trim() === "" ? undefined : value;
}

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value.length > 40 ? "a string" : `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}
