import { expect } from "vitest";

import { isLoraGgufError } from "../../src/errors.js";

/** Awaits `promise`, expecting it to reject with a LoraGgufError of `code` (and a message matching `message`). */
export async function expectError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isLoraGgufError(error), `expected LoraGgufError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
  return error as Error;
}
