// Reads the tokenizer files of a Hugging Face checkpoint directory and checks the shapes the
// converter relies on, so that later steps can index them without re-validating.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { LoraGgufError } from "../../errors.js";
import { describeJson } from "../json-description.js";
import { readSentencePieceModel, type SentencePieceModel } from "./sentencepiece-model.js";
import { tokenizerJsonKind, type TokenizerJsonKind } from "./tokenizer-json-kind.js";

export type JsonObject = Record<string, unknown>;

export interface HfAddedToken {
  id: number;
  content: string;
  /** `special` in tokenizer.json: a control token, skipped when decoding with skip_special_tokens. */
  special: boolean;
  /** Whether the normalizer runs over the token's text before matching (tokenizers' default: not special). */
  normalized: boolean;
}

/** A BPE tokenizer.json, with the parts the converter reads pulled out and checked. */
export interface HfTokenizerJson {
  /** The whole file, as @huggingface/tokenizers takes it (missing top-level sections set to null). */
  raw: JsonObject;
  /** Byte-level or SentencePiece-style BPE. */
  kind: TokenizerJsonKind;
  /** model.vocab: token text to id. */
  vocab: Map<string, number>;
  /** model.merges as stored: "a b" strings or [a, b] pairs (transformers 4.45 and later); undefined when absent. */
  merges: string[] | Array<[string, string]> | undefined;
  addedTokens: HfAddedToken[];
  normalizer: JsonObject | null;
  preTokenizer: JsonObject | null;
  postProcessor: JsonObject | null;
}

export interface HfTokenizerDir {
  dir: string;
  /** tokenizer.json; undefined when the directory has only a tokenizer.model. */
  tokenizer: HfTokenizerJson | undefined;
  /**
   * tokenizer.model, read where llama.cpp's converter takes the vocabulary from it: beside a
   * SentencePiece-style tokenizer.json, or alone. Beside a byte-level one it is not read.
   */
  sentencePieceModel: SentencePieceModel | undefined;
  /** tokenizer_config.json, when present. */
  tokenizerConfig: JsonObject | undefined;
  /** config.json, when present. */
  modelConfig: JsonObject | undefined;
  /** generation_config.json, when present and valid (transformers tolerates a broken one, and so do we). */
  generationConfig: JsonObject | undefined;
}

/** A checkpoint directory with a tokenizer.json. */
export interface HfTokenizerJsonDir extends HfTokenizerDir {
  tokenizer: HfTokenizerJson;
}

export function hasTokenizerJson(files: HfTokenizerDir): files is HfTokenizerJsonDir {
  return files.tokenizer !== undefined;
}

/**
 * Reads tokenizer.json and / or tokenizer.model and the configuration files beside them.
 *
 * @throws LoraGgufError E_INPUT_NOT_FOUND with neither tokenizer file, E_BAD_TOKENIZER for a malformed
 *   one, E_UNSUPPORTED_TOKENIZER for a tokenizer.json llama.cpp's vocabularies cannot reproduce.
 */
export async function readHfTokenizerDir(dir: string): Promise<HfTokenizerDir> {
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `${dir} is not a directory; expected a Hugging Face checkpoint folder with tokenizer.json or tokenizer.model`);
  }
  const tokenizerPath = path.join(dir, "tokenizer.json");
  const raw = await readJsonObject(tokenizerPath, "E_BAD_TOKENIZER");
  const tokenizer = raw === undefined ? undefined : parseTokenizerJson(raw, tokenizerPath);
  const modelPath = path.join(dir, "tokenizer.model");
  const readsModel = (tokenizer === undefined || tokenizer.kind.kind === "sentencepiece-bpe") && (await isFile(modelPath));
  const sentencePieceModel = readsModel ? await readSentencePieceModel(modelPath) : undefined;
  if (tokenizer === undefined && sentencePieceModel === undefined) throw await missingTokenizerJson(dir);
  return {
    dir,
    tokenizer,
    sentencePieceModel,
    tokenizerConfig: await readJsonObject(path.join(dir, "tokenizer_config.json"), "E_BAD_TOKENIZER"),
    modelConfig: await readJsonObject(path.join(dir, "config.json"), "E_BAD_CHECKPOINT_DIR"),
    generationConfig: await readJsonObject(path.join(dir, "generation_config.json"), undefined),
  };
}

