// Text generation through node-llama-cpp (its own prebuilt llama.cpp), for trying a model or an
// adapter: one prompt, optionally framed by the model's chat template, sampled greedily by default.
import { availableParallelism } from "node:os";

import type { LlamaModel, Token } from "node-llama-cpp";

import { compileChatTemplate } from "../chat/chat-template.js";
import { readChatTemplateFromGguf } from "../chat/gguf-chat-template.js";
import { renderPrompt } from "../chat/render-conversation.js";
import { LoraGgufError } from "../errors.js";
import { checkLlamaLoadable } from "../gguf/llama-loader-checks.js";
import type { GgufHeader } from "../gguf/reader.js";
import { readModelAndAdapter, trainingTemplateVariables } from "../lora/model-and-adapter.js";
import {
  optionalBoolean,
  optionalInteger,
  optionalFunction,
  optionalSignal,
  rejectUnknownOptions,
  requireOptionsObject,
  requireString,
  requireStringAllowEmpty,
} from "../validate.js";
import { sharedNodeLlama } from "./greedy-completions.js";

export interface GenerateOptions {
  /** GGUF model. */
  model: string;
  /** GGUF LoRA adapter applied on top of `model`. */
  adapter?: string;
  prompt: string;
  /** Frame the prompt as one user message with the model's chat template (add_generation_prompt). Default false: complete the text as is. */
  chat?: boolean;
  /** A system message before the prompt (chat only). */
  system?: string;
  /** Most tokens to generate. Default 256. */
  maxTokens?: number;
  /** Sampling temperature; 0 (the default) is greedy, so the same input gives the same output. */
  temperature?: number;
  /** Sampling seed, for temperature > 0. Default: the time. */
  seed?: number;
  /** CPU threads. Default: all CPUs. */
  threads?: number;
  signal?: AbortSignal;
  /**
   * Called with the generated text as it grows, a chunk at a time; the chunks of one generation join
   * into its result's text. `generation` says whose text it is: "base" (the model alone) or "adapted"
   * (with the adapter); compareGenerations streams the base's first, then the adapter's.
   */
  onTextChunk?: (chunk: string, generation: "base" | "adapted") => void;
}

export interface GenerateResult {
  /** The generated text (special tokens left out). */
  text: string;
  /** The text the model was given: the prompt, or the chat template's render of it. */
  prompt: string;
  promptTokens: number;
  generatedTokens: number;
  /** "end-of-generation": the model ended its turn (EOS, <|im_end|>, ...); "max-tokens" or "context": cut off. */
  stopReason: "end-of-generation" | "max-tokens" | "context";
  adapter?: string;
  /** Wall time, context creation included. */
  seconds: number;
  /** Generated tokens per second of evaluation (the prompt's included). */
  tokensPerSecond: number;
  /** Things worth knowing that did not stop generation (an adapter recorded against another base file). */
  warnings: string[];
}

export interface CompareGenerationsResult {
  base: GenerateResult;
  adapted: GenerateResult;
  /** Whether the two texts differ. */
  differ: boolean;
}

const DEFAULT_MAX_TOKENS = 256;
const OPTION_NAMES = ["model", "adapter", "prompt", "chat", "system", "maxTokens", "temperature", "seed", "threads", "signal", "onTextChunk"] as const;

interface ResolvedGenerateOptions {
  model: string;
  adapter?: string;
  prompt: string;
  chat: boolean;
  system?: string;
  maxTokens: number;
  temperature: number;
  seed?: number;
  threads: number;
  signal?: AbortSignal;
  onTextChunk?: (chunk: string, generation: "base" | "adapted") => void;
}

/** Generates a completion of `prompt` (or a chat reply to it) with the model, and the adapter when given. */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const resolved = resolveOptions("generate", options);
  const { header, warnings, templateVariables } = await checkInputs("generate", resolved);
  return withModel(resolved.model, async (model) => ({
    ...(await generateWith(model, header, { ...resolved, templateVariables }, resolved.adapter)),
    warnings,
  }));
}

