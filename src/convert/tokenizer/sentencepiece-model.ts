// Reads a SentencePiece tokenizer.model: a serialized ModelProto (sentencepiece_model.proto), of which
// the converter needs the pieces (text, score, type) and the few TrainerSpec and NormalizerSpec
// fields that decide how SentencePiece encodes text. Protobuf wire format: a key varint
// (field << 3 | wire type) before each field; unknown fields are skipped, a repeated message's
// occurrences add up and a singular field's last occurrence stands, as protobuf parsers do.
import { readFile } from "node:fs/promises";
import { LoraGgufError } from "../../errors.js";
import { LlamaTokenType } from "./token-types.js";
import type { SpacePrefix } from "./tokenizer-json-kind.js";

/**
 * sentencepiece_model.proto's SentencePiece.Type (NORMAL 1 to BYTE 6): llama.cpp's token types took
 * the same numbers, so they are one table; 0 (UNDEFINED) is not a piece type.
 */
export const SentencePieceType = LlamaTokenType;

export type SentencePieceType = Exclude<LlamaTokenType, typeof LlamaTokenType.UNDEFINED>;

/** TrainerSpec.ModelType. */
export const SentencePieceModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface SentencePiecePiece {
  piece: string;
  score: number;
  type: SentencePieceType;
}

export interface SentencePieceModel {
  file: string;
  pieces: SentencePiecePiece[];
  /** TrainerSpec.model_type (proto default UNIGRAM). */
  modelType: number;
  /** TrainerSpec.byte_fallback (default false). */
  byteFallback: boolean;
  /** TrainerSpec.treat_whitespace_as_suffix (default false). */
  treatWhitespaceAsSuffix: boolean;
  /** NormalizerSpec.name ("identity", "nmt_nfkc", ...; "" when unset). */
  normalizerName: string;
  /** NormalizerSpec.precompiled_charsmap's length: the normalization SentencePiece applies; 0 for none. */
  precompiledCharsmapBytes: number;
  /** NormalizerSpec.add_dummy_prefix (default true): a "▁" before the text. */
  addDummyPrefix: boolean;
  /** NormalizerSpec.remove_extra_whitespaces (default true). */
  removeExtraWhitespaces: boolean;
  /** NormalizerSpec.escape_whitespaces (default true): spaces written as "▁". */
  escapeWhitespaces: boolean;
}

const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;
const WIRE_TYPE_NAMES = ["varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32"];

/** A varint takes at most 10 bytes (64 bits, 7 per byte). */
const MAX_VARINT_BYTES = 10;

// ignoreBOM: a piece may be U+FEFF itself (Llama 2 has one), which the decoder would otherwise drop
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads and parses `file`. @throws LoraGgufError E_BAD_TOKENIZER when it is not a ModelProto with pieces. */
export async function readSentencePieceModel(file: string): Promise<SentencePieceModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseSentencePieceModel(bytes, file);
}

/**
 * Parses a serialized ModelProto, checking every length against the buffer, and the pieces as
 * SentencePieceProcessor's loader does: at least one, none empty or repeated, exactly one UNKNOWN.
 *
 * @throws LoraGgufError E_BAD_TOKENIZER saying what is malformed and at which byte.
 */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  const model: SentencePieceModel = {
    file,
    pieces: [],
    modelType: SentencePieceModelType.UNIGRAM,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    normalizerName: "",
    precompiledCharsmapBytes: 0,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const reader = new ProtoReader(bytes, file);
  reader.readMessage(0, bytes.length, "ModelProto", (field, wireType, start, end) => {
    if (field === 1) model.pieces.push(readPiece(reader, reader.lengthDelimited(wireType, start, end, "pieces"), model.pieces.length));
    else if (field === 2) readTrainerSpec(reader, reader.lengthDelimited(wireType, start, end, "trainer_spec"), model);
    else if (field === 3) readNormalizerSpec(reader, reader.lengthDelimited(wireType, start, end, "normalizer_spec"), model);
    else return false;
    return true;
  });
  checkPieces(model);
  return model;
}

