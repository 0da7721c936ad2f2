import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { openCheckpointTensors, readTensorBytes } from "../src/convert/safetensors.js";
import { writeSafetensorsFile, type SafetensorsTensorWithData } from "../src/convert/safetensors-writer.js";
import { writeTinyHfCheckpoint, type TinyHfArchitecture, type TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { hfRotaryInverseFrequencies, loadHfReferenceModel } from "./helpers/hf-reference-forward.js";
import { maxAbsDifference } from "./helpers/llama-eval.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("hf-reference");
afterAll(() => temp.cleanup());

let dirCounter = 0;
function tempDir(name: string): string {
  return path.join(temp.dir, `${dirCounter++}-${name}`);
}

const architectures: readonly TinyHfArchitecture[] = ["llama", "mistral", "qwen2", "qwen3"];
const dtypes = ["float32", "bfloat16"] as const;

function tinyOptions(architecture: TinyHfArchitecture, dtype: "float32" | "bfloat16"): TinyHfCheckpointOptions {
  return {
    architecture,
    seed: 11,
    dtype,
    nLayer: 2,
    hiddenSize: 32,
    nHead: 4,
    nKvHead: 2,
    // qwen3 with a head size independent of the width (q is 64 wide); qwen2 and mistral from hidden / heads.
    headDim: architecture === "qwen3" ? 16 : architecture === "llama" ? 8 : undefined,
    intermediateSize: 48,
    vocabSize: 40,
    maxPositionEmbeddings: 256,
    ropeTheta: architecture === "llama" ? 500_000 : 1_000_000,
    rmsNormEps: architecture === "qwen2" || architecture === "qwen3" ? 1e-6 : 1e-5,
  };
}

const prompt = [3, 17, 5, 29, 8, 8, 1];

function softmax(values: number[]): number[] {
  const max = Math.max(...values);
  const exps = values.map((value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

function rms(values: number[], eps: number): number {
  return Math.sqrt(values.reduce((sum, value) => sum + value * value, 0) / values.length + eps);
}

const dot = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * b[index], 0);

/**
 * Copies a checkpoint into one model.safetensors, passing every tensor's raw bytes through
 * `transform` (dtype-agnostic, so bf16 values are moved, never rounded) and config.json through
 * `patchConfig`.
 */
async function rewriteCheckpoint(
  source: string,
  target: string,
  transform: (name: string, bytes: Uint8Array, shape: number[], itemBytes: number) => Uint8Array,
  patchConfig: (config: Record<string, unknown>) => Record<string, unknown> = (config) => config,
  extraTensors: SafetensorsTensorWithData[] = [],
): Promise<void> {
  await mkdir(target, { recursive: true });
  const config = JSON.parse(await readFile(path.join(source, "config.json"), "utf8")) as Record<string, unknown>;
  await writeFile(path.join(target, "config.json"), JSON.stringify(patchConfig(config), null, 2));
  const tensors: SafetensorsTensorWithData[] = [];
  for (const [name, entry] of await openCheckpointTensors(source)) {
    const itemBytes = entry.info.dtype === "BF16" ? 2 : 4;
    tensors.push({ name, dtype: entry.info.dtype, shape: entry.info.shape, data: transform(name, await readTensorBytes(entry), entry.info.shape, itemBytes) });
  }
  await writeSafetensorsFile(path.join(target, "model.safetensors"), { tensors: [...tensors, ...extraTensors] });
}

/** Reorders blocks of `blockRows` rows: block i of the result is block order[i] of `bytes`. */
function permuteRowBlocks(bytes: Uint8Array, rowBytes: number, blockRows: number, order: readonly number[]): Uint8Array {
  const blockBytes = rowBytes * blockRows;
  const result = new Uint8Array(bytes.length);
  order.forEach((from, to) => result.set(bytes.subarray(from * blockBytes, (from + 1) * blockBytes), to * blockBytes));
  return result;
}

/** The same within each row, for blocks of `blockColumns` columns. */
function permuteColumnBlocks(bytes: Uint8Array, rows: number, itemBytes: number, blockColumns: number, order: readonly number[]): Uint8Array {
  const rowBytes = bytes.length / rows;
  const result = new Uint8Array(bytes.length);
  for (let row = 0; row < rows; row++) {
    const rowData = bytes.subarray(row * rowBytes, (row + 1) * rowBytes);
    result.set(permuteRowBlocks(rowData, itemBytes, blockColumns, order), row * rowBytes);
  }
  return result;
}

/** Moves query heads by `queryOrder` and key/value heads by `kvOrder` in every weight that has a head axis. */
function headPermutation(headDim: number, queryOrder: readonly number[], kvOrder: readonly number[]) {
  return (name: string, bytes: Uint8Array, shape: number[], itemBytes: number): Uint8Array => {
    const rowBytes = shape.length === 2 ? shape[1] * itemBytes : itemBytes;
    if (/\.q_proj\.(weight|bias)$/.test(name)) return permuteRowBlocks(bytes, rowBytes, headDim, queryOrder);
    if (/\.[kv]_proj\.(weight|bias)$/.test(name)) return permuteRowBlocks(bytes, rowBytes, headDim, kvOrder);
    if (name.endsWith(".o_proj.weight")) return permuteColumnBlocks(bytes, shape[0], itemBytes, headDim, queryOrder);
    return bytes;
  };
}

describe("reference forward against a hand-computed model", () => {
  // One layer, hidden 4, one head of size 4, rope_theta 100 (inverse frequencies 1 and 0.1), tokens
  // [0, 1]. Embeddings are unit vectors, q/k/v/o the identity, the MLP adds silu(m0) * m1 to
  // element 2 and lm_head reads elements 0..2. Every step at the last position is written out below.
  const eps = 1e-5;
  const identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  // Exact in float32, so the stored biases are these numbers.
  const biasQ = 0.375;
  const biasK = 0.75;
  const biasV = 0.25;

  async function handModel(architecture: TinyHfArchitecture): Promise<string> {
    const dir = tempDir(`hand-${architecture}`);
    await writeTinyHfCheckpoint(dir, {
      architecture,
      seed: 0,
      dtype: "float32",
      nLayer: 1,
      hiddenSize: 4,
      nHead: 1,
      nKvHead: 1,
      headDim: 4,
      intermediateSize: 2,
      vocabSize: 3,
      maxPositionEmbeddings: 16,
      ropeTheta: 100,
      rmsNormEps: eps,
    });
    const f32 = (name: string, shape: number[], values: number[]): SafetensorsTensorWithData => ({ name, dtype: "F32", shape, data: Float32Array.from(values) });
    const layer = "model.layers.0";
    const tensors = [
      f32("model.embed_tokens.weight", [3, 4], identity.slice(0, 12)),
      f32(`${layer}.input_layernorm.weight`, [4], [1, 1, 1, 1]),
      f32(`${layer}.self_attn.q_proj.weight`, [4, 4], identity),
      f32(`${layer}.self_attn.k_proj.weight`, [4, 4], identity),
      f32(`${layer}.self_attn.v_proj.weight`, [4, 4], identity),
      f32(`${layer}.self_attn.o_proj.weight`, [4, 4], identity),
      f32(`${layer}.post_attention_layernorm.weight`, [4], [1, 1, 1, 1]),
      f32(`${layer}.mlp.gate_proj.weight`, [2, 4], [1, 0, 0, 0, 0, 0, 0, 0]),
      f32(`${layer}.mlp.up_proj.weight`, [2, 4], [0, 1, 0, 0, 0, 0, 0, 0]),
      f32(`${layer}.mlp.down_proj.weight`, [4, 2], [0, 0, 0, 0, 1, 0, 0, 0]),
      f32("model.norm.weight", [4], [1, 1, 1, 1]),
      f32("lm_head.weight", [3, 4], identity.slice(0, 12)),
    ];
    if (architecture === "qwen2") {
      tensors.push(
        f32(`${layer}.self_attn.q_proj.bias`, [4], [biasQ, 0, 0, 0]),
        f32(`${layer}.self_attn.k_proj.bias`, [4], [0, 0, biasK, 0]),
        f32(`${layer}.self_attn.v_proj.bias`, [4], [0, 0, 0, biasV]),
      );
    }
    if (architecture === "qwen3") {
      tensors.push(f32(`${layer}.self_attn.q_norm.weight`, [4], [1, 2, 1, 1]), f32(`${layer}.self_attn.k_norm.weight`, [4], [1, 1, 1, 1]));
    }
    await writeSafetensorsFile(path.join(dir, "model.safetensors"), { tensors });
    return dir;
  }

  function expectedProbabilities(architecture: TinyHfArchitecture): number[] {
    // input_layernorm of a unit vector: mean(x²) = 1/4.
    const a = 1 / Math.sqrt(0.25 + eps);
    const [c0, s0, c1, s1] = [Math.cos(1), Math.sin(1), Math.cos(0.1), Math.sin(0.1)];
    // rotate_half pairs element 0 with 2 (angle = position * 1) and 1 with 3 (position * 0.1).
    let query: number[], key0: number[], key1: number[], value0: number[], value1: number[];
    if (architecture === "qwen2") {
      query = [biasQ * c0, a * c1, biasQ * s0, a * s1]; // (a e1 + bq e0) at position 1
      key0 = [a, 0, biasK, 0]; // (a e0 + bk e2) at position 0: not rotated
      key1 = [-biasK * s0, a * c1, biasK * c0, a * s1]; // (a e1 + bk e2) at position 1
      value0 = [a, 0, 0, biasV];
      value1 = [0, a, 0, biasV];
    } else if (architecture === "qwen3") {
      const normed = a / Math.sqrt((a * a) / 4 + eps); // q_norm / k_norm of a * unit vector
      query = [0, 2 * normed * c1, 0, 2 * normed * s1]; // q_norm weight 2 on element 1
      key0 = [normed, 0, 0, 0];
      key1 = [0, normed * c1, 0, normed * s1];
      value0 = [a, 0, 0, 0];
      value1 = [0, a, 0, 0];
    } else {
      query = [0, a * c1, 0, a * s1];
      key0 = [a, 0, 0, 0];
      key1 = [0, a * c1, 0, a * s1];
      value0 = [a, 0, 0, 0];
      value1 = [0, a, 0, 0];
    }
    const [w0, w1] = softmax([dot(query, key0) / 2, dot(query, key1) / 2]); // 1 / sqrt(head_dim 4)
    const afterAttention = [0, 1, 0, 0].map((x, index) => x + w0 * value0[index] + w1 * value1[index]);
    const m = afterAttention.map((x) => x / rms(afterAttention, eps));
    const afterMlp = [...afterAttention];
    afterMlp[2] += (m[0] / (1 + Math.exp(-m[0]))) * m[1];
    const final = afterMlp.map((x) => x / rms(afterMlp, eps));
    return softmax(final.slice(0, 3));
  }

  for (const architecture of architectures) {
    test(`${architecture}: next-token probabilities match the hand computation`, async () => {
      const model = await loadHfReferenceModel(await handModel(architecture));
      const probabilities = model.nextTokenProbabilities([0, 1]);
      const expected = expectedProbabilities(architecture);
      for (let index = 0; index < 3; index++) expect(probabilities[index]).toBeCloseTo(expected[index], 13);
    });
  }

  test("the hand cases tell HF's half-split rotation from adjacent pairs", () => {
    // With adjacent pairs, q = a e1 at position 1 would rotate into element 0 and score against
    // key0 = a e0; with halves it stays orthogonal to it. The llama case above fixes which one is used.
    const a = 1 / Math.sqrt(0.25 + eps);
    const adjacentQuery = [-a * Math.sin(1), a * Math.cos(1), 0, 0];
    expect(Math.abs(dot(adjacentQuery, [a, 0, 0, 0]))).toBeGreaterThan(1);
  });
});

describe("llama3 rope scaling", () => {
  test("rewrites the inverse frequencies by wavelength band", () => {
    // head_dim 8, theta 10000: frequencies 1, 0.1, 0.01, 0.001 (wavelengths 2π × 1, 10, 100, 1000).
    // original 1024, low 1, high 4: kept below wavelength 256, divided by 8 above 1024, blended between.
    const scaled = hfRotaryInverseFrequencies({
      headDim: 8,
      ropeTheta: 10000,
      ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 1024 },
    });
    const smooth = (1024 / (200 * Math.PI) - 1) / 3;
    const expected = [1, 0.1, ((1 - smooth) * 0.01) / 8 + smooth * 0.01, 0.001 / 8];
    for (let index = 0; index < 4; index++) expect(scaled[index]).toBeCloseTo(expected[index], 15);
    const plain = hfRotaryInverseFrequencies({ headDim: 8, ropeTheta: 10000, ropeScaling: undefined });
    for (let index = 0; index < 4; index++) expect(plain[index]).toBeCloseTo(10 ** -index, 15);
  });

  test("changes a llama's predictions after position 0 only, and not at all with factor 1", async () => {
    const base = tinyOptions("llama", "float32");
    const scaling = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
    const dirs = { plain: tempDir("rope-plain"), scaled: tempDir("rope-scaled"), unit: tempDir("rope-unit") };
    await writeTinyHfCheckpoint(dirs.plain, base);
    await writeTinyHfCheckpoint(dirs.scaled, { ...base, ropeScalingLlama3: scaling });
    await writeTinyHfCheckpoint(dirs.unit, { ...base, ropeScalingLlama3: { ...scaling, factor: 1 } });
    const [plain, scaled, unit] = await Promise.all([dirs.plain, dirs.scaled, dirs.unit].map((dir) => loadHfReferenceModel(dir)));
    expect(scaled.config.ropeScaling).toEqual(scaling);
    expect(maxAbsDifference(plain.nextTokenProbabilities([5]), scaled.nextTokenProbabilities([5]))).toBe(0);
    expect(maxAbsDifference(plain.nextTokenProbabilities(prompt), scaled.nextTokenProbabilities(prompt))).toBeGreaterThan(1e-6);
    expect(maxAbsDifference(plain.nextTokenProbabilities(prompt), unit.nextTokenProbabilities(prompt))).toBeLessThan(1e-15);
  });
});

describe.each(architectures.flatMap((architecture) => dtypes.map((dtype) => [architecture, dtype] as const)))("%s %s", (architecture, dtype) => {
  const options = tinyOptions(architecture, dtype);
  const headDim = options.headDim ?? options.hiddenSize / options.nHead;
  let checkpoint: string;
  const model = async () => loadHfReferenceModel(checkpoint ?? (checkpoint = await writeCheckpoint()));
  const writeCheckpoint = async () => {
    const dir = tempDir(`${architecture}-${dtype}`);
    await writeTinyHfCheckpoint(dir, options);
    return dir;
  };

  test("gives a clearly non-uniform distribution that sums to 1 and depends on the whole prompt", async () => {
    const reference = await model();
    const probabilities = reference.nextTokenProbabilities(prompt);
    expect(probabilities.length).toBe(options.vocabSize);
    expect(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
    expect(Math.min(...probabilities)).toBeGreaterThan(0);
    expect(Math.max(...probabilities)).toBeGreaterThan(3 / options.vocabSize);
    expect(maxAbsDifference(probabilities, reference.nextTokenProbabilities([9, 30, 2, 14]))).toBeGreaterThan(1e-3);
    // An earlier token moves the last position's distribution: attention carries the context.
    const changedEarly = prompt.map((token, index) => (index === 2 ? 33 : token));
    expect(maxAbsDifference(probabilities, reference.nextTokenProbabilities(changedEarly))).toBeGreaterThan(1e-3);
  });

  test("is causal: the logits at position i are those of the prompt cut after i", async () => {
    const reference = await model();
    const all = reference.logits(prompt);
    for (let position = 0; position < prompt.length; position++) {
      const prefix = reference.logits(prompt.slice(0, position + 1));
      expect(maxAbsDifference(all[position], prefix[position])).toBeLessThan(1e-12);
    }
  });

  test("is unchanged by permuting heads consistently, and changed by breaking the query-to-kv grouping", async () => {
    const reference = (await model()).nextTokenProbabilities(prompt);
    const variants = [
      // Key/value heads swapped, query heads moved with their groups and reversed within them.
      { name: "consistent", query: [3, 2, 1, 0], kv: [1, 0], same: true },
      // repeat_kv: query heads 0 and 1 share key/value head 0, so swapping them changes nothing.
      { name: "same-group", query: [1, 0, 2, 3], kv: [0, 1], same: true },
      { name: "cross-group", query: [0, 2, 1, 3], kv: [0, 1], same: false },
    ];
    for (const variant of variants) {
      const dir = tempDir(`${architecture}-${dtype}-${variant.name}`);
      await rewriteCheckpoint(checkpoint, dir, headPermutation(headDim, variant.query, variant.kv));
      const difference = maxAbsDifference(reference, (await loadHfReferenceModel(dir)).nextTokenProbabilities(prompt));
      if (variant.same) expect(difference, variant.name).toBeLessThan(1e-12);
      else expect(difference, variant.name).toBeGreaterThan(1e-6);
    }
  });

  test("tied embeddings read as an lm_head equal to embed_tokens", async () => {
    const tiedDir = tempDir(`${architecture}-${dtype}-tied`);
    await writeTinyHfCheckpoint(tiedDir, { ...options, tieWordEmbeddings: true });
    const tied = await loadHfReferenceModel(tiedDir);
    expect(tied.config.tieWordEmbeddings).toBe(true);
    // Not the degenerate tied model that just repeats its input token.
    expect(Math.max(...tied.nextTokenProbabilities(prompt))).toBeLessThan(0.95);

    const untiedDir = tempDir(`${architecture}-${dtype}-untied`);
    const embedding = (await openCheckpointTensors(tiedDir)).get("model.embed_tokens.weight")!;
    const lmHead = { name: "lm_head.weight", dtype: embedding.info.dtype, shape: embedding.info.shape, data: await readTensorBytes(embedding) };
    await rewriteCheckpoint(tiedDir, untiedDir, (_, bytes) => bytes, (config) => ({ ...config, tie_word_embeddings: false }), [lmHead]);
    const untied = await loadHfReferenceModel(untiedDir);
    expect(untied.config.tieWordEmbeddings).toBe(false);
    expect(maxAbsDifference(tied.nextTokenProbabilities(prompt), untied.nextTokenProbabilities(prompt))).toBe(0);
  });

  if (dtype === "bfloat16") {
    test("is close to, but not the same as, the float32 checkpoint of the same seed", async () => {
      const f32Dir = tempDir(`${architecture}-f32-twin`);
      await writeTinyHfCheckpoint(f32Dir, { ...options, dtype: "float32" });
      const difference = maxAbsDifference(
        (await model()).nextTokenProbabilities(prompt),
        (await loadHfReferenceModel(f32Dir)).nextTokenProbabilities(prompt),
      );
      expect(difference).toBeGreaterThan(0);
      expect(difference).toBeLessThan(0.02);
    });
  }
});

describe("phi3", () => {
  test("reads qkv_proj as [q; k; v] rows and gate_up_proj as [gate; up]: the same model as a llama with them split", async () => {
    const options = tinyOptions("phi3", "float32");
    const phi3Dir = tempDir("phi3-fused");
    await writeTinyHfCheckpoint(phi3Dir, options);
    const qSize = options.hiddenSize;
    const kvSize = options.nKvHead * (options.hiddenSize / options.nHead);
    const llamaDir = tempDir("phi3-as-llama");
    const splitTensors: SafetensorsTensorWithData[] = [];
    for (const [name, entry] of await openCheckpointTensors(phi3Dir)) {
      const bytes = await readTensorBytes(entry);
      const rowBytes = options.hiddenSize * 4;
      const rows = (from: number, to: number) => bytes.slice(from * rowBytes, to * rowBytes);
      const split = (parts: [string, number, number][]) =>
        parts.forEach(([part, from, to]) => splitTensors.push({ name: name.replace(/[a-z_]+_proj/, part), dtype: "F32", shape: [to - from, options.hiddenSize], data: rows(from, to) }));
      if (name.endsWith(".qkv_proj.weight")) split([["q_proj", 0, qSize], ["k_proj", qSize, qSize + kvSize], ["v_proj", qSize + kvSize, qSize + 2 * kvSize]]);
      else if (name.endsWith(".gate_up_proj.weight")) split([["gate_proj", 0, options.intermediateSize], ["up_proj", options.intermediateSize, 2 * options.intermediateSize]]);
      else splitTensors.push({ name, dtype: entry.info.dtype, shape: entry.info.shape, data: bytes });
    }
    await mkdir(llamaDir, { recursive: true });
    const config = JSON.parse(await readFile(path.join(phi3Dir, "config.json"), "utf8")) as Record<string, unknown>;
    await writeFile(path.join(llamaDir, "config.json"), JSON.stringify({ ...config, architectures: ["LlamaForCausalLM"], model_type: "llama" }));
    await writeSafetensorsFile(path.join(llamaDir, "model.safetensors"), { tensors: splitTensors });
    const [phi3, llama] = await Promise.all([phi3Dir, llamaDir].map((dir) => loadHfReferenceModel(dir)));
    expect(phi3.config.architecture).toBe("phi3");
    expect(maxAbsDifference(phi3.nextTokenProbabilities(prompt), llama.nextTokenProbabilities(prompt))).toBeLessThan(1e-15);
    // and the split matters: the same fused tensors read with gate and up swapped differ
    const swapped = tempDir("phi3-swapped");
    await rewriteCheckpoint(phi3Dir, swapped, (name, bytes, shape, itemBytes) =>
      name.endsWith(".gate_up_proj.weight") ? permuteRowBlocks(bytes, shape[1] * itemBytes, shape[0] / 2, [1, 0]) : bytes,
    );
    expect(maxAbsDifference(phi3.nextTokenProbabilities(prompt), (await loadHfReferenceModel(swapped)).nextTokenProbabilities(prompt))).toBeGreaterThan(1e-6);
  });
});
