// tokenizer.ggml.tokens, scores and token_type of a SentencePiece vocabulary, by the rules of
// llama.cpp's converter (_create_vocab_sentencepiece in convert_hf_to_gguf.py's conversion/base.py):
// from tokenizer.model, or from a SentencePiece-style BPE tokenizer.json standing in for one.
import path from "node:path";
import { LoraGgufError } from "../../errors.js";
import { looksLikeControlToken } from "./bpe-vocab.js";
import { isJsonObject, readJsonObject, type HfTokenizerDir, type HfTokenizerJsonDir } from "./hf-tokenizer-files.js";
import { SentencePieceType, type SentencePieceModel } from "./sentencepiece-model.js";
import { sentencePieceScores } from "./sentencepiece-scores.js";
import { LlamaTokenType } from "./token-types.js";
import { SENTENCEPIECE_SPACE } from "./tokenizer-json-kind.js";

export interface SentencePieceTokenList {
  tokens: string[];
  scores: Float32Array;
  tokenTypes: Int32Array;
}

/** The score llama.cpp's converter gives ids no token has, and added tokens. */
const PAD_SCORE = -10000;
const ADDED_SCORE = -1000;

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

/**
 * Tokens by id for ids 0 to vocabSize - 1, as llama.cpp's converter writes a tokenizer.model's:
 * model.unk_token UNKNOWN, tokenizer.json's special added tokens CONTROL (SentencePiece's control
 * pieces), <0xXX> BYTE, other added tokens USER_DEFINED with "▁" written as a space (SentencePiece's
 * user-defined pieces, which llama.cpp matches in the text before tokenizing), the rest NORMAL,
 * scored as sentencePieceScores says; all of these 0 but the NORMAL ones, as SentencePiece scores
 * them. Then, as llama.cpp's converter does, added_tokens.json's tokens become USER_DEFINED and
 * tokenizer_config.json's added_tokens_decoder entries CONTROL (special, or looking like a control
 * token) or USER_DEFINED, all scored -1000. An id no token has is "[PAD<id>]", UNUSED, -10000.
 *
 * @throws LoraGgufError E_BAD_TOKENIZER when byte_fallback has no <0x00>..<0xFF> tokens to fall back to.
 */
export async function sentencePieceTokenList(files: HfTokenizerJsonDir, vocabSize: number): Promise<SentencePieceTokenList> {
  const { tokenizer } = files;
  requireByteTokens(files);
  const tokens: string[] = Array.from({ length: vocabSize }, (_, id) => `[PAD${id}]`);
  const scores = new Float32Array(vocabSize).fill(PAD_SCORE);
  const tokenTypes = new Int32Array(vocabSize).fill(LlamaTokenType.UNUSED);

  const unkToken = (tokenizer.raw.model as Record<string, unknown>).unk_token;
  const addedById = new Map(tokenizer.addedTokens.map((token) => [token.id, token]));
  const normalIds: number[] = [];
  for (const [token, id] of tokenizer.vocab) {
    if (id >= vocabSize || addedById.has(id)) continue;
    tokens[id] = token;
    scores[id] = 0;
    if (token === unkToken) tokenTypes[id] = LlamaTokenType.UNKNOWN;
    else if (BYTE_TOKEN.test(token)) tokenTypes[id] = LlamaTokenType.BYTE;
    else {
      tokenTypes[id] = LlamaTokenType.NORMAL;
      normalIds.push(id);
    }
  }
  for (const added of tokenizer.addedTokens) {
    if (added.id >= vocabSize) continue;
    scores[added.id] = 0;
    if (added.content === unkToken) {
      tokens[added.id] = added.content;
      tokenTypes[added.id] = LlamaTokenType.UNKNOWN;
    } else {
      setAddedToken(tokens, tokenTypes, added.id, added.content, added.special);
    }
  }

  normalIds.sort((a, b) => a - b);
  for (const [id, score] of sentencePieceScores(normalIds, mergeResults(files))) scores[id] = score;
  await applyAddedTokenFiles(files, { tokens, scores, tokenTypes });
  return { tokens, scores, tokenTypes };
}

/**
 * Tokens by id for ids 0 to vocabSize - 1 from tokenizer.model, as llama.cpp's converter writes
 * them (_create_vocab_sentencepiece): each piece with its score, UNKNOWN, CONTROL, UNUSED and BYTE
 * pieces typed so and the rest NORMAL (SentencePieceProcessor has no IsUserDefined test there, so
 * a USER_DEFINED piece is NORMAL too); pieces past vocabSize dropped; then added_tokens.json and
 * added_tokens_decoder as for a tokenizer.json. tokenizer.json's added tokens are not read, as
 * llama.cpp's converter reads none there. An id no token has is "[PAD<id>]", UNUSED, -10000.
 */
export async function sentencePieceModelTokenList(files: HfTokenizerDir, model: SentencePieceModel, vocabSize: number): Promise<SentencePieceTokenList> {
  const tokens: string[] = Array.from({ length: vocabSize }, (_, id) => `[PAD${id}]`);
  const scores = new Float32Array(vocabSize).fill(PAD_SCORE);
  const tokenTypes = new Int32Array(vocabSize).fill(LlamaTokenType.UNUSED);
  const pieceCount = Math.min(vocabSize, model.pieces.length);
  for (let id = 0; id < pieceCount; id++) {
    const { piece, score, type } = model.pieces[id];
    tokens[id] = piece;
    scores[id] = score;
    tokenTypes[id] = type === SentencePieceType.USER_DEFINED ? LlamaTokenType.NORMAL : type;
  }
  await applyAddedTokenFiles(files, { tokens, scores, tokenTypes });
  return { tokens, scores, tokenTypes };
}