function readPiece(reader: ProtoReader, [start, end]: readonly [number, number], index: number): SentencePiecePiece {
  const piece: SentencePiecePiece = { piece: "", score: 0, type: SentencePieceType.NORMAL };
  const where = `pieces[${index}]`;
  reader.readMessage(start, end, where, (field, wireType, fieldStart, fieldEnd) => {
    if (field === 1) piece.piece = reader.string(reader.lengthDelimited(wireType, fieldStart, fieldEnd, `${where}.piece`), `${where}.piece`);
    else if (field === 2) piece.score = reader.float(wireType, fieldStart, fieldEnd, `${where}.score`);
    else if (field === 3) {
      const type = reader.varint(wireType, fieldStart, fieldEnd, `${where}.type`);
      if (!Number.isInteger(type) || type < SentencePieceType.NORMAL || type > SentencePieceType.BYTE) {
        throw reader.bad(fieldStart, `${where}.type is ${type}, not a SentencePiece piece type (1 NORMAL to 6 BYTE)`);
      }
      piece.type = type as SentencePieceType;
    } else return false;
    return true;
  });
  return piece;
}

function readTrainerSpec(reader: ProtoReader, [start, end]: readonly [number, number], model: SentencePieceModel): void {
  reader.readMessage(start, end, "trainer_spec", (field, wireType, fieldStart, fieldEnd) => {
    if (field === 3) model.modelType = reader.varint(wireType, fieldStart, fieldEnd, "trainer_spec.model_type");
    else if (field === 24) model.treatWhitespaceAsSuffix = reader.varint(wireType, fieldStart, fieldEnd, "trainer_spec.treat_whitespace_as_suffix") !== 0;
    else if (field === 35) model.byteFallback = reader.varint(wireType, fieldStart, fieldEnd, "trainer_spec.byte_fallback") !== 0;
    else return false;
    return true;
  });
}

function readNormalizerSpec(reader: ProtoReader, [start, end]: readonly [number, number], model: SentencePieceModel): void {
  reader.readMessage(start, end, "normalizer_spec", (field, wireType, fieldStart, fieldEnd) => {
    if (field === 1) model.normalizerName = reader.string(reader.lengthDelimited(wireType, fieldStart, fieldEnd, "normalizer_spec.name"), "normalizer_spec.name");
    else if (field === 2) {
      const [charsmapStart, charsmapEnd] = reader.lengthDelimited(wireType, fieldStart, fieldEnd, "normalizer_spec.precompiled_charsmap");
      model.precompiledCharsmapBytes = charsmapEnd - charsmapStart;
    } else if (field === 3) model.addDummyPrefix = reader.varint(wireType, fieldStart, fieldEnd, "normalizer_spec.add_dummy_prefix") !== 0;
    else if (field === 4) model.removeExtraWhitespaces = reader.varint(wireType, fieldStart, fieldEnd, "normalizer_spec.remove_extra_whitespaces") !== 0;
    else if (field === 5) model.escapeWhitespaces = reader.varint(wireType, fieldStart, fieldEnd, "normalizer_spec.escape_whitespaces") !== 0;
    else return false;
    return true;
  });
}

function checkPieces(model: SentencePieceModel): void {
  const bad = (message: string) => new LoraGgufError("E_BAD_TOKENIZER", `${model.file}: ${message}; is it a SentencePiece tokenizer.model?`);
  if (model.pieces.length === 0) throw bad("the ModelProto has no pieces");
  const seen = new Map<string, number>();
  let unknownCount = 0;
  model.pieces.forEach(({ piece, type }, id) => {
    if (piece === "") throw bad(`pieces[${id}] is empty`);
    const first = seen.get(piece);
    if (first !== undefined) throw bad(`pieces[${id}] ${JSON.stringify(piece)} repeats pieces[${first}]`);
    seen.set(piece, id);
    if (type === SentencePieceType.UNKNOWN) unknownCount++;
  });
  if (unknownCount !== 1) throw bad(`the pieces must hold exactly one UNKNOWN (type 2) piece, as SentencePiece requires; they hold ${unknownCount}`);
}

