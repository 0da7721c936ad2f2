// `lora-gguf quickstart`: the whole path on a machine with nothing on it: a demo base model (or the
// user's), a bundled dataset a tiny model can visibly learn, training, and a before/after sample.
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";

import { compileChatTemplate, readChatTemplateFromGguf } from "../chat/index.js";
import { LoraGgufError } from "../errors.js";
import { greedyCompletions } from "../generate/greedy-completions.js";
import { readGgufHeader } from "../gguf/index.js";
import { checkCanCreateFiles } from "../io/atomic-output.js";
import { merge } from "../merge/merge.js";
import { buildModelfile } from "../modelfile/build-modelfile.js";
import { quantize } from "../quantize/quantize.js";
import { packageRoot } from "../native.js";
import { writeTinyModelGguf } from "../testing/tiny-model.js";
import type { TrainProgress } from "../train/train-options.js";
import { train, type TrainResult } from "../train/train.js";
import { optionalFunction, optionalInteger, optionalSignal, rejectUnknownOptions, requireOptionsObject, requireString } from "../validate.js";

/** Mistral-style: [INST] question [/INST] answer</s>, so the demo model learns to stop with EOS. */
export const demoChatTemplate =
  "{{ bos_token }}{% for message in messages %}{% if message.role == 'user' %}[INST] {{ message.content }} [/INST]{% else %} {{ message.content }}{{ eos_token }}{% endif %}{% endfor %}";

export const demoDatasetPath = path.join(packageRoot, "demo", "quickstart-colours.jsonl");

/** The demo base model quickstart trains when given none: random weights, llama architecture, the demo chat template. */
export async function writeDemoBaseModel(file: string): Promise<void> {
  await writeTinyModelGguf(file, { architecture: "llama", seed: 1, chatTemplate: demoChatTemplate });
}

export interface QuickstartOptions {
  /** Where everything goes. */
  dir: string;
  /** A real base model GGUF instead of the generated demo model. */
  model?: string;
  /** Default 60 epochs for the demo model (a few seconds), 3 for a real model. */
  epochs?: number;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TrainProgress) => void;
  /** One line of narration at a time ("generating the demo base model ..."). */
  onStep?: (message: string) => void;
}

export interface QuickstartSample {
  prompt: string;
  expected: string;
  before: string;
  after: string;
}

export interface QuickstartResult {
  dir: string;
  model: string;
  dataset: string;
  training: TrainResult;
  /** The adapter merged into the base (base's types), and that model quantized. */
  merged: { full: string; q8_0: string; q4_k_m: string };
  modelfile: string;
  /** The command that makes an Ollama model of the merged q8_0 model. */
  ollamaCreate: string;
  /** Before: the base model; after: the merged q8_0 model. */
  samples: QuickstartSample[];
}

/** Records of the bundled dataset that are sampled before and after training. */
const sampledRecords = [0, 9, 19];

