import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { GgmlType, GgufValueType, inspect, isLoraGgufError, stringEntry, writeGgufFile } from "../src/index.js";
import { llamaSourceDir, writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("inspect");
afterAll(() => temp.cleanup());

describe("inspect", () => {
  it("a model: architecture, parameters, file type, context, tokenizer, chat template, tensor types", async () => {
    const file = path.join(temp.dir, "chat.gguf");
    await writeTinyLlamaGguf(file, { seed: 1, weightType: "f16", chatTemplate: "{% for m in messages %}{{ m.content }}{% endfor %}" });
    const info = await inspect(file, { tensors: true });
    expect(info.kind).toBe("model");
    expect(info.architecture).toBe("llama");
    expect(info.contextLength).toBe(512);
    expect(info.fileType).toEqual({ name: "F16", id: 1 });
    expect(info.tokenizer).toEqual({ model: "llama", pre: "default", tokenCount: 4096 });
    expect(info.hasChatTemplate).toBe(true);
    // 2 layers of (q, o: 256x256; k, v: 256x128; gate, up, down: 256x512; two norms) + embeddings, output and output norm
    const perLayer = 2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 512 + 2 * 256;
    expect(info.parameterCount).toBe(2 * perLayer + 2 * 4096 * 256 + 256);
    expect(info.tensorTypes.map((s) => [s.type, s.tensorCount])).toEqual([["f16", 16], ["f32", 5]]);
    expect(info.tensors!.find((t) => t.name === "blk.1.attn_k.weight")).toMatchObject({ type: "f16", dims: [256, 128], bytes: 256 * 128 * 2 });
  });

  it("a model without a chat template says so", async () => {
    const file = path.join(temp.dir, "plain.gguf");
    await writeTinyLlamaGguf(file, { seed: 1 });
    expect((await inspect(file)).hasChatTemplate).toBe(false);
  });

  it("a LoRA adapter: type, rank, alpha and targets", async () => {
    const file = path.join(temp.dir, "adapter.gguf");
    const rank = 8;
    const targets = ["blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.1.ffn_down.weight"];
    await writeGgufFile(file, {
      metadata: [
        stringEntry("general.architecture", "llama"),
        stringEntry("general.type", "adapter"),
        stringEntry("adapter.type", "lora"),
        { key: "adapter.lora.alpha", type: GgufValueType.FLOAT32, value: 16 },
      ],
      tensors: targets.flatMap((name) => [
        { name: `${name}.lora_a`, dims: [256, rank], type: GgmlType.F32, data: new Float32Array(256 * rank) },
        { name: `${name}.lora_b`, dims: [rank, 256], type: GgmlType.F32, data: new Float32Array(256 * rank) },
      ]),
    });
    const info = await inspect(file);
    expect(info.kind).toBe("adapter");
    expect(info.adapter).toEqual({ adapterType: "lora", alpha: 16, rank, targetCount: 3, targets });
    expect(info.parameterCount).toBe(3 * 2 * 256 * rank);
  });

  it("a vocabulary-only file", async () => {
    const info = await inspect(path.join(llamaSourceDir(), "models", "ggml-vocab-qwen2.gguf"));
    expect(info.kind).toBe("vocab");
    expect(info.tokenizer?.model).toBe("gpt2");
    expect(info.tokenizer?.pre).toBe("qwen2");
    expect(info.tokenizer?.tokenCount).toBeGreaterThan(150_000);
  });

  it("a file that is not a GGUF is a typed error", async () => {
    const error = await inspect(path.join(llamaSourceDir(), "README.md")).catch((e: unknown) => e);
    expect(isLoraGgufError(error, "E_BAD_GGUF")).toBe(true);
  });
});
