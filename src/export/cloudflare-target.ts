// Cloudflare Workers AI's rules for uploaded LoRA adapters (developers.cloudflare.com/workers-ai/
// features/fine-tunes/loras): rank r <= 32, adapter_model.safetensors under 300 MB, the files named
// adapter_config.json and adapter_model.safetensors, and a "model_type" of "mistral", "gemma" or
// "llama" added to adapter_config.json.
import { LoraGgufError } from "../errors.js";

export const CLOUDFLARE_MAX_RANK = 32;
/** "< 300MB", read as decimal megabytes, the stricter reading. */
export const CLOUDFLARE_MAX_WEIGHTS_BYTES = 300_000_000;

export type CloudflareModelType = "llama" | "mistral";

export interface CloudflareAdapterFacts {
  /** general.architecture of the adapter. */
  architecture: string;
  rank: number;
  /** Size adapter_model.safetensors will have. */
  weightsBytes: number;
  /** What the base is called (base_model_name_or_path, the base's model_type or GGUF name), to tell Mistral from Llama. */
  baseNames: readonly string[];
}

/** The model_type Cloudflare needs, or E_TARGET_UNSUPPORTED naming the limit the adapter breaks. */
export function checkCloudflareAdapter(facts: CloudflareAdapterFacts): CloudflareModelType {
  const where = "export-peft --target cloudflare";
  if (facts.architecture !== "llama") {
    throw new LoraGgufError(
      "E_TARGET_UNSUPPORTED",
      `${where}: Workers AI takes LoRA adapters for the llama, mistral and gemma families (model_type in adapter_config.json); ` +
        `this adapter is for ${facts.architecture}, which is not one of them`,
    );
  }
  if (facts.rank > CLOUDFLARE_MAX_RANK) {
    throw new LoraGgufError(
      "E_TARGET_UNSUPPORTED",
      `${where}: the adapter has rank ${facts.rank}; Workers AI takes rank ${CLOUDFLARE_MAX_RANK} at most: train again with a lower rank (--rank)`,
    );
  }
  if (facts.weightsBytes >= CLOUDFLARE_MAX_WEIGHTS_BYTES) {
    throw new LoraGgufError(
      "E_TARGET_UNSUPPORTED",
      `${where}: adapter_model.safetensors would be ${facts.weightsBytes} bytes; Workers AI takes less than 300 MB: ` +
        `use a lower rank or fewer target modules`,
    );
  }
  // Mistral and Llama share llama.cpp's llama graph; only the base's name tells them apart.
  return facts.baseNames.some((name) => /mistral/i.test(name)) ? "mistral" : "llama";
}