/** Generates with the model alone, then with the adapter, from one load of the model. */
export async function compareGenerations(options: GenerateOptions & { adapter: string }): Promise<CompareGenerationsResult> {
  const resolved = resolveOptions("compareGenerations", options);
  if (resolved.adapter === undefined) throw new LoraGgufError("E_INVALID_OPTION", "compareGenerations: adapter must be a non-empty string, got undefined");
  const { header, warnings, templateVariables } = await checkInputs("compareGenerations", resolved);
  return withModel(resolved.model, async (model) => {
    // both from the prompt the adapter was trained with
    const base = { ...(await generateWith(model, header, { ...resolved, templateVariables }, undefined)), warnings: [] };
    const adapted = { ...(await generateWith(model, header, { ...resolved, templateVariables }, resolved.adapter)), warnings };
    return { base, adapted, differ: base.text !== adapted.text };
  });
}

function resolveOptions(where: string, options: GenerateOptions): ResolvedGenerateOptions {
  const given = requireOptionsObject(where, options);
  rejectUnknownOptions(where, given, OPTION_NAMES);
  const chat = optionalBoolean(where, "chat", given.chat) ?? false;
  const system = given.system === undefined ? undefined : requireStringAllowEmpty(where, "system", given.system);
  if (system !== undefined && !chat) throw new LoraGgufError("E_INVALID_OPTION", `${where}: system needs chat (a system message is part of a chat template's render)`);
  const temperature = given.temperature ?? 0;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0 || temperature > 100) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: temperature must be a number from 0 to 100, got ${String(given.temperature)}`);
  }
  return {
    model: requireString(where, "model", given.model),
    adapter: given.adapter === undefined ? undefined : requireString(where, "adapter", given.adapter),
    prompt: requireStringAllowEmpty(where, "prompt", given.prompt),
    chat,
    system,
    maxTokens: optionalInteger(where, "maxTokens", given.maxTokens, 1, 1_000_000) ?? DEFAULT_MAX_TOKENS,
    temperature,
    seed: optionalInteger(where, "seed", given.seed, 0, 2 ** 32 - 1),
    // node-llama-cpp's own default oversubscribes small machines (10x slower on 2 cores)
    threads: optionalInteger(where, "threads", given.threads, 1, 1024) ?? availableParallelism(),
    signal: optionalSignal(where, given.signal),
    onTextChunk: optionalFunction<NonNullable<ResolvedGenerateOptions["onTextChunk"]>>(where, "onTextChunk", given.onTextChunk),
  };
}

async function checkInputs(where: string, options: ResolvedGenerateOptions): Promise<{ header: GgufHeader; warnings: string[]; templateVariables: Record<string, unknown> }> {
  const { model, adapter, warnings } = await readModelAndAdapter(where, options.model, options.adapter);
  if (options.chat && readChatTemplateFromGguf(model) === undefined) {
    throw new LoraGgufError("E_CHAT_TEMPLATE", `${where}: ${options.model} has no chat template (tokenizer.chat_template); generate without chat to complete the prompt as text`);
  }
  return { header: model, warnings, templateVariables: trainingTemplateVariables(adapter) };
}

async function withModel<T>(modelPath: string, use: (model: LlamaModel) => Promise<T>): Promise<T> {
  await checkLlamaLoadable("generate", modelPath);
  const llama = await sharedNodeLlama();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  } catch (error) {
    throw new LoraGgufError("E_NATIVE", `node-llama-cpp could not load ${modelPath}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

/** The text the model is given: the chat template's render of one user message (after an optional system one), or the prompt itself. */
function promptText(header: GgufHeader, model: LlamaModel, options: ResolvedGenerateOptions & { templateVariables: Record<string, unknown> }): string {
  if (!options.chat) return options.prompt;
  const turns = [{ role: "user" as const, content: options.prompt }];
  // rendered as training renders (renderPrompt), with the same bos/eos texts (training-samples.ts)
  return renderPrompt(options.system === undefined ? { turns } : { system: options.system, turns }, {
    template: compileChatTemplate(readChatTemplateFromGguf(header)!),
    bosToken: model.tokens.bosString ?? "",
    eosToken: model.tokens.eosString ?? "",
    templateVariables: options.templateVariables,
  });
}