/** Field callback: handles (field, wire type) whose value starts at `start`; returns false to have it skipped. */
type FieldHandler = (field: number, wireType: number, start: number, end: number) => boolean;

class ProtoReader {
  /** Where the last value read ends. */
  private position = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {}

  bad(offset: number, message: string): LoraGgufError {
    return new LoraGgufError("E_BAD_TOKENIZER", `${this.file}: ${message} (at byte ${offset} of ${this.bytes.length}); is it a SentencePiece tokenizer.model?`);
  }

  /** Reads the fields of the message in bytes [start, end), giving each to `handle`, skipping those it declines. */
  readMessage(start: number, end: number, what: string, handle: FieldHandler): void {
    let offset = start;
    while (offset < end) {
      const keyAt = offset;
      const key = this.rawVarint(offset, end, `a field key of ${what}`);
      offset = this.position;
      const field = Math.floor(key / 8);
      const wireType = key % 8;
      if (field === 0 || !Number.isSafeInteger(field)) throw this.bad(keyAt, `${what} has a field key ${key}, whose field number is not valid`);
      if (!handle(field, wireType, offset, end)) this.skip(wireType, offset, end, `${what} field ${field}`);
      offset = this.position;
    }
  }

  /** The [start, end) of a length-delimited value at `start`, within `end`. */
  lengthDelimited(wireType: number, start: number, end: number, what: string): [number, number] {
    this.expectWireType(wireType, WireType.LENGTH_DELIMITED, start, what);
    const length = this.rawVarint(start, end, `the length of ${what}`);
    const valueStart = this.position;
    if (length > end - valueStart) {
      throw this.bad(start, `${what} is ${length} bytes long, past the end of the message that holds it (${end - valueStart} bytes left)`);
    }
    this.position = valueStart + length;
    return [valueStart, valueStart + length];
  }

  string([start, end]: readonly [number, number], what: string): string {
    try {
      return UTF8.decode(this.bytes.subarray(start, end));
    } catch {
      throw this.bad(start, `${what} is not valid UTF-8`);
    }
  }

  varint(wireType: number, start: number, end: number, what: string): number {
    this.expectWireType(wireType, WireType.VARINT, start, what);
    return this.rawVarint(start, end, what);
  }

  float(wireType: number, start: number, end: number, what: string): number {
    this.expectWireType(wireType, WireType.FIXED32, start, what);
    this.requireBytes(start, 4, end, what);
    this.position = start + 4;
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + start, 4).getFloat32(0, true);
  }

  private skip(wireType: number, start: number, end: number, what: string): void {
    switch (wireType) {
      case WireType.VARINT:
        this.rawVarint(start, end, what);
        return;
      case WireType.FIXED64:
        this.requireBytes(start, 8, end, what);
        this.position = start + 8;
        return;
      case WireType.LENGTH_DELIMITED:
        this.lengthDelimited(wireType, start, end, what);
        return;
      case WireType.FIXED32:
        this.requireBytes(start, 4, end, what);
        this.position = start + 4;
        return;
      default:
        throw this.bad(start, `${what} has wire type ${wireType} (${WIRE_TYPE_NAMES[wireType] ?? "undefined"}), which a ModelProto does not use`);
    }
  }

  private expectWireType(wireType: number, expected: number, start: number, what: string): void {
    if (wireType !== expected) {
      throw this.bad(start, `${what} has wire type ${wireType} (${WIRE_TYPE_NAMES[wireType] ?? "undefined"}), expected ${expected} (${WIRE_TYPE_NAMES[expected]})`);
    }
  }

  private requireBytes(start: number, count: number, end: number, what: string): void {
    if (count > end - start) throw this.bad(start, `${what} needs ${count} bytes and ${Math.max(0, end - start)} are left`);
  }

  /** An unsigned varint at `start`, read no further than `end`; values past 2^53 lose precision (no field used here holds one). */
  private rawVarint(start: number, end: number, what: string): number {
    let value = 0;
    let scale = 1;
    for (let index = 0; index < MAX_VARINT_BYTES; index++) {
      const offset = start + index;
      if (offset >= end) throw this.bad(start, `${what} is a varint cut off by the end of the message that holds it`);
      const byte = this.bytes[offset];
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) {
        this.position = offset + 1;
        return value;
      }
    }
    throw this.bad(start, `${what} is a varint longer than ${MAX_VARINT_BYTES} bytes`);
  }
}

