import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { float16ArrayToFloat32 } from "../src/gguf/f16.js";
import { GgmlType, getMetadataValue, readGgufHeader, type GgufHeader } from "../src/gguf/index.js";
import { quantize } from "../src/index.js";
import { loadNative } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import {
  TINY_GEMMA, tinyModelArchitectures, writeSparseModelGguf, writeTinyModelGguf, type TinyModelArchitecture, type TinyModelOptions,
} from "../src/testing/tiny-model.js";
import { klDivergence, nextTokenProbabilities } from "./helpers/llama-eval.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const { dir: workDir, cleanup } = makeTempDir("tiny-model");
afterAll(cleanup);

const PROMPT = "The quick brown fox jumps over";
const VOCAB_SIZE = 4096;
const F32 = GgmlType.F32;

let fileCount = 0;
async function writeModel(options: TinyModelOptions): Promise<string> {
  const path = join(workDir, `${options.architecture}-${fileCount++}.gguf`);
  await writeTinyModelGguf(path, options);
  return path;
}

type TensorRow = [name: string, dims: number[], type: number];

/**
 * The tensors of the default configuration (nEmbd 256, 4 heads of 64, 2 KV heads, nFf 512, vocab
 * 4096, 2 layers) as llama_model_<arch>::load_arch_tensors in deps/llama.cpp creates them, in ne
 * order: src/models/llama.cpp (attn_q {n_embd, n_embd_head_k * n_head}, attn_output
 * {n_embd_head_k * n_head, n_embd}), src/models/qwen2.cpp (attn_q {n_embd, n_embd}, the q/k/v
 * biases that create_tensor_qkv in src/llama-model.cpp loads when present) and src/models/qwen3.cpp
 * (attn_q_norm and attn_k_norm {n_embd_head_k}). output.weight is optional in all three.
 */
function expectedTensors(architecture: TinyModelArchitecture, matrix: number): TensorRow[] {
  const layer = (block: string): TensorRow[] => {
    // phi3 (llama_model_phi3::load_arch_tensors): attn_qkv [n_embd, n_embd + 2 n_kv], ffn_up [n_embd, 2 n_ff]
    if (architecture === "phi3") {
      return [
        [`${block}.attn_norm.weight`, [256], F32],
        [`${block}.attn_qkv.weight`, [256, 512], matrix],
        [`${block}.attn_output.weight`, [256, 256], matrix],
        [`${block}.ffn_norm.weight`, [256], F32],
        [`${block}.ffn_up.weight`, [256, 1024], matrix],
        [`${block}.ffn_down.weight`, [512, 256], matrix],
      ];
    }
    const separate: TensorRow[] = [
      [`${block}.attn_q.weight`, [256, 256], matrix],
      [`${block}.attn_k.weight`, [256, 128], matrix],
      [`${block}.attn_v.weight`, [256, 128], matrix],
    ];
    const qkNorms: TensorRow[] = [
      [`${block}.attn_q_norm.weight`, [64], F32],
      [`${block}.attn_k_norm.weight`, [64], F32],
    ];
    const attention: Record<Exclude<TinyModelArchitecture, "phi3">, TensorRow[]> = {
      llama: [
        [`${block}.attn_q.weight`, [256, 256], matrix],
        [`${block}.attn_k.weight`, [256, 128], matrix],
        [`${block}.attn_v.weight`, [256, 128], matrix],
      ],
      qwen2: [
        [`${block}.attn_q.weight`, [256, 256], matrix],
        [`${block}.attn_q.bias`, [256], F32],
        [`${block}.attn_k.weight`, [256, 128], matrix],
        [`${block}.attn_k.bias`, [128], F32],
        [`${block}.attn_v.weight`, [256, 128], matrix],
        [`${block}.attn_v.bias`, [128], F32],
      ],
      qwen3: [...separate, ...qkNorms],
      // src/models/gemma2.cpp, gemma3.cpp: also attn_post_norm (post_attention_norm) and ffn_post_norm (post_ffw_norm)
      gemma: separate,
      gemma2: separate,
      gemma3: [...separate, ...qkNorms],
    };
    const postNorms = architecture === "gemma2" || architecture === "gemma3";
    return [
      [`${block}.attn_norm.weight`, [256], F32],
      ...attention[architecture],
      [`${block}.attn_output.weight`, [256, 256], matrix],
      ...(postNorms ? [[`${block}.post_attention_norm.weight`, [256], F32] satisfies TensorRow] : []),
      [`${block}.ffn_norm.weight`, [256], F32],
      [`${block}.ffn_gate.weight`, [256, 512], matrix],
      [`${block}.ffn_up.weight`, [256, 512], matrix],
      [`${block}.ffn_down.weight`, [512, 256], matrix],
      ...(postNorms ? [[`${block}.post_ffw_norm.weight`, [256], F32] satisfies TensorRow] : []),
    ];
  };
  return [
    ["token_embd.weight", [256, VOCAB_SIZE], matrix],
    ...layer("blk.0"),
    ...layer("blk.1"),
    ["output_norm.weight", [256], F32],
    // gemma's and gemma2's graphs always project with token_embd (their loaders take no output.weight)
    ...(architecture === "gemma" || architecture === "gemma2" ? [] : [["output.weight", [256, VOCAB_SIZE], matrix] satisfies TensorRow]),
  ];
}

