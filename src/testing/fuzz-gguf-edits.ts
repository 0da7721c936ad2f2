// Well-formed but hostile GGUF files: one metadata entry or tensor info of a valid file changed and
// the file encoded again, so that it passes the container checks and reaches what reads the model
// (llama.cpp's loaders, the adapter checks): another architecture, a missing or retyped key, a
// duplicated token, a tensor of another type or shape.
import { GgmlType, tensorByteSize } from "../gguf/ggml-types.js";
import { encodeGgufHeader } from "../gguf/header-encoder.js";
import type { GgufHeader } from "../gguf/reader.js";
import { GgufValueType, type GgufMetadataEntry } from "../gguf/value-types.js";

/** Draws, as fuzz-mutations.ts makes them. */
export interface FuzzDraw {
  int(count: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
}

interface EditableTensor {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
}

const STRING_VALUES: Readonly<Record<string, readonly string[]>> = {
  "general.architecture": ["qwen2", "qwen3", "gemma3", "bert", "mamba", "clip", "llama4", "foo", ""],
  "general.type": ["adapter", "model", "vocab", ""],
  "adapter.type": ["lora", "control_vector", "x"],
  "tokenizer.ggml.model": ["gpt2", "bert", "t5", "rwkv", "none", "no_vocab", "plamo2", "xyz", ""],
  "tokenizer.ggml.pre": ["default", "llama-bpe", "qwen2", "xyz", ""],
  "tokenizer.chat_template": ["{% for %}", "{{ raise_exception('no') }}", "", "{{ messages[0]['content'] }}", "{% for m in messages %}{{ m.content }}{% endfor %}"],
};

/** One edit, encoded; undefined when the encoder refuses the edited header (the caller draws another mutation). */
export function editGgufHeader(draw: FuzzDraw, original: Buffer, header: GgufHeader): { description: string; bytes: Buffer } | undefined {
  const metadata: GgufMetadataEntry[] = header.metadata.map((entry) => ({ ...entry }));
  const tensors: EditableTensor[] = header.tensors.map((tensor) => ({
    name: tensor.name,
    dims: [...tensor.dims],
    type: tensor.type,
    data: original.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize),
  }));
  const description = draw.pick([editString, removeKey, retypeKey, perLayerArray, editVocabulary, editTensor])(draw, metadata, tensors);
  let encoded;
  try {
    encoded = encodeGgufHeader(metadata, tensors);
  } catch {
    return undefined;
  }
  const bytes = Buffer.alloc(encoded.fileSize);
  Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.byteLength).copy(bytes);
  encoded.tensors.forEach((planned, index) => {
    const data = tensors[index].data;
    bytes.set(data.subarray(0, Math.min(data.length, planned.byteSize)), encoded.dataOffset + planned.offset);
  });
  return { description: `re-encoded with ${description}`, bytes };
}

type Edit = (draw: FuzzDraw, metadata: GgufMetadataEntry[], tensors: EditableTensor[]) => string;

const editString: Edit = (draw, metadata) => {
  const key = draw.pick(Object.keys(STRING_VALUES));
  const value = draw.pick(STRING_VALUES[key]);
  setEntry(metadata, { key, type: GgufValueType.STRING, value });
  return `${key} = ${JSON.stringify(value.slice(0, 60))}`;
};

const removeKey: Edit = (draw, metadata) => {
  const [entry] = metadata.splice(draw.int(metadata.length), 1);
  return `${entry.key} removed`;
};

/** A scalar stored as another type (llama.cpp reads most keys with an exact type check). */
const retypeKey: Edit = (draw, metadata) => {
  const scalars = metadata.filter((entry) => entry.type !== GgufValueType.ARRAY);
  const entry = draw.pick(scalars);
  const number = typeof entry.value === "number" ? entry.value : typeof entry.value === "bigint" ? Number(entry.value) : 1;
  const replacement = draw.pick<GgufMetadataEntry>([
    { key: entry.key, type: GgufValueType.INT32, value: number | 0 },
    { key: entry.key, type: GgufValueType.FLOAT32, value: number },
    { key: entry.key, type: GgufValueType.UINT64, value: BigInt(Math.max(0, Math.trunc(number))) },
    { key: entry.key, type: GgufValueType.STRING, value: String(entry.value) },
    { key: entry.key, type: GgufValueType.BOOL, value: true },
    { key: entry.key, type: GgufValueType.UINT8, value: number & 0xff },
    { key: entry.key, type: GgufValueType.ARRAY, arrayType: GgufValueType.UINT32, value: Uint32Array.of(number >>> 0, number >>> 0) },
    { key: entry.key, type: GgufValueType.ARRAY, arrayType: GgufValueType.STRING, value: [] },
  ]);
  setEntry(metadata, replacement);
  return `${entry.key} stored as ${replacement.type === GgufValueType.ARRAY ? "an array" : `value type ${replacement.type}`}`;
};

/** A per-layer hyperparameter as an array, of the right length or not. */
const perLayerArray: Edit = (draw, metadata) => {
  const architecture = String(metadata.find((entry) => entry.key === "general.architecture")?.value);
  const layers = Number(metadata.find((entry) => entry.key === `${architecture}.block_count`)?.value ?? 1);
  const key = `${architecture}.${draw.pick(["attention.head_count", "attention.head_count_kv", "feed_forward_length"])}`;
  const current = Number(metadata.find((entry) => entry.key === key)?.value ?? 4);
  const length = draw.pick([layers, layers + 1, 0, 600]);
  const value = draw.pick([current, 0, 0xffff_ffff, current * 2]);
  setEntry(metadata, { key, type: GgufValueType.ARRAY, arrayType: GgufValueType.UINT32, value: new Uint32Array(length).fill(value) });
  return `${key} = [${value} × ${length}]`;
};

