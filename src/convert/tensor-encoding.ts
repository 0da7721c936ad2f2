// Element types between safetensors and GGUF: decoding checkpoint bytes to f32, and encoding f32
// to the GGUF output type (f32, f16, bf16, or q8_0 blocks as ggml's quantize_row_q8_0_ref makes them).
import { LoraGgufError } from "../errors.js";
import { GgmlType } from "../gguf/index.js";
import { bfloat16ArrayToFloat32, float16ArrayToFloat32, float32ArrayToBfloat16, float32ArrayToFloat16, float32ToFloat16 } from "../gguf/f16.js";

export type ConvertOutType = "auto" | "f32" | "f16" | "bf16" | "q8_0";
export const convertOutTypes: readonly ConvertOutType[] = ["auto", "f32", "f16", "bf16", "q8_0"];

/** The safetensors dtypes convert reads, with their GGUF type when kept as they are. */
const keptAs: Record<string, number> = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 };

const Q8_0_BLOCK = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

/**
 * The GGUF type of a tensor: vectors (norms, biases, rope factors) always f32, as llama.cpp's
 * converter writes them; matrices in the requested type ("auto" keeps the checkpoint's; q8_0 falls
 * back to f16 for rows that are not whole blocks, as llama.cpp does).
 */
export function outputTensorType(dtype: string, dims: readonly number[], outType: ConvertOutType): number {
  if (dims.length < 2) return GgmlType.F32;
  switch (outType) {
    case "auto":
      return keptAs[dtype] ?? GgmlType.F32;
    case "f32":
      return GgmlType.F32;
    case "f16":
      return GgmlType.F16;
    case "bf16":
      return GgmlType.BF16;
    case "q8_0":
      return dims[0] % Q8_0_BLOCK === 0 ? GgmlType.Q8_0 : GgmlType.F16;
  }
}

/** general.file_type (llama_ftype) for the output: the type of most matrix elements. */
export function fileTypeOf(types: readonly { type: number; elements: number }[]): number {
  const totals = new Map<number, number>();
  for (const { type, elements } of types) totals.set(type, (totals.get(type) ?? 0) + elements);
  const [major] = [...totals.entries()].sort((a, b) => b[1] - a[1])[0] ?? [GgmlType.F32];
  const ftypeByType: Record<number, number> = { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7, [GgmlType.BF16]: 32 };
  return ftypeByType[major] ?? 0;
}

export function decodeToFloat32(bytes: Uint8Array, dtype: string): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  switch (dtype) {
    case "F32":
      return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    case "F16":
      return float16ArrayToFloat32(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2));
    case "BF16":
      return bfloat16ArrayToFloat32(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2));
    default:
      throw new LoraGgufError("E_UNSUPPORTED_DTYPE", `convert: tensors of dtype ${dtype} are not supported (F32, F16 and BF16 are)`);
  }
}

/** Bytes of `values` (row length `rowLength`) in GGUF type `type`. */
export function encodeFromFloat32(values: Float32Array, type: number, rowLength: number): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case GgmlType.F16: {
      const halves = float32ArrayToFloat16(values);
      return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
    }
    case GgmlType.BF16: {
      const halves = float32ArrayToBfloat16(values);
      return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
    }
    case GgmlType.Q8_0:
      return quantizeQ8_0(values, rowLength);
    default:
      throw new Error(`no encoder for ggml type ${type}`);
  }
}

/** Whether bytes of `dtype` can be written unchanged as `type`. */
export function isSameEncoding(dtype: string, type: number): boolean {
  return keptAs[dtype] === type;
}

/** ggml's block_q8_0: per 32 values an f16 scale d = max|x| / 127 and 32 int8 round(x / d). */
function quantizeQ8_0(values: Float32Array, rowLength: number): Uint8Array {
  if (rowLength % Q8_0_BLOCK !== 0) throw new Error(`q8_0 needs rows of whole ${Q8_0_BLOCK}-value blocks, got ${rowLength}`);
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  for (let block = 0; block < blocks; block++) {
    const start = block * Q8_0_BLOCK;
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(values[start + i]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    view.setUint16(block * Q8_0_BLOCK_BYTES, float32ToFloat16(d), true);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const x = Math.fround(values[start + i] * id);
      // roundf: halves away from zero
      view.setInt8(block * Q8_0_BLOCK_BYTES + 2 + i, Math.sign(x) * Math.floor(Math.abs(x) + 0.5));
    }
  }
  return out;
}
