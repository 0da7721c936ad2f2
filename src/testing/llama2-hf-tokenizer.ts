// Llama 2's Hugging Face tokenizer files rebuilt from llama.cpp's models/ggml-vocab-llama-spm.gguf
// (which llama.cpp's converter made from Llama 2's tokenizer.model), laid out as transformers'
// LlamaConverter writes tokenizer.json from that tokenizer.model (convert_slow_tokenizer.py:
// SpmConverter with a BPE model, generate_merges, LlamaConverter's legacy normalizer and decoder)
// and as meta-llama/Llama-2-7b-hf ships tokenizer_config.json.
import path from "node:path";
import { LoraGgufError } from "../errors.js";
import { readGgufHeader } from "../gguf/reader.js";
import { llamaSourceDir } from "./llama-source-dir.js";
import { specialAddedToken } from "./tiny-hf-tokenizer.js";

type JsonObject = Record<string, unknown>;

const SPACE = "\u2581";

export interface Llama2HfTokenizer {
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
  /** 32000 */
  vocabSize: number;
}

/** llama.cpp's Llama 2 vocabulary file. */
export function llama2VocabPath(): string {
  return path.join(llamaSourceDir(), "models", "ggml-vocab-llama-spm.gguf");
}

let cached: Promise<Llama2HfTokenizer> | undefined;

export function llama2HfTokenizer(): Promise<Llama2HfTokenizer> {
  cached ??= buildLlama2HfTokenizer();
  cached.catch(() => (cached = undefined));
  return cached;
}

/** The files by name, as text (for writeTinyHfCheckpoint's tokenizerFiles). */
export async function llama2HfTokenizerFiles(): Promise<Record<string, string>> {
  const { tokenizerJson, tokenizerConfig } = await llama2HfTokenizer();
  return {
    "tokenizer.json": JSON.stringify(tokenizerJson, null, 2),
    "tokenizer_config.json": JSON.stringify(tokenizerConfig, null, 2),
  };
}

async function buildLlama2HfTokenizer(): Promise<Llama2HfTokenizer> {
  const file = llama2VocabPath();
  const header = await readGgufHeader(file);
  const pieces = header.metadataByKey.get("tokenizer.ggml.tokens")?.value;
  const scores = header.metadataByKey.get("tokenizer.ggml.scores")?.value;
  if (!Array.isArray(pieces) || !(scores instanceof Float32Array) || pieces.length !== scores.length) {
    throw new LoraGgufError("E_WRONG_KIND", `${file} is not a SentencePiece vocabulary GGUF (tokenizer.ggml.tokens and scores)`);
  }
  const ids = new Map((pieces as string[]).map((piece, id) => [piece, id]));
  const vocab = Object.fromEntries(ids);
  // LlamaConverter.vocab scores the first three pieces (<unk>, <s>, </s>) 0
  const vocabScores = (pieces as string[]).map((piece, id) => [piece, id < 3 ? 0 : scores[id]] as const);

  const tokenizerJson: JsonObject = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [specialAddedToken("<unk>", 0), specialAddedToken("<s>", 1), specialAddedToken("</s>", 2)],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPACE },
        { type: "Replace", pattern: { String: " " }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: generateMerges(ids, vocabScores).map(([left, right]) => `${left} ${right}`),
    },
  };
  const addedToken = (content: string) => ({ __type: "AddedToken", content, lstrip: false, normalized: false, rstrip: false, single_word: false });
  const tokenizerConfig: JsonObject = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: addedToken("<s>"),
    clean_up_tokenization_spaces: false,
    eos_token: addedToken("</s>"),
    legacy: false,
    model_max_length: 1000000000000000019884624838656,
    pad_token: null,
    padding_side: "right",
    sp_model_kwargs: {},
    tokenizer_class: "LlamaTokenizer",
    unk_token: addedToken("<unk>"),
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: pieces.length };
}

/**
 * transformers' generate_merges with vocab scores: every split of every piece into two pieces,
 * those of one piece by the ids of their parts, all by the piece's score, best first (a stable sort).
 */
function generateMerges(vocab: ReadonlyMap<string, number>, vocabScores: ReadonlyArray<readonly [string, number]>): Array<[string, string]> {
  const merges: Array<{ left: string; right: string; score: number }> = [];
  for (const [piece, score] of new Map(vocabScores)) {
    const chars = Array.from(piece);
    const local: Array<{ left: string; right: string; score: number }> = [];
    for (let index = 1; index < chars.length; index++) {
      const left = chars.slice(0, index).join("");
      const right = chars.slice(index).join("");
      if (vocab.has(left) && vocab.has(right)) local.push({ left, right, score });
    }
    local.sort((a, b) => vocab.get(a.left)! - vocab.get(b.left)! || vocab.get(a.right)! - vocab.get(b.right)!);
    merges.push(...local);
  }
  merges.sort((a, b) => b.score - a.score);
  return merges.map(({ left, right }) => [left, right]);
}
