// Our TypeScript GGUF reader against llama.cpp's gguf.cpp, on files llama.cpp wrote.
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { quantize, readGgufHeader } from "../src/index.js";
import { loadNative } from "../src/native.js";
import { llamaSourceDir, writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("agree");
afterAll(() => temp.cleanup());

function comparable(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>);
  if (typeof value === "number" && Number.isNaN(value)) return "NaN";
  return value;
}

async function expectAgreement(file: string) {
  const ours = await readGgufHeader(file);
  const theirs = (await loadNative()).readGgufWithLlama(file);
  expect(ours.version).toBe(theirs.version);
  expect(ours.alignment).toBe(theirs.alignment);
  expect(ours.dataOffset).toBe(theirs.dataOffset);
  expect(ours.metadata.map((entry) => entry.key)).toEqual(theirs.metadata.map((entry) => entry.key));
  for (const [index, entry] of ours.metadata.entries()) {
    const other = theirs.metadata[index];
    expect(entry.type, entry.key).toBe(other.type);
    if (other.arrayType !== undefined) expect(entry.arrayType, entry.key).toBe(other.arrayType);
    expect(comparable(entry.value), entry.key).toEqual(comparable(other.value));
  }
  expect(ours.tensors.map((t) => [t.name, t.type, t.offset, t.byteSize, [...t.dims, 1, 1, 1].slice(0, 4)])).toEqual(
    theirs.tensors.map((t) => [t.name, t.type, t.offset, t.byteSize, t.ne]),
  );
}

describe("GGUF reader agrees with llama.cpp", () => {
  const written = path.join(temp.dir, "by-llama-q4.gguf");
  beforeAll(async () => {
    const f32 = path.join(temp.dir, "tiny.gguf");
    await writeTinyLlamaGguf(f32, { seed: 2 });
    // llama_model_quantize writes this file with gguf.cpp
    await quantize(f32, written, { type: "q4_k_m" });
  });

  it("on a model llama.cpp wrote (quantize output)", async () => {
    await expectAgreement(written);
  });

  it("on llama.cpp's own vocab files", async () => {
    for (const name of ["ggml-vocab-llama-spm.gguf", "ggml-vocab-qwen2.gguf", "ggml-vocab-gpt-2.gguf"]) {
      await expectAgreement(path.join(llamaSourceDir(), "models", name));
    }
  });
});
