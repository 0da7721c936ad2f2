// Files that are valid GGUF but wrong in ways that reach llama.cpp: each must come back as a
// LoraGgufError; a GGML_ASSERT or abort here would kill the forked test process.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  GgmlType, GgufValueType, isLoraGgufError, quantize, readGgufHeader, stringEntry, uint32Entry, writeGgufFile,
  type GgufMetadataEntry, type GgufTensorWithData,
} from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("hostile");
const base = path.join(temp.dir, "base.gguf");
let metadata: GgufMetadataEntry[];
let tensors: GgufTensorWithData[];

beforeAll(async () => {
  await writeTinyLlamaGguf(base, { seed: 4, nLayer: 1 });
  const header = await readGgufHeader(base);
  const bytes = readFileSync(base);
  metadata = header.metadata;
  tensors = header.tensors.map((tensor) => ({
    name: tensor.name,
    dims: tensor.dims,
    type: tensor.type,
    data: bytes.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize),
  }));
});
afterAll(() => temp.cleanup());

async function variant(name: string, edit: { metadata?: (m: GgufMetadataEntry[]) => GgufMetadataEntry[]; tensors?: (t: GgufTensorWithData[]) => GgufTensorWithData[] }) {
  const file = path.join(temp.dir, `${name}.gguf`);
  await writeGgufFile(file, { metadata: (edit.metadata ?? ((m) => m))(metadata), tensors: (edit.tensors ?? ((t) => t))(tensors) });
  return file;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isLoraGgufError(error), `expected a LoraGgufError, got ${String(error)}`).toBe(true);
  return (error as { code: string }).code;
}

const setValue = (key: string, entry: GgufMetadataEntry | undefined) => (m: GgufMetadataEntry[]) =>
  entry ? m.map((e) => (e.key === key ? entry : e)) : m.filter((e) => e.key !== key);

describe("quantize: hostile but well-formed GGUF files", () => {
  it("unknown architecture", async () => {
    const file = await variant("arch-foo", { metadata: setValue("general.architecture", stringEntry("general.architecture", "foo")) });
    expect(await codeOf(quantize(file, path.join(temp.dir, "o1.gguf"), { type: "q8_0" }))).toBe("E_NATIVE");
  });

  it("architecture is not a string", async () => {
    const file = await variant("arch-int", { metadata: setValue("general.architecture", { key: "general.architecture", type: GgufValueType.UINT32, value: 7 }) });
    expect(await codeOf(quantize(file, path.join(temp.dir, "o2.gguf"), { type: "q8_0" }))).toBe("E_WRONG_KIND");
  });

  it("a required hyperparameter is missing", async () => {
    const file = await variant("no-block-count", { metadata: setValue("llama.block_count", undefined) });
    expect(await codeOf(quantize(file, path.join(temp.dir, "o3.gguf"), { type: "q8_0" }))).toBe("E_NATIVE");
  });

  it("hyperparameters llama.cpp's loader would abort on (a GGML_ASSERT kills the process) are refused first", async () => {
    const blocks = (value: number) => setValue("llama.block_count", uint32Entry("llama.block_count", value));
    for (const value of [0, 513, 0xffff_ffff]) {
      const file = await variant(`blocks-${value}`, { metadata: blocks(value) });
      const error = await quantize(file, path.join(temp.dir, `o-blocks-${value}.gguf`), { type: "q8_0" }).then(() => undefined, (e: unknown) => e);
      expect(isLoraGgufError(error, "E_BAD_GGUF"), String(error)).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`llama\\.block_count ${value} \\(it loads 1 to 512 blocks\\)`));
    }
    const experts = await variant("experts-used", { metadata: (m) => [...m, uint32Entry("llama.expert_used_count", 2)] });
    expect(await codeOf(quantize(experts, path.join(temp.dir, "o-experts.gguf"), { type: "q8_0" }))).toBe("E_BAD_GGUF");
    const rope = await variant("rope-type", { metadata: (m) => [...m, stringEntry("llama.rope.scaling.type", "cubic")] });
    expect(await codeOf(quantize(rope, path.join(temp.dir, "o-rope.gguf"), { type: "q8_0" }))).toBe("E_BAD_GGUF");
  });

  it("a LoRA adapter or a vocab-only file is not a model to quantize", async () => {
    const adapter = await variant("adapter", { metadata: (m) => [...m, stringEntry("general.type", "adapter"), stringEntry("adapter.type", "lora")] });
    expect(await codeOf(quantize(adapter, path.join(temp.dir, "o4.gguf"), { type: "q8_0" }))).toBe("E_WRONG_KIND");
    const vocabOnly = await variant("vocab-only", { tensors: () => [] });
    expect(await codeOf(quantize(vocabOnly, path.join(temp.dir, "o5.gguf"), { type: "q8_0" }))).toBe("E_WRONG_KIND");
  });

  it("a tensor with a shape that does not match the architecture", async () => {
    const file = await variant("bad-shape", {
      tensors: (t) => t.map((tensor) => (tensor.name === "blk.0.attn_q.weight" ? { ...tensor, dims: [tensor.dims[0] / 2, tensor.dims[1] * 2] } : tensor)),
    });
    // llama_model_quantize only streams tensors, so it may accept this; it must not crash either way
    const outcome = await quantize(file, path.join(temp.dir, "o6.gguf"), { type: "q8_0" }).then(() => "ok", (e: unknown) => (e as { code: string }).code);
    expect(["ok", "E_NATIVE"]).toContain(outcome);
  });

  it("a block-quantized tensor whose row length is not a multiple of its block size", async () => {
    // written as f32 [48], then its type patched to q4_0 (block size 32) in the tensor info: the writer refuses to make such a file
    const extra = { name: "zz.extra.weight", dims: [48], type: GgmlType.F32, data: new Float32Array(48) };
    const file = await variant("bad-block", { tensors: (t) => [...t, extra] });
    const bytes = readFileSync(file);
    const nameAt = bytes.indexOf(Buffer.from(extra.name));
    const typeAt = nameAt + extra.name.length + 4 + 8 * extra.dims.length;
    expect(bytes.readUInt32LE(typeAt)).toBe(GgmlType.F32);
    bytes.writeUInt32LE(GgmlType.Q4_0, typeAt);
    writeFileSync(file, bytes);
    expect(await codeOf(quantize(file, path.join(temp.dir, "o7.gguf"), { type: "q8_0" }))).toBe("E_BAD_GGUF");
  });
});
