// Bad input to train(): typed errors before any work where possible, never a crash, never a partial adapter.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GgmlType, isLoraGgufError, readGgufHeader, stringEntry, train, writeGgufFile } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("train-errors");
const model = path.join(temp.dir, "base.gguf");
const data = path.join(temp.dir, "colours.jsonl");
const out = (name: string) => {
  const dir = path.join(temp.dir, name);
  mkdirSync(dir, { recursive: true });
  return path.join(dir, "adapter.gguf");
};

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 8, chatTemplate: instTemplate });
  writeMemorizationJsonl(data);
});
afterAll(() => temp.cleanup());

async function codeOf(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(isLoraGgufError(error), `expected a LoraGgufError, got ${String(error)}`).toBe(true);
  return error as { code: string; message: string };
}

describe("train: bad input", () => {
  it("an empty dataset", async () => {
    const empty = path.join(temp.dir, "empty.jsonl");
    writeFileSync(empty, "");
    const output = out("empty");
    expect((await codeOf(train({ model, data: empty, output }))).code).toBe("E_BAD_DATASET");
    expect(existsSync(output)).toBe(false);
  });

  it("an unknown format, unknown options and bad values", async () => {
    expect((await codeOf(train({ model, data, output: out("format"), format: "parquet" as never }))).code).toBe("E_INVALID_OPTION");
    expect((await codeOf(train({ model, data, output: out("option"), ranks: 4 } as never))).message).toMatch(/unknown option "ranks"/);
    expect((await codeOf(train({ model, data, output: out("ctx"), contextLength: 300 }))).message).toMatch(/multiple of 256/);
    expect((await codeOf(train({ model, data, output: out("targets"), targets: ["q", "qkv"] }))).message).toMatch(
      /llama keeps its projections separate, so "qkv" is not a LoRA target of it; use q, k, v \(q_proj, k_proj, v_proj\); its targets are q, k, v, o, gate, up, down$/,
    );
    expect((await codeOf(train({ model, data, output: out("targets"), targets: ["q", "qkvo"] }))).message).toMatch(/unknown LoRA target "qkvo"/);
  });

  it("rows missing fields: the file and line, or skipped and reported", async () => {
    const bad = path.join(temp.dir, "bad-rows.jsonl");
    const good = readFileSync(data, "utf8").trim().split("\n");
    writeFileSync(bad, [good[0], JSON.stringify({ messages: [{ role: "user", content: "hi" }] }), good[1], JSON.stringify({ messages: [{ role: "robot", content: "x" }, { role: "assistant", content: "y" }] })].join("\n") + "\n");
    const error = await codeOf(train({ model, data: bad, output: out("rows") }));
    expect(error.code).toBe("E_BAD_DATASET");
    expect(error.message).toContain(`${bad}:2:`);
    const skipped = await train({ model, data: bad, output: out("rows-skip"), onBadRow: "skip", maxSteps: 1 });
    expect(skipped.skippedRows.length).toBe(2);
    expect(skipped.skippedRows[0]).toContain(`${bad}:2:`);
  });

  it("a row whose prompt fills the whole context", async () => {
    const long = path.join(temp.dir, "long-prompt.jsonl");
    const prompt = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    writeFileSync(long, [JSON.stringify({ messages: [{ role: "user", content: prompt }, { role: "assistant", content: "ok" }] }), readFileSync(data, "utf8").split("\n")[0]].join("\n") + "\n");
    const error = await codeOf(train({ model, data: long, output: out("long"), contextLength: 256 }));
    expect(error.code).toBe("E_BAD_DATASET");
    expect(error.message).toMatch(/long-prompt\.jsonl:1: nothing to learn within 256 tokens/);
    const skipped = await train({ model, data: long, output: out("long-skip"), contextLength: 256, onBadRow: "skip", maxSteps: 1 });
    expect(skipped.skippedSamples.length).toBe(1);
  });

  it("a run that would not fit in memory is refused before the model is loaded, with suggestions", async () => {
    const output = out("oom");
    const error = await codeOf(train({ model, data, output, contextLength: 256 * 1024 }));
    expect(error.code).toBe("E_OOM_ESTIMATE");
    expect(error.message).toMatch(/needs about .* but .* is available\. Try: .*context/);
    expect(existsSync(output)).toBe(false);
  });

  it("a base with a matrix of a type no backend multiplies with (i32) is refused before loading", async () => {
    const header = await readGgufHeader(model);
    const bytes = readFileSync(model);
    // i32 has f32's element size, so the f32 bytes stand in as they are
    const tensors = header.tensors.map((t) => ({
      name: t.name, dims: t.dims, type: t.name === "blk.0.attn_q.weight" ? GgmlType.I32 : t.type, data: bytes.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize),
    }));
    const i32 = path.join(temp.dir, "base-i32.gguf");
    await writeGgufFile(i32, { metadata: header.metadata, tensors });
    const error = await codeOf(train({ model: i32, data, output: out("i32") }));
    expect(error.code).toBe("E_UNSUPPORTED_TYPE");
    expect(error.message).toMatch(/blk\.0\.attn_q\.weight in .* is i32, .*quantize it to bf16, q8_0 or q4_k_m first/);
  });

  it("a base of an unsupported architecture, and an adapter given as the model", async () => {
    const header = await readGgufHeader(model);
    const bytes = readFileSync(model);
    const tensors = header.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: bytes.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize) }));
    const other = path.join(temp.dir, "gpt2.gguf");
    await writeGgufFile(other, { metadata: header.metadata.map((e) => (e.key === "general.architecture" ? stringEntry(e.key, "gpt2") : e)), tensors });
    const error = await codeOf(train({ model: other, data, output: out("arch") }));
    expect(error.code).toBe("E_UNSUPPORTED_ARCH");
    expect(error.message).toMatch(/llama, qwen2, qwen3/);

    const adapterOutput = out("adapter-as-model");
    const adapter = await train({ model, data, output: adapterOutput, maxSteps: 1 });
    expect((await codeOf(train({ model: adapter.adapter, data, output: out("adapter-model") }))).code).toBe("E_WRONG_KIND");
  });

  it("an abort mid-run rejects with the reason, saves a checkpoint and writes no adapter; the event loop kept turning", async () => {
    const controller = new AbortController();
    const output = out("abort");
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    const started = performance.now();
    const reason = new Error("stop now");
    const error = await train({
      model,
      data,
      output,
      epochs: 200,
      threads: 2,
      onProgress: (progress) => {
        if (progress.step === 20) controller.abort(reason);
      },
      signal: controller.signal,
    }).catch((e: unknown) => e);
    clearInterval(timer);
    const elapsedMs = performance.now() - started;
    expect(error).toBe(reason);
    expect(existsSync(output)).toBe(false);
    const checkpoint = await readGgufHeader(path.join(path.dirname(output), "checkpoint.gguf"));
    expect(Number(checkpoint.metadataByKey.get("lora_gguf.checkpoint.step")?.value)).toBe(20);
    console.log(`aborted after ${elapsedMs.toFixed(0)} ms with ${ticks} timer ticks`);
    expect(ticks).toBeGreaterThan((elapsedMs / 5) * 0.3);
  });
});

