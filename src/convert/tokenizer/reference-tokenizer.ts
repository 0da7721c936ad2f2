// The checkpoint's own tokenizer, run by @huggingface/tokenizers (a JS port of Hugging Face's
// tokenizers), standing in for the transformers AutoTokenizer that llama.cpp's converter calls.
import { Tokenizer } from "@huggingface/tokenizers";
import { LoraGgufError } from "../../errors.js";
import type { HfTokenizerJsonDir, JsonObject } from "./hf-tokenizer-files.js";

/**
 * transformers classes that rebuild the post-processor from tokenizer_config's add_bos_token
 * (default true) and add_eos_token (default false) instead of keeping tokenizer.json's
 * (LlamaTokenizerFast.update_post_processor and the classes that inherit it).
 */
const POST_PROCESSOR_FROM_CONFIG = new Set([
  "LlamaTokenizer",
  "LlamaTokenizerFast",
  "CodeLlamaTokenizer",
  "CodeLlamaTokenizerFast",
  "GemmaTokenizer",
  "GemmaTokenizerFast",
]);

export interface ReferenceTokenizer {
  tokenizer: Tokenizer;
  /** Ids as transformers' `tokenizer.encode(text)` gives them: special tokens added the checkpoint's way. */
  encodeWithSpecialTokens(text: string): number[];
  /** Ids of `text` alone, no BOS/EOS added; special-token text still maps to its token. */
  encodeText(text: string): number[];
  /** `decode(encode(text))` without added special tokens, as transformers would round-trip it. */
  roundTrip(text: string): string;
  /** `text` after the normalizer and the pre-tokenizer: the pieces BPE runs on. */
  preTokenize(text: string): string[];
}

/**
 * @param merges the merges to run with when tokenizer.json has none (from merges.txt); the file's
 *   own merges are used otherwise.
 */
export function loadReferenceTokenizer(files: HfTokenizerJsonDir, merges: readonly string[]): ReferenceTokenizer {
  const raw = files.tokenizer.raw;
  const model = raw.model as JsonObject;
  const tokenizerJson = files.tokenizer.merges?.length ? raw : { ...raw, model: { ...model, merges: [...merges] } };
  const config = files.tokenizerConfig ?? {};
  // the library checks little when it builds the tokenizer: a malformed component can throw later, on its first use
  const guarded = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      throw new LoraGgufError(
        "E_UNSUPPORTED_TOKENIZER",
        `${files.dir}/tokenizer.json cannot be run by @huggingface/tokenizers (needed to identify its pre-tokenizer): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
  const tokenizer = guarded(() => new Tokenizer(tokenizerJson, config));

  const encodeText = (text: string): number[] => guarded(() => idsOf(tokenizer, text, false));
  const rebuildsPostProcessor = typeof config.tokenizer_class === "string" && POST_PROCESSOR_FROM_CONFIG.has(config.tokenizer_class);
  return {
    tokenizer,
    encodeText,
    encodeWithSpecialTokens(text) {
      if (!rebuildsPostProcessor) return guarded(() => idsOf(tokenizer, text, true));
      const bos = config.add_bos_token === false ? undefined : tokenIdOf(tokenizer, config.bos_token);
      const eos = config.add_eos_token === true ? tokenIdOf(tokenizer, config.eos_token) : undefined;
      return [...(bos === undefined ? [] : [bos]), ...encodeText(text), ...(eos === undefined ? [] : [eos])];
    },
    roundTrip(text) {
      const ids = encodeText(text);
      return ids.length === 0 ? "" : guarded(() => tokenizer.decode(ids, { skip_special_tokens: false }));
    },
    preTokenize: (text) => guarded(() => preTokenizedPieces(tokenizer, text)),
  };
}

/** `text` after a tokenizer's normalizer and pre-tokenizer. */
export function preTokenizedPieces(tokenizer: Pick<Tokenizer, "normalizer" | "pre_tokenizer">, text: string): string[] {
  const normalized = tokenizer.normalizer ? tokenizer.normalizer.normalize(text) : text;
  return tokenizer.pre_tokenizer ? tokenizer.pre_tokenizer.pre_tokenize(normalized, { section_index: 0 }) : [normalized];
}

function idsOf(tokenizer: Tokenizer, text: string, addSpecialTokens: boolean): number[] {
  // A piece outside the vocabulary of a BPE without unk_token has no id here; Hugging Face's
  // tokenizers drops it, and so do we.
  return tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids.filter((id: unknown) => typeof id === "number");
}

/** The id of a tokenizer_config token entry ("<s>" or {"content": "<s>", ...}). */
function tokenIdOf(tokenizer: Tokenizer, entry: unknown): number | undefined {
  const content = typeof entry === "string" ? entry : (entry as { content?: unknown } | null)?.content;
  return typeof content === "string" ? tokenizer.token_to_id(content) : undefined;
}
