/** Every linear module of a tiny llama/qwen2 block with its [out, in] shape, for PEFT fixtures. */
export function tinyPeftModules(hidden: number, kvWidth: number, ffn: number) {
  return [
    { name: "self_attn.q_proj", out: hidden, in: hidden },
    { name: "self_attn.k_proj", out: kvWidth, in: hidden },
    { name: "self_attn.v_proj", out: kvWidth, in: hidden },
    { name: "self_attn.o_proj", out: hidden, in: hidden },
    { name: "mlp.gate_proj", out: ffn, in: hidden },
    { name: "mlp.up_proj", out: ffn, in: hidden },
    { name: "mlp.down_proj", out: hidden, in: ffn },
  ];
}
