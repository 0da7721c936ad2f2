import { copyFileSync, existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { inspect, isLoraGgufError, quantize } from "../src/index.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { klDivergence, nextTokenProbabilities } from "./helpers/llama-eval.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("quantize");
const f32Model = path.join(temp.dir, "tiny-f32.gguf");
const prompt = "The quick brown fox jumps over";

beforeAll(async () => {
  await writeTinyLlamaGguf(f32Model, { seed: 7 });
});
afterAll(() => temp.cleanup());

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLoraGgufError(error), `expected a LoraGgufError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

describe("quantize: file types and fidelity", () => {
  let reference: Float64Array;
  beforeAll(async () => {
    reference = await nextTokenProbabilities(f32Model, prompt);
  });

  it("the f32 reference distribution is far from uniform (so KL bounds mean something)", () => {
    const max = Math.max(...reference);
    expect(max).toBeGreaterThan(20 / reference.length);
  });

  it("a different model is far away in KL (so the bounds below can fail)", async () => {
    const otherModel = path.join(temp.dir, "other-seed.gguf");
    await writeTinyLlamaGguf(otherModel, { seed: 8 });
    const kl = klDivergence(reference, await nextTokenProbabilities(otherModel, prompt));
    console.log(`KL(f32 || other seed) = ${kl.toExponential(3)}`);
    expect(kl).toBeGreaterThan(1);
  });

  // KL(f32 || quantized) of the next-token distribution, in nats. Measured on this model:
  // f16 1.7e-6, q8_0 6.3e-4, q4_k_m 4.5e-2; the bounds leave about 3-6x headroom.
  const cases = [
    { type: "f16", ftypeName: "F16", tensorType: "f16", klBound: 1e-5 },
    { type: "q8_0", ftypeName: "Q8_0", tensorType: "q8_0", klBound: 3e-3 },
    { type: "Q4_K_M", ftypeName: "Q4_K_M", tensorType: "q4_K", klBound: 0.15 },
  ];
  for (const { type, ftypeName, tensorType, klBound } of cases) {
    it(`${type}: inspect reports the type, node-llama-cpp loads it, KL to f32 < ${klBound}`, async () => {
      const output = path.join(temp.dir, `tiny-${type}.gguf`);
      const result = await quantize(f32Model, output, { type });
      expect(result.type).toBe(ftypeName);
      expect(result.outputBytes).toBeGreaterThan(0);

      const info = await inspect(output);
      expect(info.fileType?.name).toBe(ftypeName);
      const typesOfMatrices = new Set(
        (await inspect(output, { tensors: true })).tensors!.filter((t) => t.dims.length === 2 && /attn_q|ffn_up/.test(t.name)).map((t) => t.type),
      );
      expect([...typesOfMatrices]).toEqual([tensorType]);
      // norms stay f32 whatever the type (llama.cpp keeps 1-d tensors in f32)
      expect(info.tensorTypes.find((s) => s.type === "f32")?.tensorCount).toBeGreaterThan(0);

      const probabilities = await nextTokenProbabilities(output, prompt);
      const kl = klDivergence(reference, probabilities);
      console.log(`KL(f32 || ${type}) = ${kl.toExponential(3)}`);
      expect(kl).toBeLessThan(klBound);
      expect(kl).toBeGreaterThanOrEqual(0);
    });
  }

  for (const [type, ftypeName, tensorType] of [
    ["f32", "F32", "f32"],
    ["bf16", "BF16", "bf16"],
    ["q6_k", "Q6_K", "q6_K"],
    ["q5_k_m", "Q5_K_M", "q5_K"],
    ["q4_0", "Q4_0", "q4_0"],
  ] as const) {
    it(`${type}: written with file type ${ftypeName} and ${tensorType} matrices`, async () => {
      const output = path.join(temp.dir, `typed-${type}.gguf`);
      await quantize(f32Model, output, { type });
      const info = await inspect(output, { tensors: true });
      expect(info.fileType?.name).toBe(ftypeName);
      const attnQ = info.tensors!.find((t) => t.name === "blk.0.attn_q.weight")!;
      expect(attnQ.type).toBe(tensorType);
    });
  }
});

describe("quantize: determinism", () => {
  it("the same input twice gives byte-identical output, whatever the thread count", async () => {
    const first = path.join(temp.dir, "det-1.gguf");
    const second = path.join(temp.dir, "det-2.gguf");
    await quantize(f32Model, first, { type: "q4_k_m", threads: 1 });
    await quantize(f32Model, second, { type: "q4_k_m", threads: 2 });
    expect(readFileSync(first).equals(readFileSync(second))).toBe(true);
  });
});

describe("quantize: bad input gets typed errors", () => {
  it("not a GGUF file", async () => {
    const file = path.join(temp.dir, "not-a-gguf.gguf");
    writeFileSync(file, "this is a text file, not a model\n".repeat(20));
    await expectCode(quantize(file, path.join(temp.dir, "out-text.gguf"), { type: "q8_0" }), "E_BAD_GGUF");
  });

  it("truncated GGUF, cut at several offsets", async () => {
    const size = readFileSync(f32Model).length;
    const header = (await import("../src/gguf/index.js")).readGgufHeader;
    const { dataOffset } = await header(f32Model);
    const cuts = [0, 3, 4, 8, 16, 24, 100, 1000, Math.floor(dataOffset / 2), dataOffset - 1, dataOffset + 10, Math.floor(size / 2), size - 1];
    for (const cut of cuts) {
      const file = path.join(temp.dir, `cut-${cut}.gguf`);
      copyFileSync(f32Model, file);
      truncateSync(file, cut);
      await expectCode(quantize(file, path.join(temp.dir, `out-cut-${cut}.gguf`), { type: "q8_0" }), "E_BAD_GGUF");
      expect(existsSync(path.join(temp.dir, `out-cut-${cut}.gguf`))).toBe(false);
    }
  });

  it("missing input, unknown type name, output directory missing, output exists without force", async () => {
    await expectCode(quantize(path.join(temp.dir, "nope.gguf"), path.join(temp.dir, "o.gguf"), { type: "q8_0" }), "E_INPUT_NOT_FOUND");
    await expectCode(quantize(f32Model, path.join(temp.dir, "o.gguf"), { type: "q3_x" }), "E_UNKNOWN_TYPE");
    await expectCode(quantize(f32Model, path.join(temp.dir, "missing-dir", "o.gguf"), { type: "q8_0" }), "E_OUTPUT_DIR");
    const existing = path.join(temp.dir, "existing.gguf");
    writeFileSync(existing, "keep me");
    await expectCode(quantize(f32Model, existing, { type: "q8_0" }), "E_OUTPUT_EXISTS");
    expect(readFileSync(existing, "utf8")).toBe("keep me");
    await quantize(f32Model, existing, { type: "q8_0", force: true });
    expect((await inspect(existing)).fileType?.name).toBe("Q8_0");
  });

  it("options are validated before any work", async () => {
    await expectCode(quantize(f32Model, path.join(temp.dir, "o.gguf"), { type: "q8_0", threads: 0 }), "E_INVALID_OPTION");
    await expectCode(quantize(f32Model, path.join(temp.dir, "o.gguf"), { type: "q8_0", thread: 2 } as never), "E_INVALID_OPTION");
    await expectCode(quantize(f32Model, path.join(temp.dir, "o.gguf"), { type: "iq2_xxs" }), "E_NEEDS_IMATRIX");
    await expectCode(quantize(f32Model, f32Model, { type: "q8_0", force: true }), "E_INVALID_OPTION");
  });

  it("an already-quantized input is refused unless allowRequantize", async () => {
    const q8 = path.join(temp.dir, "req-q8.gguf");
    await quantize(f32Model, q8, { type: "q8_0" });
    await expectCode(quantize(q8, path.join(temp.dir, "req-q4.gguf"), { type: "q4_0" }), "E_REQUANTIZE");
    const result = await quantize(q8, path.join(temp.dir, "req-q4.gguf"), { type: "q4_0", allowRequantize: true });
    expect(result.type).toBe("Q4_0");
  });

  it("leaves no temp files behind after failures", () => {
    const leftovers = readdirSync(temp.dir).filter((name) => name.includes(".tmp-"));
    expect(leftovers).toEqual([]);
  });
});

describe("quantize: runs off the JS thread and can be cancelled", () => {
  const bigModel = path.join(temp.dir, "medium-f32.gguf");
  beforeAll(async () => {
    // large enough that q4_k_m takes a noticeable time on two cores
    await writeTinyLlamaGguf(bigModel, { seed: 3, nLayer: 8, nEmbd: 512, nFf: 1536, nHead: 8, nHeadKv: 4 });
  });

  it("the event loop keeps turning while quantize runs", async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 5);
    const started = performance.now();
    let progressEvents = 0;
    await quantize(bigModel, path.join(temp.dir, "medium-q4.gguf"), { type: "q4_k_m", onProgress: () => (progressEvents += 1) });
    const elapsedMs = performance.now() - started;
    clearInterval(timer);
    console.log(`quantize took ${elapsedMs.toFixed(0)} ms; ${ticks} timer ticks (expected ~${Math.floor(elapsedMs / 5)}), ${progressEvents} progress events`);
    expect(elapsedMs).toBeGreaterThan(200);
    // a blocked loop would give ~0 ticks; allow for timer coarseness under load
    expect(ticks).toBeGreaterThan((elapsedMs / 5) * 0.3);
    expect(progressEvents).toBeGreaterThan(10);
  });

  it("an abort rejects promptly with the abort reason and leaves no file", async () => {
    const output = path.join(temp.dir, "aborted.gguf");
    const controller = new AbortController();
    const reason = new Error("user pressed stop");
    let abortedAt = 0;
    const promise = quantize(bigModel, output, {
      type: "q4_k_m",
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.tensorsDone === 3) {
          abortedAt = performance.now();
          controller.abort(reason);
        }
      },
    });
    await expect(promise).rejects.toBe(reason);
    const latencyMs = performance.now() - abortedAt;
    console.log(`abort latency ${latencyMs.toFixed(0)} ms`);
    expect(latencyMs).toBeLessThan(1000);
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(temp.dir).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("an already-aborted signal rejects before any work", async () => {
    const controller = new AbortController();
    controller.abort(new Error("early"));
    await expect(quantize(bigModel, path.join(temp.dir, "never.gguf"), { type: "q8_0", signal: controller.signal })).rejects.toThrow("early");
  });
});


