// A GGUF LoRA adapter back to a PEFT adapter directory, the inverse of convert's PEFT path:
// "<base>.lora_a" (ne [in, r]) and ".lora_b" (ne [r, out]) hold the same bytes as PEFT's lora_A
// [r, in] and lora_B [out, r], so tensors are copied as they are (f32, f16 or bf16), except that
// llama's q/k lora_B rows are put back from llama.cpp's rotary order into Hugging Face's.
import { open, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";

import { familyOfGgufArchitecture, modelFamilies, type ModelFamily } from "../arch/index.js";
import { unpermuteRotaryRows } from "../arch/rotary-permutation.js";
import { readBaseModelFacts, type BaseModelFacts } from "../convert/base-model-facts.js";
import type { SafetensorsDtype } from "../convert/safetensors-format.js";
import { encodeSafetensorsHeader, SafetensorsWriter, type SafetensorsTensorDeclaration } from "../convert/safetensors-writer.js";
import { LoraGgufError } from "../errors.js";
import { GgmlType, readGgufHeader, type GgufHeader, type GgufTensorInfo } from "../gguf/index.js";
import { AtomicOutputFile } from "../io/atomic-output-file.js";
import {
  optionalBoolean, optionalOneOf, optionalSignal, rejectUnknownOptions, requireOptionsObject, requireString,
} from "../validate.js";
import { checkCloudflareAdapter } from "./cloudflare-target.js";
import { stageOutputDirectory } from "./output-directory.js";
import { peftAdapterConfigJson } from "./peft-adapter-config.js";
import { peftTargetOf, peftTensorName, type PeftTarget } from "./peft-names.js";

export const PEFT_ADAPTER_CONFIG_FILE = "adapter_config.json";
export const PEFT_ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors";

export const exportPeftTargets = ["cloudflare"] as const;
export type ExportPeftTarget = (typeof exportPeftTargets)[number];

export interface ExportPeftOptions {
  /** A platform whose limits the export must meet: "cloudflare" (Workers AI). Default: none. */
  target?: ExportPeftTarget;
  /**
   * adapter_config.json's base_model_name_or_path (a Hugging Face id). Default: the adapter's
   * general.base_model.0.repo_url when it is a huggingface.co address, else null.
   */
  baseModelName?: string;
  /**
   * The base model, as its GGUF or Hugging Face directory. Needed for llama adapters of attn_q or
   * attn_k (its head counts undo llama.cpp's rotary row order); when given, the adapter's shapes are
   * checked against it.
   */
  base?: string;
  /** Write into an existing non-empty directory, replacing adapter_config.json and adapter_model.safetensors. Default false. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface ExportPeftResult {
  dir: string;
  /** adapter_config.json and adapter_model.safetensors, as absolute paths. */
  files: string[];
  rank: number;
  /** lora_alpha written: adapter.lora.alpha (use_rslora is false; llama.cpp scales by alpha / r). */
  alpha: number;
  /** target_modules written, sorted. */
  targetModules: string[];
  /** Total size of the files written. */
  bytes: number;
  /** general.architecture of the adapter. */
  architecture: string;
  tensorCount: number;
  baseModelName: string | null;
  /** model_type added for Cloudflare Workers AI. */
  modelType?: string;
}

/** One adapted weight: its PEFT module and the two GGUF tensors that hold its factors. */
interface AdapterPair {
  ggufWeight: string;
  target: PeftTarget;
  a: GgufTensorInfo;
  b: GgufTensorInfo;
}

interface AdapterPlan {
  architecture: ModelFamily;
  rank: number;
  alpha: number;
  pairs: AdapterPair[];
}

const knownOptions = ["target", "baseModelName", "base", "force", "signal"] as const;
const where = "export-peft";

const safetensorsDtypeOf: Partial<Record<number, SafetensorsDtype>> = {
  [GgmlType.F32]: "F32",
  [GgmlType.F16]: "F16",
  [GgmlType.BF16]: "BF16",
};

/**
 * Writes `outputDir`/adapter_model.safetensors and adapter_config.json, as peft's save_pretrained
 * would for this adapter, so that peft, vLLM or Workers AI load it. Everything is validated before
 * anything is written; the files go to a temporary directory renamed into place when complete.
 */
export async function exportPeft(adapterGguf: string, outputDir: string, options: ExportPeftOptions = {}): Promise<ExportPeftResult> {
  requireString(where, "adapterGguf", adapterGguf);
  requireString(where, "outputDir", outputDir);
  const raw = requireOptionsObject(where, options);
  rejectUnknownOptions(where, raw, knownOptions);
  const target = optionalOneOf(where, "target", raw.target, exportPeftTargets);
  const baseModelOption = raw.baseModelName === undefined ? undefined : requireString(where, "baseModelName", raw.baseModelName);
  const base = raw.base === undefined ? undefined : requireString(where, "base", raw.base);
  const force = optionalBoolean(where, "force", raw.force) ?? false;
  const signal = optionalSignal(where, raw.signal);

  const header = await readGgufHeader(adapterGguf);
  const plan = planAdapter(adapterGguf, header);
  const facts = base === undefined ? undefined : await readBaseModelFacts(base, where);
  if (facts) checkAgainstBase(plan, facts, base!);
  const headCounts = rotaryHeadCounts(adapterGguf, plan, facts);

  const baseModelName = baseModelOption ?? huggingFaceIdOf(header) ?? null;
  const tensors: (SafetensorsTensorDeclaration & { source: GgufTensorInfo; rotaryHeads?: number })[] = plan.pairs.flatMap(({ ggufWeight, target, a, b }) => [
    { name: peftTensorName(target, "lora_A"), dtype: safetensorsDtypeOf[a.type]!, shape: [a.dims[1], a.dims[0]], source: a },
    { name: peftTensorName(target, "lora_B"), dtype: safetensorsDtypeOf[b.type]!, shape: [b.dims[1], b.dims[0]], source: b, rotaryHeads: headCounts.get(ggufWeight) },
  ]);
  // peft's save_pretrained writes {"format": "pt"}
  const metadata = { format: "pt" };
  const weightsBytes = encodeSafetensorsHeader(tensors, metadata).fileSize;
  const targetModules = [...new Set(plan.pairs.map((pair) => pair.target.module))].sort();
  const modelType =
    target === "cloudflare"
      ? checkCloudflareAdapter({
          architecture: plan.architecture.ggufArchitecture,
          rank: plan.rank,
          weightsBytes,
          baseNames: [baseModelName, header.metadataByKey.get("general.base_model.0.name")?.value, ...(facts?.names ?? [])].filter(
            (name): name is string => typeof name === "string",
          ),
        })
      : undefined;
  const configJson = peftAdapterConfigJson({
    rank: plan.rank,
    alpha: plan.alpha,
    targetModules,
    baseModelName,
    layersToTransform: layersToTransform(plan.pairs, facts),
    modelType,
  });

  const staged = await stageOutputDirectory(where, outputDir, { force });
  let writer: SafetensorsWriter | undefined;
  let input: FileHandle | undefined;
  try {
    writer = await SafetensorsWriter.create(path.join(staged.tempDir, PEFT_ADAPTER_WEIGHTS_FILE), { tensors, metadata });
    input = await open(adapterGguf, "r");
    const byName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
    for (const planned of writer.tensors) {
      signal?.throwIfAborted();
      const { source, rotaryHeads } = byName.get(planned.name)!;
      let data = await readTensorData(input, adapterGguf, source);
      if (rotaryHeads !== undefined) {
        const rows = source.dims[1];
        data = unpermuteRotaryRows(data, rows, data.byteLength / rows, rotaryHeads);
      }
      await writer.writeTensorData(planned.name, data);
    }
    await writer.finish();
    const config = await AtomicOutputFile.create(path.join(staged.tempDir, PEFT_ADAPTER_CONFIG_FILE));
    await config.write(Buffer.from(configJson, "utf8"));
    await config.commit();
    await staged.commit();
  } catch (error) {
    await writer?.abort();
    await staged.discard();
    throw error;
  } finally {
    await input?.close();
  }

  const files = [PEFT_ADAPTER_CONFIG_FILE, PEFT_ADAPTER_WEIGHTS_FILE].map((file) => path.join(staged.finalDir, file));
  let bytes = 0;
  for (const file of files) bytes += (await stat(file)).size;
  return {
    dir: staged.finalDir,
    files,
    rank: plan.rank,
    alpha: plan.alpha,
    targetModules,
    bytes,
    architecture: plan.architecture.ggufArchitecture,
    tensorCount: tensors.length,
    baseModelName,
    ...(modelType === undefined ? {} : { modelType }),
  };
}

/** Checks the header describes a LoRA adapter PEFT can express and pairs its tensors. */
function planAdapter(file: string, header: GgufHeader): AdapterPlan {
  const value = (key: string) => header.metadataByKey.get(key)?.value;
  const type = value("general.type");
  if (type !== "adapter") {
    throw new LoraGgufError(
      "E_WRONG_KIND",
      `${where}: ${file} is ${type === undefined ? "a model (it has no general.type)" : `a ${String(type)} (general.type)`}, not a LoRA adapter; give an adapter GGUF (from train, or convert --base)`,
    );
  }
  const adapterType = value("adapter.type");
  if (adapterType !== "lora") {
    throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `${where}: ${file} is a ${String(adapterType)} adapter (adapter.type); only LoRA adapters export to PEFT`);
  }
  const ggufArchitecture = value("general.architecture");
  const architecture = familyOfGgufArchitecture(ggufArchitecture);
  if (!architecture) {
    throw new LoraGgufError(
      "E_UNSUPPORTED_ARCH",
      `${where}: ${file} is an adapter for ${String(ggufArchitecture)}; export-peft knows the Hugging Face names of ${modelFamilies.map((a) => a.ggufArchitecture).join(", ")}`,
    );
  }

  const factors = new Map<string, { a?: GgufTensorInfo; b?: GgufTensorInfo }>();
  for (const tensor of header.tensors) {
    const match = /^(.+)\.lora_([ab])$/.exec(tensor.name);
    if (!match) {
      throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `${where}: ${file} holds ${tensor.name}, which is not a LoRA factor (<weight>.lora_a / .lora_b); PEFT LoRA adapters hold nothing else`);
    }
    const entry = factors.get(match[1]) ?? {};
    entry[match[2] as "a" | "b"] = tensor;
    factors.set(match[1], entry);
  }
  if (factors.size === 0) throw new LoraGgufError("E_BAD_GGUF", `${where}: ${file} is an adapter without LoRA tensors`);

  const pairs: AdapterPair[] = [];
  for (const [ggufWeight, { a, b }] of factors) {
    if (!a || !b) {
      throw new LoraGgufError("E_BAD_GGUF", `${where}: ${file} has ${ggufWeight}.lora_${a ? "a" : "b"} but not ${ggufWeight}.lora_${a ? "b" : "a"}`);
    }
    const target = peftTargetOf(architecture, ggufWeight);
    if (!target) {
      throw new LoraGgufError(
        "E_UNSUPPORTED_ADAPTER",
        `${where}: ${file} adapts ${ggufWeight}, which is not a ${architecture.ggufArchitecture} linear weight with a Hugging Face name (q/k/v/o_proj, gate/up/down_proj, lm_head)`,
      );
    }
    for (const tensor of [a, b]) {
      if (safetensorsDtypeOf[tensor.type] === undefined) {
        throw new LoraGgufError("E_UNSUPPORTED_TYPE", `${where}: ${tensor.name} is of ggml type ${tensor.type}; LoRA factors export from f32, f16 and bf16 only`);
      }
    }
    if (a.dims.length !== 2 || b.dims.length !== 2 || a.dims[1] !== b.dims[0]) {
      throw new LoraGgufError(
        "E_BAD_GGUF",
        `${where}: ${ggufWeight}.lora_a has ne [${a.dims.join(", ")}] and .lora_b [${b.dims.join(", ")}]; a LoRA pair is [in, r] and [r, out]`,
      );
    }
    pairs.push({ ggufWeight, target, a, b });
  }

  const ranks = [...new Set(pairs.map((pair) => pair.a.dims[1]))];
  if (ranks.length > 1) {
    throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `${where}: ${file} mixes ranks ${ranks.sort((x, y) => x - y).join(", ")}; export-peft writes one r for every module`);
  }
  const rank = ranks[0];
  const alphaValue = value("adapter.lora.alpha");
  const alpha = typeof alphaValue === "number" ? alphaValue : typeof alphaValue === "bigint" ? Number(alphaValue) : 0;
  // llama.cpp applies an adapter without alpha (or alpha 0) at scale 1, which is alpha = r in PEFT's alpha / r
  return { architecture, rank, alpha: alpha === 0 ? rank : alpha, pairs };
}

