// The training memory estimate against the peak RSS of real runs, each in a fresh process of its
// own (test/fixtures/train-peak-rss.mjs), and the dry run that produces it without loading weights.
import { execFile } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GgmlType, quantize, readGgufHeader, stringEntry, tensorByteSize, uint32Entry, type GgufHeader } from "../src/index.js";
import { loadNative, packageRoot } from "../src/native.js";
import { writeSparseModelGguf, writeTinyModelGguf, type SparseModelOptions, type TinyModelOptions } from "../src/testing/tiny-model.js";
import { dryRunTraining, formatMemoryEstimate } from "../src/train/dry-run.js";
import { transformerLoraTargets } from "../src/arch/transformer-names.js";
import { defaultLoraTargets, type LoraTarget } from "../src/train/lora-targets.js";
import { estimateTrainingMemory, type TrainingMemoryEstimate } from "../src/train/memory-estimate.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("memory");
const data = path.join(temp.dir, "colours.jsonl");
const fixture = path.join(packageRoot, "test", "fixtures", "train-peak-rss.mjs");
const MiB = 1024 * 1024;

const models = {
  small: { architecture: "llama", nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, vocabSize: 4096 },
  // about 180 MB of f32 weights, half of them the 32000-token embeddings
  medium: { architecture: "llama", nLayer: 4, nEmbd: 512, nHead: 8, nHeadKv: 4, nFf: 1536, vocabSize: 32000 },
  // 16 heads of 16 dimensions: attention scores dominate at long contexts
  manyHeads: { architecture: "llama", nLayer: 2, nEmbd: 256, nHead: 16, nHeadKv: 2, nFf: 512, vocabSize: 4096 },
  // the medium shape in other trained families: gemma2's post norms, GELU, softcapped scores and tied
  // output (src/arch's training graph facts), phi3's fused projections (gemma3 at ctx 1024 measured +6.9%)
  gemma2: { architecture: "gemma2", nLayer: 4, nEmbd: 512, nHead: 8, nHeadKv: 4, nFf: 1536, vocabSize: 32000 },
  phi3: { architecture: "phi3", nLayer: 4, nEmbd: 512, nHead: 8, nHeadKv: 4, nFf: 1536, vocabSize: 32000 },
} satisfies Record<string, TinyModelOptions>;
/**
 * About 400 MB, only read for its header and vocabulary by the dry run: its tensor data is a hole
 * (writeSparseModelGguf), which takes no time to write and would still show in the resident set if read.
 */
const largeModel = { architecture: "llama", nLayer: 8, nEmbd: 768, nHead: 12, nHeadKv: 4, nFf: 2048, vocabSize: 32000 } satisfies SparseModelOptions;
const modelFile = (name: string) => path.join(temp.dir, `${name}.gguf`);

interface PeakRssReport {
  estimate: TrainingMemoryEstimate;
  contextLength: number;
  dryRunPeakRssBytes: number;
  peakRssBytes: number;
  steps?: number;
}

async function measure(
  model: string,
  options: { contextLength: number; targets?: readonly LoraTarget[]; rank?: number; recompute?: "on" | "off"; dryRunOnly?: boolean },
): Promise<PeakRssReport> {
  const output = path.join(temp.dir, `out-${path.basename(model, ".gguf")}-${options.contextLength}-${options.recompute ?? "auto"}`, "adapter.gguf");
  mkdirSync(path.dirname(output), { recursive: true });
  const trainOptions = { model, data, output, chatTemplate: instTemplate, maxSteps: 2, threads: 2, force: true, ...options };
  const { stdout } = await promisify(execFile)(process.execPath, [fixture, JSON.stringify(trainOptions)], { maxBuffer: 16 * MiB });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as PeakRssReport;
}

beforeAll(async () => {
  writeMemorizationJsonl(data);
  for (const [name, options] of Object.entries(models)) await writeTinyModelGguf(modelFile(name), options);
  await writeSparseModelGguf(modelFile("large"), largeModel);
  for (const name of ["medium", "gemma2", "phi3"]) await quantize(modelFile(name), modelFile(`${name}-q4_k_m`), { type: "Q4_K_M" });
}, 120_000);
afterAll(() => temp.cleanup());

