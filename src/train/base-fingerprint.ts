import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

import { GgmlType, type GgufHeader } from "../gguf/index.js";

/**
 * Identifies a base model file cheaply, from its header: architecture, every tensor's name, type,
 * shape and offset, and the file size. It names an encoding of a model (the same checkpoint in q8_0
 * and f16 differ), which is what resume requires; merge and generate compare baseModelIdentity.
 */
export function baseModelFingerprint(header: GgufHeader): string {
  const hash = createHash("sha256");
  hash.update(String(header.metadataByKey.get("general.architecture")?.value ?? ""));
  hash.update(`\0${header.fileSize}`);
  for (const tensor of header.tensors) {
    hash.update(`\0${tensor.name}:${tensor.type}:${tensor.dims.join("x")}:${tensor.offset}`);
  }
  return `sha256:${hash.digest("hex").slice(0, 32)}`;
}

/**
 * Identifies a model whatever its encoding: architecture, tensor names and shapes (in name order), the vocabulary,
 * and the bytes of its 1-D f32 tensors (norm weights and biases), which llama.cpp's converter writes
 * in f32 and quantization keeps bit-exact. A q4_k_m copy and the f16 original of one checkpoint
 * share it; another fine-tune of the same shapes has other norms. (A model an adapter was merged
 * into keeps the base's norms, so it shares the base's identity: the fingerprint tells them apart.)
 * Reads the small f32 vectors only: a few hundred KiB for a 7B model.
 */
export async function baseModelIdentity(modelPath: string, header: GgufHeader): Promise<string> {
  const hash = createHash("sha256");
  hash.update(String(header.metadataByKey.get("general.architecture")?.value ?? ""));
  const tokens = header.metadataByKey.get("tokenizer.ggml.tokens")?.value;
  if (Array.isArray(tokens)) hash.update(`\0vocab:${tokens.length}:${createHash("sha256").update(tokens.join("\n")).digest("hex")}`);
  // by name: llama.cpp's quantize writes the tensors in another order
  const tensors = [...header.tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const tensor of tensors) hash.update(`\0${tensor.name}:${tensor.dims.join("x")}`);
  const vectors = tensors.filter((tensor) => tensor.dims.length === 1 && tensor.type === GgmlType.F32);
  const file = await open(modelPath, "r");
  try {
    for (const tensor of vectors) {
      const bytes = Buffer.alloc(tensor.byteSize);
      const { bytesRead } = await file.read(bytes, 0, bytes.length, tensor.absoluteOffset);
      hash.update(`\0${tensor.name}:`);
      hash.update(bytes.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return `sha256:${hash.digest("hex").slice(0, 32)}`;
}
