// A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) to a GGUF LoRA,
// as llama.cpp's convert_lora_to_gguf.py does: PEFT's lora_A [r, in] and lora_B [out, r] become
// "<base tensor>.lora_a" (ne [in, r]) and ".lora_b" (ne [r, out]), and lora_B's rows get the
// same reordering the base weight gets (llama's q/k rotary permutation).
import { readFile, stat } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { GgmlType, GgufValueType, GgufWriter, stringEntry, type GgufMetadataEntry } from "../gguf/index.js";
import type { HfConfig } from "../arch/index.js";
import { readBaseModelFacts, type BaseModelFacts } from "./base-model-facts.js";
import { describeJson } from "./json-description.js";
import { readSafetensorsHeader, readTensorBytes, type CheckpointTensor } from "./safetensors.js";
import { decodeToFloat32 } from "./tensor-encoding.js";

export const PEFT_CONFIG_FILE = "adapter_config.json";
const PEFT_WEIGHTS_FILE = "adapter_model.safetensors";

interface PeftConfig {
  peft_type?: string;
  r: number;
  lora_alpha: number;
  use_rslora?: boolean;
  use_dora?: boolean;
  target_modules?: string[] | string;
}

export interface PeftConversionResult {
  architecture: string;
  tensorCount: number;
  rank: number;
  /** adapter.lora.alpha written: lora_alpha, times sqrt(r) for rsLoRA (llama.cpp scales by alpha / r). */
  alpha: number;
}

export async function isPeftAdapterDir(dir: string): Promise<boolean> {
  return (await stat(path.join(dir, PEFT_CONFIG_FILE)).catch(() => undefined))?.isFile() === true;
}