describe("estimateTrainingMemory against measured peak RSS", () => {
  type Part = keyof TrainingMemoryEstimate["parts"];
  // each run is dominated by a different part, so that no one term can carry the fit
  const configurations: { label: string; model: string; contextLength: number; targets?: readonly LoraTarget[]; recompute?: "on" | "off"; dominant: Part }[] = [
    { label: "small f32, ctx 256", model: "small", contextLength: 256, dominant: "runtimeOverheadBytes" },
    { label: "medium f32 (182 MB), ctx 256", model: "medium", contextLength: 256, dominant: "modelWeightsBytes" },
    { label: "medium Q4_K_M (31 MB), ctx 1024", model: "medium-q4_k_m", contextLength: 1024, recompute: "off", dominant: "activationsBytes" },
    { label: "medium Q4_K_M, ctx 2048, recomputed", model: "medium-q4_k_m", contextLength: 2048, recompute: "on", dominant: "activationsBytes" },
    { label: "16 heads, ctx 2048", model: "manyHeads", contextLength: 2048, recompute: "off", dominant: "activationsBytes" },
    { label: "16 heads, ctx 2048, recomputed", model: "manyHeads", contextLength: 2048, recompute: "on", dominant: "activationsBytes" },
    { label: "gemma2 Q4_K_M, ctx 2048", model: "gemma2-q4_k_m", contextLength: 2048, recompute: "off", dominant: "activationsBytes" },
    { label: "phi3 Q4_K_M, ctx 2048, recomputed", model: "phi3-q4_k_m", contextLength: 2048, recompute: "on", dominant: "activationsBytes" },
  ];
  const measured = new Map<string, number>();

  for (const configuration of configurations) {
    it(`is within 10% for ${configuration.label}`, async () => {
      const report = await measure(modelFile(configuration.model), {
        contextLength: configuration.contextLength,
        targets: configuration.targets,
        recompute: configuration.recompute,
      });
      measured.set(configuration.label, report.peakRssBytes);
      expect(report.estimate.layout.recomputeLayers).toBe(configuration.recompute === "on");
      const { estimate } = report;
      const error = estimate.totalBytes / report.peakRssBytes - 1;
      const parts = Object.entries(estimate.parts).map(([name, bytes]) => `${name.replace(/Bytes$/, "")} ${(bytes / MiB).toFixed(1)}`).join(", ");
      console.log(
        `${configuration.label}: measured ${(report.peakRssBytes / MiB).toFixed(1)} MiB, estimated ${(estimate.totalBytes / MiB).toFixed(1)} MiB ` +
          `(${(error * 100).toFixed(1)}%; ${parts})`,
      );
      expect(report.steps).toBeGreaterThanOrEqual(1);
      expect(report.contextLength).toBe(configuration.contextLength);
      expect(Math.abs(error)).toBeLessThanOrEqual(0.1);
      // (a CUDA build's runtime, resident GPU or not, outweighs the recomputed runs' activations)
      const largest = (Object.keys(estimate.parts) as Part[]).reduce((a, b) => (estimate.parts[a] >= estimate.parts[b] ? a : b));
      if (!(await loadNative()).buildInfo().cuda) expect(largest).toBe(configuration.dominant);
    }, 120_000);
  }

  it("recomputation takes activations from every layer's to one layer's at a time", () => {
    const kept = measured.get("16 heads, ctx 2048");
    const recomputed = measured.get("16 heads, ctx 2048, recomputed");
    expect(kept).toBeDefined();
    expect(recomputed).toBeDefined();
    // 16 heads' causal scores in both blocks (~270 MiB) against one chunk's (~35 MiB)
    expect(recomputed!).toBeLessThan(kept! - 150 * MiB);
  });
});

