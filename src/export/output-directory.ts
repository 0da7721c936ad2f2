// A directory output written whole or not at all: files go into a temporary directory beside the
// target, which is renamed into place when complete, so a failure leaves nothing at the target.
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { checkCanCreateFiles, tempPathBeside } from "../io/atomic-output.js";

export interface StagedDirectory {
  /** Where to write; beside the target, so the final rename stays on one filesystem. */
  tempDir: string;
  finalDir: string;
  /** Moves the written files into place. */
  commit(): Promise<void>;
  /** Removes the temporary directory; never throws. */
  discard(): Promise<void>;
}

/**
 * Checks the target (its parent must exist; an existing non-empty directory needs `force`) and
 * creates the temporary directory. With `force`, committing into a non-empty directory replaces
 * the files written and leaves the directory's other files alone.
 */
export async function stageOutputDirectory(where: string, outputDir: string, options: { force: boolean }): Promise<StagedDirectory> {
  const finalDir = path.resolve(outputDir);
  const parent = path.dirname(finalDir);
  if (!(await stat(parent).catch(() => undefined))?.isDirectory()) {
    throw new LoraGgufError("E_OUTPUT_DIR", `${where}: the directory ${parent} does not exist; create it first`);
  }
  await checkCanCreateFiles(where, parent);
  const existing = await existingEntries(finalDir);
  if (existing === "file") {
    throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${outputDir} is a file; give a directory path`);
  }
  if (existing && existing.length > 0 && !options.force) {
    throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${outputDir} already exists and is not empty; pass force (--force) to overwrite its files`);
  }
  // with force, the files are moved into the existing directory one by one
  if (existing && existing.length > 0) await checkCanCreateFiles(where, finalDir);

  const tempDir = tempPathBeside(finalDir);
  await mkdir(tempDir);
  const discard = () => rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
  return {
    tempDir,
    finalDir,
    discard,
    commit: async () => {
      const now = await existingEntries(finalDir);
      if (now === undefined || (Array.isArray(now) && now.length === 0)) {
        // rename(2) replaces an empty directory on POSIX but not on Windows
        if (now) await rmdir(finalDir);
        await rename(tempDir, finalDir);
        return;
      }
      if (now === "file" || !options.force) {
        throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${outputDir} appeared while writing; nothing was written to it`);
      }
      for (const file of await readdir(tempDir)) await rename(path.join(tempDir, file), path.join(finalDir, file));
      await discard();
    },
  };
}

/** undefined when nothing is there, "file" for a non-directory, else the directory's entries. */
async function existingEntries(dir: string): Promise<string[] | "file" | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isDirectory()) return "file";
  return readdir(dir);
}
