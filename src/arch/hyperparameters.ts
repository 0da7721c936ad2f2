import { GgufValueType, stringEntry, uint32Entry, type GgufMetadataEntry } from "../gguf/index.js";
import type { HfConfig } from "./hf-config.js";

const float32 = (key: string, value: number): GgufMetadataEntry => ({ key, type: GgufValueType.FLOAT32, value });

/** The hyperparameters llama.cpp reads for llama-family graphs, as convert_hf_to_gguf.py's TextModel writes them. */
export function transformerHyperparameters(arch: string, config: HfConfig): GgufMetadataEntry[] {
  const entries: GgufMetadataEntry[] = [
    uint32Entry(`${arch}.block_count`, config.num_hidden_layers),
    uint32Entry(`${arch}.context_length`, config.max_position_embeddings ?? 4096),
    uint32Entry(`${arch}.embedding_length`, config.hidden_size),
    uint32Entry(`${arch}.feed_forward_length`, config.intermediate_size),
    uint32Entry(`${arch}.attention.head_count`, config.num_attention_heads),
    uint32Entry(`${arch}.attention.head_count_kv`, config.num_key_value_heads ?? config.num_attention_heads),
    float32(`${arch}.rope.freq_base`, config.rope_theta ?? 10000),
    float32(`${arch}.attention.layer_norm_rms_epsilon`, config.rms_norm_eps ?? 1e-6),
  ];
  const scaling = config.rope_scaling;
  const ropeType = scaling?.rope_type ?? scaling?.type;
  if (scaling && ropeType === "linear" && scaling.factor !== undefined) {
    entries.push(stringEntry(`${arch}.rope.scaling.type`, "linear"), float32(`${arch}.rope.scaling.factor`, scaling.factor));
  }
  if (config.head_dim !== undefined) {
    entries.push(uint32Entry(`${arch}.attention.key_length`, config.head_dim), uint32Entry(`${arch}.attention.value_length`, config.head_dim));
  }
  return entries;
}
