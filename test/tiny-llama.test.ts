import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bfloat16ToFloat32,
  float16ArrayToFloat32,
  float16ToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16,
  float32ToFloat16,
} from "../src/gguf/f16.js";
import { GgmlType, getMetadataValue, readGgufHeader, type GgufHeader } from "../src/gguf/index.js";
import { llamaSourceDir, tinyLlamaDefaults, writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";

let workDir: string;
let defaultPath: string;
let defaultHeader: GgufHeader;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "lora-gguf-tiny-llama-"));
  defaultPath = join(workDir, "tiny-default.gguf");
  await writeTinyLlamaGguf(defaultPath);
  defaultHeader = await readGgufHeader(defaultPath);
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** The tensor's values as float32, whatever its storage type. */
function tensorValues(bytes: Buffer, header: GgufHeader, name: string): Float32Array {
  const tensor = header.tensors.find((candidate) => candidate.name === name);
  if (tensor === undefined) throw new Error(`no tensor ${name}`);
  const copy = bytes.buffer.slice(bytes.byteOffset + tensor.absoluteOffset, bytes.byteOffset + tensor.absoluteOffset + tensor.byteSize);
  if (tensor.type === GgmlType.F32) return new Float32Array(copy);
  if (tensor.type === GgmlType.F16) return float16ArrayToFloat32(new Uint16Array(copy));
  throw new Error(`unexpected type ${tensor.type}`);
}

function matVec(weight: Float32Array, input: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    const base = row * input.length;
    for (let column = 0; column < input.length; column++) sum += weight[base + column] * input[column];
    out[row] = sum;
  }
  return out;
}

function rmsNorm(x: Float32Array, gain: Float32Array): Float32Array {
  const meanSquare = x.reduce((sum, value) => sum + value * value, 0) / x.length;
  const scale = 1 / Math.sqrt(meanSquare + 1e-5);
  return x.map((value, index) => value * scale * gain[index]);
}

/**
 * Next-token probabilities after a single token at position 0, computed the way llama.cpp's llama
 * graph does. With one position, attention returns each head's value vector and RoPE is the identity.
 */