describe("dryRunTraining", () => {
  it("plans the run and estimates its memory without loading the weights", async () => {
    const small = await measure(modelFile("small"), { contextLength: 512, dryRunOnly: true });
    const large = await measure(modelFile("large"), { contextLength: 512, dryRunOnly: true });
    const largeSize = statSync(modelFile("large")).size;
    console.log(`dry run peak RSS: ${(small.dryRunPeakRssBytes / MiB).toFixed(1)} MiB (small model), ${(large.dryRunPeakRssBytes / MiB).toFixed(1)} MiB (${(largeSize / MiB).toFixed(0)} MiB model)`);
    expect(large.dryRunPeakRssBytes).toBeLessThan(largeSize / 2);
    // a bigger vocabulary to tokenize with, but none of the 380 MiB of weights
    expect(large.dryRunPeakRssBytes - small.dryRunPeakRssBytes).toBeLessThan(largeSize / 10);
    expect(large.estimate.parts.modelWeightsBytes).toBeGreaterThan(largeSize * 0.99);
    expect(large.estimate.parts.modelWeightsBytes).toBeLessThanOrEqual(largeSize);
  });

  it("returns the plan train() would follow", async () => {
    const dryRun = await dryRunTraining({
      model: modelFile("small"),
      data,
      output: path.join(temp.dir, "unused", "adapter.gguf"),
      chatTemplate: instTemplate,
      contextLength: 256,
      validationSplit: 0.25,
      epochs: 3,
      batchSize: 2,
      rank: 8,
    });
    expect(dryRun).toMatchObject({ contextLength: 256, windowsPerStep: 2, trainingSamples: 12, validationSamples: 4, truncatedSamples: 0, skippedSamples: [] });
    expect(dryRun.config).toMatchObject({ rank: 8, contextLength: 256, epochs: 3 });
    expect(dryRun.totalSteps).toBeGreaterThanOrEqual(3);
    expect(dryRun.trainedTokensPerEpoch).toBeGreaterThan(12 * 3);
    expect(dryRun.memory.fits).toBe(true);
    expect(dryRun.memory.suggestions).toEqual([]);
    expect(formatMemoryEstimate(dryRun.memory)).toMatch(/^Estimated peak memory: [\d.]+ MiB of [\d.]+ GiB available\n {2}model weights \(mmapped\) +[\d.]+ MiB\n/);
  });
});

describe("estimateTrainingMemory when it does not fit", () => {
  const base = { rank: 16, targets: defaultLoraTargets, maxSequencesPerWindow: 1 };

  it("a long context on a small model: suggests the longest context that fits", async () => {
    const header = await readGgufHeader(modelFile("medium"));
    const estimate = estimateTrainingMemory(header, { ...base, contextLength: 1 << 17 });
    expect(estimate.totalBytes).toBeGreaterThan(estimate.availableBytes);
    expect(estimate.fits).toBe(false);
    const suggested = /^contextLength (\d+) instead of 131072 \(saves [\d.]+ GiB, total [\d.]+ [GM]iB\)/.exec(estimate.suggestions[0]);
    expect(suggested, estimate.suggestions.join("\n")).not.toBeNull();
    const contextLength = Number(suggested![1]);
    expect(contextLength % 256).toBe(0);
    expect(estimateTrainingMemory(header, { ...base, contextLength }).fits).toBe(true);
    expect(estimateTrainingMemory(header, { ...base, contextLength: contextLength + 256 }).fits).toBe(false);
    const text = formatMemoryEstimate(estimate);
    expect(text).toContain("(does not fit)");
    expect(text).toContain(`  - ${estimate.suggestions[0]}`);
  });

  it("a 70B-shaped f32 model: suggests quantized copies and says what the smallest options need", () => {
    const header = fakeLlamaHeader({ nLayer: 80, nEmbd: 8192, nHead: 64, nHeadKv: 8, nFf: 28672, vocabSize: 128256 });
    const estimate = estimateTrainingMemory(header, { ...base, contextLength: 4096 });
    expect(estimate.parts.modelWeightsBytes).toBeGreaterThan(250 * 1024 * MiB);
    expect(estimate.fits).toBe(false);
    // llama.cpp's block sizes: q8_0 is 8.5 bits a weight, Q4_K_M mostly q4_K (4.5) with some q6_K (6.56)
    const f32GiB = estimate.parts.modelWeightsBytes / (1024 * MiB);
    for (const [type, lowBits, highBits] of [["Q8_0", 8.5, 8.5], ["Q4_K_M", 4.5, 5]] as const) {
      const suggestion = estimate.suggestions.find((text) => text.startsWith(`a ${type} copy`)) ?? "";
      const match = new RegExp(`^a ${type} copy of the base model \\(lora-gguf quantize --type ${type}\\): weights ([\\d.]+) GiB instead of ([\\d.]+) GiB \\(saves [\\d.]+ GiB, total [\\d.]+ GiB, not enough alone\\)$`).exec(suggestion);
      expect(match, estimate.suggestions.join("\n")).not.toBeNull();
      expect(Number(match![2])).toBeCloseTo(f32GiB, 1);
      expect(Number(match![1])).toBeGreaterThanOrEqual(((f32GiB * lowBits) / 32) * 0.99);
      expect(Number(match![1])).toBeLessThanOrEqual(((f32GiB * highBits) / 32) * 1.01);
    }
    expect(estimate.suggestions.at(-1)).toMatch(/^even contextLength 256 and rank 1 need [\d.]+ GiB: use a smaller or quantized model, or a machine with more memory$/);
  });

  it("grows with the context, the rank and the targets", async () => {
    const header = await readGgufHeader(modelFile("medium"));
    const total = (changes: object) => estimateTrainingMemory(header, { ...base, contextLength: 512, ...changes }).totalBytes;
    expect(total({ contextLength: 1024 })).toBeGreaterThan(total({}));
    expect(total({ rank: 64 })).toBeGreaterThan(total({}));
    expect(total({ targets: ["q", "v"] })).toBeLessThan(total({}));
    expect(total({ layers: [3] })).toBeLessThan(total({ layers: [0] }));
  });

  it("refuses layers the model does not have", async () => {
    const header = await readGgufHeader(modelFile("small"));
    expect(() => estimateTrainingMemory(header, { ...base, contextLength: 256, layers: [2] })).toThrow(
      expect.objectContaining({ code: "E_INVALID_OPTION", message: "layer 2 does not exist; the model has layers 0 to 1" }),
    );
  });
});

