// One list of error codes (errors.ts): every code the TypeScript and the native addon raise is in
// it, and a native error keeps its code through toLoraGgufError.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { LORA_GGUF_ERROR_CODES, isLoraGgufError } from "../src/index.js";
import { loadNative, packageRoot, toLoraGgufError } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { makeTempDir } from "./helpers/temp-dir.js";

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

  it("a trainer or tokenizer method that fails rejects with a LoraGgufError, not a plain Error; close twice settles; a closed session refuses", async () => {
    const temp = makeTempDir("error-codes");
    try {
      const model = path.join(temp.dir, "tiny.gguf");
      await writeTinyLlamaGguf(model, { seed: 1, nLayer: 1, nEmbd: 64, nFf: 128, vocabSize: 512 });
      const native = await loadNative();
      const trainer = await native.createTrainer({ modelPath: model, adapterPath: "", contextLength: 256, maxSequencesPerWindow: 1, threads: 1, windowsPerOptimizerStep: 1, fullFineTune: true });
      try {
        const failure = await trainer.readTensor("no.such.tensor", "value").then(() => undefined, (error: unknown) => error);
        expect(isLoraGgufError(failure)).toBe(true);
        expect(LORA_GGUF_ERROR_CODES).toContain((failure as { code: string }).code);
      } finally {
        await trainer.close();
      }
      // a second close settles; a closed session refuses work with a code
      await trainer.close();
      const afterClose = await trainer.optimizerIter().then(() => undefined, (error: unknown) => error);
      expect(isLoraGgufError(afterClose, "E_INVALID_OPTION")).toBe(true);
      const tokenizer = await native.openTokenizer(model);
      await tokenizer.close();
      await tokenizer.close();
      expect(isLoraGgufError(await tokenizer.tokenize(["hi"], true).then(() => undefined, (error: unknown) => error), "E_INVALID_OPTION")).toBe(true);
      const created = await native.createTrainer({ modelPath: path.join(temp.dir, "missing.gguf"), adapterPath: "", contextLength: 256, maxSequencesPerWindow: 1, threads: 1, windowsPerOptimizerStep: 1 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isLoraGgufError(created)).toBe(true);
    } finally {
      temp.cleanup();
    }
  });
});
