// A request's JSON body and query, refused with E_INVALID_OPTION (400) when malformed, with the
// messages validate.ts gives the API's own options.
import type { Context } from "hono";

import { LoraGgufError } from "../errors.js";
import { rejectUnknownOptions } from "../validate.js";

/** The body as a JSON object, with no names but `known`. */
export async function readJsonObject(c: Context, where: string, known: readonly string[]): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (error) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: the request body is not JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw new LoraGgufError("E_INVALID_OPTION", `${where}: the request body must be a JSON object`);
  rejectUnknownOptions(where, body as Record<string, unknown>, known);
  return body as Record<string, unknown>;
}

/** The query parameters, with no names but `known`. */
export function readQuery(c: Context, where: string, known: readonly string[]): Record<string, string | undefined> {
  const query = c.req.query();
  rejectUnknownOptions(where, query, known);
  return query;
}

/** A query parameter that must be an integer, when given. */
export function queryInteger(where: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number)) throw new LoraGgufError("E_INVALID_OPTION", `${where}: ${name} must be an integer, got ${JSON.stringify(value)}`);
  return number;
}

/** A query parameter that must be "true" or "false", when given. */
export function queryBoolean(where: string, name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value !== "true" && value !== "false") throw new LoraGgufError("E_INVALID_OPTION", `${where}: ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value === "true";
}
