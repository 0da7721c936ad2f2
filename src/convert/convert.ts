import { stat } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { checkOutputPath } from "../io/atomic-output.js";
import { float16ToFloat32, float32ToFloat16 } from "../gguf/f16.js";
import { GgmlType, GgufWriter, stringEntry, uint32Entry, type GgufMetadataEntry } from "../gguf/index.js";
import {
  optionalBoolean, optionalFunction, optionalSignal, rejectUnknownOptions, requireOptionsObject, requireString,
} from "../validate.js";
import { findFamilyOfHfConfig, headDimension, readHfConfig, type ModelFamily, type HfConfig } from "../arch/index.js";
import { convertPeftAdapter, isPeftAdapterDir } from "./peft-adapter.js";
import { openCheckpointTensors, readTensorBytes, type CheckpointTensor } from "./safetensors.js";
import {
  convertOutTypes, decodeToFloat32, encodeFromFloat32, fileTypeOf, isSameEncoding, outputTensorType, type ConvertOutType,
} from "./tensor-encoding.js";
import { convertHfTokenizer } from "./tokenizer/index.js";

export interface ConvertProgress {
  tensorsDone: number;
  tensorsTotal: number;
  tensorName: string;
  bytesWritten: number;
}

export interface ConvertOptions {
  /** Matrix type: "auto" (the checkpoint's), f32, f16, bf16 or q8_0. Default "auto". Vectors are always f32. */
  outType?: ConvertOutType;
  /** llama.cpp pre-tokenizer name, when the checkpoint's tokenizer is not one llama.cpp recognises. */
  preTokenizer?: string;
  /** For a PEFT adapter directory: the base model (its Hugging Face directory or its GGUF). */
  base?: string;
  /** Overwrite an existing output. Default false. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ConvertProgress) => void;
}

export interface ConvertResult {
  output: string;
  /** "adapter" for a PEFT LoRA directory. */
  kind: "model" | "adapter";
  architecture: string;
  tensorCount: number;
  outputBytes: number;
  /** The tokenizer's llama.cpp pre-tokenizer (models only). */
  preTokenizer?: string;
  /** Adapters: LoRA rank and the alpha written (rsLoRA rescaled). */
  rank?: number;
  alpha?: number;
  seconds: number;
}

interface PlannedTensor {
  ggufName: string;
  source?: CheckpointTensor;
  generated?: Float32Array;
  /** GGUF ne order (PyTorch shape reversed). */
  dims: number[];
  type: number;
}

const knownOptions = ["outType", "preTokenizer", "base", "force", "signal", "onProgress"] as const;

/**
 * A Hugging Face safetensors checkpoint to a GGUF model, tensor by tensor: each is read at its
 * offset, converted and written before the next is read, so memory stays near one tensor whatever
 * the model's size. Written to a temp file and renamed when complete.
 */
