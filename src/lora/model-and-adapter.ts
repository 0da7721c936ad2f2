// The model and (optionally) a LoRA adapter for it, read and checked from their headers before
// anything loads them: a runtime handed a mismatched adapter fails deep in llama.cpp.
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { readGgufHeader, type GgufHeader } from "../gguf/reader.js";
import { baseModelFingerprint } from "../train/base-fingerprint.js";
import { thinkingTemplateVariables } from "../train/train-options.js";

export interface ModelAndAdapter {
  model: GgufHeader;
  adapter?: GgufHeader;
  /** Things that may be fine but are worth saying (an adapter recorded against another base file). */
  warnings: string[];
}

const metadataValue = (header: GgufHeader, key: string) => header.metadataByKey.get(key)?.value;

/**
 * Reads both headers: E_INPUT_NOT_FOUND / E_BAD_GGUF for unreadable files, E_WRONG_KIND when the
 * model is an adapter or the adapter is not a LoRA, E_ADAPTER_MISMATCH when their architectures differ.
 */
/**
 * The chat template variables the adapter was trained with (its training configuration's thinking
 * mode), so that prompts given to the fine-tune are rendered as its data was; {} without an adapter
 * or a recorded configuration.
 */
export function trainingTemplateVariables(adapter: GgufHeader | undefined): Record<string, unknown> {
  const raw = adapter === undefined ? undefined : metadataValue(adapter, "adapter.lora.training_config");
  if (typeof raw !== "string") return {};
  let thinking: unknown;
  try {
    thinking = (JSON.parse(raw) as { thinking?: unknown }).thinking;
  } catch {
    return {};
  }
  return thinking === "on" || thinking === "off" ? thinkingTemplateVariables(thinking) : {};
}

export async function readModelAndAdapter(where: string, modelPath: string, adapterPath: string | undefined): Promise<ModelAndAdapter> {
  const model = await readGgufHeader(modelPath);
  if (metadataValue(model, "general.type") === "adapter") {
    throw new LoraGgufError("E_WRONG_KIND", `${where}: ${modelPath} is a LoRA adapter; give the model it adapts as the model, and the adapter as the adapter`);
  }
  if (adapterPath === undefined) return { model, warnings: [] };

  const adapter = await readGgufHeader(adapterPath);
  if (metadataValue(adapter, "general.type") !== "adapter" || metadataValue(adapter, "adapter.type") !== "lora") {
    throw new LoraGgufError("E_WRONG_KIND", `${where}: ${adapterPath} is not a LoRA adapter (general.type adapter, adapter.type lora)`);
  }
  const modelArchitecture = metadataValue(model, "general.architecture");
  const adapterArchitecture = metadataValue(adapter, "general.architecture");
  if (adapterArchitecture !== modelArchitecture) {
    throw new LoraGgufError(
      "E_ADAPTER_MISMATCH",
      `${where}: ${adapterPath} is an adapter for ${String(adapterArchitecture)}, but ${modelPath} is ${String(modelArchitecture)}`,
    );
  }
  const warnings: string[] = [];
  const fingerprint = metadataValue(adapter, "adapter.lora.base_fingerprint");
  if (typeof fingerprint === "string" && fingerprint !== baseModelFingerprint(model)) {
    warnings.push(
      `${path.basename(adapterPath)} was trained on a different file than ${path.basename(modelPath)}: fine for another quantization of the same base, ` +
        "wrong for another model or one the adapter is already merged into",
    );
  }
  return { model, adapter, warnings };
}