describe("train: the run's files", () => {
  it("a second run into a folder that holds another run's files is refused before any work, naming the file; force overwrites; the adapter may not take their names", async () => {
    const first = await train({ model, data, output: out("two-runs"), maxSteps: 2, threads: 2 });
    const checkpointBefore = readFileSync(first.checkpoint);
    const other = path.join(path.dirname(first.adapter), "other.gguf");
    const refused = await codeOf(train({ model, data, output: other, maxSteps: 1, threads: 2 }));
    expect(refused.code).toBe("E_OUTPUT_EXISTS");
    expect(refused.message).toMatch(/training\.json, written beside the adapter\).*already exists/);
    expect(readFileSync(first.checkpoint).equals(checkpointBefore)).toBe(true);
    expect(existsSync(other)).toBe(false);

    const forced = await train({ model, data, output: other, maxSteps: 1, threads: 2, force: true });
    expect(forced.checkpoint).toBe(first.checkpoint);
    expect(readFileSync(forced.metrics, "utf8").trim().split("\n")).toHaveLength(1);

    const clash = await codeOf(train({ model, data, output: path.join(path.dirname(first.adapter), "checkpoint.gguf"), maxSteps: 1, force: true }));
    expect(clash.code).toBe("E_INVALID_OPTION");
    // nothing but the runs' own files: no temp file (start adapter, partial writes) was left beside them
    expect((await import("node:fs")).readdirSync(path.dirname(first.adapter)).sort()).toEqual(
      ["adapter.gguf", "checkpoint.gguf", "loss.svg", "metrics.jsonl", "other.gguf", "training.json"],
    );
  });
});

describe("train, generate: models llama.cpp's loaders would abort on are refused first", () => {
  it("two equal token strings, a tokenizer model llama.cpp cannot use, a block count past LLAMA_MAX_LAYERS", async () => {
    const { dryRunTraining, generate } = await import("../src/index.js");
    const { tensorBytesByName } = await import("./helpers/run-outputs.js");
    const header = await readGgufHeader(model);
    const bytes = await tensorBytesByName(model);
    const variant = async (name: string, edit: (entry: (typeof header.metadata)[number]) => (typeof header.metadata)[number]) => {
      const file = path.join(temp.dir, name);
      await writeGgufFile(file, {
        metadata: header.metadata.map(edit),
        tensors: header.tensors.map((tensor) => ({ name: tensor.name, dims: tensor.dims, type: tensor.type, data: bytes.get(tensor.name)! })),
      });
      return file;
    };
    const duplicated = await variant("duplicated-token.gguf", (entry) =>
      entry.key === "tokenizer.ggml.tokens" ? { ...entry, value: (entry.value as string[]).map((token, id) => (id === 7 ? (entry.value as string[])[5] : token)) } : entry,
    );
    const noVocabulary = await variant("tokenizer-none.gguf", (entry) => (entry.key === "tokenizer.ggml.model" ? stringEntry(entry.key, "none") : entry));
    const blocks = await variant("blocks.gguf", (entry) => (entry.key === "llama.block_count" ? { ...entry, value: 0xffffffff } : entry));
    for (const [file, code, message] of [
      [duplicated, "E_BAD_GGUF", /twice in tokenizer\.ggml\.tokens \(ids 5 and 7\)/],
      [noVocabulary, "E_UNSUPPORTED_TOKENIZER", /tokenizer\.ggml\.model "none"/],
      [blocks, "E_BAD_GGUF", /block_count 4294967295/],
    ] as const) {
      const dryRun = await codeOf(dryRunTraining({ model: file, data, output: out("loader-checks") }));
      expect([dryRun.code, dryRun.message]).toEqual([code, expect.stringMatching(message)]);
      const generated = await codeOf(generate({ model: file, prompt: "hi", maxTokens: 1 }));
      expect(generated.code).toBe(code);
    }
  });
});
