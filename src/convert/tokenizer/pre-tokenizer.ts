// Names a checkpoint's BPE pre-tokenizer (tokenizer.ggml.pre) the way llama.cpp's converter does
// (get_vocab_base_pre in convert_hf_to_gguf.py): encode a probe text with the checkpoint's own
// tokenizer and look the hash of the ids up in llama.cpp's table.
import { createHash } from "node:crypto";
import { Tokenizer } from "@huggingface/tokenizers";
import { LoraGgufError } from "../../errors.js";
import { KNOWN_PRE_TOKENIZATIONS } from "./known-pre-tokenizers.js";
import table from "./pre-tokenizer-hashes.json" with { type: "json" };
import { preTokenizedPieces, type ReferenceTokenizer } from "./reference-tokenizer.js";

/** llama.cpp's probe text (CHK_TXT in convert_hf_to_gguf_update.py). */
export const PRE_TOKENIZER_PROBE_TEXT: string = table.probeText;

const nameByHash = new Map<string, string>();
// The generated Python is a chain of `if`s, so where a hash repeats the last entry wins.
for (const entry of table.entries) nameByHash.set(entry.hash, entry.name);

/** Names the probe hash can give, sorted. */
export const detectablePreTokenizerNames: readonly string[] = [...new Set(table.entries.map((entry) => entry.name))].sort();

/** Every name llama.cpp accepts in tokenizer.ggml.pre (its table's and those src/llama-vocab.cpp tests for), sorted. */
export const llamaCppPreTokenizerNames: readonly string[] = [...new Set([...detectablePreTokenizerNames, ...table.llamaCppNames])].sort();

/** sha256 of the ids printed as Python prints a list of ints ("[1, 2, 3]"), as llama.cpp hashes them. */
export function probeHash(ids: readonly number[]): string {
  return createHash("sha256").update(`[${ids.join(", ")}]`).digest("hex");
}

/** The llama.cpp name for a probe hash, or undefined when llama.cpp's table lacks it. */
export function preTokenizerNameForHash(hash: string): string | undefined {
  return nameByHash.get(hash);
}

export interface PreTokenizerIdentification {
  /** tokenizer.ggml.pre */
  name: string;
  /**
   * "probe-hash": llama.cpp's own method; "pre-tokenization": the hash is unknown (a cut or
   * retrained vocabulary) but the probe text splits exactly as a known released tokenizer splits
   * it; "option": named by the caller; "sentencepiece": a SentencePiece-style tokenizer, which
   * splits nothing ("default", as llama.cpp's converter writes for every one).
   */
  method: "probe-hash" | "pre-tokenization" | "option" | "sentencepiece";
  /** The probe hash, when it was computed. */
  probeHash?: string;
}

export function identifyPreTokenizer(reference: ReferenceTokenizer, dir: string): PreTokenizerIdentification {
  const hash = probeHash(reference.encodeWithSpecialTokens(PRE_TOKENIZER_PROBE_TEXT));
  const byHash = preTokenizerNameForHash(hash);
  if (byHash !== undefined) return { name: byHash, method: "probe-hash", probeHash: hash };

  const pieces = reference.preTokenize(PRE_TOKENIZER_PROBE_TEXT);
  const known = KNOWN_PRE_TOKENIZATIONS.find((candidate) => samePieces(knownProbePieces(candidate.name), pieces));
  if (known !== undefined) return { name: known.name, method: "pre-tokenization", probeHash: hash };

  throw new LoraGgufError(
    "E_UNKNOWN_PRE_TOKENIZER",
    `${dir}/tokenizer.json: llama.cpp does not know this tokenizer's pre-tokenizer: its probe hash ${hash} is not in llama.cpp's table ` +
      `(convert_hf_to_gguf.py get_vocab_base_pre), and the probe text does not split as any known tokenizer splits it. ` +
      `If you know which llama.cpp pre-tokenizer it matches, pass --pre-tokenizer <name> (option preTokenizer); ` +
      `llama.cpp knows: ${llamaCppPreTokenizerNames.join(", ")}`,
  );
}

/** Validates a caller-given name against those llama.cpp accepts. */
export function requireKnownPreTokenizer(where: string, name: unknown): string {
  if (typeof name !== "string" || !llamaCppPreTokenizerNames.includes(name)) {
    throw new LoraGgufError(
      "E_INVALID_OPTION",
      `${where}: preTokenizer must be a pre-tokenizer name llama.cpp knows, got ${JSON.stringify(name)}; known: ${llamaCppPreTokenizerNames.join(", ")}`,
    );
  }
  return name;
}

const knownPiecesCache = new Map<string, string[]>();

function knownProbePieces(name: string): string[] {
  let pieces = knownPiecesCache.get(name);
  if (pieces === undefined) {
    const known = KNOWN_PRE_TOKENIZATIONS.find((candidate) => candidate.name === name)!;
    const skeleton = new Tokenizer(
      {
        model: { type: "BPE", vocab: {}, merges: [] },
        normalizer: known.normalizer,
        pre_tokenizer: known.preTokenizer,
        post_processor: null,
        decoder: null,
        added_tokens: [],
      },
      {},
    );
    pieces = preTokenizedPieces(skeleton, PRE_TOKENIZER_PROBE_TEXT);
    knownPiecesCache.set(name, pieces);
  }
  return pieces;
}

function samePieces(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((piece, index) => piece === b[index]);
}