function checkAgainstBase(plan: AdapterPlan, facts: BaseModelFacts, base: string): void {
  if (facts.architecture !== plan.architecture) {
    throw new LoraGgufError(
      "E_ADAPTER_MISMATCH",
      `${where}: the adapter is for ${plan.architecture.ggufArchitecture} but the base ${base} is ${facts.architecture.ggufArchitecture}`,
    );
  }
  for (const { ggufWeight, a, b } of plan.pairs) {
    const shape = facts.shapes.get(ggufWeight);
    if (!shape) throw new LoraGgufError("E_ADAPTER_MISMATCH", `${where}: the adapter adapts ${ggufWeight}, which the base ${base} does not have`);
    if (shape[0] !== a.dims[0] || shape[1] !== b.dims[1]) {
      throw new LoraGgufError(
        "E_ADAPTER_MISMATCH",
        `${where}: the adapter for ${ggufWeight} maps ${a.dims[0]} inputs to ${b.dims[1]} outputs, but the base weight has ne [${shape.join(", ")}]: this adapter was trained for a different base model`,
      );
    }
  }
}

/** For each adapted weight whose lora_B rows llama.cpp keeps in rotary order, the head count to undo it with. */
function rotaryHeadCounts(file: string, plan: AdapterPlan, facts: BaseModelFacts | undefined): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { ggufWeight, b } of plan.pairs) {
    const key = plan.architecture.rotaryPermutedHeads?.(ggufWeight);
    if (key === undefined) continue;
    if (!facts) {
      throw new LoraGgufError(
        "E_INVALID_OPTION",
        `${where}: ${file} adapts ${ggufWeight}, whose lora_b rows llama.cpp keeps in its own rotary order; ` +
          `give the base model with base (--base), its GGUF or Hugging Face directory, so its head counts can restore Hugging Face's order`,
      );
    }
    const heads = facts.config[key] ?? facts.config.num_attention_heads;
    const rows = b.dims[1];
    if (!Number.isInteger(heads) || heads <= 0 || rows % heads !== 0 || (rows / heads) % 2 !== 0) {
      throw new LoraGgufError("E_ADAPTER_MISMATCH", `${where}: ${ggufWeight} has ${rows} outputs, which do not split into ${heads} rotary heads of an even size (the base's ${key})`);
    }
    counts.set(ggufWeight, heads);
  }
  return counts;
}

