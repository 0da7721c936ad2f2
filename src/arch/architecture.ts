import type { GgufMetadataEntry } from "../gguf/index.js";
import type { HfConfig } from "./hf-config.js";

/** A tensor the converter writes that the checkpoint does not hold (llama 3's rope_freqs). */
export interface GeneratedTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/**
 * LoRA target modules by their PEFT/Unsloth names (q_proj is q); qkv (qkv_proj) and gate_up
 * (gate_up_proj) are the fused projections of families that keep them fused.
 */
export type LoraTarget = "q" | "k" | "v" | "o" | "gate" | "up" | "down" | "qkv" | "gate_up";

/**
 * What the training memory estimate needs to know of a family's graph beyond the shapes it reads
 * from the GGUF (head counts, sizes, q/k norms): ops whose backward keeps more than llama's do.
 */
export interface TrainingGraphFacts {
  /** Norms of the attention output and of the feed-forward output (Gemma's post norms): each keeps its input. */
  postNorms?: boolean;
  /** The `<arch>.` key whose presence means attention scores are softcapped (tanh keeps a second copy of them). */
  attentionSoftcapKey?: string;
  /**
   * [n_ff, n_ctx] f32 tensors the activation's backward holds beyond swiglu's: Gemma's GELU
   * derivative, composed of elementwise ops (patches/0010).
   */
  extraFeedForwardBackwardTensors?: number;
}

/** Whether lora-gguf trains a family, and if not, what is missing (said when a run is refused). */
export type FamilyTraining = { trains: true; graph?: TrainingGraphFacts } | { trains: false; missing: string };

/**
 * One model family and everything lora-gguf knows about it: how its config.json becomes GGUF
 * hyperparameters, how its tensors are named and laid out in llama.cpp (convert, export-peft), which
 * GGUF tensor each LoRA target adapts, and whether it trains. Adding a family means adding one file
 * like ./llama.ts and listing it in ./index.ts; nothing else names an architecture.
 */
export interface ModelFamily {
  /** config.json `architectures` entries this handles, e.g. "LlamaForCausalLM". */
  hfArchitectures: readonly string[];
  /** general.architecture in the GGUF, which selects llama.cpp's graph. */
  ggufArchitecture: string;
  /**
   * Refuses, typed and before anything is written, what of config.json the family cannot convert
   * (E_UNSUPPORTED_ARCH naming it). Without it, rope scaling other than linear and llama3 is refused.
   */
  checkConfig?(config: HfConfig, where: string): void;
  hyperparameters(config: HfConfig): GgufMetadataEntry[];
  /** The GGUF name of a checkpoint tensor; null for tensors llama.cpp does not use; undefined if unknown. */
  tensorName(hfName: string): string | null | undefined;
  /**
   * Rows reordered where llama.cpp's layout differs from Hugging Face's (llama's q/k rotary
   * permutation). `data` holds `rows` rows of `rowBytes` bytes (PyTorch's [out, in] layout, any
   * element type); returns the data to write.
   */
  reorderRows?(ggufName: string, data: Uint8Array, rows: number, rowBytes: number, config: HfConfig): Uint8Array;
  /**
   * The head count whose rotary halves reorderRows interleaves in this tensor's rows (llama's
   * attn_q: num_attention_heads, attn_k: num_key_value_heads); undefined for rows kept in Hugging
   * Face's order. Exporting to PEFT undoes the permutation with it.
   */
  rotaryPermutedHeads?(ggufName: string): "num_attention_heads" | "num_key_value_heads" | undefined;
  generatedTensors?(config: HfConfig): GeneratedTensor[];
  /**
   * q/k/v stored as one attn_qkv ([q; k; v] rows) and gate/up as one ffn_up ([gate; up] rows), as
   * phi3 keeps them; llama.cpp's graph splits them by views.
   */
  fusedProjections?: boolean;
  /**
   * A constant the converter adds to every value of a tensor, in float32 (float16 sources in
   * float16, as gguf-py's torch does): 1 for Gemma's RMSNorm weights, stored as w for a (1 + w)
   * scale; 0 or absent keeps the values.
   */
  addedToValues?(ggufName: string): number;
  /**
   * Per-block vectors besides attn_norm and ffn_norm that llama.cpp's graph needs (gemma's
   * post_attention_norm), of hidden_size or head_dim values; checked before anything is written.
   */
  requiredBlockVectors?: readonly { name: string; size: "hidden" | "head" }[];
  /**
   * The block tensor each LoRA target of the family adapts, as llama.cpp names it
   * (blk.N.<name>.weight); the targets listed are the family's, and a run's default is all of them.
   */
  loraTargets: Readonly<Partial<Record<LoraTarget, string>>>;
  training: FamilyTraining;
  /**
   * Multimodal checkpoints whose language model (config.json's text_config, tensors under
   * language_model.) the family converts, leaving the rest out; with the defaults of their text
   * config class for the keys transformers leaves out of text_config.
   */
  multimodal?: { hfArchitectures: readonly string[]; textConfigDefaults: Readonly<Record<string, unknown>> };
}
