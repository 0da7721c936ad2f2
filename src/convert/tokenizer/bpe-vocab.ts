// tokenizer.ggml.tokens, token_type and merges of a byte-level BPE checkpoint, by the rules of
// llama.cpp's converter (get_vocab_base in convert_hf_to_gguf.py, SpecialVocab merges in gguf-py).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { LoraGgufError } from "../../errors.js";
import type { HfTokenizerJsonDir } from "./hf-tokenizer-files.js";
import type { ReferenceTokenizer } from "./reference-tokenizer.js";
import { LlamaTokenType } from "./token-types.js";
import { SENTENCEPIECE_SPACE } from "./tokenizer-json-kind.js";

/** The byte-level alphabet's stand-in for a space (U+0120, chr(ord(" ") + 256)). */
const BYTE_LEVEL_SPACE = "\u0120";

export interface BpeTokenList {
  tokens: string[];
  tokenTypes: Int32Array;
}

/**
 * The vocabulary's largest id plus one: the least vocab_size that holds every token.
 */
export function tokenizerIdCount(files: HfTokenizerJsonDir): number {
  let maxId = -1;
  for (const id of files.tokenizer.vocab.values()) maxId = Math.max(maxId, id);
  for (const token of files.tokenizer.addedTokens) maxId = Math.max(maxId, token.id);
  return maxId + 1;
}

/**
 * Tokens by id for ids 0 to vocabSize - 1. An id no token has becomes "[PAD<id>]" of type UNUSED
 * (models round their embedding up: Qwen2's 151936 rows hold 151646 tokens). Added tokens are
 * CONTROL when marked special or when they look like control tokens ("<|...|>"), else
 * USER_DEFINED; all others NORMAL. Added tokens the normalizer does not apply to are stored as
 * the tokenizer decodes them, since llama.cpp matches them in text before normalizing.
 */
export function bpeTokenList(files: HfTokenizerJsonDir, reference: ReferenceTokenizer, vocabSize: number): BpeTokenList {
  const tokenById = new Map<number, string>();
  for (const [token, id] of files.tokenizer.vocab) tokenById.set(id, token);
  const addedById = new Map(files.tokenizer.addedTokens.map((token) => [token.id, token]));
  for (const token of files.tokenizer.addedTokens) tokenById.set(token.id, token.content);

  const tokens: string[] = new Array(vocabSize);
  const tokenTypes = new Int32Array(vocabSize);
  for (let id = 0; id < vocabSize; id++) {
    let token = tokenById.get(id);
    const added = addedById.get(id);
    if (token === undefined) {
      tokens[id] = `[PAD${id}]`;
      tokenTypes[id] = LlamaTokenType.UNUSED;
      continue;
    }
    if (added === undefined) {
      tokenTypes[id] = LlamaTokenType.NORMAL;
    } else {
      if (!added.normalized) token = reference.roundTrip(token);
      if (added.special || looksLikeControlToken(token)) {
        tokenTypes[id] = LlamaTokenType.CONTROL;
      } else {
        token = token.replaceAll(SENTENCEPIECE_SPACE, " ");
        tokenTypes[id] = LlamaTokenType.USER_DEFINED;
      }
    }
    tokens[id] = token;
  }
  return { tokens, tokenTypes };
}

/**
 * Added tokens some models leave unmarked although they are control tokens (command-r,
 * deepseek-coder, gemma): llama.cpp's does_token_look_special.
 */
export function looksLikeControlToken(token: string): boolean {
  return (
    token === "<pad>" ||
    token === "<mask>" ||
    token === "<2mass>" ||
    token === "[@BOS@]" ||
    (token.startsWith("<|") && token.endsWith("|>")) ||
    (token.startsWith("<\uFF5C") && token.endsWith("\uFF5C>")) ||
    (token.startsWith("<unused") && token.endsWith(">"))
  );
}

/**
 * tokenizer.ggml.merges as "a b" strings: tokenizer.json's merges in either form, else merges.txt,
 * else none. Pairs (transformers 4.45 and later) may hold spaces inside a part, which llama.cpp's
 * "a b" form cannot; those spaces are written as the byte-level alphabet's U+0120, as gguf-py does.
 */
export async function bpeMerges(files: HfTokenizerJsonDir): Promise<string[]> {
  const merges = files.tokenizer.merges;
  if (merges !== undefined && merges.length > 0) {
    if (typeof merges[0] === "string") return merges as string[];
    return (merges as Array<[string, string]>).map(([left, right]) => `${left.replaceAll(" ", BYTE_LEVEL_SPACE)} ${right.replaceAll(" ", BYTE_LEVEL_SPACE)}`);
  }
  return (await mergesTxt(files.dir)) ?? [];
}

/** merges.txt beside tokenizer.json: one "a b" pair a line, after an optional "#version" line. */
async function mergesTxt(dir: string): Promise<string[] | undefined> {
  const file = path.join(dir, "merges.txt");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const lines = text.split("\n");
  if (lines[0]?.trim().startsWith("#")) lines.shift();
  const merges: string[] = [];
  for (const line of lines) {
    const parts = line.trim().split(/\s+/).filter((part) => part.length > 0);
    // gguf-py skips malformed lines with a warning; so do we, silently
    if (parts.length === 2) merges.push(`${parts[0]} ${parts[1]}`);
  }
  return merges;
}