/**
 * null when the adapter covers every block it can (all of the base's, or, without a base, 0 to its
 * last); otherwise the blocks it covers. A module peft then creates that the file lacks keeps B = 0,
 * so null is never wrong, only wider; with lm_head adapted it must be null, as peft would skip
 * lm_head (it has no block index) once layers_to_transform is set.
 */
function layersToTransform(pairs: readonly AdapterPair[], facts: BaseModelFacts | undefined): number[] | null {
  if (pairs.some((pair) => pair.target.layer === undefined)) return null;
  const layers = [...new Set(pairs.map((pair) => pair.target.layer!))].sort((x, y) => x - y);
  const blockCount = facts
    ? new Set([...facts.shapes.keys()].flatMap((name) => /^blk\.(\d+)\./.exec(name)?.[1] ?? [])).size
    : layers.at(-1)! + 1;
  return layers.length === blockCount ? null : layers;
}

/** "meta-llama/Llama-3.2-1B" from general.base_model.0.repo_url = "https://huggingface.co/meta-llama/Llama-3.2-1B". */
function huggingFaceIdOf(header: GgufHeader): string | undefined {
  const url = header.metadataByKey.get("general.base_model.0.repo_url")?.value;
  if (typeof url !== "string") return undefined;
  return /^https?:\/\/(?:www\.)?huggingface\.co\/([^/?#\s]+\/[^/?#\s]+?)\/?$/.exec(url)?.[1];
}

async function readTensorData(input: FileHandle, file: string, tensor: GgufTensorInfo): Promise<Uint8Array> {
  const bytes = new Uint8Array(tensor.byteSize);
  let done = 0;
  while (done < bytes.length) {
    // fs reads are capped at 2 GiB - 1 per call
    const { bytesRead } = await input.read(bytes, done, Math.min(1 << 30, bytes.length - done), tensor.absoluteOffset + done);
    if (bytesRead === 0) throw new LoraGgufError("E_BAD_GGUF", `${where}: ${file} ended inside the data of ${tensor.name}`);
    done += bytesRead;
  }
  return bytes;
}
