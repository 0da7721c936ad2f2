// The tokenizer.* metadata of a SentencePiece tokenizer.model or SentencePiece-style BPE
// tokenizer.json (Llama 2, TinyLlama, Mistral 7B, Gemma 2/3): llama.cpp's "llama" vocabulary, as
// convert_hf_to_gguf.py writes it from the checkpoint's tokenizer.model (_set_vocab_sentencepiece,
// plus the add_space_prefix that LlamaModel and Gemma2Model/Gemma3Model set_vocab add).
import { LoraGgufError } from "../../errors.js";
import { arrayEntry, boolEntry, stringEntry } from "../../gguf/metadata-entries.js";
import { GgufValueType, type GgufMetadataEntry } from "../../gguf/value-types.js";
import { hasTokenizerJson, type HfTokenizerDir } from "./hf-tokenizer-files.js";
import type { PreTokenizerIdentification } from "./pre-tokenizer.js";
import { sentencePieceModelSpacePrefix } from "./sentencepiece-model.js";
import { sentencePieceModelTokenList, sentencePieceTokenList, type SentencePieceTokenList } from "./sentencepiece-vocab.js";
import { readSpecialVocab, specialVocabEntries } from "./special-vocab.js";
import type { SpacePrefix } from "./tokenizer-json-kind.js";

/** tokenizer.ggml.pre of every SentencePiece vocabulary llama.cpp's converter writes. */
const SENTENCEPIECE_PRE_TOKENIZER = "default";

export interface SentencePieceTokenizerMetadata {
  metadata: GgufMetadataEntry[];
  preTokenizerIdentification: PreTokenizerIdentification;
}

/**
 * From tokenizer.model when the directory has one (tokens, scores and types as SentencePiece keeps
 * them), else from the SentencePiece-style tokenizer.json (scores rebuilt, see sentencepiece-scores.ts).
 *
 * @throws LoraGgufError E_INVALID_OPTION for a preTokenizer option, E_UNSUPPORTED_TOKENIZER for a
 *   tokenizer.model llama.cpp's "llama" vocabulary does not encode as SentencePiece does.
 */
export async function sentencePieceTokenizerMetadata(
  files: HfTokenizerDir,
  vocabSize: number,
  preTokenizerOption: string | undefined,
): Promise<SentencePieceTokenizerMetadata> {
  const model = files.sentencePieceModel;
  if (preTokenizerOption !== undefined) {
    throw new LoraGgufError(
      "E_INVALID_OPTION",
      `convert: preTokenizer names a byte-level BPE pre-tokenizer, and ${files.dir}/${model ? "tokenizer.model" : "tokenizer.json"} is a SentencePiece${model ? "" : "-style"} tokenizer, which splits nothing before merging (llama.cpp writes tokenizer.ggml.pre "${SENTENCEPIECE_PRE_TOKENIZER}"); leave it out`,
    );
  }
  let spacePrefix: SpacePrefix;
  let tokenList: SentencePieceTokenList;
  if (model !== undefined) {
    spacePrefix = sentencePieceModelSpacePrefix(model);
    tokenList = await sentencePieceModelTokenList(files, model, vocabSize);
  } else if (hasTokenizerJson(files) && files.tokenizer.kind.kind === "sentencepiece-bpe") {
    spacePrefix = files.tokenizer.kind.spacePrefix;
    tokenList = await sentencePieceTokenList(files, vocabSize);
  } else {
    throw new LoraGgufError("E_UNSUPPORTED_TOKENIZER", `${files.dir}: neither a tokenizer.model nor a SentencePiece-style tokenizer.json`);
  }
  const { tokens, scores, tokenTypes } = tokenList;
  const specialVocab = await readSpecialVocab(files, vocabSize);
  const addSpacePrefix = addSpacePrefixEntry(files, spacePrefix);
  const metadata: GgufMetadataEntry[] = [
    stringEntry("tokenizer.ggml.model", "llama"),
    stringEntry("tokenizer.ggml.pre", SENTENCEPIECE_PRE_TOKENIZER),
    arrayEntry("tokenizer.ggml.tokens", GgufValueType.STRING, tokens),
    arrayEntry("tokenizer.ggml.scores", GgufValueType.FLOAT32, scores),
    arrayEntry("tokenizer.ggml.token_type", GgufValueType.INT32, tokenTypes),
    ...specialVocabEntries(specialVocab),
    ...(addSpacePrefix === undefined ? [] : [boolEntry("tokenizer.ggml.add_space_prefix", addSpacePrefix)]),
  ];
  return { metadata, preTokenizerIdentification: { name: SENTENCEPIECE_PRE_TOKENIZER, method: "sentencepiece" } };
}

/**
 * tokenizer.ggml.add_space_prefix, which llama.cpp's "llama" vocabulary takes as true when absent:
 * tokenizer_config.json's add_prefix_space when it has one (LlamaModel.set_vocab writes it; transformers
 * then rebuilds the tokenizer with that setting), else false for a tokenizer that prepends no "▁"
 * (as Gemma2Model and Gemma3Model write; a tokenizer.model's add_dummy_prefix false), else none. A Metaspace "first" tokenizer (transformers'
 * legacy=false) prepends "▁" to the input's first piece only, where llama.cpp prepends a space to
 * the text after every special token too; llama.cpp's converter writes no setting for it either.
 */
function addSpacePrefixEntry(files: HfTokenizerDir, spacePrefix: SpacePrefix): boolean | undefined {
  const configured = files.tokenizerConfig?.add_prefix_space;
  if (typeof configured === "boolean") return configured;
  return spacePrefix === "never" ? false : undefined;
}
