import { LoraGgufError } from "../errors.js";

/**
 * Hugging Face's llama checkpoints rotate the two halves of each head (rotate_half); llama.cpp's
 * llama graph rotates adjacent pairs. convert_hf_to_gguf.py's LlamaModel.permute reorders the rows
 * of q_proj and k_proj (weight and bias) per head so that both compute the same thing:
 * row h·d + half·d/2 + i moves to h·d + 2i + half. Rows are moved as bytes, so any element type
 * (f32, f16, bf16) is permuted without decoding.
 */
export function permuteRotaryRows(data: Uint8Array, rows: number, rowBytes: number, headCount: number): Uint8Array {
  return moveRows(data, rows, rowBytes, headCount, (head, headSize, half, i, part) => [
    head * headSize + part * half + i,
    head * headSize + 2 * i + part,
  ]);
}

/** The inverse, for exporting llama adapters back to Hugging Face layout. */
export function unpermuteRotaryRows(data: Uint8Array, rows: number, rowBytes: number, headCount: number): Uint8Array {
  return moveRows(data, rows, rowBytes, headCount, (head, headSize, half, i, part) => [
    head * headSize + 2 * i + part,
    head * headSize + part * half + i,
  ]);
}

function moveRows(
  data: Uint8Array,
  rows: number,
  rowBytes: number,
  headCount: number,
  fromTo: (head: number, headSize: number, half: number, i: number, part: number) => [number, number],
): Uint8Array {
  const headSize = rows / headCount;
  if (!Number.isInteger(headSize) || headSize % 2 !== 0) {
    // reachable with a PEFT adapter converted against a base GGUF whose head counts do not fit its rows
    throw new LoraGgufError("E_ADAPTER_MISMATCH", `cannot split ${rows} rows into ${headCount} rotary heads of an even size; the adapter does not fit the base's attention heads`);
  }
  const half = headSize / 2;
  const out = new Uint8Array(data.length);
  for (let head = 0; head < headCount; head++) {
    for (let i = 0; i < half; i++) {
      for (let part = 0; part < 2; part++) {
        const [from, to] = fromTo(head, headSize, half, i, part);
        out.set(data.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return out;
}
