import { readFile } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../../errors.js";

/** The parts of a transformers config.json the converters read. */
export interface HfConfig {
  architectures?: string[];
  model_type?: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  rope_scaling?: { rope_type?: string; type?: string; factor?: number; low_freq_factor?: number; high_freq_factor?: number; original_max_position_embeddings?: number } | null;
  max_position_embeddings?: number;
  vocab_size: number;
  tie_word_embeddings?: boolean;
  torch_dtype?: string;
  [key: string]: unknown;
}

export async function readHfConfig(dir: string): Promise<HfConfig> {
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `convert: ${dir} has no config.json; give the directory of a Hugging Face checkpoint`);
  }
  let config: HfConfig;
  try {
    config = JSON.parse(text) as HfConfig;
  } catch (error) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file} is not valid JSON: ${(error as Error).message}`);
  }
  for (const key of ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"] as const) {
    if (!Number.isInteger(config[key]) || (config[key] as number) <= 0) {
      throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file} has no valid ${key}`);
    }
  }
  return config;
}

/** head_dim when the config gives it, else hidden_size / num_attention_heads. */
export function headDimension(config: HfConfig): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}
