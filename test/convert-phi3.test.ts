// Phi3ForCausalLM (Phi-3, Phi-3.5, Phi-4): converted as llama.cpp's Phi3MiniModel does, with the
// fused qkv_proj and gate_up_proj kept fused, and checked against the float64 transformers-semantics
// reference run on the checkpoint itself.
import { cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { exportPeft } from "../src/export/export-peft.js";
import { GgufValueType, readGgufHeader, train } from "../src/index.js";
import type { TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer } from "../src/testing/tiny-hf-tokenizer.js";
import { writeTinyPeftAdapter } from "../src/testing/tiny-peft-adapter.js";
import { expectError } from "./helpers/expect-error.js";
import { hfReferenceNextTokenProbabilities, REFERENCE_SEQUENCES, writeReferenceCheckpoint } from "./helpers/hf-reference-forward.js";
import { maxAbsDifference, tokenSequenceProbabilities as llamaCppProbabilities } from "./helpers/llama-eval.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("convert-phi3");
afterAll(() => temp.cleanup());

const sequences = REFERENCE_SEQUENCES;

// Six factors: head size 16, partial_rotary_factor 0.75 rotates 12 dimensions.
const longrope = { longFactor: [1, 1.5, 2.5, 4, 6, 9], shortFactor: [1, 1.1, 1.3, 1.8, 2.2, 3] };

const cases: { name: string; options: Partial<TinyHfCheckpointOptions> & Pick<TinyHfCheckpointOptions, "dtype"> }[] = [
  { name: "f32, like Phi-3-mini-4k (sliding_window 2047)", options: { dtype: "float32", slidingWindow: 2047 } },
  { name: "bf16, like Phi-4 (sliding_window null)", options: { dtype: "bfloat16" } },
  {
    name: "f32, like Phi-4-mini (longrope, partial rotary 0.75, tied embeddings)",
    // node-llama-cpp's 256-token context is within the original 512, so both sides use the short factors
    options: { dtype: "float32", phi3Longrope: longrope, originalMaxPositionEmbeddings: 512, partialRotaryFactor: 0.75, tieWordEmbeddings: true },
  },
];

async function tinyPhi3(name: string, options: Partial<TinyHfCheckpointOptions>): Promise<string> {
  const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 1000 });
  // llama.cpp sets Phi-3's special-token attributes on "</s>" when general.name (the directory's
  // name here) contains "phi-3" or "phi3"; the tiny vocabulary has no "</s>", so keep the names neutral
  const dir = path.join(temp.dir, `tiny-${name.replace(/[^a-z0-9]+/gi, "-").replace(/phi-?3/gi, "p3")}`);
  await writeReferenceCheckpoint(dir, tokenizer, { architecture: "phi3", dtype: "float32", seed: 5, ...options });
  return dir;
}

