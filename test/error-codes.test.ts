// One list of error codes (errors.ts): every code the TypeScript and the native addon raise is in
// it, and a native error keeps its code through toLoraGgufError.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { LORA_GGUF_ERROR_CODES } from "../src/index.js";
import { packageRoot, toLoraGgufError } from "../src/native.js";

function sourceFiles(dir: string, extensions: readonly string[]): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && extensions.some((extension) => entry.name.endsWith(extension)))
    .map((entry) => path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
}

describe("error codes", () => {
  it("every code raised in src/ and native/ is in LORA_GGUF_ERROR_CODES", () => {
    const raised = new Set<string>();
    for (const file of [...sourceFiles(path.join(packageRoot, "src"), [".ts"]), ...sourceFiles(path.join(packageRoot, "native"), [".cpp", ".h"])]) {
      for (const match of readFileSync(file, "utf8").matchAll(/"(E_[A-Z_]+)"/g)) raised.add(match[1]);
    }
    const known = new Set<string>(LORA_GGUF_ERROR_CODES);
    expect([...raised].filter((code) => !known.has(code))).toEqual([]);
    expect(raised.has("E_OUTPUT_DIR")).toBe(true);
    expect(new Set(LORA_GGUF_ERROR_CODES).size).toBe(LORA_GGUF_ERROR_CODES.length);
  });

  it("a native error keeps its code (E_OUTPUT_DIR, E_UNSUPPORTED_TYPE from merge.cpp); an unknown one is E_NATIVE", () => {
    const native = (code: string) => Object.assign(new Error("from the addon"), { code });
    expect(toLoraGgufError(native("E_OUTPUT_DIR"), undefined).code).toBe("E_OUTPUT_DIR");
    expect(toLoraGgufError(native("E_UNSUPPORTED_TYPE"), undefined).code).toBe("E_UNSUPPORTED_TYPE");
    expect(toLoraGgufError(native("E_SOMETHING_ELSE"), undefined).code).toBe("E_NATIVE");
    expect(toLoraGgufError(new Error("plain"), undefined)).toMatchObject({ code: "E_NATIVE", message: "plain" });
  });
});
