// Gemma2ForCausalLM and Gemma3ForCausalLM: converted as llama.cpp's Gemma2Model and Gemma3Model do
// ((1 + w) norms as w + 1, no row permutation, lm_head tied), and checked against the float64
// transformers-semantics reference run on the checkpoint itself.
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { openCheckpointTensors, readTensorAsFloat32 } from "../src/convert/safetensors.js";
import { writeSafetensorsFile } from "../src/convert/safetensors-writer.js";
import { readGgufHeader, train } from "../src/index.js";
import type { TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer } from "../src/testing/tiny-hf-tokenizer.js";
import { expectError } from "./helpers/expect-error.js";
import { hfReferenceNextTokenProbabilities, REFERENCE_SEQUENCES, writeReferenceCheckpoint } from "./helpers/hf-reference-forward.js";
import { maxAbsDifference, tokenSequenceProbabilities as llamaCppProbabilities } from "./helpers/llama-eval.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("convert-g2g3");
afterAll(() => temp.cleanup());

const sequences = REFERENCE_SEQUENCES;

type GemmaCase = { name: string; options: Partial<TinyHfCheckpointOptions> & Pick<TinyHfCheckpointOptions, "architecture" | "dtype">; expected: Record<string, unknown> };

// head_dim 32 is not hidden_size / heads (16), as in Gemma 2 2B (2304 / 8 ≠ 256). Caps small
// enough to bind on the tiny model's scores and logits; a window of 3 binds on the 4 to 8 token sequences.
const gemma2 = { architecture: "gemma2", headDim: 32, attnLogitSoftcapping: 0.5, finalLogitSoftcapping: 2.5, slidingWindow: 3 } as const;
const gemma2Keys = (window: number) => ({
  "gemma2.context_length": 2048,
  "gemma2.embedding_length": 64,
  "gemma2.block_count": 2,
  "gemma2.feed_forward_length": 128,
  "gemma2.attention.head_count": 4,
  "gemma2.attention.head_count_kv": 2,
  "gemma2.attention.layer_norm_rms_epsilon": Math.fround(1e-5),
  "gemma2.attention.key_length": 32,
  "gemma2.attention.value_length": 32,
  "gemma2.attn_logit_softcapping": 0.5,
  "gemma2.final_logit_softcapping": 2.5,
  "gemma2.attention.sliding_window": window,
});

// Gemma3Model's keys for the 6-layer cases, in its order (rope scaling and the final softcap where set)
const gemma3Keys = (keys: { ropeScalingFactor?: number; ropeBase: number; ropeBaseSwa: number; finalSoftcap?: number; window: number }) => ({
  "gemma3.block_count": 6,
  "gemma3.context_length": 2048,
  "gemma3.embedding_length": 64,
  "gemma3.feed_forward_length": 128,
  "gemma3.attention.head_count": 4,
  "gemma3.attention.head_count_kv": 2,
  ...(keys.ropeScalingFactor === undefined ? {} : { "gemma3.rope.scaling.type": "linear", "gemma3.rope.scaling.factor": keys.ropeScalingFactor }),
  "gemma3.rope.freq_base": keys.ropeBase,
  "gemma3.rope.freq_base_swa": keys.ropeBaseSwa,
  "gemma3.attention.layer_norm_rms_epsilon": Math.fround(1e-5),
  "gemma3.attention.key_length": 32,
  "gemma3.attention.value_length": 32,
  ...(keys.finalSoftcap === undefined ? {} : { "gemma3.final_logit_softcapping": keys.finalSoftcap }),
  "gemma3.attention.sliding_window": keys.window,
});

// Gemma (1), CodeGemma: GemmaModel writes these and no other gemma.* keys
const gemma1Keys = {
  "gemma.context_length": 2048,
  "gemma.embedding_length": 64,
  "gemma.block_count": 2,
  "gemma.feed_forward_length": 128,
  "gemma.attention.head_count": 4,
  "gemma.attention.head_count_kv": 2,
  "gemma.attention.layer_norm_rms_epsilon": Math.fround(1e-5),
  "gemma.attention.key_length": 32,
  "gemma.attention.value_length": 32,
};

