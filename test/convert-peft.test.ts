// A PEFT adapter converted to GGUF (Phi-3's of its fused modules too) and applied by node-llama-cpp at run time equals the float64
// reference forward pass of the base with W + scale·B·A merged in (scale alpha/r, or alpha/sqrt(r) for rsLoRA).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { openCheckpointTensors, readTensorAsFloat32 } from "../src/convert/safetensors.js";
import { writeSafetensorsFile } from "../src/convert/safetensors-writer.js";
import { inspect, isLoraGgufError } from "../src/index.js";
import { writeTinyHfCheckpoint, type TinyHfArchitecture } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../src/testing/tiny-hf-tokenizer.js";
import { writeTinyPeftAdapter, type TinyPeftAdapter } from "../src/testing/tiny-peft-adapter.js";
import { hfReferenceNextTokenProbabilities } from "./helpers/hf-reference-forward.js";
import { tokenSequenceProbabilities } from "./helpers/llama-eval.js";
import { tinyPeftModules } from "./helpers/peft-modules.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("peft");
afterAll(() => temp.cleanup());

const hidden = 64;
const kvWidth = 32;
const ffn = 128;
const modules = tinyPeftModules(hidden, kvWidth, ffn);

// Phi-3's PEFT modules are its fused projections: qkv_proj's rows [q; k; v], gate_up_proj's [gate; up]
const phi3Modules = [
  { name: "self_attn.qkv_proj", out: hidden + 2 * kvWidth, in: hidden },
  { name: "self_attn.o_proj", out: hidden, in: hidden },
  { name: "mlp.gate_up_proj", out: 2 * ffn, in: hidden },
  { name: "mlp.down_proj", out: hidden, in: ffn },
];

async function baseCheckpoint(name: string, architecture: TinyHfArchitecture): Promise<string> {
  const tokenizer = await tinyHfTokenizer({ family: architecture === "qwen2" ? "qwen2" : "llama3", keepTokens: 800 });
  const dir = path.join(temp.dir, name);
  await writeTinyHfCheckpoint(dir, {
    architecture, dtype: "float32", seed: 4, nLayer: 2, hiddenSize: hidden, nHead: 4, nKvHead: 2, intermediateSize: ffn,
    maxPositionEmbeddings: 1024, ropeTheta: 10000, rmsNormEps: 1e-5, vocabSize: tokenizer.vocabSize, tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
    // gemma3: both layers slide (its pattern is 5 sliding to 1 global) over a 3-token window, shorter than the sequences
    ...(architecture === "gemma3" ? { headDim: hidden / 4, slidingWindow: 3 } : {}),
  });
  return dir;
}

/** The base checkpoint with W + scale·B·A in place of each adapted W (computed in float64). */
async function mergedCheckpoint(base: string, adapter: TinyPeftAdapter, name: string): Promise<string> {
  const dir = path.join(temp.dir, name);
  mkdirSync(dir);
  for (const file of readdirSync(base)) if (!file.endsWith(".safetensors") && !file.endsWith(".index.json")) copyFileSync(path.join(base, file), path.join(dir, file));
  const tensors = [];
  for (const [tensorName, entry] of await openCheckpointTensors(base)) {
    const weight = await readTensorAsFloat32(entry);
    const lora = adapter.weights.get(tensorName);
    const data = new Float32Array(weight);
    if (lora) {
      const rank = lora.a.length / lora.in;
      for (let row = 0; row < lora.out; row++) {
        for (let column = 0; column < lora.in; column++) {
          let sum = 0;
          for (let k = 0; k < rank; k++) sum += lora.b[row * rank + k] * lora.a[k * lora.in + column];
          data[row * lora.in + column] = weight[row * lora.in + column] + adapter.scale * sum;
        }
      }
    }
    tensors.push({ name: tensorName, dtype: "F32" as const, shape: entry.info.shape, data });
  }
  await writeSafetensorsFile(path.join(dir, "model.safetensors"), { tensors, metadata: { format: "pt" } });
  return dir;
}

const sequences = [[1, 2, 3, 4, 5, 6], [300, 12, 77, 500]];