/**
 * The parsed JSON object at `file`; undefined when the file does not exist. A file that is not a JSON
 * object throws with `errorCode`, or reads as undefined when `errorCode` is undefined.
 */
export async function readJsonObject(
  file: string,
  errorCode: "E_BAD_TOKENIZER" | "E_BAD_CHECKPOINT_DIR" | undefined,
): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (errorCode === undefined) return undefined;
    throw new LoraGgufError(errorCode, `${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isJsonObject(value)) {
    if (errorCode === undefined) return undefined;
    throw new LoraGgufError(errorCode, `${file} must hold a JSON object`);
  }
  return value;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Sequences nested deeper than this are not searched (tokenizers' own files nest one or two). */
const MAX_SEQUENCE_NESTING = 32;

/** Whether a normalizer / pre-tokenizer / decoder node is of `type`, or a Sequence holding one. */
export function containsComponent(node: unknown, type: string, depth = 0): boolean {
  if (!isJsonObject(node) || depth > MAX_SEQUENCE_NESTING) return false;
  if (node.type === type) return true;
  if (node.type !== "Sequence") return false;
  const children = node.pretokenizers ?? node.normalizers ?? node.decoders ?? node.processors;
  return Array.isArray(children) && children.some((child) => containsComponent(child, type, depth + 1));
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() === true;
}

async function missingTokenizerJson(dir: string): Promise<LoraGgufError> {
  if (await isFile(path.join(dir, "vocab.json"))) {
    return new LoraGgufError(
      "E_UNSUPPORTED_TOKENIZER",
      `${dir} has a slow-tokenizer vocab.json and no tokenizer.json; save the tokenizer with transformers' save_pretrained (which writes tokenizer.json) and convert again`,
    );
  }
  return new LoraGgufError("E_INPUT_NOT_FOUND", `${dir} has no tokenizer.json`);
}

function parseTokenizerJson(raw: JsonObject, file: string): HfTokenizerJson {
  const bad = (message: string) => new LoraGgufError("E_BAD_TOKENIZER", `${file}: ${message}`);
  const model = raw.model;
  if (!isJsonObject(model)) throw bad("has no model object");
  const kind = tokenizerJsonKind(raw, model, file);

  if (!isJsonObject(model.vocab)) throw bad("model.vocab must be an object of token ids");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) throw bad(`model.vocab[${JSON.stringify(token)}] must be a non-negative integer, got ${describeJson(id)}`);
    vocab.set(token, id as number);
  }

  const merges = model.merges;
  if (merges !== undefined && merges !== null) {
    if (!Array.isArray(merges)) throw bad("model.merges must be an array");
    const stringForm = typeof merges[0] === "string";
    merges.forEach((merge, index) => {
      const ok = stringForm
        ? typeof merge === "string"
        : Array.isArray(merge) && merge.length === 2 && typeof merge[0] === "string" && typeof merge[1] === "string";
      if (!ok) throw bad(`model.merges[${index}] must be ${stringForm ? 'an "a b" string like the first' : "an [a, b] pair of strings"}, got ${describeJson(merge)}`);
    });
  }

  const addedTokens: HfAddedToken[] = [];
  const addedList = raw.added_tokens ?? [];
  if (!Array.isArray(addedList)) throw bad("added_tokens must be an array");
  addedList.forEach((entry, index) => {
    if (!isJsonObject(entry) || !Number.isSafeInteger(entry.id) || (entry.id as number) < 0 || typeof entry.content !== "string") {
      throw bad(`added_tokens[${index}] must have an integer id and a string content`);
    }
    const special = entry.special === true;
    addedTokens.push({
      id: entry.id as number,
      content: entry.content,
      special,
      normalized: typeof entry.normalized === "boolean" ? entry.normalized : !special,
    });
  });

  const section = (key: string) => (isJsonObject(raw[key]) ? (raw[key] as JsonObject) : null);
  return {
    raw: {
      ...raw,
      added_tokens: addedList,
      normalizer: raw.normalizer ?? null,
      pre_tokenizer: raw.pre_tokenizer ?? null,
      post_processor: raw.post_processor ?? null,
      decoder: raw.decoder ?? null,
    },
    kind,
    vocab,
    merges: merges === null ? undefined : (merges as HfTokenizerJson["merges"]),
    addedTokens,
    normalizer: section("normalizer"),
    preTokenizer: section("pre_tokenizer"),
    postProcessor: section("post_processor"),
  };
}