const cases: GemmaCase[] = [
  { name: "gemma f32 (Gemma 1: no post norms, every layer global)", options: { architecture: "gemma", dtype: "float32", headDim: 32 }, expected: gemma1Keys },
  { name: "gemma bf16", options: { architecture: "gemma", dtype: "bfloat16", headDim: 32 }, expected: gemma1Keys },
  { name: "gemma2 f32 (sliding window 3)", options: { ...gemma2, dtype: "float32" }, expected: gemma2Keys(3) },
  { name: "gemma2 bf16 (sliding window 4096)", options: { ...gemma2, dtype: "bfloat16", slidingWindow: 4096 }, expected: gemma2Keys(4096) },
  {
    // six layers: five sliding (rope base rope_local_base_freq, unscaled), the sixth global (rope_theta,
    // linear factor 8, as Gemma 3 4B); the bases are 100 and 10000 rather than 10000 and 1e6 so that
    // both move the 8-token reference
    name: "gemma3 f32 (6 layers, sliding window 3, linear rope scaling 8, final softcap)",
    options: { architecture: "gemma3", dtype: "float32", nLayer: 6, headDim: 32, ropeTheta: 10000, ropeLocalBaseFreq: 100, ropeScalingLinearFactor: 8, finalLogitSoftcapping: 2.5, slidingWindow: 3 },
    expected: gemma3Keys({ ropeScalingFactor: 8, ropeBase: 10000, ropeBaseSwa: 100, finalSoftcap: 2.5, window: 3 }),
  },
  {
    // Gemma 3 1B's settings: rope bases 1e6 and 10000, no rope scaling, no final softcap, window 512.
    // Uncapped, the next-token distribution is peaked and shows llama.cpp's CPU GELU, which looks
    // up an f16 table (GGML_GELU_FP16): |Δp| is 9.1e-5 here, 8e-7 with the reference's GELU
    // rounded the same way, so the conversion itself is exact to float32.
    name: "gemma3 bf16 (6 layers, like Gemma 3 1B)",
    options: { architecture: "gemma3", dtype: "bfloat16", nLayer: 6, headDim: 32, ropeTheta: 1_000_000 },
    expected: gemma3Keys({ ropeBase: 1_000_000, ropeBaseSwa: 10000, window: 512 }),
  },
];

async function tinyGemma(name: string, options: Partial<TinyHfCheckpointOptions> & Pick<TinyHfCheckpointOptions, "architecture">): Promise<string> {
  const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 1000 });
  const dir = path.join(temp.dir, `tiny-${name.replace(/[^a-z0-9]+/gi, "-")}`);
  await writeReferenceCheckpoint(dir, tokenizer, { dtype: "float32", seed: 7, ...options });
  return dir;
}

async function withConfig(dir: string, name: string, patch: Record<string, unknown>): Promise<string> {
  const copy = path.join(temp.dir, `${path.basename(dir)}-${name}`);
  await cp(dir, copy, { recursive: true });
  const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  await writeFile(path.join(copy, "config.json"), JSON.stringify({ ...config, ...patch }));
  return copy;
}