describe("convert: Phi3ForCausalLM", () => {
  for (const { name, options } of cases) {
    it(`${name}: node-llama-cpp matches the float64 reference within 1e-4`, async () => {
      const dir = await tinyPhi3(name, options);
      const output = path.join(temp.dir, `${path.basename(dir)}-f32.gguf`);
      const result = await convert(dir, output, { outType: "f32" });
      expect(result.architecture).toBe("phi3");

      // Phi3MiniModel.set_gguf_parameters writes these and no other phi3.* keys (plus attn_factor with longrope).
      const header = await readGgufHeader(output);
      const phi3Keys = Object.fromEntries(header.metadata.filter((entry) => entry.key.startsWith("phi3.")).map((entry) => [entry.key, entry.value]));
      const rotary = options.partialRotaryFactor === undefined ? 16 : 12;
      const expected: Record<string, unknown> = {
        "phi3.context_length": 2048,
        "phi3.rope.scaling.original_context_length": options.originalMaxPositionEmbeddings ?? 2048,
        "phi3.embedding_length": 64,
        "phi3.feed_forward_length": 128,
        "phi3.block_count": 2,
        "phi3.attention.head_count": 4,
        "phi3.attention.head_count_kv": 2,
        "phi3.attention.layer_norm_rms_epsilon": Math.fround(1e-5),
        "phi3.rope.dimension_count": rotary,
        "phi3.rope.freq_base": 10000,
        "phi3.attention.sliding_window": options.slidingWindow ?? 0,
      };
      if (options.phi3Longrope) expected["phi3.rope.scaling.attn_factor"] = Math.fround(Math.sqrt(1 + Math.log(4) / Math.log(512)));
      expect(phi3Keys).toEqual(expected);
      expect(header.metadataByKey.get("phi3.rope.freq_base")?.type).toBe(GgufValueType.FLOAT32);

      const dims = Object.fromEntries(header.tensors.map((tensor) => [tensor.name, tensor.dims.join("x")]));
      expect(dims["blk.0.attn_qkv.weight"]).toBe(`64x${64 + 2 * 32}`);
      expect(dims["blk.0.ffn_up.weight"]).toBe("64x256");
      expect(dims["blk.1.ffn_down.weight"]).toBe("128x64");
      expect(Object.keys(dims).filter((tensorName) => /attn_[qkv]\.|ffn_gate/.test(tensorName))).toEqual([]);
      expect("output.weight" in dims).toBe(!options.tieWordEmbeddings);
      if (options.phi3Longrope) {
        const bytes = await readFile(output);
        const f32Tensor = (tensorName: string) => {
          const tensor = header.tensors.find((candidate) => candidate.name === tensorName)!;
          return Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + tensor.absoluteOffset, bytes.byteOffset + tensor.absoluteOffset + tensor.byteSize)));
        };
        expect(f32Tensor("rope_factors_long.weight")).toEqual(longrope.longFactor.map(Math.fround));
        expect(f32Tensor("rope_factors_short.weight")).toEqual(longrope.shortFactor.map(Math.fround));
      } else {
        expect(Object.keys(dims).filter((tensorName) => tensorName.startsWith("rope_"))).toEqual([]);
      }

      const ours = await llamaCppProbabilities(output, sequences);
      let worst = 0;
      for (const [index, tokens] of sequences.entries()) {
        worst = Math.max(worst, maxAbsDifference(ours[index], await hfReferenceNextTokenProbabilities(dir, tokens)));
      }
      if (options.phi3Longrope) {
        // the factors and the attention factor move the reference, so the agreement above covers them
        const plain = path.join(temp.dir, `${path.basename(dir)}-no-rope-scaling`);
        await cp(dir, plain, { recursive: true });
        const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
        await writeFile(path.join(plain, "config.json"), JSON.stringify({ ...config, rope_scaling: null }));
        const tokens = sequences[2];
        expect(maxAbsDifference(await hfReferenceNextTokenProbabilities(dir, tokens), await hfReferenceNextTokenProbabilities(plain, tokens))).toBeGreaterThan(1e-3);
      }
      console.log(`phi3 ${name}: max |p_llama.cpp - p_reference| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it("refuses, typed and before writing, the Phi3 variants it does not convert", async () => {
    const dir = await tinyPhi3("refusals", {});
    const configFile = path.join(dir, "config.json");
    const original = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
    const variants: { patch: Record<string, unknown>; code: string; message: RegExp }[] = [
      { patch: { rope_scaling: { type: "yarn", long_factor: [1], short_factor: [1] } }, code: "E_UNSUPPORTED_ARCH", message: /rope_scaling of type "yarn"/ },
      { patch: { rope_scaling: { rope_type: "llama3", factor: 8 } }, code: "E_UNSUPPORTED_ARCH", message: /rope_scaling of type "llama3"/ },
      {
        patch: { rope_scaling: { type: "longrope", long_factor: Array(8).fill(1), short_factor: Array(8).fill(1), attention_factor: 1.2 } },
        code: "E_UNSUPPORTED_ARCH",
        message: /rope_scaling\.attention_factor/,
      },
      { patch: { rope_scaling: { type: "longrope", long_factor: [1, 2], short_factor: [1, 2] } }, code: "E_BAD_CHECKPOINT_DIR", message: /must hold 8 positive numbers/ },
      { patch: { hidden_act: "gelu_new" }, code: "E_UNSUPPORTED_ARCH", message: /hidden_act "gelu_new"/ },
      { patch: { head_dim: 32 }, code: "E_UNSUPPORTED_ARCH", message: /head_dim 32/ },
      { patch: { original_max_position_embeddings: null }, code: "E_BAD_CHECKPOINT_DIR", message: /needs original_max_position_embeddings/ },
    ];
    for (const [index, variant] of variants.entries()) {
      await writeFile(configFile, JSON.stringify({ ...original, ...variant.patch }));
      const output = path.join(temp.dir, `refused-${index}.gguf`);
      await expectError(convert(dir, output), variant.code, variant.message);
      await expect(readFile(output)).rejects.toThrow(/ENOENT/);
    }
  });

  it("a PEFT adapter of the fused modules converts against the base and exports back byte for byte", async () => {
    const dir = await tinyPhi3("peft-base", {});
    const peft = path.join(temp.dir, "peft");
    const modules = [
      { name: "self_attn.qkv_proj", out: 64 + 2 * 32, in: 64 },
      { name: "self_attn.o_proj", out: 64, in: 64 },
      { name: "mlp.gate_up_proj", out: 2 * 128, in: 64 },
      { name: "mlp.down_proj", out: 64, in: 128 },
    ];
    await writeTinyPeftAdapter(peft, { modules, layers: 2, rank: 4, alpha: 8, seed: 9 });
    const adapter = path.join(temp.dir, "peft-adapter.gguf");
    const converted = await convert(peft, adapter, { base: dir });
    expect(converted.architecture).toBe("phi3");
    const names = (await readGgufHeader(adapter)).tensors.map((tensor) => tensor.name).filter((name) => name.startsWith("blk.0."));
    expect(names.sort()).toEqual(
      ["attn_output", "attn_qkv", "ffn_down", "ffn_up"].flatMap((target) => [`blk.0.${target}.weight.lora_a`, `blk.0.${target}.weight.lora_b`]),
    );
    const exported = path.join(temp.dir, "peft-exported");
    const result = await exportPeft(adapter, exported);
    expect(result.targetModules).toEqual(["down_proj", "gate_up_proj", "o_proj", "qkv_proj"]);
    const file = "adapter_model.safetensors";
    expect((await readFile(path.join(exported, file))).equals(await readFile(path.join(peft, file)))).toBe(true);
  });

  it("a converted Phi-3 trains on its fused targets (qkv, o, gate_up, down)", async () => {
    const dir = await tinyPhi3("train", {});
    const model = path.join(temp.dir, "train-model.gguf");
    await convert(dir, model);
    const data = path.join(temp.dir, "phi3-data.jsonl");
    await writeFile(data, `${JSON.stringify({ text: "hello there, this is a short text to train on" })}\n`);
    const result = await train({ model, data, output: path.join(temp.dir, "phi3-adapter.gguf"), maxSteps: 2, epochs: 2, threads: 2 });
    expect(result.steps).toBe(2);
    expect(Number.isFinite(result.finalLoss)).toBe(true);
    const names = (await readGgufHeader(result.adapter)).tensors.map((tensor) => tensor.name).filter((name) => name.startsWith("blk.0.")).sort();
    expect(names).toEqual(["attn_output", "attn_qkv", "ffn_down", "ffn_up"].flatMap((tensor) => [`blk.0.${tensor}.weight.lora_a`, `blk.0.${tensor}.weight.lora_b`]));
  });
});