export async function convertPeftAdapter(dir: string, output: string, base: string, signal?: AbortSignal): Promise<PeftConversionResult> {
  const peft = await readPeftConfig(dir);
  const facts = await readBaseModelFacts(base, "convert");
  const weights = await readSafetensorsHeader(path.join(dir, PEFT_WEIGHTS_FILE));
  const byName = new Map<string, CheckpointTensor>(weights.tensors.map((info) => [info.name, { file: weights.path, info }]));

  const pairs: { ggufBase: string; a: CheckpointTensor; b: CheckpointTensor }[] = [];
  for (const [name, a] of byName) {
    const match = /^(?:base_model\.model\.)?(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
    if (!match) {
      if (!/\.lora_B(?:\.default)?\.weight$/.test(name)) {
        throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `convert: ${name} in ${PEFT_WEIGHTS_FILE} is not a LoRA A/B tensor (modules_to_save and embedding adapters are not supported)`);
      }
      continue;
    }
    const b = byName.get(name.replace(/\.lora_A(\.default)?\.weight$/, ".lora_B$1.weight"));
    if (!b) throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${name} has no matching lora_B tensor`);
    const ggufBase = facts.architecture.tensorName(`${match[1]}.weight`);
    if (!ggufBase) {
      throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `convert: the adapter targets ${match[1]}, which is not a ${facts.architecture.ggufArchitecture} weight lora-gguf can adapt`);
    }
    pairs.push({ ggufBase, a, b });
  }
  if (pairs.length === 0) throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${PEFT_WEIGHTS_FILE} holds no LoRA tensors`);
  for (const { ggufBase, a, b } of pairs) checkPairShapes(ggufBase, a, b, peft.r, facts);

  const alpha = peft.use_rslora ? peft.lora_alpha * Math.sqrt(peft.r) : peft.lora_alpha;
  const metadata: GgufMetadataEntry[] = [
    stringEntry("general.architecture", facts.architecture.ggufArchitecture),
    stringEntry("general.type", "adapter"),
    stringEntry("adapter.type", "lora"),
    { key: "adapter.lora.alpha", type: GgufValueType.FLOAT32, value: alpha },
    stringEntry("general.name", path.basename(path.resolve(dir))),
  ];
  pairs.sort((x, y) => x.ggufBase.localeCompare(y.ggufBase, "en", { numeric: true }));
  const tensors = pairs.flatMap(({ ggufBase, a, b }) => [
    { name: `${ggufBase}.lora_a`, dims: [a.info.shape[1], a.info.shape[0]], type: GgmlType.F32 },
    { name: `${ggufBase}.lora_b`, dims: [b.info.shape[1], b.info.shape[0]], type: GgmlType.F32 },
  ]);
  const writer = await GgufWriter.create(output, { metadata, tensors });
  try {
    for (const { ggufBase, a, b } of pairs) {
      signal?.throwIfAborted();
      await writer.writeTensorData(`${ggufBase}.lora_a`, decodeToFloat32(await readTensorBytes(a), a.info.dtype));
      let rowsOfB = new Uint8Array(decodeToFloat32(await readTensorBytes(b), b.info.dtype).buffer.slice(0));
      const outRows = b.info.shape[0];
      if (facts.architecture.reorderRows) {
        rowsOfB = facts.architecture.reorderRows(ggufBase, rowsOfB, outRows, rowsOfB.byteLength / outRows, facts.config as HfConfig);
      }
      await writer.writeTensorData(`${ggufBase}.lora_b`, rowsOfB);
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { architecture: facts.architecture.ggufArchitecture, tensorCount: tensors.length, rank: peft.r, alpha };
}

async function readPeftConfig(dir: string): Promise<PeftConfig> {
  const file = path.join(dir, PEFT_CONFIG_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file} is not readable JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file} must hold a JSON object, got ${describeJson(parsed)}`);
  }
  const config = parsed as Record<string, unknown>;
  if (config.peft_type !== undefined && config.peft_type !== "LORA") {
    throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `convert: ${file} is a ${describeJson(config.peft_type)} adapter (peft_type); only LoRA adapters convert to GGUF`);
  }
  for (const key of ["use_rslora", "use_dora"]) {
    if (config[key] !== undefined && config[key] !== null && typeof config[key] !== "boolean") {
      throw new LoraGgufError("E_BAD_CHECKPOINT_DIR", `convert: ${file}: ${key} must be true or false, got ${describeJson(config[key])}`);
    }
  }
  if (config.use_dora) {
    throw new LoraGgufError("E_UNSUPPORTED_ADAPTER", `convert: ${file} is a DoRA adapter (use_dora); llama.cpp runs plain LoRA only — merge it into the base with PEFT first`);
  }
  // r is a tensor dimension and alpha is written as f32: both must be finite
  if (!Number.isSafeInteger(config.r) || (config.r as number) <= 0 || typeof config.lora_alpha !== "number" || !Number.isFinite(config.lora_alpha)) {
    throw new LoraGgufError(
      "E_BAD_CHECKPOINT_DIR",
      `convert: ${file} needs a positive integer r and a finite numeric lora_alpha, got r ${describeJson(config.r)} and lora_alpha ${describeJson(config.lora_alpha)}`,
    );
  }
  return config as unknown as PeftConfig;
}

function checkPairShapes(ggufBase: string, a: CheckpointTensor, b: CheckpointTensor, rank: number, facts: BaseModelFacts): void {
  const baseShape = facts.shapes.get(ggufBase);
  if (!baseShape) {
    throw new LoraGgufError("E_ADAPTER_MISMATCH", `convert: the adapter adapts ${ggufBase}, which the base model does not have`);
  }
  const [inputs, outputs] = baseShape;
  const [aRows, aColumns] = a.info.shape;
  const [bRows, bColumns] = b.info.shape;
  if (a.info.shape.length !== 2 || b.info.shape.length !== 2 || aRows !== rank || bColumns !== rank || aColumns !== inputs || bRows !== outputs) {
    throw new LoraGgufError(
      "E_ADAPTER_MISMATCH",
      `convert: the adapter for ${ggufBase} has lora_A ${a.info.shape.join("x")} and lora_B ${b.info.shape.join("x")}, but the base weight is ` +
        `${outputs}x${inputs} and r is ${rank}: this adapter was trained for a different base model`,
    );
  }
}