export async function convert(inputDir: string, output: string, options: ConvertOptions = {}): Promise<ConvertResult> {
  const where = "convert";
  requireString(where, "inputDir", inputDir);
  requireString(where, "output", output);
  const raw = requireOptionsObject(where, options);
  rejectUnknownOptions(where, raw, knownOptions);
  const outType = (raw.outType ?? "auto") as ConvertOutType;
  if (!convertOutTypes.includes(outType)) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: outType must be one of ${convertOutTypes.join(", ")}, got ${String(raw.outType)}`);
  }
  const force = optionalBoolean(where, "force", raw.force) ?? false;
  const signal = optionalSignal(where, raw.signal);
  const onProgress = optionalFunction<(progress: ConvertProgress) => void>(where, "onProgress", raw.onProgress);
  const preTokenizer = raw.preTokenizer === undefined ? undefined : requireString(where, "preTokenizer", raw.preTokenizer);
  const base = raw.base === undefined ? undefined : requireString(where, "base", raw.base);
  const started = performance.now();

  if (await isPeftAdapterDir(inputDir)) {
    if (!base) {
      throw new LoraGgufError("E_INVALID_OPTION", `${where}: ${inputDir} is a PEFT adapter; give its base model with base (--base): the base's Hugging Face directory or GGUF`);
    }
    await checkOutputPath(where, output, { force, inputs: [inputDir] });
    const adapter = await convertPeftAdapter(inputDir, output, base, signal);
    return {
      output: path.resolve(output),
      kind: "adapter",
      architecture: adapter.architecture,
      tensorCount: adapter.tensorCount,
      outputBytes: (await stat(output)).size,
      rank: adapter.rank,
      alpha: adapter.alpha,
      seconds: (performance.now() - started) / 1000,
    };
  }

  const config = await readHfConfig(inputDir);
  const architecture = findFamilyOfHfConfig(config, where);
  const tensors = await openCheckpointTensors(inputDir);
  const plan = planTensors(architecture, config, tensors, outType);
  const tokenizer = await convertHfTokenizer(inputDir, { preTokenizer });
  if (tokenizer.vocabSize !== config.vocab_size) {
    throw new LoraGgufError(
      "E_BAD_CHECKPOINT_DIR",
      `${where}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.vocab_size}`,
    );
  }
  await checkOutputPath(where, output, { force, inputs: [inputDir] });
  signal?.throwIfAborted();

  const metadata: GgufMetadataEntry[] = [
    stringEntry("general.architecture", architecture.ggufArchitecture),
    stringEntry("general.type", "model"),
    stringEntry("general.name", path.basename(path.resolve(inputDir))),
    ...architecture.hyperparameters(config),
    uint32Entry("general.file_type", fileTypeOf(plan.filter((t) => t.dims.length > 1).map((t) => ({ type: t.type, elements: t.dims.reduce((a, b) => a * b, 1) })))),
    ...(plan.some((t) => t.type === GgmlType.Q8_0) ? [uint32Entry("general.quantization_version", 2)] : []),
    ...tokenizer.metadata,
  ];
  const writer = await GgufWriter.create(output, { metadata, tensors: plan.map(({ ggufName, dims, type }) => ({ name: ggufName, dims, type })) });
  let bytesWritten = 0;
  try {
    for (const [index, tensor] of plan.entries()) {
      signal?.throwIfAborted();
      const data = await tensorData(tensor, architecture, config);
      await writer.writeTensorData(tensor.ggufName, data);
      bytesWritten += data.byteLength;
      onProgress?.({ tensorsDone: index + 1, tensorsTotal: plan.length, tensorName: tensor.ggufName, bytesWritten });
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return {
    output: path.resolve(output),
    kind: "model",
    architecture: architecture.ggufArchitecture,
    tensorCount: plan.length,
    outputBytes: (await stat(output)).size,
    preTokenizer: tokenizer.preTokenizer,
    seconds: (performance.now() - started) / 1000,
  };
}

function planTensors(architecture: ModelFamily, config: HfConfig, tensors: Map<string, CheckpointTensor>, outType: ConvertOutType): PlannedTensor[] {
  const planned: PlannedTensor[] = [];
  const unknown: string[] = [];
  for (const [hfName, source] of tensors) {
    const ggufName = architecture.tensorName(hfName);
    if (ggufName === null) continue;
    if (ggufName === undefined) {
      unknown.push(hfName);
      continue;
    }
    const dims = [...source.info.shape].reverse();
    planned.push({ ggufName, source, dims, type: outputTensorType(source.info.dtype, dims, outType) });
  }
  if (unknown.length > 0) {
    throw new LoraGgufError(
      "E_BAD_CHECKPOINT_DIR",
      `convert: ${unknown.length} tensor(s) that a ${config.architectures?.[0]} checkpoint should not have, e.g. ${unknown.slice(0, 3).join(", ")}`,
    );
  }
  // before anything is generated from config.json's sizes (rope_freqs has head_dim / 2 values)
  checkShapes(planned, config, architecture);
  for (const generated of architecture.generatedTensors?.(config) ?? []) {
    planned.push({ ggufName: generated.name, generated: generated.data, dims: generated.dims, type: GgmlType.F32 });
  }
  // llama.cpp does not care about order; gguf-py writes blocks in order, which makes files easy to read
  return planned.sort((a, b) => tensorOrder(a.ggufName) - tensorOrder(b.ggufName) || a.ggufName.localeCompare(b.ggufName, "en", { numeric: true }));
}

function tensorOrder(name: string): number {
  if (name.startsWith("token_embd")) return 0;
  if (name.startsWith("rope_freqs") || name.startsWith("rope_factors_")) return 1;
  if (name.startsWith("blk.")) return 2;
  return 3;
}

/** Shapes the config implies, checked before anything is written. */
function checkShapes(planned: readonly PlannedTensor[], config: HfConfig, architecture: ModelFamily): void {
  const fusedProjections = architecture.fusedProjections === true;
  const byName = new Map(planned.map((tensor) => [tensor.ggufName, tensor]));
  const expect = (name: string, dims: number[]) => {
    const tensor = byName.get(name);
    if (!tensor) throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: the checkpoint has no tensor for ${name}`);
    if (tensor.dims.join("x") !== dims.join("x")) {
      throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${name} has shape ${[...tensor.dims].reverse().join("x")}, config.json implies ${[...dims].reverse().join("x")}`);
    }
  };
  const present = (name: string, dims: number[]) => {
    if (byName.has(name)) expect(name, dims);
  };
  const { hidden_size: hidden, intermediate_size: ffn, vocab_size: vocab } = config;
  const headSize = headDimension(config);
  const queryWidth = config.num_attention_heads * headSize;
  const keyValueWidth = (config.num_key_value_heads ?? config.num_attention_heads) * headSize;
  expect("token_embd.weight", [hidden, vocab]);
  present("output.weight", [hidden, vocab]);
  present("output_norm.weight", [hidden]);
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const block = (name: string) => `blk.${layer}.${name}`;
    // ne order: [in, out]; the rotary permutation splits attn_q and attn_k rows into heads, so they must fit
    expect(block("ffn_down.weight"), [ffn, hidden]);
    expect(block("attn_norm.weight"), [hidden]);
    if (fusedProjections) {
      expect(block("attn_qkv.weight"), [hidden, queryWidth + 2 * keyValueWidth]);
      expect(block("ffn_up.weight"), [hidden, 2 * ffn]);
    } else {
      expect(block("attn_q.weight"), [hidden, queryWidth]);
      expect(block("attn_k.weight"), [hidden, keyValueWidth]);
      expect(block("attn_v.weight"), [hidden, keyValueWidth]);
      expect(block("ffn_gate.weight"), [hidden, ffn]);
      expect(block("ffn_up.weight"), [hidden, ffn]);
    }
    expect(block("attn_output.weight"), [queryWidth, hidden]);
    expect(block("ffn_norm.weight"), [hidden]);
    present(block("attn_q.bias"), [queryWidth]);
    present(block("attn_k.bias"), [keyValueWidth]);
    present(block("attn_v.bias"), [keyValueWidth]);
    present(block("attn_q_norm.weight"), [headSize]);
    present(block("attn_k_norm.weight"), [headSize]);
    for (const { name, size } of architecture.requiredBlockVectors ?? []) expect(block(name), [size === "hidden" ? hidden : headSize]);
  }
  const extraBlock = [...byName.keys()].find((name) => Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? 0) >= config.num_hidden_layers);
  if (extraBlock) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: the checkpoint has ${extraBlock}, but config.json says num_hidden_layers ${config.num_hidden_layers}`);
  }
}

async function tensorData(tensor: PlannedTensor, architecture: ModelFamily, config: HfConfig): Promise<Uint8Array> {
  if (tensor.generated) return encodeFromFloat32(tensor.generated, tensor.type, tensor.dims[0]);
  const source = tensor.source!;
  let bytes = await readTensorBytes(source);
  const rows = source.info.shape[0] ?? 1;
  if (architecture.reorderRows) bytes = architecture.reorderRows(tensor.ggufName, bytes, rows, bytes.byteLength / rows, config);
  const added = architecture.addedToValues?.(tensor.ggufName) ?? 0;
  if (added === 0 && isSameEncoding(source.info.dtype, tensor.type)) return bytes;
  const values = decodeToFloat32(bytes, source.info.dtype);
  return encodeFromFloat32(added === 0 ? values : addToValues(values, added, source.info.dtype), tensor.type, tensor.dims[0]);
}

/** values + added as gguf-py adds it: bf16 is widened to f32 first, f16 stays f16 (prepare_tensors). */
function addToValues(values: Float32Array, added: number, dtype: string): Float32Array {
  const sums = new Float32Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const sum = Math.fround(values[index] + added);
    sums[index] = dtype === "F16" ? float16ToFloat32(float32ToFloat16(sum)) : sum;
  }
  return sums;
}

