// merge against llama.cpp applying the same adapters at run time (node-llama-cpp).
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { inspect, isLoraGgufError, merge, quantize, readGgufHeader, stringEntry, writeGgufFile } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { klDivergence, maxAbsDifferenceOfRows, tokenSequenceProbabilities } from "./helpers/llama-eval.js";
import { tensorBytesByName, runMetrics } from "./helpers/run-outputs.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";

const temp = makeTempDir("merge");
const base = path.join(temp.dir, "base.gguf");
const adapterA = path.join(temp.dir, "adapter-a.gguf");
const adapterB = path.join(temp.dir, "adapter-b.gguf");
const zeroAdapter = path.join(temp.dir, "adapter-zero.gguf");
const sequences = [[1, 300, 400, 500, 600], [1, 20, 21, 22, 23, 24, 25]];

beforeAll(async () => {
  await writeTinyLlamaGguf(base, { seed: 17, nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, vocabSize: 1024 });
  await writeRandomAdapter(base, adapterA, { rank: 8, alpha: 16, seed: 1, bStd: 0.05 });
  await writeRandomAdapter(base, adapterB, { rank: 4, alpha: 4, seed: 2, bStd: 0.05 });
  await writeRandomAdapter(base, zeroAdapter, { rank: 8, alpha: 16, seed: 3, bStd: 0 });
});
afterAll(() => temp.cleanup());

/** The merged model against base + adapter applied at run time (error), and the adapter's own effect on the base. */
async function mergedAgainstRuntime(model: string, adapterPath: string, merged: string): Promise<{ error: number; effect: number }> {
  const runtime = await tokenSequenceProbabilities(model, sequences, { adapterPath });
  const error = maxAbsDifferenceOfRows(await tokenSequenceProbabilities(merged, sequences), runtime);
  const effect = maxAbsDifferenceOfRows(await tokenSequenceProbabilities(model, sequences), runtime);
  return { error, effect };
}