function tensorRows(header: GgufHeader): TensorRow[] {
  return header.tensors.map((tensor) => [tensor.name, [...tensor.dims], tensor.type]);
}

function tensorValues(bytes: Buffer, header: GgufHeader, name: string): Float32Array {
  const tensor = header.tensors.find((candidate) => candidate.name === name);
  if (tensor === undefined) throw new Error(`no tensor ${name}`);
  const copy = bytes.buffer.slice(bytes.byteOffset + tensor.absoluteOffset, bytes.byteOffset + tensor.absoluteOffset + tensor.byteSize);
  if (tensor.type === GgmlType.F32) return new Float32Array(copy);
  if (tensor.type === GgmlType.F16) return float16ArrayToFloat32(new Uint16Array(copy));
  throw new Error(`unexpected type ${tensor.type}`);
}

/** A copy of the f32 model at `path` with `transform` applied to the values of the named f32 tensors. */
async function withTensorsChanged(path: string, names: (name: string) => boolean, transform: (value: number) => number): Promise<string> {
  const [bytes, header] = await Promise.all([readFile(path), readGgufHeader(path)]);
  const changed = Buffer.from(bytes);
  const view = new DataView(changed.buffer, changed.byteOffset, changed.byteLength);
  const touched = header.tensors.filter((tensor) => names(tensor.name));
  for (const tensor of touched) {
    if (tensor.type !== GgmlType.F32) throw new Error(`${tensor.name} is not f32`);
    for (let offset = tensor.absoluteOffset; offset < tensor.absoluteOffset + tensor.byteSize; offset += 4) {
      view.setFloat32(offset, transform(view.getFloat32(offset, true)), true);
    }
  }
  expect(touched.length).toBeGreaterThan(0);
  const out = path.replace(/\.gguf$/, `-changed-${fileCount++}.gguf`);
  await writeFile(out, changed);
  return out;
}

function expectUsableDistribution(probabilities: Float64Array, label: string): void {
  expect(probabilities.length, label).toBe(VOCAB_SIZE);
  expect(probabilities.every(Number.isFinite), label).toBe(true);
  const sum = probabilities.reduce((total, p) => total + p, 0);
  expect(sum, label).toBeCloseTo(1, 6);
  const entropy = -probabilities.reduce((total, p) => total + (p > 0 ? p * Math.log(p) : 0), 0);
  expect(Math.max(...probabilities), label).toBeGreaterThan(20 / VOCAB_SIZE);
  expect(entropy, label).toBeLessThan(Math.log(VOCAB_SIZE) - 0.5);
}