describe("convert: PEFT LoRA adapters", () => {
  for (const { architecture, useRslora, adapterModules } of [
    { architecture: "llama" as const, useRslora: true, adapterModules: modules },
    { architecture: "qwen2" as const, useRslora: false, adapterModules: modules },
    { architecture: "phi3" as const, useRslora: false, adapterModules: phi3Modules },
    { architecture: "gemma3" as const, useRslora: false, adapterModules: modules },
  ]) {
    it(`${architecture}${useRslora ? " (rsLoRA)" : ""}: the adapter at run time equals the merged reference within 1e-4`, async () => {
      // llama.cpp marks "</s>" special when general.name (the directory's name) says phi3; keep it neutral
      const base = await baseCheckpoint(`${architecture.replace("phi3", "p3")}-base`, architecture);
      const adapterDir = path.join(temp.dir, `${architecture}-adapter`);
      const adapter = await writeTinyPeftAdapter(adapterDir, { modules: adapterModules, layers: 2, rank: 4, alpha: 8, useRslora, seed: 9 });
      const merged = await mergedCheckpoint(base, adapter, `${architecture}-merged`);

      const baseGguf = path.join(temp.dir, `${architecture}-base.gguf`);
      await convert(base, baseGguf, { outType: "f32" });
      const adapterGguf = path.join(temp.dir, `${architecture}-adapter.gguf`);
      // the base given as its GGUF for one, as its HF directory for the other
      const result = await convert(adapterDir, adapterGguf, { base: architecture === "llama" ? baseGguf : base });
      expect(result.kind).toBe("adapter");
      expect(result.alpha).toBeCloseTo(useRslora ? 8 * 2 : 8, 6);
      expect((await inspect(adapterGguf)).adapter).toMatchObject({ adapterType: "lora", rank: 4, targetCount: 2 * adapterModules.length });

      const ours = await tokenSequenceProbabilities(baseGguf, sequences, { adapterPath: adapterGguf });
      const withoutAdapter = await tokenSequenceProbabilities(baseGguf, sequences);
      let worst = 0;
      let adapterEffect = 0;
      for (const [index, tokens] of sequences.entries()) {
        const reference = await hfReferenceNextTokenProbabilities(merged, tokens);
        for (let i = 0; i < reference.length; i++) {
          worst = Math.max(worst, Math.abs(ours[index][i] - reference[i]));
          adapterEffect = Math.max(adapterEffect, Math.abs(withoutAdapter[index][i] - reference[i]));
        }
      }
      console.log(`${architecture}: max |p - p_reference| = ${worst.toExponential(2)}; the adapter moves probabilities by up to ${adapterEffect.toFixed(3)}`);
      expect(adapterEffect).toBeGreaterThan(1e-2);
      expect(worst).toBeLessThan(1e-4);
    });
  }

  it("refuses DoRA, unknown targets, a missing --base and an adapter for another base, before writing", async () => {
    const base = path.join(temp.dir, "llama-base");
    const attempt = async (dir: string, options: { base?: string }) => {
      const output = path.join(temp.dir, `${path.basename(dir)}-out.gguf`);
      const error = await convert(dir, output, options).then(() => undefined, (e: unknown) => e);
      expect(existsSync(output)).toBe(false);
      expect(isLoraGgufError(error), String(error)).toBe(true);
      return error as { code: string; message: string };
    };
    const dora = path.join(temp.dir, "dora");
    await writeTinyPeftAdapter(dora, { modules, layers: 1, rank: 4, alpha: 8, useDora: true, seed: 1 });
    expect((await attempt(dora, { base })).code).toBe("E_UNSUPPORTED_ADAPTER");

    const unknown = path.join(temp.dir, "unknown-target");
    await writeTinyPeftAdapter(unknown, { modules: [{ name: "self_attn.rotary_proj", out: 8, in: hidden }], layers: 1, rank: 4, alpha: 8, seed: 1 });
    expect((await attempt(unknown, { base })).message).toMatch(/rotary_proj.*not a llama weight/);

    const plain = path.join(temp.dir, "plain");
    await writeTinyPeftAdapter(plain, { modules, layers: 1, rank: 4, alpha: 8, seed: 1 });
    expect((await attempt(plain, {})).message).toMatch(/PEFT adapter; give its base model/);

    // adapter_config.json that is not a LoRA config object: typed errors, however it is broken
    const config = path.join(plain, "adapter_config.json");
    const good = readFileSync(config, "utf8");
    for (const [text, code, message] of [
      ["[]", "E_BAD_CHECKPOINT_DIR", /must hold a JSON object, got \[\]/],
      [good.replace('"LORA"', "[".repeat(20_000) + "]".repeat(20_000)), "E_UNSUPPORTED_ADAPTER", /a deeply nested array adapter \(peft_type\)/],
      [good.replace('"use_rslora": false', '"use_rslora": "yes"'), "E_BAD_CHECKPOINT_DIR", /use_rslora must be true or false/],
      [good.replace('"lora_alpha": 8', '"lora_alpha": 1e400'), "E_BAD_CHECKPOINT_DIR", /finite numeric lora_alpha, got r 4 and lora_alpha Infinity/],
    ] as const) {
      writeFileSync(config, text);
      const error = await attempt(plain, { base });
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
    }
    writeFileSync(config, good);

    const wide = path.join(temp.dir, "wide");
    await writeTinyPeftAdapter(wide, { modules: [{ name: "mlp.up_proj", out: 256, in: hidden }], layers: 1, rank: 4, alpha: 8, seed: 1 });
    const mismatch = await attempt(wide, { base });
    expect(mismatch.code).toBe("E_ADAPTER_MISMATCH");
    expect(mismatch.message).toMatch(/different base model/);
  });
});
