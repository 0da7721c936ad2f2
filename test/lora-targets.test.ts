// LoRA targets by family: separate projections (llama, qwen) and phi3's fused qkv and gate_up.
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { readGgufHeader, type GgufHeader } from "../src/gguf/index.js";
import { estimateTrainingMemory } from "../src/train/memory-estimate.js";
import { defaultLoraTargets, findLoraTargetTensors, resolveLoraTargets, type LoraTarget } from "../src/train/lora-targets.js";
import { writeTinyModelGguf, type TinyModelArchitecture } from "../src/testing/tiny-model.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("lora-targets");
const headers = new Map<TinyModelArchitecture, GgufHeader>();
const header = (architecture: TinyModelArchitecture) => headers.get(architecture)!;

beforeAll(async () => {
  for (const architecture of ["llama", "qwen2", "phi3"] as const) {
    const file = path.join(temp.dir, `${architecture}.gguf`);
    await writeTinyModelGguf(file, { architecture, nLayer: 2, nEmbd: 64, nHead: 4, nHeadKv: 2, nFf: 128, vocabSize: 512 });
    headers.set(architecture, await readGgufHeader(file));
  }
});
afterAll(() => temp.cleanup());

const rows = (architecture: TinyModelArchitecture, targets: readonly LoraTarget[] | undefined, layers?: number[]) =>
  findLoraTargetTensors(header(architecture), targets, layers).map(({ baseName, target, inputSize, outputSize }) => [baseName, target, inputSize, outputSize]);

describe("LoRA targets", () => {
  it("resolves PEFT names, the fused ones too, in PEFT's order; all-linear means the family's own", () => {
    expect(resolveLoraTargets("down_proj,gate_up_proj,o,qkv_proj")).toEqual(["qkv", "o", "gate_up", "down"]);
    expect(resolveLoraTargets(["v", "q"])).toEqual(["q", "v"]);
    expect(resolveLoraTargets("all-linear")).toBeUndefined();
    expect(() => resolveLoraTargets("q,nope")).toThrow(expect.objectContaining({ code: "E_INVALID_OPTION", message: expect.stringMatching(/^unknown LoRA target "nope"/) }));
  });

  it("phi3: qkv, o, gate_up and down adapt attn_qkv, attn_output, ffn_up and ffn_down, and are its default", () => {
    expect(rows("phi3", undefined, [1])).toEqual([
      ["blk.1.attn_qkv.weight", "qkv", 64, 128],
      ["blk.1.attn_output.weight", "o", 64, 64],
      ["blk.1.ffn_up.weight", "gate_up", 64, 256],
      ["blk.1.ffn_down.weight", "down", 128, 64],
    ]);
    expect(rows("phi3", ["gate_up"])).toEqual([["blk.0.ffn_up.weight", "gate_up", 64, 256], ["blk.1.ffn_up.weight", "gate_up", 64, 256]]);
  });

  it("llama and qwen keep their seven targets, order and tensor names", () => {
    for (const architecture of ["llama", "qwen2"] as const) {
      expect(rows(architecture, undefined)).toEqual(rows(architecture, defaultLoraTargets));
      expect(rows(architecture, undefined, [0]).map(([name]) => name)).toEqual(
        ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"].map((kind) => `blk.0.${kind}.weight`),
      );
    }
  });

  it("a target the family does not have is E_INVALID_OPTION naming the ones to use", () => {
    const refused = (architecture: TinyModelArchitecture, targets: LoraTarget[], message: string) =>
      expect(() => findLoraTargetTensors(header(architecture), targets)).toThrow(expect.objectContaining({ code: "E_INVALID_OPTION", message }));
    for (const target of ["q", "k", "v"] as const) {
      refused("phi3", [target, "o"], `phi3 fuses its projections, so "${target}" is not a LoRA target of it; use qkv (qkv_proj); its targets are qkv, o, gate_up, down`);
    }
    for (const target of ["gate", "up"] as const) {
      refused("phi3", [target], `phi3 fuses its projections, so "${target}" is not a LoRA target of it; use gate_up (gate_up_proj); its targets are qkv, o, gate_up, down`);
    }
    refused("llama", ["qkv"], 'llama keeps its projections separate, so "qkv" is not a LoRA target of it; use q, k, v (q_proj, k_proj, v_proj); its targets are q, k, v, o, gate, up, down');
    refused("qwen2", ["gate_up"], 'qwen2 keeps its projections separate, so "gate_up" is not a LoRA target of it; use gate, up (gate_proj, up_proj); its targets are q, k, v, o, gate, up, down');
  });

  it("the memory estimate keeps for a fused target what its parts keep", () => {
    // the same shapes: phi3's one A·x of rank 3 (qkv) or 2 (gate_up) is llama's three or two of rank 1
    const activations = (architecture: TinyModelArchitecture, targets: LoraTarget[], rank: number) =>
      estimateTrainingMemory(header(architecture), { contextLength: 256, rank, targets, maxSequencesPerWindow: 1, threads: 2 }).parts.activationsBytes;
    expect(activations("phi3", ["qkv"], 3)).toBe(activations("llama", ["q", "k", "v"], 1));
    expect(activations("phi3", ["gate_up"], 2)).toBe(activations("llama", ["gate", "up"], 1));
    expect(activations("phi3", ["o", "down"], 4)).toBe(activations("llama", ["o", "down"], 4));
    expect(activations("phi3", ["qkv", "o", "gate_up", "down"], 4)).toBeGreaterThan(activations("phi3", ["o", "down"], 4));
  });
});
