// What llama.cpp's loaders assert on rather than throw for (an assert aborts the host process), checked
// before a model reaches them: the hyperparameters (llama-hyperparameters.ts) and the vocabulary
// (llama_vocab::impl::load in deps/llama.cpp/src/llama-vocab.cpp).
import { LoraGgufError } from "../errors.js";
import { checkLlamaHyperparameters } from "./llama-hyperparameters.js";
import { readGgufHeader, type GgufHeader } from "./reader.js";

/** The tokenizer.ggml.model values lora-gguf hands to llama.cpp: byte-level BPE and SentencePiece. */
export const LOADABLE_TOKENIZER_MODELS: readonly string[] = ["gpt2", "llama"];

/**
 * Throws a LoraGgufError for a model llama.cpp's loader would abort on: E_BAD_GGUF for its
 * hyperparameters or two equal token strings (GGML_ASSERT(id_to_token.size() == token_to_id.size())),
 * E_UNSUPPORTED_TOKENIZER for a tokenizer model other than gpt2 and llama ("none" and "bert", for
 * instance, abort on first use).
 */
export async function checkLlamaLoadable(where: string, file: string, header?: GgufHeader): Promise<GgufHeader> {
  const checked = header ?? (await readGgufHeader(file));
  checkLlamaHyperparameters(where, file, checked);
  const model = checked.metadataByKey.get("tokenizer.ggml.model")?.value;
  if (typeof model === "string" && !LOADABLE_TOKENIZER_MODELS.includes(model)) {
    throw new LoraGgufError(
      "E_UNSUPPORTED_TOKENIZER",
      `${where}: ${file} has tokenizer.ggml.model "${model.slice(0, 40)}"; lora-gguf works with ${LOADABLE_TOKENIZER_MODELS.join(" and ")} tokenizers (byte-level BPE, SentencePiece)`,
    );
  }
  const tokens = checked.metadataByKey.get("tokenizer.ggml.tokens")?.value;
  if (Array.isArray(tokens)) {
    const seen = new Map<string, number>();
    tokens.forEach((token, id) => {
      // llama.cpp names an empty token "[EMPTY_<id>]"
      const text = typeof token === "string" && token.length > 0 ? token : `[EMPTY_${id}]`;
      const first = seen.get(text);
      if (first !== undefined) {
        throw new LoraGgufError(
          "E_BAD_GGUF",
          `${where}: ${file} has the token ${JSON.stringify(text.slice(0, 40))} twice in tokenizer.ggml.tokens (ids ${first} and ${id}), which llama.cpp's vocabulary loader aborts on; the file is corrupt or was written wrongly`,
        );
      }
      seen.set(text, id);
    });
  }
  return checked;
}
