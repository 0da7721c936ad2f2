// A GGUF with hyperparameters and tokenizer metadata but no tensors, as llama.cpp's
// convert_hf_to_gguf.py --vocab-only writes: enough for llama.cpp (and node-llama-cpp's
// loadModel({ vocabOnly: true })) to load the vocabulary and tokenize.
import { float32Entry, stringEntry, uint32Entry } from "../../src/gguf/metadata-entries.js";
import type { GgufMetadataEntry } from "../../src/gguf/value-types.js";
import { writeGgufFile } from "../../src/gguf/writer.js";

export async function writeVocabOnlyGguf(
  path: string,
  architecture: "llama" | "qwen2",
  tokenizerMetadata: readonly GgufMetadataEntry[],
): Promise<void> {
  const key = (name: string) => `${architecture}.${name}`;
  const metadata = [
    stringEntry("general.architecture", architecture),
    stringEntry("general.name", `vocab-only-${architecture}`),
    uint32Entry(key("block_count"), 1),
    uint32Entry(key("context_length"), 512),
    uint32Entry(key("embedding_length"), 64),
    uint32Entry(key("feed_forward_length"), 128),
    uint32Entry(key("attention.head_count"), 4),
    uint32Entry(key("attention.head_count_kv"), 4),
    float32Entry(key("rope.freq_base"), 10000),
    float32Entry(key("attention.layer_norm_rms_epsilon"), 1e-5),
    ...tokenizerMetadata,
  ];
  await writeGgufFile(path, { metadata, tensors: [] });
}
