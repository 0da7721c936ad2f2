// LORA_GGUF_CUDA=1 must reach llama.cpp's CMake as GGML_CUDA=ON, and on a machine without cuBLAS
// (like CI and our dev machines) stop at configure time with a message saying what is missing.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("cuda");
afterAll(() => temp.cleanup());

const cublasHeaders = ["/usr/local/cuda/include/cublas_v2.h", "/usr/include/cublas_v2.h", "/usr/local/cuda-13.0/include/cublas_v2.h"];
const hasCublas = cublasHeaders.some((file) => existsSync(file));

describe("LORA_GGUF_CUDA", () => {
  it.skipIf(hasCublas)("passes GGML_CUDA=ON to llama.cpp's CMake and fails early without cuBLAS", () => {
    const started = Date.now();
    const result = spawnSync(process.execPath, [path.join(packageRoot, "scripts", "build-native.mjs")], {
      cwd: packageRoot,
      env: { ...process.env, LORA_GGUF_CUDA: "1", LORA_GGUF_BUILD_DIR: path.join(temp.dir, "build") },
      encoding: "utf8",
      timeout: 120_000,
    });
    const output = `${result.stdout}\n${result.stderr}`.replace(/\s+/g, " "); // CMake wraps long messages
    expect(result.status).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(output).toMatch(/LORA_GGUF_CUDA=1: (no CUDA toolkit found|found the CUDA toolkit .* but not cuBLAS)/);
    const cache = readFileSync(path.join(temp.dir, "build", "CMakeCache.txt"), "utf8");
    expect(cache).toMatch(/^GGML_CUDA:BOOL=ON$/m);
  });
});