/** A header with llama's tensor names and shapes in f32, as a converted model would have, with no file behind it. */
function fakeLlamaHeader(shape: { nLayer: number; nEmbd: number; nHead: number; nHeadKv: number; nFf: number; vocabSize: number }): GgufHeader {
  const headSize = shape.nEmbd / shape.nHead;
  const kvSize = shape.nHeadKv * headSize;
  const matrices: [string, number[]][] = [["token_embd.weight", [shape.nEmbd, shape.vocabSize]], ["output_norm.weight", [shape.nEmbd]], ["output.weight", [shape.nEmbd, shape.vocabSize]]];
  const blockShapes: Record<(typeof transformerLoraTargets)[keyof typeof transformerLoraTargets], number[]> = {
    attn_q: [shape.nEmbd, shape.nEmbd],
    attn_k: [shape.nEmbd, kvSize],
    attn_v: [shape.nEmbd, kvSize],
    attn_output: [shape.nEmbd, shape.nEmbd],
    ffn_gate: [shape.nEmbd, shape.nFf],
    ffn_up: [shape.nEmbd, shape.nFf],
    ffn_down: [shape.nFf, shape.nEmbd],
  };
  for (let layer = 0; layer < shape.nLayer; layer++) {
    matrices.push([`blk.${layer}.attn_norm.weight`, [shape.nEmbd]], [`blk.${layer}.ffn_norm.weight`, [shape.nEmbd]]);
    for (const [name, dims] of Object.entries(blockShapes)) matrices.push([`blk.${layer}.${name}.weight`, dims]);
  }
  let offset = 0;
  const tensors = matrices.map(([name, dims]) => {
    const byteSize = tensorByteSize(GgmlType.F32, dims);
    const tensor = { name, dims, type: GgmlType.F32, offset, byteSize, absoluteOffset: offset };
    offset += byteSize;
    return tensor;
  });
  const metadata = [
    stringEntry("general.architecture", "llama"),
    uint32Entry("llama.block_count", shape.nLayer),
    uint32Entry("llama.embedding_length", shape.nEmbd),
    uint32Entry("llama.attention.head_count", shape.nHead),
    uint32Entry("llama.attention.head_count_kv", shape.nHeadKv),
    uint32Entry("llama.feed_forward_length", shape.nFf),
  ];
  return { version: 3, metadata, metadataByKey: new Map(metadata.map((entry) => [entry.key, entry])), tensors, alignment: 32, dataOffset: 0, fileSize: offset };
}