// f16 for one family of each tensor layout (separate, fused, Gemma's post norms and tied output): the
// writer's f16 path is the same for all
const f16Layouts: readonly TinyModelArchitecture[] = ["llama", "phi3", "gemma2"];
describe.each(
  tinyModelArchitectures.flatMap((architecture) =>
    (f16Layouts.includes(architecture) ? (["f32", "f16"] as const) : (["f32"] as const)).map((weightType) => ({ architecture, weightType })),
  ),
)(
  "writeTinyModelGguf $architecture $weightType",
  ({ architecture, weightType }) => {
    const matrix = weightType === "f16" ? GgmlType.F16 : F32;
    let path: string;
    let header: GgufHeader;

    beforeAll(async () => {
      path = await writeModel({ architecture, weightType });
      header = await readGgufHeader(path);
    });

    it("declares the tensors llama.cpp creates for the architecture, matrices in weightType, norms and biases f32", () => {
      expect(tensorRows(header)).toEqual(expectedTensors(architecture, matrix));
    });

    it("writes the hyperparameters llama.cpp reads for the architecture", () => {
      const value = (key: string) => getMetadataValue(header, key);
      const qwen = architecture === "qwen2" || architecture === "qwen3";
      const gemma = architecture === "gemma" || architecture === "gemma2" || architecture === "gemma3";
      expect(value("general.architecture")).toBe(architecture);
      // named neutrally: llama.cpp gives "</s>" phi3's special-token attributes when the name says phi3
      expect(value("general.name")).toBe(architecture === "phi3" ? "tiny-fused" : `tiny-${architecture}`);
      expect(value("general.file_type")).toBe(weightType === "f16" ? 1 : 0);
      expect(value(`${architecture}.context_length`)).toBe(512);
      expect(value(`${architecture}.embedding_length`)).toBe(256);
      expect(value(`${architecture}.block_count`)).toBe(2);
      expect(value(`${architecture}.feed_forward_length`)).toBe(512);
      expect(value(`${architecture}.attention.head_count`)).toBe(4);
      expect(value(`${architecture}.attention.head_count_kv`)).toBe(2);
      expect(value(`${architecture}.rope.freq_base`)).toBe(qwen || architecture === "gemma3" ? 1_000_000 : 10_000);
      expect(value(`${architecture}.attention.layer_norm_rms_epsilon`)).toBeCloseTo(qwen || gemma ? 1e-6 : 1e-5, 12);
      // As llama.cpp's converters write them: qwen leaves the vocabulary size and the rope
      // dimension (which must equal the head size) to llama.cpp's defaults.
      expect(value(`${architecture}.vocab_size`)).toBe(architecture === "llama" ? VOCAB_SIZE : undefined);
      expect(value(`${architecture}.rope.dimension_count`)).toBe(qwen || gemma ? undefined : 64);
      expect(header.metadataByKey.has(`${architecture}.attention.key_length`)).toBe(false);
      // src/arch/phi3.ts's keys for rope_scaling null and no sliding window
      expect(value(`${architecture}.rope.scaling.original_context_length`)).toBe(architecture === "phi3" ? 512 : undefined);
      expect(value(`${architecture}.attention.sliding_window`)).toBe(architecture === "phi3" ? 0 : gemma && architecture !== "gemma" ? TINY_GEMMA.slidingWindow : undefined);
      // gemma2 caps scores and logits; gemma3 slides in layer 0 of 2 (its pattern key) with its own rope base
      expect(value(`${architecture}.attn_logit_softcapping`)).toBe(architecture === "gemma2" ? TINY_GEMMA.attentionSoftcap : undefined);
      expect(value(`${architecture}.final_logit_softcapping`)).toBe(architecture === "gemma2" ? TINY_GEMMA.finalSoftcap : undefined);
      expect(value(`${architecture}.attention.sliding_window_pattern`)).toBe(architecture === "gemma3" ? 2 : undefined);
      expect(value(`${architecture}.rope.freq_base_swa`)).toBe(architecture === "gemma3" ? 10_000 : undefined);
      expect(value("tokenizer.ggml.model")).toBe("llama");
      expect((value("tokenizer.ggml.tokens") as string[]).length).toBe(VOCAB_SIZE);
    });

    it("initialises norms near one and biases small", async () => {
      const bytes = await readFile(path);
      for (const tensor of header.tensors.filter((candidate) => candidate.dims.length === 1)) {
        const values = tensorValues(bytes, header, tensor.name);
        if (tensor.name.endsWith("norm.weight")) {
          expect(Math.min(...values), tensor.name).toBeGreaterThan(0.85);
          expect(Math.max(...values), tensor.name).toBeLessThan(1.15);
        } else {
          expect(tensor.name).toMatch(/\.bias$/);
          const rms = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0) / values.length);
          expect(rms, tensor.name).toBeGreaterThan(0.01);
          expect(rms, tensor.name).toBeLessThan(0.2);
        }
      }
    });

    it("is deterministic per seed", async () => {
      const again = await writeModel({ architecture, weightType });
      const otherSeed = await writeModel({ architecture, weightType, seed: 2 });
      const [first, second, third] = await Promise.all([readFile(path), readFile(again), readFile(otherSeed)]);
      expect(Buffer.compare(first, second)).toBe(0);
      expect(third.length).toBe(first.length);
      expect(Buffer.compare(first.subarray(0, header.dataOffset), third.subarray(0, header.dataOffset))).toBe(0);
      expect(Buffer.compare(first, third)).not.toBe(0);
    });

    it("loads and runs in llama.cpp (node-llama-cpp) with a peaked, seed-dependent next-token distribution", async () => {
      const probabilities = await nextTokenProbabilities(path, PROMPT);
      expectUsableDistribution(probabilities, `${architecture} ${weightType}`);
      const otherSeed = await nextTokenProbabilities(await writeModel({ architecture, weightType, seed: 2 }), PROMPT);
      expectUsableDistribution(otherSeed, `${architecture} ${weightType} seed 2`);
      expect(klDivergence(probabilities, otherSeed)).toBeGreaterThan(0.5);
    });
  },
);