/**
 * added_tokens.json's tokens become USER_DEFINED and tokenizer_config.json's added_tokens_decoder
 * entries CONTROL or USER_DEFINED, all scored -1000; ids past the list are dropped, as llama.cpp's
 * converter does.
 */
async function applyAddedTokenFiles(files: HfTokenizerDir, { tokens, scores, tokenTypes }: SentencePieceTokenList): Promise<void> {
  const vocabSize = tokens.length;
  for (const [content, id] of await addedTokensJson(files)) {
    if (id >= vocabSize) continue;
    tokens[id] = content;
    scores[id] = ADDED_SCORE;
    tokenTypes[id] = LlamaTokenType.USER_DEFINED;
  }
  for (const { id, content, special } of addedTokensDecoder(files)) {
    if (id >= vocabSize) continue;
    setAddedToken(tokens, tokenTypes, id, content, special);
    scores[id] = ADDED_SCORE;
  }
}

/** model.vocab's largest id plus one: the least vocab_size llama.cpp's converter keeps every piece with (added tokens past it are dropped). */
export function sentencePieceModelIdCount(files: HfTokenizerJsonDir): number {
  let maxId = -1;
  for (const id of files.tokenizer.vocab.values()) maxId = Math.max(maxId, id);
  return maxId + 1;
}

/** CONTROL when special or looking like a control token, else USER_DEFINED with "▁" as a space (llama.cpp's "pre-normalize user-defined spaces"). */
function setAddedToken(tokens: string[], tokenTypes: Int32Array, id: number, content: string, special: boolean): void {
  if (special || looksLikeControlToken(content)) {
    tokens[id] = content;
    tokenTypes[id] = LlamaTokenType.CONTROL;
  } else {
    tokens[id] = content.replaceAll(SENTENCEPIECE_SPACE, " ");
    tokenTypes[id] = LlamaTokenType.USER_DEFINED;
  }
}

function requireByteTokens(files: HfTokenizerJsonDir): void {
  const missing: string[] = [];
  for (let byte = 0; byte < 256; byte++) {
    const token = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (!files.tokenizer.vocab.has(token)) missing.push(token);
  }
  if (missing.length > 0) {
    throw new LoraGgufError(
      "E_BAD_TOKENIZER",
      `${files.dir}/tokenizer.json: model.byte_fallback is set but the vocabulary lacks ${missing.length} of the 256 byte tokens ` +
        `(${missing.slice(0, 4).join(", ")}${missing.length > 4 ? ", ..." : ""}), which llama.cpp falls back to for characters outside the vocabulary`,
    );
  }
}

/** The token ids model.merges produces, in model.merges order. */
function* mergeResults(files: HfTokenizerJsonDir): Generator<number> {
  const { vocab, merges } = files.tokenizer;
  for (const merge of merges ?? []) {
    let joined: string;
    if (typeof merge === "string") {
      const space = merge.indexOf(" ");
      if (space < 0) continue;
      joined = merge.slice(0, space) + merge.slice(space + 1);
    } else {
      joined = merge[0] + merge[1];
    }
    const id = vocab.get(joined);
    if (id !== undefined) yield id;
  }
}

/** added_tokens.json beside the tokenizer (slow tokenizers' added tokens): content → id. */
async function addedTokensJson(files: HfTokenizerDir): Promise<Array<[string, number]>> {
  const json = await readJsonObject(path.join(files.dir, "added_tokens.json"), "E_BAD_TOKENIZER");
  if (json === undefined) return [];
  return Object.entries(json).map(([content, id]) => {
    if (!Number.isSafeInteger(id) || (id as number) < 0) {
      throw new LoraGgufError("E_BAD_TOKENIZER", `${files.dir}/added_tokens.json: the id of ${JSON.stringify(content)} must be a non-negative integer, got ${JSON.stringify(id)}`);
    }
    return [content, id as number];
  });
}

/** tokenizer_config.json's added_tokens_decoder: {"<id>": {"content": ..., "special": ...}}. */
function addedTokensDecoder(files: HfTokenizerDir): Array<{ id: number; content: string; special: boolean }> {
  const decoder = files.tokenizerConfig?.added_tokens_decoder;
  if (decoder === undefined || decoder === null) return [];
  const bad = (message: string) => new LoraGgufError("E_BAD_TOKENIZER", `${files.dir}/tokenizer_config.json: ${message}`);
  if (!isJsonObject(decoder)) throw bad("added_tokens_decoder must be an object of tokens by id");
  return Object.entries(decoder).map(([key, entry]) => {
    const id = Number(key);
    if (!/^\d+$/.test(key) || !Number.isSafeInteger(id)) throw bad(`added_tokens_decoder key ${JSON.stringify(key)} must be a token id`);
    if (!isJsonObject(entry) || typeof entry.content !== "string") throw bad(`added_tokens_decoder["${key}"] must have a string content`);
    return { id, content: entry.content, special: entry.special === true };
  });
}
