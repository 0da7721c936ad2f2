import { rm, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { GgmlType, ggmlTypeInfo, ggmlWritability, readGgufHeader, type GgufHeader } from "../gguf/index.js";
import { prepareAtomicOutput, tempPathBeside } from "../io/atomic-output.js";
import { loadNative, runNativeJob } from "../native.js";
import { quantize } from "../quantize/quantize.js";
import { resolveQuantizationType } from "../quantize/types.js";
import { checkAdapterBase } from "../lora/model-and-adapter.js";
import {
  optionalBoolean, optionalFunction, optionalInteger, optionalSignal, rejectUnknownOptions, requireOptionsObject, requireString,
} from "../validate.js";

export interface MergeAdapter {
  /** GGUF LoRA adapter. */
  path: string;
  /** Multiplies the adapter's effect (as llama.cpp's --lora-scaled). Default 1. */
  scale?: number;
}

export interface MergeProgress {
  tensorsDone: number;
  tensorsTotal: number;
  tensorName: string;
  fraction: number;
}

export interface MergeOptions {
  /** Base model GGUF (f32, f16, bf16 or quantized). */
  model: string;
  adapters: readonly MergeAdapter[];
  output: string;
  /** Quantize the merged model to this type (q8_0, q4_k_m, ...). Default: keep the base's types. */
  type?: string;
  /**
   * Merge an adapter trained on another model of the same shapes (its recorded base identity differs),
   * with a warning. Another encoding of the same model (trained on q4_k_m, merged into f16) needs no override.
   */
  allowOtherBase?: boolean;
  threads?: number;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: MergeProgress) => void;
}

export interface MergeResult {
  output: string;
  tensorCount: number;
  mergedTensorCount: number;
  /** The quantization type written, when `type` was given. */
  type?: string;
  outputBytes: number;
  seconds: number;
  /** Notes on the adapters' bases: trained on another encoding of the model, or (allowOtherBase) on another model. */
  warnings: string[];
}

const knownOptions = ["model", "adapters", "output", "type", "threads", "force", "signal", "onProgress", "allowOtherBase"] as const;

/**
 * Merges LoRA adapters into their base model: W' = W + Σ scaleᵢ·(alphaᵢ/rᵢ)·Bᵢ·Aᵢ for every adapted
 * weight, tensor by tensor on a native thread (dequantized, added, requantized to the base's type),
 * other tensors copied as they are; then quantized to `type` when given. Everything is checked
 * against the base before any work, and the output appears only when complete.
 */
export async function merge(options: MergeOptions): Promise<MergeResult> {
  const callerStack = new Error().stack;
  const where = "merge";
  const raw = requireOptionsObject(where, options);
  rejectUnknownOptions(where, raw, knownOptions);
  const model = requireString(where, "model", raw.model);
  const output = requireString(where, "output", raw.output);
  if (!Array.isArray(raw.adapters) || raw.adapters.length === 0) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: adapters must be a non-empty array of { path, scale }`);
  }
  const adapters = (raw.adapters as MergeAdapter[]).map((adapter, index) => {
    const scale = adapter.scale ?? 1;
    if (typeof scale !== "number" || !Number.isFinite(scale)) {
      throw new LoraGgufError("E_INVALID_OPTION", `${where}: adapters[${index}].scale must be a finite number, got ${String(adapter.scale)}`);
    }
    return { path: requireString(where, `adapters[${index}].path`, adapter.path), scale };
  });
  const type = raw.type === undefined ? undefined : resolveQuantizationType(requireString(where, "type", raw.type));
  const threads = optionalInteger(where, "threads", raw.threads, 1, 1024) ?? availableParallelism();
  const force = optionalBoolean(where, "force", raw.force) ?? false;
  const allowOtherBase = optionalBoolean(where, "allowOtherBase", raw.allowOtherBase) ?? false;
  const signal = optionalSignal(where, raw.signal);
  const onProgress = optionalFunction<(progress: MergeProgress) => void>(where, "onProgress", raw.onProgress);
  const started = performance.now();

  const base = await readGgufHeader(model);
  if (base.metadataByKey.get("general.type")?.value === "adapter") {
    throw new LoraGgufError("E_WRONG_KIND", `${where}: ${model} is an adapter; give the base model as model`);
  }
  const warnings: string[] = [];
  const adaptedTensors = new Set<string>();
  for (const adapter of adapters) {
    const header = await readGgufHeader(adapter.path);
    for (const name of checkAdapterFits(adapter.path, header, model, base)) adaptedTensors.add(name);
    warnings.push(...(await checkAdapterBase(where, { adapterPath: adapter.path, modelPath: model }, header, base, { refuse: true, allowOtherBase })));
  }
  const { storeTypes, notes } = mergedTensorTypes(model, base, adaptedTensors);
  warnings.push(...notes);
  const target = await prepareAtomicOutput(where, output, { force, inputs: [model, ...adapters.map((adapter) => adapter.path)] });
  const native = await loadNative();
  // with a type, the merge goes to a second temp file that quantize then reads
  const mergedPath = type ? tempPathBeside(target.finalPath) : target.tempPath;
  try {
    const merged = await runNativeJob(
      () =>
        native.merge({ basePath: model, outputPath: mergedPath, adapters, threads, storeTypes }, (progress) =>
          onProgress?.({ ...progress, fraction: progress.tensorsTotal ? progress.tensorsDone / progress.tensorsTotal : 1 }),
        ),
      signal,
      callerStack,
    );
    if (type) {
      await quantize(mergedPath, target.tempPath, { type: type.name, threads, force: true, allowRequantize: true, signal });
    }
    await target.commit();
    return {
      output: target.finalPath,
      tensorCount: merged.tensorCount,
      mergedTensorCount: merged.mergedTensorCount,
      type: type?.name,
      outputBytes: (await stat(target.finalPath)).size,
      seconds: (performance.now() - started) / 1000,
      warnings,
    };
  } catch (error) {
    await target.discard();
    throw error;
  } finally {
    if (type) await rm(mergedPath, { force: true });
  }
}

/**
 * The type each merged tensor is stored in: its own, except the types ggml quantizes only with an
 * importance matrix (iq2_xxs, iq2_xs, iq1_s), which a merge does not have. Those become q2_K, the
 * smallest k-quant, which needs none (as llama.cpp's quantize picks k-quants when no importance
 * matrix is given), and the result says so. A type ggml cannot write at all is refused here, before
 * any work.
 */
export const MERGE_STORE_TYPE_WITHOUT_IMPORTANCE_MATRIX = GgmlType.Q2_K;

function mergedTensorTypes(modelPath: string, base: GgufHeader, adapted: ReadonlySet<string>) {
  const substituted = new Map<number, number>();
  for (const tensor of base.tensors) {
    if (!adapted.has(tensor.name)) continue;
    const writability = ggmlWritability(tensor.type);
    const typeName = ggmlTypeInfo(tensor.type)?.name ?? String(tensor.type);
    if (writability === "no") {
      throw new LoraGgufError(
        "E_UNSUPPORTED_TYPE",
        `merge: ${modelPath}'s ${tensor.name} is ${typeName}, which ggml cannot write back after merging; merge into an f16, f32 or q8_0 copy of the model instead`,
      );
    }
    if (writability === "needs-importance-matrix") substituted.set(tensor.type, (substituted.get(tensor.type) ?? 0) + 1);
  }
  const store = ggmlTypeInfo(MERGE_STORE_TYPE_WITHOUT_IMPORTANCE_MATRIX)!.name;
  return {
    storeTypes: [...substituted.keys()].map((from) => ({ from, to: MERGE_STORE_TYPE_WITHOUT_IMPORTANCE_MATRIX })),
    notes: [...substituted].map(
      ([type, count]) =>
        `${count} merged ${ggmlTypeInfo(type)!.name} tensor${count === 1 ? " was" : "s were"} stored as ${store}: ggml quantizes ${ggmlTypeInfo(type)!.name} only with an importance matrix, which a merge does not have (the other tensors keep their types)`,
    ),
  };
}

