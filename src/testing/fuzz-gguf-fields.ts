// Where the counts, lengths and dimensions of a valid GGUF file lie, so the fuzzer can overwrite
// them with huge values. The layout (ggml/src/gguf.cpp, little-endian):
//   magic u32, version u32, tensor count u64, metadata count u64,
//   per metadata entry: key (u64 length + bytes), value type u32, value
//     (string: u64 length + bytes; array: element type u32, count u64, elements),
//   per tensor: name (u64 length + bytes), n_dims u32, n_dims × i64 dimensions, type u32, offset u64.
import { GGUF_VALUE_TYPE_SIZES, GgufValueType } from "../gguf/value-types.js";

export type GgufFieldKind =
  | "tensor count"
  | "metadata count"
  | "key length"
  | "value type"
  | "string length"
  | "array element type"
  | "array count"
  | "array string length"
  | "u32 value"
  | "f32 value"
  | "tensor name length"
  | "dimension count"
  | "dimension"
  | "tensor type"
  | "tensor offset";

export interface GgufField {
  kind: GgufFieldKind;
  /** Byte offset of the field. */
  offset: number;
  /** 4 or 8. */
  width: 4 | 8;
  /** The metadata key or tensor name it belongs to. */
  owner: string;
}

/** The fields of a well-formed GGUF's header, in file order (only the first string of each string array). */
export function ggufFields(bytes: Buffer): GgufField[] {
  const fields: GgufField[] = [];
  let at = 8;
  const field = (kind: GgufFieldKind, width: 4 | 8, owner: string) => {
    fields.push({ kind, offset: at, width, owner });
    at += width;
  };
  const u64 = () => Number(bytes.readBigUInt64LE(at));
  const string = (kind: GgufFieldKind, owner: string): string => {
    const length = u64();
    field(kind, 8, owner);
    const text = bytes.toString("utf8", at, at + length);
    at += length;
    return text;
  };

  const tensorCount = u64();
  field("tensor count", 8, "header");
  const metadataCount = u64();
  field("metadata count", 8, "header");
  for (let entry = 0; entry < metadataCount; entry++) {
    const key = string("key length", `metadata entry ${entry}`);
    const type = bytes.readUInt32LE(at);
    field("value type", 4, key);
    if (type === GgufValueType.STRING) {
      string("string length", key);
    } else if (type === GgufValueType.ARRAY) {
      const elementType = bytes.readUInt32LE(at);
      field("array element type", 4, key);
      const count = u64();
      field("array count", 8, key);
      if (elementType === GgufValueType.STRING) {
        for (let element = 0; element < count; element++) {
          if (element === 0) string("array string length", key);
          else at += 8 + u64();
        }
      } else if (elementType === GgufValueType.ARRAY) {
        throw new Error(`ggufFields: nested arrays (${key}) are not laid out here`);
      } else {
        at += count * GGUF_VALUE_TYPE_SIZES[elementType as GgufValueType];
      }
    } else if (type === GgufValueType.UINT32 || type === GgufValueType.INT32) {
      field("u32 value", 4, key);
    } else if (type === GgufValueType.FLOAT32) {
      field("f32 value", 4, key);
    } else {
      at += GGUF_VALUE_TYPE_SIZES[type as GgufValueType];
    }
  }
  for (let tensor = 0; tensor < tensorCount; tensor++) {
    const name = string("tensor name length", `tensor ${tensor}`);
    const dimCount = bytes.readUInt32LE(at);
    field("dimension count", 4, name);
    for (let axis = 0; axis < dimCount; axis++) field("dimension", 8, name);
    field("tensor type", 4, name);
    field("tensor offset", 8, name);
  }
  return fields;
}

/** Where the tensor infos end: the header region a bit flip should hit. */
export function ggufHeaderBytes(fields: readonly GgufField[]): number {
  const last = fields.at(-1);
  return last ? last.offset + last.width : 24;
}
