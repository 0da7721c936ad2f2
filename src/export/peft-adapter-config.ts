// adapter_config.json as peft's LoraConfig.save_pretrained writes it (json.dumps with indent=2 and
// sort_keys=True), limited to the fields peft has had since 0.9 (use_dora), so older peft loads it.

export interface PeftAdapterConfigInput {
  rank: number;
  alpha: number;
  /** Module names, e.g. ["q_proj", "v_proj"]. */
  targetModules: readonly string[];
  baseModelName: string | null;
  /** Block indices the adapter covers, when it is known to cover only some; null for all. */
  layersToTransform: readonly number[] | null;
  /** Added for Cloudflare Workers AI, which reads the base family from it. */
  modelType?: string;
}

export function peftAdapterConfigJson(input: PeftAdapterConfigInput): string {
  const config: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: input.baseModelName,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    // B is stored, so this only says how peft would initialise modules the file lacks: B = 0, no effect
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: input.layersToTransform,
    loftq_config: {},
    // llama.cpp scales by adapter.lora.alpha / r, plain LoRA's rule; rsLoRA adapters were rescaled on the way in
    lora_alpha: input.alpha,
    lora_dropout: 0,
    megatron_config: null,
    megatron_core: "megatron.core",
    ...(input.modelType === undefined ? {} : { model_type: input.modelType }),
    modules_to_save: null,
    peft_type: "LORA",
    r: input.rank,
    rank_pattern: {},
    revision: null,
    target_modules: [...input.targetModules],
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
  };
  const sorted = Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify(sorted, null, 2);
}
