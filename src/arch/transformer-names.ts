// Hugging Face → llama.cpp tensor names shared by the llama-family checkpoints (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Phi3ForCausalLM): gguf-py's tensor_mapping.py.
const blockNames: Record<string, string> = {
  "input_layernorm.weight": "attn_norm.weight",
  "post_attention_layernorm.weight": "ffn_norm.weight",
  "self_attn.q_proj.weight": "attn_q.weight",
  "self_attn.k_proj.weight": "attn_k.weight",
  "self_attn.v_proj.weight": "attn_v.weight",
  "self_attn.o_proj.weight": "attn_output.weight",
  "self_attn.qkv_proj.weight": "attn_qkv.weight",
  "self_attn.q_proj.bias": "attn_q.bias",
  "self_attn.k_proj.bias": "attn_k.bias",
  "self_attn.v_proj.bias": "attn_v.bias",
  "self_attn.q_norm.weight": "attn_q_norm.weight",
  "self_attn.k_norm.weight": "attn_k_norm.weight",
  "mlp.gate_proj.weight": "ffn_gate.weight",
  "mlp.up_proj.weight": "ffn_up.weight",
  "mlp.gate_up_proj.weight": "ffn_up.weight",
  "mlp.down_proj.weight": "ffn_down.weight",
};

const topNames: Record<string, string> = {
  "model.embed_tokens.weight": "token_embd.weight",
  "model.norm.weight": "output_norm.weight",
  "lm_head.weight": "output.weight",
};

const BLOCK = /^model\.layers\.(\d+)\.(.+)$/;

/** The llama.cpp name for a tensor of these checkpoints: null to drop, undefined if unknown. */
export function transformerTensorName(hfName: string, allowed: ReadonlySet<string>): string | null | undefined {
  if (hfName.endsWith("rotary_emb.inv_freq")) return null;
  const top = topNames[hfName];
  if (top) return top;
  const match = BLOCK.exec(hfName);
  if (!match) return undefined;
  const suffix = blockNames[match[2]];
  if (!suffix || !allowed.has(match[2])) return undefined;
  return `blk.${match[1]}.${suffix}`;
}

export const commonBlockTensors = [
  "input_layernorm.weight",
  "post_attention_layernorm.weight",
  "self_attn.q_proj.weight",
  "self_attn.k_proj.weight",
  "self_attn.v_proj.weight",
  "self_attn.o_proj.weight",
  "mlp.gate_proj.weight",
  "mlp.up_proj.weight",
  "mlp.down_proj.weight",
];

/** The LoRA targets of these checkpoints: llama.cpp's names in src/llama-arch.cpp, the same for llama, qwen2 and qwen3. */
export const transformerLoraTargets = {
  q: "attn_q",
  k: "attn_k",
  v: "attn_v",
  o: "attn_output",
  gate: "ffn_gate",
  up: "ffn_up",
  down: "ffn_down",
} as const;