const editVocabulary: Edit = (draw, metadata) => {
  const tokens = metadata.find((entry) => entry.key === "tokenizer.ggml.tokens");
  if (tokens === undefined || !Array.isArray(tokens.value)) {
    setEntry(metadata, { key: "tokenizer.ggml.model", type: GgufValueType.STRING, value: "llama" });
    return "tokenizer.ggml.model = \"llama\" without tokens";
  }
  const list = [...(tokens.value as string[])];
  const count = list.length;
  switch (draw.int(6)) {
    case 0: {
      const [to, from] = [draw.int(count), draw.int(count)];
      list[to] = list[from];
      tokens.value = list;
      return `token ${to} set to token ${from} (${JSON.stringify(list[from])})`;
    }
    case 1: {
      const at = draw.int(count);
      list[at] = draw.pick(["", "\u0000", "\ud800", "a".repeat(70_000)]);
      tokens.value = list;
      return `token ${at} set to an odd string`;
    }
    case 2: {
      const kept = draw.pick([0, 1, 3, count - 1, count + 1]);
      tokens.value = kept <= count ? list.slice(0, kept) : [...list, "extra"];
      return `tokens cut to ${kept} (token types and scores keep ${count})`;
    }
    case 3: {
      const types = metadata.find((entry) => entry.key === "tokenizer.ggml.token_type");
      const at = draw.int(count);
      const value = draw.pick([0, 7, 99, -1, 0x7fff_ffff]);
      if (types && types.value instanceof Int32Array) {
        const copy = Int32Array.from(types.value);
        copy[at] = value;
        types.value = copy;
      }
      return `token_type of token ${at} set to ${value}`;
    }
    case 4: {
      const key = draw.pick(["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"]);
      const value = draw.pick([count, count + 1000, 0x7fff_ffff, 0xffff_ffff]);
      setEntry(metadata, { key, type: GgufValueType.UINT32, value });
      return `${key} = ${value} (${count} tokens)`;
    }
    default: {
      const key = draw.pick(["tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"]);
      setEntry(metadata, { key, type: GgufValueType.ARRAY, arrayType: GgufValueType.FLOAT32, value: new Float32Array(draw.pick([0, 1, count + 1])) });
      return `${key} replaced by an f32 array of another length`;
    }
  }
};

const TENSOR_TYPES = [GgmlType.F16, GgmlType.BF16, GgmlType.F32, GgmlType.I32, GgmlType.I8, GgmlType.F64, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K];

const editTensor: Edit = (draw, _metadata, tensors) => {
  const index = draw.int(tensors.length);
  const tensor = tensors[index];
  switch (draw.int(5)) {
    case 0: {
      const type = draw.pick(TENSOR_TYPES);
      let byteSize: number;
      try {
        byteSize = tensorByteSize(type, tensor.dims);
      } catch {
        return `nothing (type ${type} does not fit ${tensor.name})`;
      }
      tensor.data = resized(tensor.data, byteSize);
      const from = tensor.type;
      tensor.type = type;
      return `${tensor.name} of type ${type} instead of ${from}`;
    }
    case 1: {
      const before = tensor.dims.join("x");
      tensor.dims = draw.pick([[...tensor.dims].reverse(), [tensor.dims.reduce((a, b) => a * b, 1)], [...tensor.dims, 1], tensor.dims.length > 1 ? [tensor.dims[0] / 2, tensor.dims[1] * 2] : [tensor.dims[0], 1, 1, 1]]);
      if (!tensor.dims.every(Number.isInteger)) tensor.dims = [tensor.dims.reduce((a, b) => a * b, 1)];
      return `${tensor.name} shaped ${tensor.dims.join("x")} instead of ${before}`;
    }
    case 2: {
      const name = draw.pick([tensor.name.replace(/blk\.\d+/, "blk.7"), `${tensor.name}.extra`, "output.weight", "rope_freqs.weight", tensor.name.replace("lora_a", "lora_b")]);
      if (tensors.some((other) => other.name === name)) return `nothing (${name} exists)`;
      const before = tensor.name;
      tensor.name = name;
      return `${before} renamed ${name}`;
    }
    case 3:
      tensors.splice(index, 1);
      return `${tensor.name} removed`;
    default: {
      const dims = draw.pick([[7], [64, 3], [1, 1, 1, 1]]);
      tensors.push({ name: draw.pick(["blk.0.extra.weight", "blk.99.attn_q.weight", "token_embd.weight.lora_a"]), dims, type: GgmlType.F32, data: new Uint8Array(dims.reduce((a, b) => a * b, 4)) });
      return `an extra f32 tensor ${tensors.at(-1)!.name} [${dims.join(", ")}]`;
    }
  }
};

function setEntry(metadata: GgufMetadataEntry[], entry: GgufMetadataEntry): void {
  const at = metadata.findIndex((candidate) => candidate.key === entry.key);
  if (at >= 0) metadata[at] = entry;
  else metadata.push(entry);
}

function resized(data: Uint8Array, byteSize: number): Uint8Array {
  if (data.length >= byteSize) return data.subarray(0, byteSize);
  const bigger = new Uint8Array(byteSize);
  bigger.set(data);
  return bigger;
}
