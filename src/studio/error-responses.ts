// How the studio reports a failure, to a request and in a job's events: `{ error: { code, message } }`
// with the code from errors.ts. A LoraGgufError is the caller's to fix (400; 401 without the token,
// 404 for a missing input, 409 for a busy trainer). Anything else is a bug: logged with its stack,
// answered 500 with `code: null`, and the studio goes on serving.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

import { LoraGgufError, isLoraGgufError, type LoraGgufErrorCode } from "../errors.js";

/** A LoraGgufError whose HTTP status is not the one its code implies (409 for a second training run, 404 for an unknown job). */
export class StudioRequestError extends LoraGgufError {
  readonly status: ContentfulStatusCode;

  constructor(status: ContentfulStatusCode, code: LoraGgufErrorCode, message: string) {
    super(code, message);
    this.status = status;
  }
}

export interface ErrorJson {
  /** null for an unexpected error (a bug, logged by the studio). */
  code: LoraGgufErrorCode | null;
  message: string;
}

export type Log = (message: string) => void;

export function errorJson(error: unknown): ErrorJson {
  if (isLoraGgufError(error)) return { code: error.code, message: error.message };
  return { code: null, message: `unexpected error: ${error instanceof Error ? error.message : String(error)}` };
}

export function statusOf(error: unknown): ContentfulStatusCode {
  if (error instanceof StudioRequestError) return error.status;
  if (!isLoraGgufError(error)) return 500;
  if (error.code === "E_UNAUTHORIZED") return 401;
  if (error.code === "E_INPUT_NOT_FOUND") return 404;
  return 400;
}

export function errorResponse(c: Context, error: unknown, log: Log): Response {
  const status = statusOf(error);
  if (status === 500) log(`unexpected error in ${c.req.method} ${c.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return c.json({ error: errorJson(error) }, status);
}
