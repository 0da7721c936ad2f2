import { readFile } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { describeJson } from "../convert/json-description.js";

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

/**
 * The defaults of the text config class of a multimodal checkpoint whose language model a family
 * converts (by its `architectures`); undefined for any other.
 */
export type TextConfigDefaults = (architectures: readonly string[]) => Readonly<Record<string, unknown>> | undefined;

export async function readHfConfig(dir: string, textConfigDefaults: TextConfigDefaults = () => undefined): Promise<HfConfig> {
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `convert: ${dir} has no config.json; give the directory of a Hugging Face checkpoint`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return checkHfConfig(liftTextConfig(parsed, textConfigDefaults), file);
}

/**
 * A multimodal checkpoint's language model config at the top, as llama.cpp's converter reads it
 * ({**hparams, **text_config}), over the text config class's defaults: transformers writes into
 * text_config only the values that differ from them (Gemma 3 4B's has no head counts). The top
 * level's `architectures` stays, naming the checkpoint. Others are returned as they are.
 */
function liftTextConfig(parsed: unknown, textConfigDefaults: TextConfigDefaults): unknown {
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);
  if (!isObject(parsed) || !isObject(parsed.text_config) || parsed.hidden_size !== undefined) return parsed;
  const architectures = Array.isArray(parsed.architectures) ? parsed.architectures.filter((name): name is string => typeof name === "string") : [];
  const defaults = textConfigDefaults(architectures);
  if (defaults === undefined) return parsed;
  const { text_config: textConfig, vision_config: _vision, ...top } = parsed;
  return { ...defaults, ...top, ...textConfig, architectures: top.architectures };
}

/** GGUF stores the sizes as u32. */
const MAX_SIZE = 0xffff_ffff;
const REQUIRED_SIZES = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"] as const;
const OPTIONAL_SIZES = ["num_key_value_heads", "head_dim", "max_position_embeddings"] as const;
const OPTIONAL_POSITIVE_NUMBERS = ["rms_norm_eps", "rope_theta"] as const;
const OPTIONAL_STRINGS = ["model_type", "torch_dtype"] as const;
const ROPE_SCALING_NUMBERS = ["factor", "low_freq_factor", "high_freq_factor"] as const;

/**
 * Every key the converters read, checked for its type and range, so that later steps can use the
 * values as they are; null for an optional key (as transformers writes some) counts as absent.
 */
function checkHfConfig(parsed: unknown, file: string): HfConfig {
  const bad = (message: string) =>
    new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file}: ${message}; fix config.json or save the checkpoint again with transformers`);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw bad(`must hold a JSON object, got ${describeJson(parsed)}`);
  const config = parsed as Record<string, unknown>;
  if (config.text_config !== undefined && config.hidden_size === undefined) {
    // Gemma3ForConditionalGeneration, Llava and the like nest the language model's config
    const names = Array.isArray(config.architectures) ? config.architectures.join(", ") : `model_type ${describeJson(config.model_type)}`;
    throw new LoraGgufError(
      "E_UNSUPPORTED_ARCH",
      `convert: ${file}: the checkpoint is ${names}, a multimodal model whose language model sits in text_config; convert supports text-only checkpoints`,
    );
  }
  const isSize = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= MAX_SIZE;
  const optional = (key: string) => {
    if (config[key] === null) delete config[key];
    return config[key] === undefined;
  };
  for (const key of REQUIRED_SIZES) {
    if (!isSize(config[key])) throw bad(`${key} must be an integer from 1 to ${MAX_SIZE}, got ${describeJson(config[key])}`);
  }
  for (const key of OPTIONAL_SIZES) {
    if (!optional(key) && !isSize(config[key])) throw bad(`${key} must be an integer from 1 to ${MAX_SIZE}, got ${describeJson(config[key])}`);
  }
  for (const key of OPTIONAL_POSITIVE_NUMBERS) {
    const value = config[key];
    if (!optional(key) && !(typeof value === "number" && Number.isFinite(value) && value > 0)) throw bad(`${key} must be a positive number, got ${describeJson(value)}`);
  }
  for (const key of OPTIONAL_STRINGS) {
    if (!optional(key) && typeof config[key] !== "string") throw bad(`${key} must be a string, got ${describeJson(config[key])}`);
  }
  if (!optional("tie_word_embeddings") && typeof config.tie_word_embeddings !== "boolean") {
    throw bad(`tie_word_embeddings must be true or false, got ${describeJson(config.tie_word_embeddings)}`);
  }
  if (!optional("architectures") && !(Array.isArray(config.architectures) && config.architectures.every((name) => typeof name === "string"))) {
    throw bad(`architectures must be an array of class names, got ${describeJson(config.architectures)}`);
  }
  if (!optional("rope_scaling")) checkRopeScaling(config.rope_scaling, bad);

  const heads = config.num_attention_heads as number;
  const kvHeads = (config.num_key_value_heads ?? heads) as number;
  if (heads % kvHeads !== 0) throw bad(`num_key_value_heads (${kvHeads}) must divide num_attention_heads (${heads})`);
  const headSize = headDimension(config as HfConfig);
  // RoPE rotates pairs of a head's dimensions
  if (!Number.isInteger(headSize) || headSize % 2 !== 0) {
    throw bad(
      config.head_dim === undefined
        ? `hidden_size (${String(config.hidden_size)}) must be num_attention_heads (${heads}) times an even head size, or head_dim given`
        : `head_dim must be even, got ${String(config.head_dim)}`,
    );
  }
  return config as HfConfig;
}

function checkRopeScaling(scaling: unknown, bad: (message: string) => LoraGgufError): void {
  if (typeof scaling !== "object" || Array.isArray(scaling)) throw bad(`rope_scaling must be an object or null, got ${describeJson(scaling)}`);
  const fields = scaling as Record<string, unknown>;
  for (const key of ["rope_type", "type"]) {
    if (fields[key] !== undefined && typeof fields[key] !== "string") throw bad(`rope_scaling.${key} must be a string, got ${describeJson(fields[key])}`);
  }
  for (const key of ROPE_SCALING_NUMBERS) {
    const value = fields[key];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
      throw bad(`rope_scaling.${key} must be a positive number, got ${describeJson(value)}`);
    }
  }
  const context = fields.original_max_position_embeddings;
  if (context !== undefined && !(Number.isSafeInteger(context) && (context as number) > 0)) {
    throw bad(`rope_scaling.original_max_position_embeddings must be a positive integer, got ${describeJson(context)}`);
  }
}

/** head_dim when the config gives it, else hidden_size / num_attention_heads. */
export function headDimension(config: HfConfig): number {
  return config.head_dim ?? config.hidden_size / config.num_attention_heads;
}
