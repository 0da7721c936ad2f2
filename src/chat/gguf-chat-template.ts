import { LoraGgufError } from "../errors.js";
import type { GgufHeader } from "../gguf/reader.js";

/**
 * The model's default chat template (tokenizer.chat_template), or undefined when it has none.
 * Named variants (tokenizer.chat_template.<name>, e.g. tool_use) are not consulted.
 */
export function readChatTemplateFromGguf(header: Pick<GgufHeader, "metadataByKey">): string | undefined {
  const value = header.metadataByKey.get("tokenizer.chat_template")?.value;
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw new LoraGgufError("E_BAD_GGUF", "tokenizer.chat_template must be a string");
  }
  return value === "" ? undefined : value;
}
