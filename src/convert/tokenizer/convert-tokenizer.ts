import { LoraGgufError } from "../../errors.js";
import { arrayEntry, stringEntry } from "../../gguf/metadata-entries.js";
import { GgufValueType, type GgufMetadataEntry } from "../../gguf/value-types.js";
import { rejectUnknownOptions, requireOptionsObject } from "../../validate.js";
import { bpeMerges, bpeTokenList, tokenizerIdCount } from "./bpe-vocab.js";
import { describeJson } from "../json-description.js";
import { hasTokenizerJson, isJsonObject, readHfTokenizerDir, type HfTokenizerDir } from "./hf-tokenizer-files.js";
import { identifyPreTokenizer, requireKnownPreTokenizer, type PreTokenizerIdentification } from "./pre-tokenizer.js";
import { loadReferenceTokenizer } from "./reference-tokenizer.js";
import { sentencePieceTokenizerMetadata } from "./sentencepiece-tokenizer.js";
import { sentencePieceModelIdCount } from "./sentencepiece-vocab.js";
import { readSpecialVocab, specialVocabEntries } from "./special-vocab.js";

const WHERE = "convert";

export interface ConvertHfTokenizerOptions {
  /**
   * tokenizer.ggml.pre to write instead of identifying the pre-tokenizer: a name llama.cpp knows
   * ("llama-bpe", "qwen2", ...). Default: identified from the tokenizer.
   */
  preTokenizer?: string;
}

export interface ConvertedTokenizer {
  /** The tokenizer.* entries for the GGUF, in the order llama.cpp's converter writes them. */
  metadata: GgufMetadataEntry[];
  /**
   * Tokens written: config.json's vocab_size (the embedding's rows, which may exceed the tokens,
   * the rest padded as "[PAD<id>]") or, without one, the tokenizer's largest id plus one.
   */
  vocabSize: number;
  /** tokenizer.ggml.pre ("default" for a SentencePiece-style tokenizer). */
  preTokenizer: string;
  /** How preTokenizer was found, with llama.cpp's probe hash when it was computed. */
  preTokenizerIdentification: PreTokenizerIdentification;
}

/**
 * The GGUF tokenizer metadata of a Hugging Face checkpoint, as llama.cpp's convert_hf_to_gguf.py
 * writes it: a byte-level BPE tokenizer.json (Llama 3, Qwen2/2.5/3, ...) as tokenizer.ggml.model
 * "gpt2", a SentencePiece-style BPE one with byte fallback (Llama 2, Mistral 7B, Gemma 2/3) as
 * "llama" (see sentencepiece-tokenizer.ts), taking tokens, scores and types from tokenizer.model where
 * the directory has one beside it or in its place, as llama.cpp's converter does. Reads tokenizer.json,
 * tokenizer.model, tokenizer_config.json, config.json, generation_config.json and
 * chat_template.jinja / chat_template.json from `dir`.
 *
 * @throws LoraGgufError E_UNKNOWN_PRE_TOKENIZER when the pre-tokenizer cannot be identified (pass
 *   `preTokenizer`; E_INVALID_OPTION when given for a SentencePiece-style tokenizer),
 *   E_UNSUPPORTED_TOKENIZER for Unigram, WordPiece or BPE tokenizers llama.cpp cannot reproduce (in
 *   tokenizer.json or tokenizer.model), E_BAD_TOKENIZER for malformed files, E_INPUT_NOT_FOUND with
 *   neither tokenizer.json nor tokenizer.model.
 */
export async function convertHfTokenizer(dir: string, options?: ConvertHfTokenizerOptions): Promise<ConvertedTokenizer> {
  const opts = requireOptionsObject(WHERE, options);
  rejectUnknownOptions(WHERE, opts, ["preTokenizer"]);
  const preTokenizerOption = opts.preTokenizer === undefined ? undefined : requireKnownPreTokenizer(WHERE, opts.preTokenizer);

  const files = await readHfTokenizerDir(dir);
  const vocabSize = resolveVocabSize(files);
  if (!hasTokenizerJson(files) || files.sentencePieceModel !== undefined || files.tokenizer.kind.kind === "sentencepiece-bpe") {
    const converted = await sentencePieceTokenizerMetadata(files, vocabSize, preTokenizerOption);
    return { ...converted, vocabSize, preTokenizer: converted.preTokenizerIdentification.name };
  }
  const merges = await bpeMerges(files);
  const reference = loadReferenceTokenizer(files, merges);
  const identification: PreTokenizerIdentification =
    preTokenizerOption === undefined ? identifyPreTokenizer(reference, dir) : { name: preTokenizerOption, method: "option" };
  const { tokens, tokenTypes } = bpeTokenList(files, reference, vocabSize);
  const specialVocab = await readSpecialVocab(files, vocabSize);

  const metadata: GgufMetadataEntry[] = [
    stringEntry("tokenizer.ggml.model", "gpt2"),
    stringEntry("tokenizer.ggml.pre", identification.name),
    arrayEntry("tokenizer.ggml.tokens", GgufValueType.STRING, tokens),
    arrayEntry("tokenizer.ggml.token_type", GgufValueType.INT32, tokenTypes),
    // llama.cpp refuses a BPE vocabulary without this key, so it is written even when empty
    arrayEntry("tokenizer.ggml.merges", GgufValueType.STRING, merges),
    ...specialVocabEntries(specialVocab),
  ];
  return { metadata, vocabSize, preTokenizer: identification.name, preTokenizerIdentification: identification };
}

/**
 * config.json's vocab_size (or text_config.vocab_size), which must hold every token id (a
 * SentencePiece-style tokenizer.json's model ids, at least); without one, the tokenizer's id count.
 * A tokenizer.model's pieces past it are dropped, as llama.cpp's converter does.
 */
function resolveVocabSize(files: HfTokenizerDir): number {
  const config = files.modelConfig;
  const stated = config?.vocab_size ?? (isJsonObject(config?.text_config) ? config.text_config.vocab_size : undefined);
  if (stated !== undefined && stated !== null && (typeof stated !== "number" || !Number.isSafeInteger(stated) || stated <= 0)) {
    throw new LoraGgufError("E_BAD_TOKENIZER", `${files.dir}/config.json: vocab_size must be a positive integer, got ${describeJson(stated)}`);
  }
  const declared = stated === undefined || stated === null ? undefined : (stated as number);
  const model = files.sentencePieceModel;
  if (model !== undefined || !hasTokenizerJson(files)) return declared ?? model!.pieces.length;
  const idCount = tokenizerIdCount(files);
  if (declared === undefined) return idCount;
  // llama.cpp's converter drops a SentencePiece vocabulary's added tokens past vocab_size (Gemma 3 1B's <image_soft_token>)
  const dropsAddedTokens = files.tokenizer.kind.kind === "sentencepiece-bpe" && sentencePieceModelIdCount(files) <= declared;
  if (declared < idCount && !dropsAddedTokens) {
    throw new LoraGgufError(
      "E_BAD_TOKENIZER",
      `${files.dir}/config.json: vocab_size ${declared} is smaller than the tokenizer, whose ids run to ${idCount - 1}; the embedding has no row for the last ${idCount - declared} tokens`,
    );
  }
  return declared;
}
