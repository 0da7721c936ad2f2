// PEFT LoRA adapters for tiny Hugging Face checkpoints, as peft's save_pretrained writes them:
// adapter_config.json and adapter_model.safetensors with base_model.model.<module>.lora_A/B.weight.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { SeededRandom } from "../seeded-random.js";
import { writeSafetensorsFile } from "../convert/safetensors-writer.js";

export interface TinyPeftAdapterOptions {
  /** Modules to adapt, as HF names below model.layers.N (e.g. "self_attn.q_proj"), with their [out, in] shapes. */
  modules: { name: string; out: number; in: number }[];
  layers: number;
  rank: number;
  alpha: number;
  useRslora?: boolean;
  useDora?: boolean;
  seed: number;
}

export interface TinyPeftAdapter {
  /** Per adapted weight "model.layers.N.<module>.weight": A [r, in] and B [out, r], row-major. */
  weights: Map<string, { a: Float32Array; b: Float32Array; out: number; in: number }>;
  /** The factor PEFT multiplies B·A by: alpha / r, or alpha / sqrt(r) with rsLoRA. */
  scale: number;
}

export async function writeTinyPeftAdapter(dir: string, options: TinyPeftAdapterOptions): Promise<TinyPeftAdapter> {
  await mkdir(dir, { recursive: true });
  const random = new SeededRandom(options.seed);
  const weights: TinyPeftAdapter["weights"] = new Map();
  const tensors = [];
  for (let layer = 0; layer < options.layers; layer++) {
    for (const module of options.modules) {
      // B is not zero (a fresh PEFT adapter's is): the test must see the adapter's effect
      const a = random.fillNormal(new Float32Array(options.rank * module.in), 0, 1 / Math.sqrt(module.in));
      const b = random.fillNormal(new Float32Array(module.out * options.rank), 0, 0.2);
      const prefix = `model.layers.${layer}.${module.name}`;
      weights.set(`${prefix}.weight`, { a, b, out: module.out, in: module.in });
      tensors.push({ name: `base_model.model.${prefix}.lora_A.weight`, dtype: "F32" as const, shape: [options.rank, module.in], data: a });
      tensors.push({ name: `base_model.model.${prefix}.lora_B.weight`, dtype: "F32" as const, shape: [module.out, options.rank], data: b });
    }
  }
  await writeSafetensorsFile(path.join(dir, "adapter_model.safetensors"), { tensors, metadata: { format: "pt" } });
  await writeFile(
    path.join(dir, "adapter_config.json"),
    JSON.stringify(
      {
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        r: options.rank,
        lora_alpha: options.alpha,
        lora_dropout: 0,
        use_rslora: options.useRslora ?? false,
        use_dora: options.useDora ?? false,
        target_modules: [...new Set(options.modules.map((module) => module.name.split(".").at(-1)))],
        bias: "none",
      },
      null,
      2,
    ),
  );
  return { weights, scale: options.useRslora ? options.alpha / Math.sqrt(options.rank) : options.alpha / options.rank };
}