describe("merge", () => {
  it("f32 base: the merged model equals base + adapter applied at run time within 1e-4", async () => {
    const output = path.join(temp.dir, "merged-a.gguf");
    const result = await merge({ model: base, adapters: [{ path: adapterA }], output });
    expect(result.mergedTensorCount).toBe(2 * 7);
    const { error, effect } = await mergedAgainstRuntime(base, adapterA, output);
    console.log(`merged vs runtime adapter: ${error.toExponential(2)}; adapter effect ${effect.toFixed(4)}`);
    expect(effect).toBeGreaterThan(1e-3);
    expect(error).toBeLessThan(1e-4);
  });

  // phi3: fused attn_qkv and ffn_up; gemma2: tied output, softcaps, post norms; gemma3: q/k norms, a sliding-window layer
  it.each([
    { architecture: "phi3", targets: 4, modules: ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"] },
    { architecture: "gemma2", targets: 7, modules: ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"] },
    { architecture: "gemma3", targets: 7, modules: ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"] },
  ] as const)("$architecture: the merged model equals base + adapter applied at run time within 1e-4; the adapter exports to PEFT", async ({ architecture, targets, modules }) => {
    const { writeTinyModelGguf } = await import("../src/testing/tiny-model.js");
    const model = path.join(temp.dir, `${architecture}.gguf`);
    await writeTinyModelGguf(model, { architecture, seed: 17, nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, vocabSize: 1024 });
    const adapter = path.join(temp.dir, `${architecture}-adapter.gguf`);
    await writeRandomAdapter(model, adapter, { rank: 8, alpha: 16, seed: 1, bStd: 0.05 });
    const output = path.join(temp.dir, `merged-${architecture}.gguf`);
    const result = await merge({ model, adapters: [{ path: adapter }], output });
    expect(result.mergedTensorCount).toBe(2 * targets);
    const { error, effect } = await mergedAgainstRuntime(model, adapter, output);
    console.log(`${architecture} merged vs runtime adapter: ${error.toExponential(2)}; adapter effect ${effect.toFixed(4)}`);
    expect(effect).toBeGreaterThan(1e-3);
    expect(error).toBeLessThan(1e-4);

    // and the same adapter exports to PEFT under the family's module names (Phi-3's fused ones)
    const { exportPeft } = await import("../src/index.js");
    const exported = await exportPeft(adapter, path.join(temp.dir, `${architecture}-peft`));
    expect(exported.targetModules).toEqual(modules);
  });

  it("two adapters with scales equal their run-time combination", async () => {
    const output = path.join(temp.dir, "merged-ab.gguf");
    await merge({ model: base, adapters: [{ path: adapterA, scale: 1 }, { path: adapterB, scale: 0.5 }], output });
    const merged = await tokenSequenceProbabilities(output, sequences);
    const runtime = await tokenSequenceProbabilities(base, sequences, { adapters: [{ filePath: adapterA, scale: 1 }, { filePath: adapterB, scale: 0.5 }] });
    expect(maxAbsDifferenceOfRows(merged, runtime)).toBeLessThan(1e-4);
  });

  it("a zero-B adapter leaves every tensor's bytes exactly as they were", async () => {
    const output = path.join(temp.dir, "merged-zero.gguf");
    await merge({ model: base, adapters: [{ path: zeroAdapter }], output });
    const before = await tensorBytesByName(base);
    const after = await tensorBytesByName(output);
    for (const [name, bytes] of before) expect(after.get(name)!.equals(bytes), name).toBe(true);
  });

  it("q8_0 base: merged and requantized stays close to the run-time combination; --type quantizes the result", async () => {
    const q8 = path.join(temp.dir, "base-q8_0.gguf");
    await quantize(base, q8, { type: "q8_0" });
    const output = path.join(temp.dir, "merged-q8.gguf");
    await merge({ model: q8, adapters: [{ path: adapterA }], output });
    expect((await inspect(output, { tensors: true })).tensors!.find((t) => t.name === "blk.0.attn_q.weight")!.type).toBe("q8_0");
    const merged = await tokenSequenceProbabilities(output, sequences);
    const runtime = await tokenSequenceProbabilities(q8, sequences, { adapterPath: adapterA });
    const kl = Math.max(...merged.map((row, index) => klDivergence(runtime[index], row)));
    console.log(`q8_0: KL(runtime || merged) = ${kl.toExponential(2)}`);
    // measured 7e-4 (requantizing the merged weights to q8_0); without the adapter it is > 1e-2
    expect(kl).toBeLessThan(2e-3);

    const quantized = path.join(temp.dir, "merged-q4.gguf");
    const result = await merge({ model: base, adapters: [{ path: adapterA }], output: quantized, type: "q4_k_m" });
    expect(result.type).toBe("Q4_K_M");
    expect((await inspect(quantized)).fileType?.name).toBe("Q4_K_M");
  });

  it("bad input: another architecture, wrong shapes, a bad scale, missing files; nothing written", async () => {
    const attempt = async (options: Parameters<typeof merge>[0]) => {
      const error = await merge(options).then(() => undefined, (e: unknown) => e);
      expect(isLoraGgufError(error), String(error)).toBe(true);
      return error as { code: string; message: string };
    };
    const out = path.join(temp.dir, "never.gguf");
    const other = path.join(temp.dir, "other.gguf");
    await writeTinyLlamaGguf(other, { seed: 2, nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, nFf: 256, vocabSize: 1024 });
    const otherAdapter = path.join(temp.dir, "other-adapter.gguf");
    await writeRandomAdapter(other, otherAdapter, { rank: 4, alpha: 8, seed: 1, bStd: 0.05 });
    expect((await attempt({ model: base, adapters: [{ path: otherAdapter }], output: out })).code).toBe("E_ADAPTER_MISMATCH");
    // the same adapter, labelled as another architecture's
    const header = await readGgufHeader(adapterA);
    const bytes = readFileSync(adapterA);
    const relabelled = path.join(temp.dir, "qwen2-labelled.gguf");
    await writeGgufFile(relabelled, {
      metadata: header.metadata.map((entry) => (entry.key === "general.architecture" ? stringEntry(entry.key, "qwen2") : entry)),
      tensors: header.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: bytes.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize) })),
    });
    const architecture = await attempt({ model: base, adapters: [{ path: relabelled }], output: out });
    expect(architecture.code).toBe("E_ADAPTER_MISMATCH");
    expect(architecture.message).toMatch(/is for qwen2 but .* is llama/);
    expect((await attempt({ model: base, adapters: [{ path: adapterA, scale: Number.NaN }], output: out })).code).toBe("E_INVALID_OPTION");
    expect((await attempt({ model: base, adapters: [{ path: path.join(temp.dir, "missing.gguf") }], output: out })).code).toBe("E_INPUT_NOT_FOUND");
    expect((await attempt({ model: adapterA, adapters: [{ path: adapterA }], output: out })).code).toBe("E_WRONG_KIND");
    expect((await attempt({ model: base, adapters: [{ path: base }], output: out })).code).toBe("E_WRONG_KIND");
    expect(readFileSync(base).length).toBeGreaterThan(0);
    expect(await readGgufHeader(out).catch((e: { code: string }) => e.code)).toBe("E_INPUT_NOT_FOUND");
  });
});

describe("lora-gguf merge", () => {
  it("merges from the CLI with a scale, and rejects a scale that is not a number (exit 2)", async () => {
    const { spawnSync } = await import("node:child_process");
    const { packageRoot } = await import("../src/native.js");
    const cli = path.join(packageRoot, "dist", "cli", "main.js");
    const output = path.join(temp.dir, "cli-merged.gguf");
    const ok = spawnSync(process.execPath, [cli, "merge", "--model", base, "--lora", `${adapterA}:0.5`, "-o", output, "--json"], { encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).mergedTensorCount).toBe(14);
    const viaApi = path.join(temp.dir, "api-merged.gguf");
    await merge({ model: base, adapters: [{ path: adapterA, scale: 0.5 }], output: viaApi });
    expect(readFileSync(output).equals(readFileSync(viaApi))).toBe(true);
    const bad = spawnSync(process.execPath, [cli, "merge", "--model", base, "--lora", `${adapterA}:abc`, "-o", path.join(temp.dir, "x.gguf")], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/scale after ':' must be a number/);
  });
});
