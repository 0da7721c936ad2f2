// Which of the two BPE layouts llama.cpp can run a tokenizer.json is: byte-level BPE (its "gpt2"
// vocabulary) or SentencePiece-style BPE with byte fallback (its "llama" vocabulary, which splits
// nothing before merging, writes spaces as U+2581 and falls back to <0xXX> byte tokens).
import { LoraGgufError } from "../../errors.js";
import { describeJson } from "../json-description.js";
import { containsComponent, isJsonObject, type JsonObject } from "./hf-tokenizer-files.js";

/** SentencePiece's word-boundary mark, which stands for a space in its pieces. */
export const SENTENCEPIECE_SPACE = "\u2581";

/**
 * Where a SentencePiece-style tokenizer puts a "▁" before the text: before every piece of text
 * (a Prepend normalizer, or Metaspace prepend_scheme "always"), before the input's first piece only
 * (Metaspace "first", transformers' legacy=false layout), or nowhere (Gemma).
 */
export type SpacePrefix = "always" | "first" | "never";

export type TokenizerJsonKind = { kind: "byte-level-bpe" } | { kind: "sentencepiece-bpe"; spacePrefix: SpacePrefix };

const SUPPORTED =
  "convert handles byte-level BPE (Llama 3, Qwen2) and SentencePiece-style BPE with byte_fallback " +
  "(Llama 2, Mistral, Gemma: spaces written as \u2581 by a Replace normalizer or a Metaspace pre-tokenizer, nothing split before merging)";

/**
 * Classifies tokenizer.json's model, normalizer and pre-tokenizer.
 *
 * @throws LoraGgufError E_UNSUPPORTED_TOKENIZER naming the part llama.cpp's vocabularies cannot
 *   reproduce (a Unigram or WordPiece model, BPE without byte fallback, a normalizer or split llama.cpp
 *   does not apply).
 */
export function tokenizerJsonKind(raw: JsonObject, model: JsonObject, file: string): TokenizerJsonKind {
  const unsupported = (what: string) => new LoraGgufError("E_UNSUPPORTED_TOKENIZER", `${file}: ${what}; ${SUPPORTED}`);
  const modelType = model.type ?? (model.merges !== undefined ? "BPE" : undefined);
  if (modelType !== "BPE") {
    throw unsupported(`the tokenizer model is ${modelType === undefined ? "of no stated type" : describeJson(modelType)}`);
  }
  if (containsComponent(raw.pre_tokenizer, "ByteLevel")) return { kind: "byte-level-bpe" };

  const what = "a BPE tokenizer without a ByteLevel pre-tokenizer (SentencePiece-style BPE)";
  if (model.byte_fallback !== true) {
    throw unsupported(`${what} needs model.byte_fallback true, as llama.cpp writes characters outside the vocabulary as <0xXX> byte tokens; this one has byte_fallback ${describeJson(model.byte_fallback ?? null)}`);
  }
  const normalizer = raw.normalizer ?? null;
  const preTokenizer = raw.pre_tokenizer ?? null;
  if (preTokenizer === null || isSplitOnSpace(preTokenizer)) {
    const steps = normalizerSteps(normalizer);
    const replacesSpaces = steps?.some(isSpaceToMetaspace) === true;
    const prepends = steps?.some(isMetaspacePrepend) === true;
    const rest = steps?.filter((step) => !isSpaceToMetaspace(step) && !isMetaspacePrepend(step));
    if (steps === undefined || !replacesSpaces || rest!.length > 0) {
      throw unsupported(
        `${what} must write spaces as \u2581 with a Replace normalizer (and may Prepend \u2581), as llama.cpp's SentencePiece vocabulary does; its normalizer is ${describeComponent(normalizer)}`,
      );
    }
    // Split on " " runs after Replace has left no spaces (Gemma 3's layout): a no-op
    return { kind: "sentencepiece-bpe", spacePrefix: prepends ? "always" : "never" };
  }
  if (isJsonObject(preTokenizer) && preTokenizer.type === "Metaspace") {
    if (normalizer !== null) {
      throw unsupported(`${what} with a Metaspace pre-tokenizer must have no normalizer, as llama.cpp applies none; its normalizer is ${describeComponent(normalizer)}`);
    }
    if ((preTokenizer.replacement ?? SENTENCEPIECE_SPACE) !== SENTENCEPIECE_SPACE) {
      throw unsupported(`${what} must use the Metaspace replacement "\u2581", got ${describeJson(preTokenizer.replacement)}`);
    }
    if (preTokenizer.split === true) {
      throw unsupported(`${what} must not split the text at each \u2581 (its Metaspace pre-tokenizer has split: true), as llama.cpp's SentencePiece vocabulary does not`);
    }
    return { kind: "sentencepiece-bpe", spacePrefix: metaspacePrefix(preTokenizer, unsupported) };
  }
  throw unsupported(`${what} must split nothing before merging, as llama.cpp's SentencePiece vocabulary does; its pre-tokenizer is ${describeComponent(preTokenizer)}`);
}

/** The normalizers applied in order, or undefined when one is not a plain node. */
function normalizerSteps(normalizer: unknown): JsonObject[] | undefined {
  if (normalizer === null) return [];
  if (!isJsonObject(normalizer)) return undefined;
  if (normalizer.type !== "Sequence") return [normalizer];
  const children = normalizer.normalizers;
  return Array.isArray(children) && children.every(isJsonObject) ? (children as JsonObject[]) : undefined;
}

function isSpaceToMetaspace(step: JsonObject): boolean {
  return step.type === "Replace" && isJsonObject(step.pattern) && step.pattern.String === " " && step.content === SENTENCEPIECE_SPACE;
}

function isMetaspacePrepend(step: JsonObject): boolean {
  return step.type === "Prepend" && step.prepend === SENTENCEPIECE_SPACE;
}

function isSplitOnSpace(node: unknown): boolean {
  return isJsonObject(node) && node.type === "Split" && isJsonObject(node.pattern) && node.pattern.String === " " && node.invert !== true;
}

/** prepend_scheme, or the older add_prefix_space flag (tokenizers before 0.19). */
function metaspacePrefix(metaspace: JsonObject, unsupported: (what: string) => LoraGgufError): SpacePrefix {
  const scheme = metaspace.prepend_scheme;
  if (scheme === "always" || scheme === "first" || scheme === "never") return scheme;
  if (scheme === undefined && typeof metaspace.add_prefix_space === "boolean") return metaspace.add_prefix_space ? "always" : "never";
  throw unsupported(`the Metaspace pre-tokenizer's prepend_scheme must be "always", "first" or "never", got ${describeJson(scheme ?? null)}`);
}

/** A normalizer or pre-tokenizer by its types: "NFKC", "Sequence [Prepend, Replace]", "none". */
function describeComponent(node: unknown, depth = 0): string {
  if (node === null || node === undefined) return "none";
  if (!isJsonObject(node) || typeof node.type !== "string") return describeJson(node);
  const children = node.normalizers ?? node.pretokenizers;
  if (node.type !== "Sequence" || !Array.isArray(children) || depth > 4) return describeJson(node);
  return `Sequence [${children.map((child) => describeComponent(child, depth + 1)).join(", ")}]`;
}
