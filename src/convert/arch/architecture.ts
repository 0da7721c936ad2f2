import type { GgufMetadataEntry } from "../../gguf/index.js";
import type { HfConfig } from "./hf-config.js";

/** A tensor the converter writes that the checkpoint does not hold (llama 3's rope_freqs). */
export interface GeneratedTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/**
 * One model family: how its config.json becomes GGUF hyperparameters and how its tensors are named
 * and laid out in llama.cpp. Adding an architecture means adding one file like ./llama.ts.
 */
export interface ConvertArchitecture {
  /** config.json `architectures` entries this handles, e.g. "LlamaForCausalLM". */
  hfArchitectures: readonly string[];
  /** general.architecture in the GGUF, which selects llama.cpp's graph. */
  ggufArchitecture: string;
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
}