describe("writeTinyModelGguf architecture specifics", () => {
  it("qwen3 takes a head size other than nEmbd / nHead and writes key_length and value_length", async () => {
    const path = await writeModel({ architecture: "qwen3", headDim: 96 });
    const header = await readGgufHeader(path);
    const rows = tensorRows(header);
    expect(rows.filter(([name]) => name.startsWith("blk.0."))).toEqual([
      ["blk.0.attn_norm.weight", [256], F32],
      ["blk.0.attn_q.weight", [256, 384], F32],
      ["blk.0.attn_k.weight", [256, 192], F32],
      ["blk.0.attn_v.weight", [256, 192], F32],
      ["blk.0.attn_q_norm.weight", [96], F32],
      ["blk.0.attn_k_norm.weight", [96], F32],
      ["blk.0.attn_output.weight", [384, 256], F32],
      ["blk.0.ffn_norm.weight", [256], F32],
      ["blk.0.ffn_gate.weight", [256, 512], F32],
      ["blk.0.ffn_up.weight", [256, 512], F32],
      ["blk.0.ffn_down.weight", [512, 256], F32],
    ]);
    expect(getMetadataValue(header, "qwen3.attention.key_length")).toBe(96);
    expect(getMetadataValue(header, "qwen3.attention.value_length")).toBe(96);
    expect(header.metadataByKey.has("qwen3.rope.dimension_count")).toBe(false);
    expectUsableDistribution(await nextTokenProbabilities(path, PROMPT), "qwen3 headDim 96");
  });

  it("llama takes a head size other than nEmbd / nHead too, with rope.dimension_count equal to it", async () => {
    const path = await writeModel({ architecture: "llama", headDim: 32, nHead: 4, nHeadKv: 4 });
    const header = await readGgufHeader(path);
    const shape = (name: string) => header.tensors.find((tensor) => tensor.name === name)?.dims;
    expect(shape("blk.0.attn_q.weight")).toEqual([256, 128]);
    expect(shape("blk.0.attn_v.weight")).toEqual([256, 128]);
    expect(shape("blk.0.attn_output.weight")).toEqual([128, 256]);
    expect(getMetadataValue(header, "llama.attention.key_length")).toBe(32);
    expect(getMetadataValue(header, "llama.rope.dimension_count")).toBe(32);
    expectUsableDistribution(await nextTokenProbabilities(path, PROMPT), "llama headDim 32");
  });

  it("ties the output projection to the token embedding when asked, without the input token taking all the probability", async () => {
    const path = await writeModel({ architecture: "qwen2", tiedEmbeddings: true });
    const header = await readGgufHeader(path);
    expect(header.tensors.map((tensor) => tensor.name)).not.toContain("output.weight");
    expect(header.tensors).toHaveLength(expectedTensors("qwen2", F32).length - 1);
    for (const text of [PROMPT, "Hello world"]) {
      const probabilities = await nextTokenProbabilities(path, text);
      expectUsableDistribution(probabilities, `tied: ${text}`);
      expect(Math.max(...probabilities), text).toBeLessThan(0.5);
    }
  });

  it("qwen2's q/k/v biases and qwen3's q/k norms take part in llama.cpp's forward pass", async () => {
    const qwen2 = await writeModel({ architecture: "qwen2" });
    const qwen2Unbiased = await withTensorsChanged(qwen2, (name) => name.endsWith(".bias"), () => 0);
    const qwen3 = await writeModel({ architecture: "qwen3" });
    const qwen3Sharper = await withTensorsChanged(qwen3, (name) => /attn_[qk]_norm/.test(name), (value) => value * 3);
    const [biased, unbiased, normed, sharper] = await Promise.all(
      [qwen2, qwen2Unbiased, qwen3, qwen3Sharper].map((path) => nextTokenProbabilities(path, PROMPT)),
    );
    expect(klDivergence(biased, unbiased)).toBeGreaterThan(1e-3);
    expect(klDivergence(normed, sharper)).toBeGreaterThan(1e-3);
  });

  it("writeTinyLlamaGguf is writeTinyModelGguf with architecture llama", async () => {
    const options = { seed: 9, nLayer: 1, weightType: "f16", chatTemplate: "{{ messages }}" } as const;
    const viaLlama = join(workDir, "via-llama.gguf");
    await writeTinyLlamaGguf(viaLlama, options);
    const viaModel = await writeModel({ architecture: "llama", ...options });
    expect(Buffer.compare(await readFile(viaLlama), await readFile(viaModel))).toBe(0);
  });

  it("rejects options llama.cpp could not load", async () => {
    const path = join(workDir, "invalid.gguf");
    await expect(writeTinyModelGguf(path, { architecture: "gpt2" as "llama" })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'architecture must be one of "llama", "qwen2", "qwen3", "phi3", "gemma", "gemma2", "gemma3", got gpt2',
    });
    await expect(writeTinyModelGguf(path, { architecture: "qwen2", headDim: 32 })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: "headDim (32) times nHead (4) must be nEmbd (256) for qwen2, whose attention projections llama.cpp sizes by nEmbd",
    });
    await expect(writeTinyModelGguf(path, { architecture: "qwen3", headDim: 33 })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: "headDim must be a positive even integer, got 33",
    });
    await expect(writeTinyModelGguf(path, { architecture: "qwen3", tiedEmbeddings: "yes" as unknown as boolean })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: "tiedEmbeddings must be a boolean, got yes",
    });
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("writeSparseModelGguf", () => {
  it("writes writeTinyModelGguf's header and file size, with the tensor data a hole", async () => {
    const options = { architecture: "qwen3", nLayer: 3, headDim: 96 } as const;
    const tiny = await writeModel(options);
    const sparse = join(workDir, `sparse-${fileCount++}.gguf`);
    await writeSparseModelGguf(sparse, options);
    const header = await readGgufHeader(tiny);
    const [tinyBytes, sparseBytes, sparseStat] = await Promise.all([readFile(tiny), readFile(sparse), stat(sparse)]);
    expect(sparseBytes.length).toBe(tinyBytes.length);
    expect(Buffer.compare(sparseBytes.subarray(0, header.dataOffset), tinyBytes.subarray(0, header.dataOffset))).toBe(0);
    expect(sparseBytes.subarray(header.dataOffset).every((byte) => byte === 0)).toBe(true);
    // a hole takes no blocks (allow the header's, and a filesystem's preallocation)
    expect(sparseStat.blocks * 512).toBeLessThan(tinyBytes.length / 4);
  });

  it.each([
    { architecture: "qwen3", nLayer: 16, tiedEmbeddings: false },
    { architecture: "llama", nLayer: 10, tiedEmbeddings: true },
  ] as const)("q4_k_m declares the types lora-gguf quantize --type Q4_K_M picks ($architecture, $nLayer layers, tied $tiedEmbeddings)", async (options) => {
    const f32 = await writeModel(options);
    const quantized = f32.replace(/\.gguf$/, "-q4_k_m.gguf");
    await quantize(f32, quantized, { type: "Q4_K_M", threads: 1 });
    const sparse = join(workDir, `sparse-${fileCount++}.gguf`);
    await writeSparseModelGguf(sparse, { ...options, weightType: "q4_k_m" });
    const [expected, actual] = await Promise.all([readGgufHeader(quantized), readGgufHeader(sparse)]);
    // llama_model_quantize writes the tensors in its own order
    const byName = (header: GgufHeader) => tensorRows(header).sort(([a], [b]) => a.localeCompare(b));
    expect(byName(actual)).toEqual(byName(expected));
    expect(getMetadataValue(actual, "general.file_type")).toBe(getMetadataValue(expected, "general.file_type"));
    expect(tensorRows(actual).filter(([, , type]) => type === GgmlType.Q6_K).length).toBeGreaterThan(options.nLayer / 2);
  });

  it("opens in llama.cpp for its vocabulary, as a dry run reads it", async () => {
    const sparse = join(workDir, `sparse-${fileCount++}.gguf`);
    await writeSparseModelGguf(sparse, { architecture: "qwen3", weightType: "q4_k_m" });
    const tokenizer = await (await loadNative()).openTokenizer(sparse);
    try {
      expect(tokenizer.vocabularySize).toBe(VOCAB_SIZE);
      const [tokens] = await tokenizer.tokenize([PROMPT], true);
      expect(tokens.length).toBeGreaterThan(3);
    } finally {
      await tokenizer.close();
    }
  });

  it("rejects q4_k_m for rows that are not whole k-quant blocks", async () => {
    const path = join(workDir, "invalid-sparse.gguf");
    await expect(writeSparseModelGguf(path, { architecture: "llama", weightType: "q4_k_m", nEmbd: 64, nFf: 256 })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'weightType "q4_k_m" needs rows of a multiple of 256 (k-quant blocks); nEmbd is 64',
    });
    await expect(writeTinyModelGguf(path, { architecture: "llama", weightType: "q4_k_m" as "f32" })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'weightType must be "f32" or "f16", got q4_k_m',
    });
    await expect(readFile(path)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
