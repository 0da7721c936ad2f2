import { LoraGgufError } from "../errors.js";
import { stringEntry } from "../gguf/metadata-entries.js";
import type { GgufHeader } from "../gguf/reader.js";
import { GgufValueType, type GgufMetadataEntry } from "../gguf/value-types.js";

const LLAMA_TOKEN_TYPE_BYTE = 6;

/**
 * The vocabulary's tokenizer.ggml.* keys with the token lists cut to `vocabSize`, special token ids
 * that would point past the cut dropped, and BPE merges kept only when both parts and their
 * result survive the cut; then tokenizer.chat_template when one is given.
 */
export function truncatedTokenizerEntries(
  vocab: GgufHeader,
  vocabPath: string,
  vocabSize: number,
  chatTemplate: string | undefined,
): GgufMetadataEntry[] {
  const tokens = vocab.metadataByKey.get("tokenizer.ggml.tokens");
  if (tokens?.arrayType !== GgufValueType.STRING) {
    throw new LoraGgufError("E_WRONG_KIND", `${vocabPath} has no tokenizer.ggml.tokens string array`);
  }
  const tokenList = tokens.value as string[];
  if (vocabSize > tokenList.length) {
    throw new LoraGgufError("E_INVALID_OPTION", `vocabSize ${vocabSize} is larger than the ${tokenList.length} tokens of ${vocabPath}`);
  }
  const tokenTypes = vocab.metadataByKey.get("tokenizer.ggml.token_type")?.value;
  if (tokenTypes instanceof Int32Array) {
    const lastByteToken = tokenTypes.lastIndexOf(LLAMA_TOKEN_TYPE_BYTE);
    if (lastByteToken >= vocabSize) {
      throw new LoraGgufError(
        "E_INVALID_OPTION",
        `vocabSize ${vocabSize} would drop byte-fallback tokens; keep at least ${lastByteToken + 1} tokens of ${vocabPath}`,
      );
    }
  }
  const kept = new Set(tokenList.slice(0, vocabSize));

  const entries: GgufMetadataEntry[] = [];
  for (const entry of vocab.metadata) {
    if (!entry.key.startsWith("tokenizer.ggml.")) continue;
    const { value } = entry;
    if (entry.key === "tokenizer.ggml.merges" && Array.isArray(value)) {
      const merges = (value as string[]).filter((merge) => {
        const [left, right] = merge.split(" ", 2);
        return right !== undefined && kept.has(left) && kept.has(right) && kept.has(left + right);
      });
      entries.push({ ...entry, value: merges });
    } else if (entry.type === GgufValueType.ARRAY && (Array.isArray(value) || ArrayBuffer.isView(value))) {
      const list = value as string[] | Float32Array | Int32Array;
      entries.push({ ...entry, value: list.length === tokenList.length ? list.slice(0, vocabSize) : list });
    } else if (entry.key.endsWith("_token_id")) {
      if (typeof value === "number" && value < vocabSize) entries.push(entry);
    } else {
      entries.push(entry);
    }
  }
  if (chatTemplate !== undefined) {
    entries.push(stringEntry("tokenizer.chat_template", chatTemplate));
  }
  return entries;
}