async function generateWith(
  model: LlamaModel,
  header: GgufHeader,
  options: ResolvedGenerateOptions & { templateVariables: Record<string, unknown> },
  adapter: string | undefined,
): Promise<Omit<GenerateResult, "warnings">> {
  options.signal?.throwIfAborted();
  const started = performance.now();
  const prompt = promptText(header, model, options);
  // special-token text becomes special tokens, and BOS goes in front when the vocabulary asks for it and the text did not write it, as in training
  const promptTokens = model.tokenize(prompt, true);
  const bos = model.tokens.bos;
  if (model.tokens.shouldPrependBosToken && bos !== null && promptTokens[0] !== bos) promptTokens.unshift(bos);
  if (promptTokens.length === 0) throw new LoraGgufError("E_INVALID_OPTION", "generate: the prompt is empty and the model adds no BOS token, so there is nothing to continue");
  const contextLimit = model.trainContextSize;
  if (promptTokens.length >= contextLimit) {
    throw new LoraGgufError("E_INVALID_OPTION", `generate: the prompt is ${promptTokens.length} tokens, and the model's context is ${contextLimit}; shorten it`);
  }

  let context;
  try {
    context = await model.createContext({
      contextSize: Math.min(contextLimit, promptTokens.length + options.maxTokens),
      threads: options.threads,
      ...(adapter ? { lora: { adapters: [{ filePath: adapter }] } } : {}),
    });
  } catch (error) {
    throw new LoraGgufError("E_NATIVE", `node-llama-cpp could not create a context${adapter ? ` with ${adapter}` : ""}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const sequence = context.getSequence();
    const room = context.contextSize - promptTokens.length;
    const generated: Token[] = [];
    let stopReason: GenerateResult["stopReason"] = "end-of-generation";
    const sampling = options.temperature === 0 ? { temperature: 0 } : { temperature: options.temperature, seed: options.seed };
    const stream = options.onTextChunk && textChunker(model, generated, (chunk) => options.onTextChunk!(chunk, adapter === undefined ? "base" : "adapted"));
    const evaluationStarted = performance.now();
    for await (const token of sequence.evaluate(promptTokens, { ...sampling, yieldEogToken: true })) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (model.isEogToken(token)) break;
      generated.push(token);
      stream?.grew(false);
      if (generated.length >= options.maxTokens) {
        stopReason = "max-tokens";
        break;
      }
      if (generated.length >= room) {
        stopReason = "context";
        break;
      }
    }
    sequence.dispose();
    stream?.grew(true);
    const finished = performance.now();
    const evaluationSeconds = (finished - evaluationStarted) / 1000;
    return {
      text: model.detokenize(generated),
      prompt,
      promptTokens: promptTokens.length,
      generatedTokens: generated.length,
      stopReason,
      adapter,
      seconds: (finished - started) / 1000,
      tokensPerSecond: evaluationSeconds > 0 ? generated.length / evaluationSeconds : 0,
    };
  } finally {
    await context.dispose();
  }
}

/**
 * Streams the text of `generated` as it grows: each call detokenizes the whole sequence and emits what
 * was added, so that the chunks join into exactly the final text (a detokenizer may change how the
 * start of a word reads once the next token comes, and one character may take several tokens). Text
 * ending in a partial character (U+FFFD) waits for the next token; the last call flushes.
 */
function textChunker(model: LlamaModel, generated: readonly Token[], emit: (chunk: string) => void): { grew(last: boolean): void } {
  let emitted = "";
  return {
    grew(last) {
      const text = model.detokenize(generated);
      if ((!last && text.endsWith("\uFFFD")) || !text.startsWith(emitted) || text.length === emitted.length) return;
      emit(text.slice(emitted.length));
      emitted = text;
    },
  };
}