const SUPPORTED_MODEL =
  "convert handles a SentencePiece BPE tokenizer.model with byte_fallback and no normalization but spaces written as \u2581 (Llama 2, Mistral, Gemma)";

/**
 * Where the model puts a "▁" before the text, after checking that llama.cpp's "llama" vocabulary
 * encodes as SentencePiece does with it. That vocabulary (llm_tokenizer_spm) repeatedly merges the
 * adjacent pair whose joined text is the highest-scored piece, which is SentencePiece's BPE encoding;
 * a Unigram model picks the most likely segmentation by its scores instead (llama.cpp's converter
 * writes one as "llama" all the same, and llama.cpp then tokenizes it otherwise than SentencePiece).
 * It applies no normalization but writing spaces as "▁" and the space prefix.
 *
 * @throws LoraGgufError E_UNSUPPORTED_TOKENIZER naming the setting llama.cpp does not reproduce,
 *   E_BAD_TOKENIZER when byte_fallback is set without the 256 byte pieces.
 */
export function sentencePieceModelSpacePrefix(model: SentencePieceModel): SpacePrefix {
  const unsupported = (what: string) => new LoraGgufError("E_UNSUPPORTED_TOKENIZER", `${model.file}: ${what}; ${SUPPORTED_MODEL}`);
  if (model.modelType !== SentencePieceModelType.BPE) {
    const name = Object.entries(SentencePieceModelType).find(([, type]) => type === model.modelType)?.[0] ?? `type ${model.modelType}`;
    throw unsupported(
      `trainer_spec.model_type is ${name}, and llama.cpp's SentencePiece vocabulary merges pieces by score as SentencePiece's BPE does, which segments a ${name} model's text otherwise`,
    );
  }
  if (!model.byteFallback) {
    throw unsupported("trainer_spec.byte_fallback is false, and llama.cpp writes characters outside the vocabulary as <0xXX> byte pieces where SentencePiece gives <unk>");
  }
  if (model.precompiledCharsmapBytes > 0) {
    throw unsupported(`normalizer_spec ${JSON.stringify(model.normalizerName)} rewrites the text by a ${model.precompiledCharsmapBytes}-byte precompiled_charsmap, which llama.cpp's SentencePiece vocabulary does not apply`);
  }
  if (model.removeExtraWhitespaces) {
    throw unsupported("normalizer_spec.remove_extra_whitespaces is true, and llama.cpp's SentencePiece vocabulary keeps runs of spaces and leading and trailing ones");
  }
  if (!model.escapeWhitespaces) {
    throw unsupported(`normalizer_spec.escape_whitespaces is false, and llama.cpp's SentencePiece vocabulary always writes spaces as \u2581`);
  }
  if (model.treatWhitespaceAsSuffix) {
    throw unsupported("trainer_spec.treat_whitespace_as_suffix is true, and llama.cpp's SentencePiece vocabulary puts \u2581 before words, not after");
  }
  const bytePieces = new Set(model.pieces.flatMap(({ piece, type }) => (type === SentencePieceType.BYTE ? [piece] : [])));
  const missing: string[] = [];
  for (let byte = 0; byte < 256; byte++) {
    const piece = `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;
    if (!bytePieces.has(piece)) missing.push(piece);
  }
  if (missing.length > 0) {
    throw new LoraGgufError(
      "E_BAD_TOKENIZER",
      `${model.file}: trainer_spec.byte_fallback is true but ${missing.length} of the 256 BYTE pieces are missing (${missing.slice(0, 4).join(", ")}${missing.length > 4 ? ", ..." : ""})`,
    );
  }
  return model.addDummyPrefix ? "always" : "never";
}