async function samplePrompts(dataset: string): Promise<{ prompt: string; expected: string }[]> {
  const records = (await readFile(dataset, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as { messages: { content: string }[] });
  return sampledRecords.map((index) => ({ prompt: records[index].messages[0].content, expected: records[index].messages[1].content }));
}

const WHERE = "quickstart";
const OPTION_NAMES = ["dir", "model", "epochs", "threads", "signal", "onProgress", "onStep"] as const;

export async function quickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const given = requireOptionsObject(WHERE, options);
  rejectUnknownOptions(WHERE, given, OPTION_NAMES);
  const dir = path.resolve(requireString(WHERE, "dir", given.dir));
  const userModel = given.model === undefined ? undefined : requireString(WHERE, "model", given.model);
  // the bounds train() checks, checked before minutes of sampling and generating
  const epochs = optionalInteger(WHERE, "epochs", given.epochs, 1, 1e6);
  const threads = optionalInteger(WHERE, "threads", given.threads, 1, 1024);
  const signal = optionalSignal(WHERE, given.signal);
  const onProgress = optionalFunction<(progress: TrainProgress) => void>(WHERE, "onProgress", given.onProgress);
  const step = optionalFunction<(message: string) => void>(WHERE, "onStep", given.onStep) ?? (() => undefined);

  // the user's model is checked before anything is written
  const template = userModel === undefined ? demoChatTemplate : await readUsersChatTemplate(userModel);
  await createOutputDirectory(dir);

  let model = userModel;
  if (!model) {
    model = path.join(dir, "demo-base.gguf");
    step(`generating a small demo base model (random weights, llama architecture) at ${model}`);
    await writeDemoBaseModel(model);
  }
  const dataset = path.join(dir, "dataset.jsonl");
  await copyFile(demoDatasetPath, dataset);
  const samples = await samplePrompts(dataset);
  step(`dataset: ${dataset} (${samples.length} of its questions are sampled before and after)`);

  const renderPrompt = (prompt: string) =>
    compileChatTemplate(template).render(
      { messages: [{ role: "user", content: prompt }], bos_token: "", eos_token: "", add_generation_prompt: true },
      " for a quickstart prompt",
    );

  step("sampling the base model before training");
  const prompts = samples.map((sample) => renderPrompt(sample.prompt));
  const before = await greedyCompletions(model, prompts, { maxTokens: 24, threads });

  const output = path.join(dir, "adapter.gguf");
  step(`training a LoRA adapter into ${output}`);
  const training = await train({
    model,
    data: dataset,
    output,
    rank: 16,
    alpha: 32,
    learningRate: 3e-3,
    epochs: epochs ?? (userModel ? 3 : 60),
    seed: 1,
    threads,
    force: true,
    signal,
    onProgress,
  });

  step("merging the adapter into the base, then quantizing the merged model to q8_0 and q4_k_m");
  const merged = {
    full: path.join(dir, "merged.gguf"),
    q8_0: path.join(dir, "merged-q8_0.gguf"),
    q4_k_m: path.join(dir, "merged-q4_k_m.gguf"),
  };
  await merge({ model, adapters: [{ path: training.adapter }], output: merged.full, threads, force: true, signal });
  for (const type of ["q8_0", "q4_k_m"] as const) {
    await quantize(merged.full, merged[type], { type, threads, force: true, allowRequantize: true, signal });
  }
  const modelfile = path.join(dir, "Modelfile");
  const built = await buildModelfile({ model: merged.q8_0, relativeTo: dir });
  await writeFile(modelfile, built.text);
  const ollamaCreate = `ollama create lora-gguf-quickstart -f ${modelfile}`;

  step("sampling the merged q8_0 model");
  const after = await greedyCompletions(merged.q8_0, prompts, { maxTokens: 24, threads });
  return {
    dir,
    model,
    dataset,
    training,
    merged,
    modelfile,
    ollamaCreate,
    samples: samples.map((sample, index) => ({ ...sample, before: before[index].text.trim(), after: after[index].text.trim() })),
  };
}

/** The chat template of a base model given to quickstart: a model (not an adapter) with one. */
async function readUsersChatTemplate(model: string): Promise<string> {
  const header = await readGgufHeader(model);
  if (header.metadataByKey.get("general.type")?.value === "adapter") {
    throw new LoraGgufError("E_WRONG_KIND", `${WHERE}: ${model} is a LoRA adapter; give a base model to fine-tune`);
  }
  const template = readChatTemplateFromGguf(header);
  if (!template) {
    throw new LoraGgufError("E_CHAT_TEMPLATE", `${model} has no chat template (tokenizer.chat_template); quickstart needs one to build prompts`);
  }
  return template;
}

/**
 * `dir` and any missing parents, one mkdir at a time: fs.mkdir's recursive mode never returns where
 * mkdir(2) says ENOENT under an existing parent (/proc).
 */
async function createOutputDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new LoraGgufError("E_OUTPUT_EXISTS", `${WHERE}: ${dir} is a file; give a directory (created if missing)`);
  }
  if (!info) await createMissingDirectory(dir);
  await checkCanCreateFiles(WHERE, dir);
}

async function createMissingDirectory(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const parentInfo = await stat(parent).catch(() => undefined);
  if (parentInfo && !parentInfo.isDirectory()) {
    throw new LoraGgufError("E_OUTPUT_DIR", `${WHERE}: cannot create ${dir}: ${parent} is a file, not a directory`);
  }
  if (!parentInfo && parent !== dir) await createMissingDirectory(parent);
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && (await stat(dir)).isDirectory()) return;
    throw new LoraGgufError("E_OUTPUT_DIR", `${WHERE}: cannot create the directory ${dir} (${code ?? (error as Error).message}); choose a writable location`, { cause: error });
  }
}