describe("convert: GemmaForCausalLM, Gemma2ForCausalLM and Gemma3ForCausalLM", () => {
  for (const { name, options, expected } of cases) {
    it(`${name}: node-llama-cpp matches the float64 reference within 1e-4`, async () => {
      const dir = await tinyGemma(name, options);
      const output = path.join(temp.dir, `${path.basename(dir)}-f32.gguf`);
      const result = await convert(dir, output, { outType: "f32" });
      const arch = options.architecture;
      expect(result.architecture).toBe(arch);

      // the keys Gemma2Model / Gemma3Model.set_gguf_parameters write, in their order
      const header = await readGgufHeader(output);
      const archEntries = header.metadata.filter((entry) => entry.key.startsWith(`${arch}.`));
      expect(archEntries.map((entry) => entry.key)).toEqual(Object.keys(expected));
      expect(Object.fromEntries(archEntries.map((entry) => [entry.key, entry.value]))).toEqual(expected);

      const dims = Object.fromEntries(header.tensors.map((tensor) => [tensor.name, tensor.dims.join("x")]));
      const blockNames = Object.keys(dims).filter((tensorName) => tensorName.startsWith("blk.0.")).sort();
      expect(blockNames).toEqual(
        [
          "attn_k",
          ...(arch === "gemma3" ? ["attn_k_norm"] : []),
          "attn_norm",
          "attn_output",
          "attn_q",
          ...(arch === "gemma3" ? ["attn_q_norm"] : []),
          "attn_v",
          "ffn_down",
          "ffn_gate",
          "ffn_norm",
          "ffn_up",
          ...(arch === "gemma" ? [] : ["post_attention_norm", "post_ffw_norm"]),
        ].map((tensorName) => `blk.0.${tensorName}.weight`),
      );
      expect(dims["blk.0.attn_q.weight"]).toBe("64x128");
      expect("output.weight" in dims).toBe(false);

      // every norm is written as w + 1, in float32
      const bytes = await readFile(output);
      const f32Tensor = (tensorName: string) => {
        const tensor = header.tensors.find((candidate) => candidate.name === tensorName)!;
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset + tensor.absoluteOffset, bytes.byteOffset + tensor.absoluteOffset + tensor.byteSize));
      };
      const checkpoint = await openCheckpointTensors(dir);
      const normPairs: [string, string][] = [
        ["model.norm.weight", "output_norm.weight"],
        arch === "gemma"
          ? ["model.layers.1.post_attention_layernorm.weight", "blk.1.ffn_norm.weight"]
          : ["model.layers.1.post_feedforward_layernorm.weight", "blk.1.post_ffw_norm.weight"],
        ...(arch === "gemma3" ? ([["model.layers.0.self_attn.k_norm.weight", "blk.0.attn_k_norm.weight"]] as [string, string][]) : []),
      ];
      for (const [hfName, ggufName] of normPairs) {
        const stored = await readTensorAsFloat32(checkpoint.get(hfName)!);
        expect(Array.from(f32Tensor(ggufName))).toEqual(Array.from(stored, (value) => Math.fround(value + 1)));
      }

      const ours = await llamaCppProbabilities(output, sequences);
      let worst = 0;
      for (const [index, tokens] of sequences.entries()) {
        worst = Math.max(worst, maxAbsDifference(ours[index], await hfReferenceNextTokenProbabilities(dir, tokens)));
      }
      console.log(`${name}: max |p_llama.cpp - p_reference| = ${worst.toExponential(2)}`);

      // the +1, the caps and the window move the reference, so the agreement covers them
      const tokens = sequences[2];
      const reference = await hfReferenceNextTokenProbabilities(dir, tokens);
      const moved = async (what: string, other: Promise<Float64Array>, threshold = 1e-3) => {
        const shift = maxAbsDifference(reference, await other);
        console.log(`${name}: ${what} moves p by ${shift.toExponential(2)}`);
        expect(shift).toBeGreaterThan(threshold);
      };
      await moved("plain w for (1 + w)", hfReferenceNextTokenProbabilities(dir, tokens, { gemmaNormOffset: 0 }));
      if (arch === "gemma2") {
        await moved("no attention softcap", hfReferenceNextTokenProbabilities(await withConfig(dir, "no-attn-cap", { attn_logit_softcapping: null }), tokens));
      }
      if (options.finalLogitSoftcapping !== undefined) {
        await moved("no final softcap", hfReferenceNextTokenProbabilities(await withConfig(dir, "no-final-cap", { final_logit_softcapping: null }), tokens));
      }
      if (options.slidingWindow === 3) {
        await moved("no sliding window", hfReferenceNextTokenProbabilities(await withConfig(dir, "no-window", { sliding_window: 4096 }), tokens));
      }
      if (options.ropeScalingLinearFactor !== undefined) {
        // one global layer of six at positions below 8: smaller moves, still far above the agreement
        await moved("no rope scaling", hfReferenceNextTokenProbabilities(await withConfig(dir, "no-rope-scaling", { rope_scaling: null }), tokens), 1e-4);
        await moved("the global rope base on the sliding layers", hfReferenceNextTokenProbabilities(await withConfig(dir, "one-base", { rope_local_base_freq: 10000 }), tokens), 1e-4);
      }
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it("refuses, typed and before writing, the Gemma settings it does not convert", async () => {
    const gemma2Dir = await tinyGemma("refusals-gemma2", gemma2);
    const gemma3Dir = await tinyGemma("refusals-gemma3", { architecture: "gemma3", headDim: 32 });
    const variants: { dir: string; patch: Record<string, unknown>; code: string; message: RegExp }[] = [
      { dir: gemma2Dir, patch: { query_pre_attn_scalar: 64 }, code: "E_UNSUPPORTED_ARCH", message: /query_pre_attn_scalar 64 \(llama\.cpp's gemma2 graph scales attention by 1\/sqrt\(32\)\)/ },
      { dir: gemma2Dir, patch: { hidden_activation: "gelu" }, code: "E_UNSUPPORTED_ARCH", message: /hidden_activation "gelu"/ },
      { dir: gemma2Dir, patch: { attn_logit_softcapping: null }, code: "E_UNSUPPORTED_ARCH", message: /attn_logit_softcapping null/ },
      { dir: gemma2Dir, patch: { final_logit_softcapping: -1 }, code: "E_BAD_CHECKPOINT_DIR", message: /final_logit_softcapping must be a positive number/ },
      { dir: gemma2Dir, patch: { rope_theta: 20000 }, code: "E_UNSUPPORTED_ARCH", message: /rope_theta 20000/ },
      { dir: gemma2Dir, patch: { rope_scaling: { rope_type: "linear", factor: 2 } }, code: "E_UNSUPPORTED_ARCH", message: /rope_scaling/ },
      { dir: gemma2Dir, patch: { tie_word_embeddings: false }, code: "E_UNSUPPORTED_ARCH", message: /tie_word_embeddings false/ },
      { dir: gemma2Dir, patch: { attention_bias: true }, code: "E_UNSUPPORTED_ARCH", message: /attention_bias true/ },
      { dir: gemma2Dir, patch: { sliding_window: null }, code: "E_BAD_CHECKPOINT_DIR", message: /needs sliding_window/ },
      { dir: gemma2Dir, patch: { head_dim: null }, code: "E_BAD_CHECKPOINT_DIR", message: /needs head_dim/ },
      { dir: gemma2Dir, patch: { layer_types: ["full_attention", "sliding_attention"] }, code: "E_UNSUPPORTED_ARCH", message: /layer_types/ },
      { dir: gemma3Dir, patch: { attn_logit_softcapping: 50 }, code: "E_UNSUPPORTED_ARCH", message: /attn_logit_softcapping 50 \(Gemma 3 has none\)/ },
      { dir: gemma3Dir, patch: { sliding_window_pattern: 4 }, code: "E_UNSUPPORTED_ARCH", message: /sliding_window_pattern 4/ },
      { dir: gemma3Dir, patch: { rope_scaling: { rope_type: "yarn", factor: 8 } }, code: "E_UNSUPPORTED_ARCH", message: /rope_scaling .*yarn/ },
      { dir: gemma3Dir, patch: { rope_parameters: { rope_theta: 10000 } }, code: "E_UNSUPPORTED_ARCH", message: /rope_parameters/ },
      { dir: gemma3Dir, patch: { use_bidirectional_attention: true }, code: "E_UNSUPPORTED_ARCH", message: /use_bidirectional_attention/ },
    ];
    for (const [index, variant] of variants.entries()) {
      const configFile = path.join(variant.dir, "config.json");
      const original = await readFile(configFile, "utf8");
      await writeFile(configFile, JSON.stringify({ ...(JSON.parse(original) as Record<string, unknown>), ...variant.patch }));
      const output = path.join(temp.dir, `refused-${index}.gguf`);
      try {
        await expectError(convert(variant.dir, output), variant.code, variant.message);
      } finally {
        await writeFile(configFile, original);
      }
      await expect(readFile(output)).rejects.toThrow(/ENOENT/);
    }
  });

  it("converts the language model of a Gemma3ForConditionalGeneration (text_config over Gemma3TextConfig's defaults, model.language_model. tensors) as the text-only checkpoint, leaving the vision parts out", async () => {
    // rms_norm_eps and hidden_activation at Gemma3TextConfig's defaults, so that the multimodal text_config
    // leaves them out as transformers does
    const textOnly = await tinyGemma("text-only", { architecture: "gemma3", headDim: 32, rmsNormEps: 1e-6 });
    const config = JSON.parse(await readFile(path.join(textOnly, "config.json"), "utf8")) as Record<string, unknown>;
    const { architectures: _architectures, rms_norm_eps: rmsNormEps, hidden_activation: activation, ...textConfig } = config;
    expect([rmsNormEps, activation]).toEqual([1e-6, "gelu_pytorch_tanh"]);
    const multimodal = path.join(temp.dir, "multimodal");
    await cp(textOnly, multimodal, { recursive: true });
    await writeFile(
      path.join(multimodal, "config.json"),
      JSON.stringify({ architectures: ["Gemma3ForConditionalGeneration"], model_type: "gemma3", mm_tokens_per_image: 256, text_config: { ...textConfig, model_type: "gemma3_text" }, vision_config: { hidden_size: 16, model_type: "siglip_vision_model" } }),
    );
    // transformers 4.52's layout: model.language_model.*, and the vision tower and projector beside it
    const tensors = [];
    for (const [name, entry] of await openCheckpointTensors(textOnly)) {
      tensors.push({ name: name.replace(/^model\./, "model.language_model."), dtype: "F32" as const, shape: entry.info.shape, data: await readTensorAsFloat32(entry) });
    }
    tensors.push(
      { name: "model.vision_tower.vision_model.embeddings.patch_embedding.weight", dtype: "F32" as const, shape: [16, 3, 2, 2], data: new Float32Array(16 * 12).fill(0.5) },
      { name: "model.multi_modal_projector.mm_input_projection_weight", dtype: "F32" as const, shape: [16, 64], data: new Float32Array(16 * 64).fill(0.25) },
    );
    await writeSafetensorsFile(path.join(multimodal, "model.safetensors"), { tensors, metadata: { format: "pt" } });

    const fromTextOnly = path.join(temp.dir, "text-only.gguf");
    const fromMultimodal = path.join(temp.dir, "multimodal.gguf");
    await convert(textOnly, fromTextOnly);
    const result = await convert(multimodal, fromMultimodal);
    expect(result.architecture).toBe("gemma3");
    const [a, b] = await Promise.all([readGgufHeader(fromTextOnly), readGgufHeader(fromMultimodal)]);
    const metadata = (header: typeof a) => header.metadata.filter((entry) => entry.key !== "general.name").map((entry) => [entry.key, entry.value]);
    expect(metadata(b)).toEqual(metadata(a));
    expect(b.tensors.map((tensor) => [tensor.name, tensor.dims, tensor.type])).toEqual(a.tensors.map((tensor) => [tensor.name, tensor.dims, tensor.type]));
    const [bytesA, bytesB] = await Promise.all([readFile(fromTextOnly), readFile(fromMultimodal)]);
    expect(bytesB.subarray(b.dataOffset).equals(bytesA.subarray(a.dataOffset))).toBe(true);
  });

  it("refuses other multimodal checkpoints (their language model in text_config), naming them", async () => {
    const dir = await tinyGemma("llava", { architecture: "gemma3", headDim: 32 });
    const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ architectures: ["LlavaForConditionalGeneration"], model_type: "llava", text_config: config, vision_config: {} }));
    await expectError(convert(dir, path.join(temp.dir, "llava.gguf")), "E_UNSUPPORTED_ARCH", /the checkpoint is LlavaForConditionalGeneration, a multimodal model/);
  });

  it("a converted Gemma trains (patches/0010) on every target", async () => {
    for (const architecture of ["gemma", "gemma2", "gemma3"] as const) {
      const dir = await tinyGemma(`train-${architecture}`, architecture === "gemma2" ? gemma2 : { architecture, headDim: 32 });
      const model = path.join(temp.dir, `train-${architecture}.gguf`);
      await convert(dir, model);
      const data = path.join(temp.dir, "gemma-data.jsonl");
      await writeFile(data, `${JSON.stringify({ text: "hello there, this is a short text to train on" })}\n`);
      const output = path.join(temp.dir, `train-${architecture}-out`, "adapter.gguf");
      await mkdir(path.dirname(output));
      const result = await train({ model, data, output, maxSteps: 2, epochs: 2, threads: 2 });
      expect(result.steps).toBe(2);
      expect(result.finalLoss).toBeLessThan(result.firstLoss);
      const names = (await readGgufHeader(result.adapter)).tensors.map((tensor) => tensor.name).filter((name) => name.startsWith("blk.0.")).sort();
      expect(names).toEqual(
        ["attn_k", "attn_output", "attn_q", "attn_v", "ffn_down", "ffn_gate", "ffn_up"].flatMap((tensor) => [`blk.0.${tensor}.weight.lora_a`, `blk.0.${tensor}.weight.lora_b`]),
      );
    }
  });
});
