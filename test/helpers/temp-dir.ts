import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** A fresh temporary directory, removed by the returned cleanup. */
export function makeTempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `lora-gguf-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes each new case's files (name → text, or a value written as JSON) into a directory of its own
 * under `parent`: a checkpoint or tokenizer directory per test case.
 */
export function caseDirWriter(parent: string): (files: Record<string, unknown>) => Promise<string> {
  let count = 0;
  return async (files) => {
    const dir = path.join(parent, `case-${count++}`);
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      await writeFile(path.join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
    }
    return dir;
  };
}
