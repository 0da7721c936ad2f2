import { fileURLToPath } from "node:url";

/** The llama.cpp checkout this package builds against: `<repo>/deps/llama.cpp` (from src/testing/ or dist/testing/). */
export function llamaSourceDir(): string {
  return fileURLToPath(new URL("../../deps/llama.cpp/", import.meta.url)).replace(/[\\/]$/, "");
}
