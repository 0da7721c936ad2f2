// GGUF base tensor names back to the Hugging Face modules PEFT adapts: the inverse of each
// architecture's tensorName over the linear weights a LoRA can target, so the two directions
// cannot drift apart.
import type { ModelFamily } from "../arch/index.js";
import { commonBlockTensors } from "../arch/transformer-names.js";

export interface PeftTarget {
  /** The adapted weight's Hugging Face name, e.g. "model.layers.3.self_attn.q_proj.weight". */
  hfWeight: string;
  /** What PEFT's target_modules lists: the module name's last part, e.g. "q_proj". */
  module: string;
  /** The block index; undefined for lm_head. */
  layer?: number;
}

/**
 * The block's projection matrices, phi3's fused qkv_proj and gate_up_proj among them (each
 * family's tensorName knows only its own); the norms are vectors, which LoRA does not adapt.
 */
const blockLinearWeights = [...commonBlockTensors, "self_attn.qkv_proj.weight", "mlp.gate_up_proj.weight"].filter((name) => name.endsWith("_proj.weight"));

const BLOCK = /^blk\.(0|[1-9]\d*)\./;

/** The PEFT target for a GGUF base tensor name ("blk.3.attn_q.weight"), or undefined when there is none. */
export function peftTargetOf(architecture: ModelFamily, ggufWeight: string): PeftTarget | undefined {
  const block = BLOCK.exec(ggufWeight);
  const candidates = block ? blockLinearWeights.map((suffix) => `model.layers.${block[1]}.${suffix}`) : ["lm_head.weight"];
  const hfWeight = candidates.find((candidate) => architecture.tensorName(candidate) === ggufWeight);
  if (hfWeight === undefined) return undefined;
  return { hfWeight, module: hfWeight.split(".").at(-2)!, layer: block ? Number(block[1]) : undefined };
}

/** PEFT's save_pretrained key for a LoRA factor (the adapter name "default" is left out). */
export function peftTensorName(target: PeftTarget, factor: "lora_A" | "lora_B"): string {
  return `base_model.model.${target.hfWeight.replace(/\.weight$/, "")}.${factor}.weight`;
}
