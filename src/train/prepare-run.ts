import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

import { familyOfGgufArchitecture, trainableArchitectures } from "../arch/index.js";
import { readChatTemplateFromGguf } from "../chat/index.js";
import { describeDatasetProblem, isPlainText, loadDataset } from "../data/index.js";
import { LoraGgufError } from "../errors.js";
import { checkLlamaLoadable } from "../gguf/llama-loader-checks.js";
import { GGML_TYPES, ggmlTypeInfo, readGgufHeader, type GgufHeader } from "../gguf/index.js";
import { loadNative } from "../native.js";
import { baseModelFingerprint, baseModelIdentity } from "./base-fingerprint.js";
import { checkFamilyLoraTargets, findLoraTargetTensors, type LoraTarget } from "./lora-targets.js";
import { thinkingTemplateVariables, type ResolvedTrainConfig } from "./train-options.js";
import { autoContextLength, planTraining, type TrainingPlan } from "./training-plan.js";
import { tokenizeConversations, type TrainingSample } from "./training-samples.js";

/** Architectures whose llama.cpp graphs the trainer has been checked on (gradient check in test/train-gradients). */

export /** Everything about a run that does not depend on the step: what the trainer needs to start. */
interface PreparedRun {
  /** The tokenized samples, before the validation split and packing (for previews and statistics). */
  samples: TrainingSample[];
  /** The run's configuration with its targets resolved for the model's family. */
  config: ResolvedTrainConfig & { targets: LoraTarget[] };
  header: GgufHeader;
  architecture: string;
  plan: TrainingPlan;
  baseFingerprint: string;
  /** The base model's identity, which any encoding of it shares (recorded in the adapter for merge and generate). */
  baseIdentity: string;
  dataFingerprint: string;
  skippedRows: string[];
  /** The addon is a LORA_GGUF_CUDA build (the memory estimate counts its runtime). */
  cudaBuild: boolean;
}

/**
 * Everything before the first step: checks the model and options, loads and renders the dataset,
 * tokenizes it (vocabulary only, no weights loaded) and plans every optimizer step.
 */
export async function prepareTrainingRun(config: ResolvedTrainConfig): Promise<PreparedRun> {
  const header = await readGgufHeader(config.model);
  const architecture = header.metadataByKey.get("general.architecture")?.value;
  if (header.metadataByKey.get("general.type")?.value === "adapter") {
    throw new LoraGgufError("E_WRONG_KIND", `train: ${config.model} is a LoRA adapter; give the base model as model`);
  }
  const family = familyOfGgufArchitecture(architecture);
  if (typeof architecture !== "string" || !family?.training.trains) {
    const missing = family && !family.training.trains ? ` (${family.training.missing})` : "";
    throw new LoraGgufError(
      "E_UNSUPPORTED_ARCH",
      `train: ${config.model} is a ${String(architecture)} model${missing}; lora-gguf trains ${trainableArchitectures.join(", ")} so far`,
    );
  }
  await checkLlamaLoadable("train", config.model, header);
  checkTrainableWeightTypes(config.model, header);
  // fail on the options before the (possibly long) dataset load
  const targets = checkFamilyLoraTargets(family, config.targets);
  findLoraTargetTensors(header, targets, config.layers);

  const dataset = await loadDataset(config.data, { format: config.format, onBadRow: config.onBadRow });
  const template = config.chatTemplate ?? (config.noChatTemplate ? undefined : readChatTemplateFromGguf(header));
  if (!template && dataset.conversations.some((conversation) => !isPlainText(conversation))) {
    throw new LoraGgufError(
      "E_CHAT_TEMPLATE",
      `train: ${config.data} holds chat records but ${config.model} has no chat template${config.noChatTemplate ? " (and noChatTemplate is set)" : ""}; give one with chatTemplate (--chat-template)`,
    );
  }

  const native = await loadNative();
  const tokenizer = await native.openTokenizer(config.model);
  try {
    const samples = await tokenizeConversations(dataset.conversations, tokenizer, {
      template,
      trainOnPrompt: config.trainOnPrompt,
      templateVariables: thinkingTemplateVariables(config.thinking),
    });
    const modelContext = Number(header.metadataByKey.get(`${architecture}.context_length`)?.value ?? 4096);
    const contextLength = config.contextLength ?? autoContextLength(samples, modelContext);
    const padToken = tokenizer.eos >= 0 ? tokenizer.eos : 0;
    const plan = planTraining(samples, {
      contextLength,
      epochs: config.epochs,
      maxSteps: config.maxSteps,
      windowsPerStep: config.batchSize * config.gradientAccumulation,
      validationSplit: config.validationSplit,
      seed: config.seed,
      padToken,
      onBadRow: config.onBadRow,
    });
    return {
      samples,
      config: { ...config, contextLength, targets },
      header,
      architecture,
      plan,
      baseFingerprint: baseModelFingerprint(header),
      baseIdentity: await baseModelIdentity(config.model, header),
      dataFingerprint: `sha256:${createHash("sha256").update(await readFile(config.data)).digest("hex").slice(0, 32)}`,
      skippedRows: dataset.problems.map(describeDatasetProblem),
      cudaBuild: native.buildInfo().cuda,
    };
  } finally {
    await tokenizer.close();
  }
}


/**
 * Weight types the trainer differentiates through: every storage type the CPU backend multiplies
 * with (f32, f16, bf16 and the quantized types; patches/0005 gives each an OUT_PROD, the activation
 * gradient through a frozen weight). q8_1 and q8_K are ggml's activation formats, never weights; a
 * matrix of another type (i32, f64, ...) would abort inside ggml's scheduler.
 */
const trainableWeightTypes = new Set(
  GGML_TYPES.filter((type) => !type.removed && (type.quantized || ["f32", "f16", "bf16"].includes(type.name)) && !["q8_1", "q8_K"].includes(type.name)).map((type) => type.name),
);

function checkTrainableWeightTypes(model: string, header: GgufHeader): void {
  for (const tensor of header.tensors) {
    // token_embd is only looked up (get_rows), never differentiated through
    if (tensor.dims.length < 2 || tensor.name === "token_embd.weight") continue;
    const type = ggmlTypeInfo(tensor.type)?.name ?? String(tensor.type);
    if (!trainableWeightTypes.has(type)) {
      const hint = "quantize it to bf16, q8_0 or q4_k_m first";
      throw new LoraGgufError(
        "E_UNSUPPORTED_TYPE",
        `train: ${tensor.name} in ${model} is ${type}, which llama.cpp's CPU backend cannot train through; ${hint}`,
      );
    }
  }
}