/**
 * An adapter must be a GGUF LoRA of the base's architecture, for tensors the base has, in their
 * shapes. Returns the names of the base tensors it adapts.
 */
function checkAdapterFits(adapterPath: string, adapter: GgufHeader, modelPath: string, base: GgufHeader): string[] {
  const value = (header: GgufHeader, key: string) => header.metadataByKey.get(key)?.value;
  if (value(adapter, "general.type") !== "adapter" || value(adapter, "adapter.type") !== "lora") {
    throw new LoraGgufError("E_WRONG_KIND", `merge: ${adapterPath} is not a LoRA adapter (general.type adapter, adapter.type lora)`);
  }
  const baseArchitecture = value(base, "general.architecture");
  if (value(adapter, "general.architecture") !== baseArchitecture) {
    throw new LoraGgufError(
      "E_ADAPTER_MISMATCH",
      `merge: ${adapterPath} is for ${String(value(adapter, "general.architecture"))} but ${modelPath} is ${String(baseArchitecture)}`,
    );
  }
  const baseTensors = new Map(base.tensors.map((tensor) => [tensor.name, tensor]));
  const adapterTensors = new Map(adapter.tensors.map((tensor) => [tensor.name, tensor]));
  const adapted: string[] = [];
  for (const tensor of adapter.tensors) {
    const match = /^(.+)\.lora_([ab])$/.exec(tensor.name);
    if (!match) throw new LoraGgufError("E_ADAPTER_MISMATCH", `merge: ${adapterPath} holds ${tensor.name}, which is not a LoRA tensor`);
    if (match[2] === "b") continue;
    const weight = baseTensors.get(match[1]);
    const b = adapterTensors.get(`${match[1]}.lora_b`);
    if (!weight) throw new LoraGgufError("E_ADAPTER_MISMATCH", `merge: ${adapterPath} adapts ${match[1]}, which ${modelPath} does not have`);
    if (!b) throw new LoraGgufError("E_ADAPTER_MISMATCH", `merge: ${adapterPath} has ${tensor.name} without ${match[1]}.lora_b`);
    const [nIn, nOut] = weight.dims;
    if (weight.dims.length !== 2 || tensor.dims[0] !== nIn || b.dims[1] !== nOut || tensor.dims[1] !== b.dims[0]) {
      throw new LoraGgufError(
        "E_ADAPTER_MISMATCH",
        `merge: ${adapterPath}'s ${match[1]} has lora_a [${tensor.dims.join(", ")}] and lora_b [${b.dims.join(", ")}], which do not fit the base's [${weight.dims.join(", ")}]`,
      );
    }
    adapted.push(match[1]);
  }
  return adapted;
}
