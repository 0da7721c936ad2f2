// "Nothing lost": every output is written to a temp file beside its target and renamed into
// place only when complete, so a crash or an abort never leaves a half-written model behind.
import { randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";

export interface AtomicOutput {
  /** Where to write. Same directory as the target, so the final rename cannot cross filesystems. */
  tempPath: string;
  finalPath: string;
  /** Moves the temp file into place. */
  commit(): Promise<void>;
  /** Removes the temp file; never throws. */
  discard(): Promise<void>;
}

/**
 * Refuses an output that is also an input, lies in a missing or read-only directory, already exists
 * (unless force) or is a directory. Returns the absolute path.
 */
export async function checkOutputPath(where: string, output: string, options: { force: boolean; inputs: string[] }): Promise<string> {
  const finalPath = path.resolve(output);
  for (const input of options.inputs) {
    if (path.resolve(input) === finalPath) {
      throw new LoraGgufError("E_INVALID_OPTION", `${where}: the output ${output} is also an input; choose another output path`);
    }
  }
  const directory = path.dirname(finalPath);
  const directoryStat = await stat(directory).catch(() => undefined);
  if (!directoryStat?.isDirectory()) {
    throw new LoraGgufError("E_OUTPUT_DIR", `${where}: the output directory ${directory} does not exist; create it first`);
  }
  await checkCanCreateFiles(where, directory);
  const existing = await stat(finalPath).catch(() => undefined);
  if (existing && !options.force) {
    throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${output} already exists; pass force (--force) to overwrite it`);
  }
  if (existing?.isDirectory()) {
    throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${output} is a directory; give a file path`);
  }
  return finalPath;
}

/**
 * Creates and removes a file in `directory`. access(W_OK) is not enough: it says yes to root in
 * directories no file can be created in (/proc), and a writer that fails later fails with whatever
 * its own call reports (an fstream's "iostream error", a plain ENOENT).
 */
export async function checkCanCreateFiles(where: string, directory: string): Promise<void> {
  const probe = path.join(directory, `.lora-gguf-probe-${process.pid}-${randomBytes(6).toString("hex")}`);
  try {
    await (await open(probe, "wx")).close();
  } catch (error) {
    throw new LoraGgufError(
      "E_OUTPUT_DIR",
      `${where}: cannot create files in the output directory ${directory} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a writable directory`,
      { cause: error },
    );
  }
  await rm(probe, { force: true });
}

export async function prepareAtomicOutput(where: string, output: string, options: { force: boolean; inputs: string[] }): Promise<AtomicOutput> {
  const finalPath = await checkOutputPath(where, output, options);
  const tempPath = tempPathBeside(finalPath);
  return {
    tempPath,
    finalPath,
    commit: async () => {
      // flush what native code wrote before the rename makes it visible under the final name
      const handle = await open(tempPath, "r+");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tempPath, finalPath);
    },
    discard: () => rm(tempPath, { force: true }).catch(() => undefined),
  };
}

/** `<target>.tmp-<pid>-<random>`: beside the target, so the final rename stays on one filesystem. */
export function tempPathBeside(targetPath: string): string {
  return `${targetPath}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
}
