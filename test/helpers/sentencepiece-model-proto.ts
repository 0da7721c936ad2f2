// A small protobuf writer for SentencePiece's ModelProto (sentencepiece_model.proto), enough to
// write a tokenizer.model from pieces, scores and types, and to build malformed ones from its parts.

export interface ModelProtoPiece {
  piece: string;
  score: number;
  /** SentencePiece.Type: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE. */
  type: number;
}

export interface ModelProtoOptions {
  pieces: readonly ModelProtoPiece[];
  /** TrainerSpec fields; each is written only when given. */
  trainerSpec?: { modelType?: number; vocabSize?: number; byteFallback?: boolean; treatWhitespaceAsSuffix?: boolean };
  /** NormalizerSpec fields; each is written only when given. */
  normalizerSpec?: { name?: string; precompiledCharsmap?: Uint8Array; addDummyPrefix?: boolean; removeExtraWhitespaces?: boolean; escapeWhitespaces?: boolean };
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

export function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

export function fieldKey(field: number, wireType: number): number[] {
  return varint(field * 8 + wireType);
}

export function lengthDelimitedField(field: number, content: ArrayLike<number>): number[] {
  return [...fieldKey(field, WIRE_LENGTH_DELIMITED), ...varint(content.length), ...Array.from(content)];
}

export function varintField(field: number, value: number): number[] {
  return [...fieldKey(field, WIRE_VARINT), ...varint(value)];
}

export function floatField(field: number, value: number): number[] {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return [...fieldKey(field, WIRE_FIXED32), ...bytes];
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** One `repeated SentencePiece pieces = 1` entry, as a ModelProto field. */
export function pieceField({ piece, score, type }: ModelProtoPiece): number[] {
  const content = [...lengthDelimitedField(1, utf8(piece)), ...floatField(2, score), ...(type === 1 ? [] : varintField(3, type))];
  return lengthDelimitedField(1, content);
}

export function writeModelProto({ pieces, trainerSpec = {}, normalizerSpec = {} }: ModelProtoOptions): Uint8Array {
  const bytes: number[] = [];
  for (const piece of pieces) {
    for (const byte of pieceField(piece)) bytes.push(byte);
  }
  const trainer: number[] = [];
  if (trainerSpec.modelType !== undefined) trainer.push(...varintField(3, trainerSpec.modelType));
  if (trainerSpec.vocabSize !== undefined) trainer.push(...varintField(4, trainerSpec.vocabSize));
  if (trainerSpec.treatWhitespaceAsSuffix !== undefined) trainer.push(...varintField(24, Number(trainerSpec.treatWhitespaceAsSuffix)));
  if (trainerSpec.byteFallback !== undefined) trainer.push(...varintField(35, Number(trainerSpec.byteFallback)));
  const normalizer: number[] = [];
  if (normalizerSpec.name !== undefined) normalizer.push(...lengthDelimitedField(1, utf8(normalizerSpec.name)));
  if (normalizerSpec.precompiledCharsmap !== undefined) normalizer.push(...lengthDelimitedField(2, normalizerSpec.precompiledCharsmap));
  if (normalizerSpec.addDummyPrefix !== undefined) normalizer.push(...varintField(3, Number(normalizerSpec.addDummyPrefix)));
  if (normalizerSpec.removeExtraWhitespaces !== undefined) normalizer.push(...varintField(4, Number(normalizerSpec.removeExtraWhitespaces)));
  if (normalizerSpec.escapeWhitespaces !== undefined) normalizer.push(...varintField(5, Number(normalizerSpec.escapeWhitespaces)));
  const trailer = [...lengthDelimitedField(2, trainer), ...lengthDelimitedField(3, normalizer)];
  const out = new Uint8Array(bytes.length + trailer.length);
  out.set(bytes);
  out.set(trailer, bytes.length);
  return out;
}