function nextTokenProbabilities(bytes: Buffer, header: GgufHeader, token: number): Float32Array {
  const { nEmbd, nHead, nHeadKv, nFf, nLayer, vocabSize } = tinyLlamaDefaults;
  const headSize = nEmbd / nHead;
  const weight = (name: string) => tensorValues(bytes, header, name);
  let x = weight("token_embd.weight").slice(token * nEmbd, (token + 1) * nEmbd);
  for (let layer = 0; layer < nLayer; layer++) {
    const block = `blk.${layer}`;
    const values = matVec(weight(`${block}.attn_v.weight`), rmsNorm(x, weight(`${block}.attn_norm.weight`)), headSize * nHeadKv);
    const heads = new Float32Array(nEmbd);
    for (let head = 0; head < nHead; head++) {
      const kvHead = Math.floor(head / (nHead / nHeadKv));
      heads.set(values.subarray(kvHead * headSize, (kvHead + 1) * headSize), head * headSize);
    }
    const attention = matVec(weight(`${block}.attn_output.weight`), heads, nEmbd);
    x = x.map((value, index) => value + attention[index]);

    const normed = rmsNorm(x, weight(`${block}.ffn_norm.weight`));
    const gate = matVec(weight(`${block}.ffn_gate.weight`), normed, nFf);
    const up = matVec(weight(`${block}.ffn_up.weight`), normed, nFf);
    const hidden = gate.map((value, index) => (value / (1 + Math.exp(-value))) * up[index]);
    const down = matVec(weight(`${block}.ffn_down.weight`), hidden, nEmbd);
    x = x.map((value, index) => value + down[index]);
  }
  const logits = matVec(weight("output.weight"), rmsNorm(x, weight("output_norm.weight")), vocabSize);
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  const exps = logits.map((logit) => Math.exp(logit - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / total);
}

describe("writeTinyLlamaGguf", () => {
  it("is deterministic: the same seed gives the same bytes, another seed other weights", async () => {
    const again = join(workDir, "tiny-again.gguf");
    const otherSeed = join(workDir, "tiny-seed-2.gguf");
    await writeTinyLlamaGguf(again, { seed: 1 });
    await writeTinyLlamaGguf(otherSeed, { seed: 2 });
    const [first, second, third] = await Promise.all([readFile(defaultPath), readFile(again), readFile(otherSeed)]);
    expect(Buffer.compare(first, second)).toBe(0);
    expect(third.length).toBe(first.length);
    expect(Buffer.compare(first.subarray(0, defaultHeader.dataOffset), third.subarray(0, defaultHeader.dataOffset))).toBe(0);
    expect(Buffer.compare(first, third)).not.toBe(0);
  });

  it("writes the llama hyperparameters llama.cpp reads", () => {
    const value = (key: string) => getMetadataValue(defaultHeader, key);
    expect(value("general.architecture")).toBe("llama");
    expect(value("general.file_type")).toBe(0);
    expect(value("llama.vocab_size")).toBe(4096);
    expect(value("llama.context_length")).toBe(512);
    expect(value("llama.embedding_length")).toBe(256);
    expect(value("llama.block_count")).toBe(2);
    expect(value("llama.feed_forward_length")).toBe(512);
    expect(value("llama.attention.head_count")).toBe(4);
    expect(value("llama.attention.head_count_kv")).toBe(2);
    expect(value("llama.rope.dimension_count")).toBe(64);
    expect(value("llama.rope.freq_base")).toBe(10000);
    expect(value("llama.attention.layer_norm_rms_epsilon")).toBeCloseTo(1e-5, 10);
    expect(defaultHeader.metadataByKey.has("tokenizer.chat_template")).toBe(false);
  });

  it("copies the SentencePiece tokenizer cut to vocabSize", () => {
    const value = (key: string) => getMetadataValue(defaultHeader, key);
    expect(value("tokenizer.ggml.model")).toBe("llama");
    const tokens = value("tokenizer.ggml.tokens") as string[];
    expect(tokens).toHaveLength(4096);
    expect(tokens.slice(0, 4)).toEqual(["<unk>", "<s>", "</s>", "<0x00>"]);
    expect(tokens[258]).toBe("<0xFF>");
    expect(value("tokenizer.ggml.scores")).toBeInstanceOf(Float32Array);
    expect((value("tokenizer.ggml.scores") as Float32Array).length).toBe(4096);
    expect((value("tokenizer.ggml.token_type") as Int32Array).length).toBe(4096);
    expect(value("tokenizer.ggml.bos_token_id")).toBe(1);
    expect(value("tokenizer.ggml.eos_token_id")).toBe(2);
    expect(value("tokenizer.ggml.unknown_token_id")).toBe(0);
    expect(value("tokenizer.ggml.add_bos_token")).toBe(true);
    expect(value("tokenizer.ggml.add_eos_token")).toBe(false);
  });

  it("declares the tensors of LLM_ARCH_LLAMA with llama.cpp's shapes", () => {
    const F32 = GgmlType.F32;
    const expected = [
      ["token_embd.weight", [256, 4096], F32],
      ...[0, 1].flatMap((layer) => [
        [`blk.${layer}.attn_norm.weight`, [256], F32],
        [`blk.${layer}.attn_q.weight`, [256, 256], F32],
        [`blk.${layer}.attn_k.weight`, [256, 128], F32],
        [`blk.${layer}.attn_v.weight`, [256, 128], F32],
        [`blk.${layer}.attn_output.weight`, [256, 256], F32],
        [`blk.${layer}.ffn_norm.weight`, [256], F32],
        [`blk.${layer}.ffn_gate.weight`, [256, 512], F32],
        [`blk.${layer}.ffn_up.weight`, [256, 512], F32],
        [`blk.${layer}.ffn_down.weight`, [512, 256], F32],
      ]),
      ["output_norm.weight", [256], F32],
      ["output.weight", [256, 4096], F32],
    ];
    expect(defaultHeader.tensors.map((tensor) => [tensor.name, tensor.dims, tensor.type])).toEqual(expected);
  });

  it("has norm weights near one and a clearly non-uniform next-token distribution", async () => {
    const bytes = await readFile(defaultPath);
    const norm = tensorValues(bytes, defaultHeader, "blk.0.attn_norm.weight");
    expect(Math.min(...norm)).toBeGreaterThan(0.9);
    expect(Math.max(...norm)).toBeLessThan(1.1);

    const vocabSize = tinyLlamaDefaults.vocabSize;
    const argmaxes = new Set<number>();
    for (const token of [1, 450, 1000, 3000]) {
      const probabilities = nextTokenProbabilities(bytes, defaultHeader, token);
      const maxProbability = Math.max(...probabilities);
      const entropy = -probabilities.reduce((sum, p) => sum + (p > 0 ? p * Math.log(p) : 0), 0);
      expect(maxProbability, `token ${token}`).toBeGreaterThan(20 / vocabSize);
      expect(entropy, `token ${token}`).toBeLessThan(Math.log(vocabSize) - 0.5);
      argmaxes.add(probabilities.indexOf(maxProbability));
    }
    expect(argmaxes.size).toBeGreaterThan(1);
  });

  it("stores the matrices as f16 when asked, norms staying f32", async () => {
    const path = join(workDir, "tiny-f16.gguf");
    await writeTinyLlamaGguf(path, { weightType: "f16" });
    const header = await readGgufHeader(path);
    expect(getMetadataValue(header, "general.file_type")).toBe(1);
    for (const tensor of header.tensors) {
      expect(tensor.type, tensor.name).toBe(tensor.name.endsWith("norm.weight") ? GgmlType.F32 : GgmlType.F16);
    }
    // Same seed, same weights: the f16 file holds the f32 file's values rounded to half precision.
    const [halfBytes, floatBytes] = await Promise.all([readFile(path), readFile(defaultPath)]);
    const halves = tensorValues(halfBytes, header, "blk.1.ffn_down.weight");
    const floats = tensorValues(floatBytes, defaultHeader, "blk.1.ffn_down.weight");
    expect(halves).toEqual(float16ArrayToFloat32(float32ArrayToFloat16(floats)));
  });

  it("takes other sizes, a BPE vocabulary and a chat template", async () => {
    const path = join(workDir, "tiny-qwen2.gguf");
    const config = await writeTinyLlamaGguf(path, {
      vocabPath: join(llamaSourceDir(), "models", "ggml-vocab-qwen2.gguf"),
      vocabSize: 2000,
      nLayer: 1,
      nEmbd: 64,
      nHead: 2,
      nHeadKv: 1,
      nFf: 128,
      chatTemplate: "{{ messages }}",
    });
    expect(config.vocabSize).toBe(2000);
    const header = await readGgufHeader(path);
    expect(header.tensors.map((tensor) => tensor.name)).toHaveLength(2 + 9 + 1);
    expect(header.tensors[0].dims).toEqual([64, 2000]);
    expect(getMetadataValue(header, "tokenizer.ggml.model")).toBe("gpt2");
    expect(getMetadataValue(header, "tokenizer.chat_template")).toBe("{{ messages }}");
    // Special token ids past the cut are dropped rather than left pointing nowhere.
    expect(header.metadataByKey.has("tokenizer.ggml.eos_token_id")).toBe(false);
    const tokens = new Set(getMetadataValue(header, "tokenizer.ggml.tokens") as string[]);
    const merges = getMetadataValue(header, "tokenizer.ggml.merges") as string[];
    expect(merges.length).toBeGreaterThan(100);
    for (const merge of merges) {
      const [left, right] = merge.split(" ");
      expect(tokens.has(left) && tokens.has(right) && tokens.has(left + right), merge).toBe(true);
    }
  });

  it("rejects options that would make an unloadable model", async () => {
    const path = join(workDir, "invalid.gguf");
    await expect(writeTinyLlamaGguf(path, { nEmbd: 100, nHead: 3 })).rejects.toMatchObject({ code: "E_INVALID_OPTION", message: /nEmbd \(100\) must be nHead \(3\) times an even head size/ });
    await expect(writeTinyLlamaGguf(path, { nHead: 4, nHeadKv: 3 })).rejects.toMatchObject({ code: "E_INVALID_OPTION", message: /nHeadKv \(3\) must divide nHead \(4\)/ });
    await expect(writeTinyLlamaGguf(path, { nLayer: 0 })).rejects.toMatchObject({ code: "E_INVALID_OPTION", message: "nLayer must be a positive integer, got 0" });
    await expect(writeTinyLlamaGguf(path, { vocabSize: 200 })).rejects.toMatchObject({ code: "E_INVALID_OPTION", message: /would drop byte-fallback tokens; keep at least 259 tokens/ });
    await expect(writeTinyLlamaGguf(path, { vocabSize: 40000 })).rejects.toMatchObject({ code: "E_INVALID_OPTION", message: /larger than the 32000 tokens/ });
    await expect(writeTinyLlamaGguf(path, { weightType: "q4" as "f16" })).rejects.toMatchObject({ code: "E_INVALID_OPTION" });
    await expect(writeTinyLlamaGguf(path, { vocabPath: join(workDir, "missing.gguf") })).rejects.toMatchObject({ code: "E_INPUT_NOT_FOUND" });
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("f16 and bf16 conversions", () => {
  const f32Bits = (value: number) => new Uint32Array(Float32Array.of(value).buffer)[0];
  const f32FromBits = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];

  it("converts edge values to the IEEE half bit patterns", () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [1 / 3, 0x3555],
      [65504, 0x7bff], // largest half
      [65519.99, 0x7bff],
      [65520, 0x7c00], // halfway to 65536 rounds to even, which is infinity
      [1e10, 0x7c00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: even is 0
      [f32FromBits(f32Bits(2 ** -25) + 1), 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps: even is 2
      [-(2 ** -26), 0x8000],
      [1 + 2 ** -11, 0x3c00], // tie: 0x3c00 is even
      [1 + 3 * 2 ** -11, 0x3c02], // tie: 0x3c02 is even
      [f32FromBits(f32Bits(1 + 2 ** -11) + 1), 0x3c01],
    ];
    for (const [value, bits] of cases) {
      expect(float32ToFloat16(value).toString(16), String(value)).toBe(bits.toString(16));
    }
    expect(float32ToFloat16(NaN)).toBe(0x7e00);
    expect(float32ToFloat16(f32FromBits(0xffc00001))).toBe(0xfe00);
  });

  it("round-trips all 65536 half bit patterns and rounds every midpoint to even", () => {
    for (let half = 0; half < 0x10000; half++) {
      const value = float16ToFloat32(half);
      const isNaN = (half & 0x7c00) === 0x7c00 && (half & 0x3ff) !== 0;
      if (isNaN) {
        expect(Number.isNaN(value)).toBe(true);
        expect(float32ToFloat16(value)).toBe((half & 0x8000) | 0x7e00);
      } else {
        expect(float32ToFloat16(value)).toBe(half);
      }
    }
    // Between each pair of adjacent positive finite halves: the midpoint goes to the even pattern,
    // the float32 just below it down, just above it up.
    for (let lower = 0; lower < 0x7bff; lower++) {
      const midpoint = (float16ToFloat32(lower) + float16ToFloat32(lower + 1)) / 2;
      expect(Math.fround(midpoint)).toBe(midpoint);
      expect(float32ToFloat16(midpoint)).toBe(lower % 2 === 0 ? lower : lower + 1);
      expect(float32ToFloat16(f32FromBits(f32Bits(midpoint) - 1))).toBe(lower);
      expect(float32ToFloat16(f32FromBits(f32Bits(midpoint) + 1))).toBe(lower + 1);
    }
    // Past the largest half, the "midpoint" to the next exponent (65520) and above overflow to infinity.
    expect(float32ToFloat16(f32FromBits(f32Bits(65520) - 1))).toBe(0x7bff);
    expect(float32ToFloat16(65520)).toBe(0x7c00);
  });

  it("converts arrays the same way as single values", () => {
    const values = Float32Array.of(0, -0, 0.1, -65504, 70000, 2 ** -24, NaN, 1 + 2 ** -11);
    expect([...float32ArrayToFloat16(values)]).toEqual([...values].map(float32ToFloat16));
    expect([...float32ArrayToBfloat16(values)]).toEqual([...values].map(float32ToBfloat16));
    const halves = float32ArrayToFloat16(values);
    expect([...float16ArrayToFloat32(halves)]).toEqual([...halves].map(float16ToFloat32));
  });

  it("converts to bf16 with ggml's round-to-nearest-even and quiet NaNs", () => {
    expect(float32ToBfloat16(0)).toBe(0x0000);
    expect(float32ToBfloat16(-0)).toBe(0x8000);
    expect(float32ToBfloat16(1)).toBe(0x3f80);
    expect(float32ToBfloat16(f32FromBits(0x3f808000))).toBe(0x3f80); // tie, 0x3f80 even
    expect(float32ToBfloat16(f32FromBits(0x3f818000))).toBe(0x3f82); // tie, 0x3f82 even
    expect(float32ToBfloat16(f32FromBits(0x3f808001))).toBe(0x3f81);
    expect(float32ToBfloat16(f32FromBits(0x00010000))).toBe(0x0001); // subnormals are kept, not flushed
    expect(float32ToBfloat16(Infinity)).toBe(0x7f80);
    expect(float32ToBfloat16(-Infinity)).toBe(0xff80);
    expect(float32ToBfloat16(f32FromBits(0x7f7fffff))).toBe(0x7f80); // largest float rounds to infinity, as in ggml
    expect(float32ToBfloat16(f32FromBits(0x7f800001))).toBe(0x7fc0); // signalling NaN made quiet
    expect(float32ToBfloat16(f32FromBits(0xff800001))).toBe(0xffc0);
    expect(bfloat16ToFloat32(0x3f80)).toBe(1);
    expect(bfloat16ToFloat32(0xc000)).toBe(-2);
    expect(Object.is(bfloat16ToFloat32(0x8000), -0)).toBe(true);
    expect(Number.isNaN(bfloat16ToFloat32(0x7fc0))).toBe(true);
  });
});
