// Datasets name their fields differently ("prompt"/"completion", "dialog", ...); instead of asking
// users to rewrite files, `columns` maps each field this loader knows to the name the file uses,
// as LLaMA-Factory's dataset_info.json "columns" does.
import { LoraGgufError } from "../errors.js";
import { optionalPlainObject, rejectUnknownOptions, requireString } from "../validate.js";

/** The fields records are read from, by role. */
export interface DatasetColumns {
  /** text format. Default "text". */
  text?: string;
  /** alpaca format. Defaults "instruction", "input", "output", "history". */
  instruction?: string;
  input?: string;
  output?: string;
  history?: string;
  /** Optional system prompt of alpaca, sharegpt and messages records. Default "system". */
  system?: string;
  /** sharegpt format. Default "conversations". */
  conversations?: string;
  /** messages format. Default "messages". */
  messages?: string;
}

export type DatasetFieldRole = keyof DatasetColumns;

/**
 * The field name each role reads, or undefined where a role is switched off because an explicit
 * mapping took its default name ({ text: "output" } means "output" is the text, not alpaca's output).
 */
export type DatasetFieldNames = { readonly [Role in DatasetFieldRole]: string | undefined };

export const DEFAULT_FIELD_NAMES: DatasetFieldNames = Object.freeze({
  text: "text",
  instruction: "instruction",
  input: "input",
  output: "output",
  history: "history",
  system: "system",
  conversations: "conversations",
  messages: "messages",
});

const FIELD_ROLES = Object.keys(DEFAULT_FIELD_NAMES) as DatasetFieldRole[];

export function resolveFieldNames(where: string, columns: unknown): DatasetFieldNames {
  const given = optionalPlainObject(where, "columns", columns);
  if (given === undefined) return DEFAULT_FIELD_NAMES;
  rejectUnknownOptions(`${where}: columns`, given, FIELD_ROLES);

  const roleByGivenName = new Map<string, DatasetFieldRole>();
  for (const role of FIELD_ROLES) {
    if (given[role] === undefined) continue;
    const name = requireString(where, `columns.${role}`, given[role]);
    const other = roleByGivenName.get(name);
    if (other !== undefined) {
      throw new LoraGgufError("E_INVALID_OPTION", `${where}: columns.${other} and columns.${role} both read the field "${name}"`);
    }
    roleByGivenName.set(name, role);
  }

  const names: Record<string, string | undefined> = {};
  for (const role of FIELD_ROLES) {
    const givenName = given[role] as string | undefined;
    const defaultName = DEFAULT_FIELD_NAMES[role]!;
    names[role] = givenName ?? (roleByGivenName.has(defaultName) ? undefined : defaultName);
  }
  return names as DatasetFieldNames;
}
