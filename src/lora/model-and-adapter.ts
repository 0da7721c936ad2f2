// The model and (optionally) a LoRA adapter for it, read and checked from their headers before
// anything loads them: a runtime handed a mismatched adapter fails deep in llama.cpp.
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { readGgufHeader, type GgufHeader } from "../gguf/reader.js";
import { baseModelFingerprint, baseModelIdentity } from "../train/base-fingerprint.js";
import { thinkingTemplateVariables } from "../train/train-options.js";

export interface ModelAndAdapter {
  model: GgufHeader;
  adapter?: GgufHeader;
  /** Things that may be fine but are worth saying (an adapter recorded against another base file). */
  warnings: string[];
}

const metadataValue = (header: GgufHeader, key: string) => header.metadataByKey.get(key)?.value;

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

/**
 * Whether `adapter` was trained on `model`, in any encoding: the adapter records the base file's
 * fingerprint (an encoding) and, since model identities, the model's identity (baseModelIdentity:
 * any encoding of one checkpoint). The same file: nothing to say. Another encoding of the same
 * model (the QLoRA workflow: trained on q4_k_m, merged into f16): accepted, with a note. Another
 * model, or an adapter that predates identities recorded against another file: E_ADAPTER_MISMATCH
 * where `refuse` (merge), a warning otherwise; `allowOtherBase` turns the refusal into a warning.
 * Returns the notes and warnings.
 */
export async function checkAdapterBase(
  where: string,
  files: { adapterPath: string; modelPath: string },
  adapter: GgufHeader,
  model: GgufHeader,
  options: { refuse: boolean; allowOtherBase: boolean },
): Promise<string[]> {
  const fingerprint = metadataValue(adapter, "adapter.lora.base_fingerprint");
  const identity = metadataValue(adapter, "adapter.lora.base_identity");
  if (typeof fingerprint !== "string" && typeof identity !== "string") return [];
  if (fingerprint === baseModelFingerprint(model)) return [];
  const adapterName = path.basename(files.adapterPath);
  const modelName = path.basename(files.modelPath);
  if (typeof identity === "string" && identity === (await baseModelIdentity(files.modelPath, model))) {
    return [`${adapterName} was trained on another encoding of the same model as ${modelName} (other tensor types): fine, a LoRA applies to the weights whatever their encoding`];
  }
  const different =
    typeof identity === "string"
      ? `${adapterName} was trained on a different model than ${modelName} (tensor shapes, vocabulary or norm weights differ)`
      : `${adapterName} was trained on a different file than ${modelName} (it predates model identities, so another encoding of the same model cannot be told from another model)`;
  if (options.allowOtherBase) return [`${different}; used anyway (allowOtherBase)`];
  if (options.refuse) throw new LoraGgufError("E_ADAPTER_MISMATCH", `${where}: ${different}; give allowOtherBase (--allow-other-base) to use it anyway`);
  return [`${different}: wrong for another model or one the adapter is already merged into`];
}

/**
 * Reads both headers: E_INPUT_NOT_FOUND / E_BAD_GGUF for unreadable files, E_WRONG_KIND when the
 * model is an adapter or the adapter is not a LoRA, E_ADAPTER_MISMATCH when their architectures or
 * tensor shapes differ.
 */
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
  checkAdapterShapes(where, { adapterPath, modelPath }, adapter, model);
  const warnings = await checkAdapterBase(where, { adapterPath, modelPath }, adapter, model, { refuse: false, allowOtherBase: false });
  return { model, adapter, warnings };
}

/**
 * The shapes llama.cpp's adapter loader requires (llama_adapter_lora_init_impl in
 * src/llama-adapter.cpp): every `<W>.lora_a` has its `<W>.lora_b`, the model has W, and for W of ne
 * [n_in, n_out] A has ne [n_in, r] and B ne [r, n_out] (token_embd.weight, looked up rather than
 * multiplied: B's ne[1] is n_in and A's ne[1] n_out);
 * `*_norm.weight` tensors are skipped as it skips them. E_ADAPTER_MISMATCH otherwise, before a
 * runtime logs "has incorrect shape" and fails.
 */
export function checkAdapterShapes(where: string, files: { adapterPath: string; modelPath: string }, adapter: GgufHeader, model: GgufHeader): void {
  const modelTensors = new Map(model.tensors.map((tensor) => [tensor.name, tensor]));
  const pairs = new Map<string, { a?: GgufHeader["tensors"][number]; b?: GgufHeader["tensors"][number] }>();
  for (const tensor of adapter.tensors) {
    const match = /^(.+)\.lora_([ab])$/.exec(tensor.name);
    if (!match) {
      if (tensor.name.endsWith("_norm.weight")) continue;
      throw new LoraGgufError("E_ADAPTER_MISMATCH", `${where}: ${files.adapterPath} holds ${tensor.name}, which is not a LoRA tensor (.lora_a or .lora_b)`);
    }
    const pair = pairs.get(match[1]) ?? {};
    pair[match[2] as "a" | "b"] = tensor;
    pairs.set(match[1], pair);
  }
  const mismatch = (message: string) => new LoraGgufError("E_ADAPTER_MISMATCH", `${where}: ${files.adapterPath} ${message}`);
  for (const [name, { a, b }] of pairs) {
    if (!a || !b) throw mismatch(`has ${name}.lora_${a ? "a" : "b"} without ${name}.lora_${a ? "b" : "a"}`);
    const weight = modelTensors.get(name);
    if (!weight) throw mismatch(`adapts ${name}, which ${files.modelPath} does not have: it was made for another model`);
    const fits = name.endsWith("token_embd.weight")
      ? weight.dims[0] === b.dims[1] && weight.dims[1] === a.dims[1]
      : weight.dims[0] === a.dims[0] && weight.dims[1] === b.dims[1] && a.dims[1] === b.dims[0];
    if (!fits) {
      throw mismatch(
        `has ${name} lora_a [${a.dims.join(", ")}] and lora_b [${b.dims.join(", ")}], which do not fit ${files.modelPath}'s [${weight.dims.join(", ")}]: it was made for another model`,
      );
    }
  }
}
