import { createHash } from "node:crypto";

import type { GgufHeader } from "../gguf/index.js";

/**
 * Identifies a base model cheaply, from its header: architecture, every tensor's name, type, shape
 * and offset, and the file size. An adapter records it so that merge and resume can refuse a
 * different base; reading the weights themselves would take minutes on a large model.
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
