import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { openCheckpointTensors, readTensorAsFloat32 } from "../src/convert/safetensors.js";
import { isLoraGgufError } from "../src/errors.js";
import { pythonFloatRepr } from "../src/testing/python-json.js";
import { writeTinyHfCheckpoint, type TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("tiny-hf");
afterAll(() => temp.cleanup());

let dirCounter = 0;
const tempDir = (name: string) => path.join(temp.dir, `${dirCounter++}-${name}`);

const qwen3: TinyHfCheckpointOptions = {
  architecture: "qwen3",
  seed: 3,
  dtype: "bfloat16",
  nLayer: 2,
  hiddenSize: 32,
  nHead: 4,
  nKvHead: 2,
  headDim: 16,
  intermediateSize: 48,
  vocabSize: 64,
  tieWordEmbeddings: true,
  maxPositionEmbeddings: 40960,
  ropeTheta: 1_000_000,
  rmsNormEps: 1e-6,
};

describe("tiny Hugging Face checkpoints", () => {
  test("config.json and generation_config.json read as transformers writes them", async () => {
    const dir = tempDir("qwen3");
    await writeTinyHfCheckpoint(dir, qwen3);
    // The key set and formatting of Qwen/Qwen3-0.6B's config.json (json.dumps, indent 2, sorted keys).
    expect(await readFile(path.join(dir, "config.json"), "utf8")).toBe(`{
  "architectures": [
    "Qwen3ForCausalLM"
  ],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "head_dim": 16,
  "hidden_act": "silu",
  "hidden_size": 32,
  "initializer_range": 0.02,
  "intermediate_size": 48,
  "max_position_embeddings": 40960,
  "max_window_layers": 2,
  "model_type": "qwen3",
  "num_attention_heads": 4,
  "num_hidden_layers": 2,
  "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06,
  "rope_scaling": null,
  "rope_theta": 1000000.0,
  "sliding_window": null,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.51.3",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 64
}
`);
    expect(await readFile(path.join(dir, "generation_config.json"), "utf8")).toBe(`{
  "_from_model_config": true,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "transformers_version": "4.51.3"
}
`);
  });

  test("llama writes head_dim and llama3 rope_scaling; qwen2 has no head_dim or attention_bias; mistral no rope_scaling", async () => {
    const base = { ...qwen3, tieWordEmbeddings: false, headDim: undefined, dtype: "float32" as const };
    const llama = await writeTinyHfCheckpoint(tempDir("llama"), { ...base, architecture: "llama", ropeTheta: 500000, rmsNormEps: 1e-5, ropeScalingLlama3: true });
    expect(llama.config).toMatchObject({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      head_dim: 8,
      attention_bias: false,
      mlp_bias: false,
      pretraining_tp: 1,
      rope_theta: 500000,
      rope_scaling: { factor: 8, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 2560, rope_type: "llama3" },
      torch_dtype: "float32",
    });
    const llamaText = await readFile(path.join(llama.dir, "config.json"), "utf8");
    expect(llamaText).toContain(`  "rope_scaling": {\n    "factor": 8.0,\n    "high_freq_factor": 4.0,\n    "low_freq_factor": 1.0,\n    "original_max_position_embeddings": 2560,\n    "rope_type": "llama3"\n  },\n`);
    expect(llamaText).toContain(`"rms_norm_eps": 1e-05,`);

    const qwen2 = await writeTinyHfCheckpoint(tempDir("qwen2"), { ...base, architecture: "qwen2" });
    expect(Object.keys(qwen2.config)).not.toContain("head_dim");
    expect(Object.keys(qwen2.config)).not.toContain("attention_bias");
    expect(qwen2.tensors.filter((tensor) => tensor.name.endsWith(".bias")).map((tensor) => tensor.name.replace(/^model\.layers\.\d+\./, ""))).toEqual([
      "self_attn.q_proj.bias",
      "self_attn.k_proj.bias",
      "self_attn.v_proj.bias",
      "self_attn.q_proj.bias",
      "self_attn.k_proj.bias",
      "self_attn.v_proj.bias",
    ]);

    const mistral = await writeTinyHfCheckpoint(tempDir("mistral"), { ...base, architecture: "mistral" });
    expect(Object.keys(mistral.config)).not.toContain("rope_scaling");
    expect(Object.keys(mistral.config)).not.toContain("head_dim");
    expect(mistral.config.sliding_window).toBeNull();
    const mistralWithHeadDim = await writeTinyHfCheckpoint(tempDir("mistral-hd"), { ...base, architecture: "mistral", headDim: 16 });
    expect(mistralWithHeadDim.config.head_dim).toBe(16);
  });

  test("weights carry HF names in PyTorch [out, in] shapes, lm_head only when untied", async () => {
    const tied = await writeTinyHfCheckpoint(tempDir("tied"), { ...qwen3, nLayer: 1 });
    const tensors = await openCheckpointTensors(tied.dir);
    expect(Object.fromEntries([...tensors].map(([name, entry]) => [name, `${entry.info.dtype} [${entry.info.shape.join(", ")}]`]))).toEqual({
      "model.embed_tokens.weight": "BF16 [64, 32]",
      "model.layers.0.input_layernorm.weight": "BF16 [32]",
      "model.layers.0.mlp.down_proj.weight": "BF16 [32, 48]",
      "model.layers.0.mlp.gate_proj.weight": "BF16 [48, 32]",
      "model.layers.0.mlp.up_proj.weight": "BF16 [48, 32]",
      "model.layers.0.post_attention_layernorm.weight": "BF16 [32]",
      "model.layers.0.self_attn.k_norm.weight": "BF16 [16]",
      "model.layers.0.self_attn.k_proj.weight": "BF16 [32, 32]",
      "model.layers.0.self_attn.o_proj.weight": "BF16 [32, 64]",
      "model.layers.0.self_attn.q_norm.weight": "BF16 [16]",
      "model.layers.0.self_attn.q_proj.weight": "BF16 [64, 32]",
      "model.layers.0.self_attn.v_proj.weight": "BF16 [32, 32]",
      "model.norm.weight": "BF16 [32]",
    });
    const untied = await writeTinyHfCheckpoint(tempDir("untied"), { ...qwen3, nLayer: 1, tieWordEmbeddings: false });
    expect(untied.tensors.at(-1)).toEqual({ name: "lm_head.weight", dtype: "BF16", shape: [64, 32] });
  });

  test("gemma3: Gemma3DecoderLayer's four norms and q/k norms, stored as w (near 0, for a (1 + w) scale), tied by default", async () => {
    const gemma3 = await writeTinyHfCheckpoint(tempDir("gemma3"), { ...qwen3, architecture: "gemma3", nLayer: 1, tieWordEmbeddings: undefined });
    expect(gemma3.tensors.map((tensor) => tensor.name)).toEqual([
      "model.embed_tokens.weight",
      ...["q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm"].map((name) => `model.layers.0.self_attn.${name}.weight`),
      ...["gate_proj", "up_proj", "down_proj"].map((name) => `model.layers.0.mlp.${name}.weight`),
      ...["input", "post_attention", "pre_feedforward", "post_feedforward"].map((name) => `model.layers.0.${name}_layernorm.weight`),
      "model.norm.weight",
    ]);
    const norm = await readTensorAsFloat32((await openCheckpointTensors(gemma3.dir)).get("model.norm.weight")!);
    expect(Math.max(...Array.from(norm, Math.abs))).toBeLessThan(0.5);
    expect(gemma3.config).toMatchObject({
      architectures: ["Gemma3ForCausalLM"],
      model_type: "gemma3_text",
      hidden_activation: "gelu_pytorch_tanh",
      attn_logit_softcapping: null,
      final_logit_softcapping: null,
      query_pre_attn_scalar: 16,
      rope_local_base_freq: 10000,
      rope_scaling: null,
      sliding_window: 512,
      sliding_window_pattern: 6,
      tie_word_embeddings: true,
    });
    expect(gemma3.config).not.toHaveProperty("hidden_act");
    const error = await writeTinyHfCheckpoint(tempDir("bad"), { ...qwen3, attnLogitSoftcapping: 50 }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe("writeTinyHfCheckpoint: attnLogitSoftcapping is a gemma2 option, not one of qwen3");
  });

  test("the same options give byte-identical files; tokenizer files are written as given", async () => {
    const tokenizerFiles = { "tokenizer.json": '{"model": {}}', "tokenizer_config.json": "{}" };
    const first = await writeTinyHfCheckpoint(tempDir("a"), { ...qwen3, shards: 2, tokenizerFiles });
    const second = await writeTinyHfCheckpoint(tempDir("b"), { ...qwen3, shards: 2, tokenizerFiles });
    expect(first.files).toEqual([
      "config.json",
      "generation_config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    for (const file of first.files) {
      expect((await readFile(path.join(first.dir, file))).equals(await readFile(path.join(second.dir, file))), file).toBe(true);
    }
    expect(await readFile(path.join(first.dir, "tokenizer.json"), "utf8")).toBe('{"model": {}}');
  });

  test("rejects options transformers could not have written", async () => {
    const cases: [Partial<TinyHfCheckpointOptions>, string][] = [
      [{ architecture: "qwen2", headDim: 16 }, "writeTinyHfCheckpoint: qwen2 has no head_dim: headDim (16) times nHead (4) must be hiddenSize (32)"],
      [{ nKvHead: 3 }, "writeTinyHfCheckpoint: nKvHead (3) must divide nHead (4)"],
      [{ headDim: 7 }, "writeTinyHfCheckpoint: the head size must be a positive even integer (headDim, or hiddenSize / nHead), got 7"],
      [{ shards: 100 }, "writeTinyHfCheckpoint: shards (100) must not exceed the number of tensors (24)"],
      [{ eosTokenId: 64 }, "writeTinyHfCheckpoint: eosTokenId must be a token id below vocabSize, got 64"],
      [{ tokenizerFiles: { "../x": "" } }, 'writeTinyHfCheckpoint: tokenizerFiles names must be plain file names other than the checkpoint\'s own, got "../x"'],
    ];
    for (const [change, message] of cases) {
      const error = await writeTinyHfCheckpoint(tempDir("bad"), { ...qwen3, ...change }).catch((caught: unknown) => caught);
      expect(isLoraGgufError(error, "E_INVALID_OPTION"), message).toBe(true);
      expect((error as Error).message).toBe(message);
    }
  });

  test("floats are written as Python's repr writes them", () => {
    const cases: [number, string][] = [
      [1e-5, "1e-05"],
      [1e-6, "1e-06"],
      [1.5e-7, "1.5e-07"],
      [0.0001, "0.0001"],
      [0.02, "0.02"],
      [500000, "500000.0"],
      [1e15, "1000000000000000.0"],
      [1e16, "1e+16"],
      [123.456, "123.456"],
      [0, "0.0"],
      [-0, "-0.0"],
      [-2.5e-10, "-2.5e-10"],
    ];
    for (const [value, repr] of cases) expect(pythonFloatRepr(value)).toBe(repr);
  });
});
