// How every command reports: results on stdout (JSON with --json), problems on stderr, and
// exit codes 0 ok, 1 error, 2 usage (130 for a second Ctrl-C).
import { CommanderError } from "commander";

import { LoraGgufError } from "../errors.js";

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
}

/** Runs a command's action; a LoraGgufError becomes "lora-gguf: <message>" on stderr and exit 1. */
export async function runAction(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    // command.error() inside an action: already printed; main turns it into exit 2
    if (error instanceof CommanderError) throw error;
    if (error instanceof LoraGgufError) {
      const usage = error.code === "E_INVALID_OPTION" || error.code === "E_UNKNOWN_TYPE";
      process.stderr.write(`lora-gguf: ${error.message} [${error.code}]\n`);
      process.exitCode = usage ? EXIT_USAGE : EXIT_ERROR;
      return;
    }
    if (error instanceof Error && error.name === "AbortError") {
      process.stderr.write("lora-gguf: cancelled\n");
      process.exitCode = EXIT_ERROR;
      return;
    }
    process.stderr.write(`lora-gguf: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT_ERROR;
  }
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}

export function formatCount(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(2)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(2)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)}K`;
  return String(count);
}
