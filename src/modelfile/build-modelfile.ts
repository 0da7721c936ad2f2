import path from "node:path";

import { readChatTemplateFromGguf } from "../chat/gguf-chat-template.js";
import { renderPrompt, responseEndText } from "../chat/render-conversation.js";
import { LoraGgufError } from "../errors.js";
import type { GgufHeader } from "../gguf/reader.js";
import { readModelAndAdapter, trainingTemplateVariables } from "../lora/model-and-adapter.js";
import { THINKING_MODES, thinkingTemplateVariables, type ThinkingMode } from "../train/train-options.js";
import { optionalPlainObject, rejectUnknownOptions, requireOptionsObject, requireString, requireStringAllowEmpty } from "../validate.js";
import { endOfGenerationTokens, specialTokenText, vocabularyTokens } from "./end-of-generation-tokens.js";
import { quoteModelfileValue } from "./modelfile-syntax.js";
import { checkOllamaParameter } from "./ollama-parameters.js";
import { ollamaRender } from "./messages-template.js";
import { chooseOllamaTemplate, type OllamaTemplateChoice, type TemplateSource } from "./ollama-template.js";

export interface ModelfileOptions {
  /** The GGUF model for FROM: a merged model, or the base when `adapter` is given. */
  model: string;
  /** A GGUF LoRA adapter for ADAPTER, applied by Ollama on top of `model`. */
  adapter?: string;
  /** Default system prompt (SYSTEM). */
  system?: string;
  /**
   * PARAMETER values, over the defaults (modelfileDefaultParameters and, for a chat template Ollama's
   * library knows, that model's own). `stop` adds stop sequences to the model's end-of-turn tokens.
   * Names and values are checked as `ollama create` checks them (OLLAMA_PARAMETERS).
   */
  parameters?: Record<string, number | string | readonly string[]>;
  /** Write FROM and ADAPTER relative to this directory (the Modelfile's; Ollama resolves them from there). Default: absolute paths. */
  relativeTo?: string;
  /**
   * The chat template's enable_thinking as training rendered it: "on", "off", or "auto" (default) for
   * the adapter's recorded training configuration, else the template's default.
   */
  thinking?: ThinkingMode;
}

/** A sample conversation's prompt as training renders it and as Ollama renders TEMPLATE (modelfile --verify). */
export interface TemplateVerification {
  /** System prompt (left out for templates that refuse one), two exchanges, the second awaiting its answer. */
  trainingPrompt: string;
  /** Ollama's render of TEMPLATE for the same messages; undefined when it cannot be computed here (a library or converted template). */
  ollamaPrompt?: string;
  same: boolean | undefined;
  /** One line: the same, where they differ, or why it cannot be told. */
  summary: string;
}

export interface ModelfileResult {
  /** The Modelfile. */
  text: string;
  /** The Go template in TEMPLATE; undefined when none is written. */
  template?: string;
  templateSource: TemplateSource;
  /** The Ollama library model whose template TEMPLATE is, when it is one. */
  ollamaModel?: string;
  /** PARAMETER stop values, in order. */
  stops: string[];
  /** The other PARAMETER lines, in order. */
  parameters: [name: string, value: number | string][];
  /** What to check in the result: a template that is not an exact match, a SYSTEM the template ignores, ... */
  warnings: string[];
  verification?: TemplateVerification;
}

/**
 * Sampling defaults for a fine-tuned model, written explicitly so `ollama show --modelfile` tells
 * what the model runs with. temperature 0.7 is where instruct models' own generation configs sit
 * (Llama 3.1 0.6, Qwen2.5 and Mistral 0.7) and a little under Ollama's 0.8; top_p 0.9 is Llama's
 * and Ollama's; repeat_penalty 1 turns off Ollama's 1.1, which penalises every token of the last 64
 * (the prompt's included), and so pushes a fine-tune away from answers that repeat the question's
 * words or a fixed format, which is what it was trained to produce.
 */
export const modelfileDefaultParameters: Readonly<Record<string, number>> = { temperature: 0.7, top_p: 0.9, repeat_penalty: 1 };

const WHERE = "buildModelfile";
const OPTION_NAMES = ["model", "adapter", "system", "parameters", "relativeTo", "thinking"] as const;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An Ollama Modelfile for a GGUF model (and LoRA adapter): FROM/ADAPTER, a TEMPLATE converted from
 * the GGUF's own chat template, a stop for every end-of-turn token, sampling defaults, and SYSTEM.
 * Reads only the GGUF headers.
 */
export async function buildModelfile(options: ModelfileOptions): Promise<ModelfileResult> {
  const given = requireOptionsObject(WHERE, options);
  rejectUnknownOptions(WHERE, given, OPTION_NAMES);
  const modelPath = requireString(WHERE, "model", given.model);
  const adapterPath = given.adapter === undefined ? undefined : requireString(WHERE, "adapter", given.adapter);
  const system = given.system === undefined ? undefined : requireStringAllowEmpty(WHERE, "system", given.system);
  const relativeTo = given.relativeTo === undefined ? undefined : requireString(WHERE, "relativeTo", given.relativeTo);
  const { stops: extraStops, parameters: userParameters } = resolveParameters(optionalPlainObject(WHERE, "parameters", given.parameters) ?? {});

  const { model, adapter, warnings } = await readModelAndAdapter(WHERE, modelPath, adapterPath);
  const tokens = vocabularyTokens(model, WHERE);
  const eosToken = specialTokenText(model, tokens, "tokenizer.ggml.eos_token_id") ?? "";
  // Ollama, like llama.cpp, puts BOS in front when the vocabulary asks for it; a template writing it too would double it
  const bosToken = addsBos(model) ? "" : (specialTokenText(model, tokens, "tokenizer.ggml.bos_token_id") ?? "");
  const thinking = (given.thinking ?? "auto") as ThinkingMode;
  if (!THINKING_MODES.includes(thinking)) {
    throw new LoraGgufError("E_INVALID_OPTION", `${WHERE}: thinking must be ${THINKING_MODES.join(", ")}, got ${String(given.thinking)}`);
  }
  const templateVariables = thinking === "auto" ? trainingTemplateVariables(adapter) : thinkingTemplateVariables(thinking);
  const chatTemplate = readChatTemplateFromGguf(model);
  const choice = chooseOllamaTemplate(chatTemplate, { bosToken, eosToken }, templateVariables);
  warnings.push(...choice.warnings);

  // what training taught the model to end an answer with, where that is not an end-of-generation token already
  const responseEnd = chatTemplate === undefined || choice.template === undefined ? [] : [trainedResponseEnd(chatTemplate, { bosToken, eosToken }, templateVariables)];
  const stops = [...new Set([...endOfGenerationTokens(model, WHERE).map((token) => token.text), ...responseEnd.filter((text) => text !== ""), ...choice.stops, ...extraStops])];
  const parameters = Object.entries({ ...modelfileDefaultParameters, ...choice.parameters, ...userParameters });
  if (system !== undefined && system !== "" && !choice.supportsSystem) {
    warnings.push(choice.template === undefined ? "SYSTEM has no effect without a TEMPLATE" : "TEMPLATE has no {{ .System }}, so SYSTEM has no effect");
  }

  const where = (file: string) => writtenPath(file, relativeTo);
  const lines = [`# Ollama Modelfile written by lora-gguf for ${path.basename(modelPath)}`, `# TEMPLATE: ${choice.description}`];
  for (const warning of warnings) lines.push(`# note: ${warning.replace(/[\r\n]+/g, " ")}`);
  lines.push("", `FROM ${quoteModelfileValue("the model path", where(modelPath), "bare")}`);
  if (adapterPath !== undefined) lines.push(`ADAPTER ${quoteModelfileValue("the adapter path", where(adapterPath), "bare")}`);
  if (choice.template !== undefined) lines.push("", `TEMPLATE ${quoteModelfileValue("the template", choice.template, "block")}`);
  if (system !== undefined) lines.push("", `SYSTEM ${quoteModelfileValue("the system prompt", system, "block")}`);
  lines.push("");
  for (const stop of stops) lines.push(`PARAMETER stop ${quoteModelfileValue("a stop sequence", stop, "quoted")}`);
  for (const [name, value] of parameters) {
    lines.push(`PARAMETER ${name} ${typeof value === "number" ? String(value) : quoteModelfileValue(`PARAMETER ${name}`, value, "quoted")}`);
  }

  return {
    verification: chatTemplate === undefined ? undefined : verifyTemplate(chatTemplate, choice, { bosToken, eosToken }, templateVariables),
    text: `${lines.join("\n")}\n`,
    template: choice.template,
    templateSource: choice.source,
    ollamaModel: choice.ollamaModel,
    stops,
    parameters,
    warnings,
  };
}

function trainedResponseEnd(chatTemplate: string, tokens: { bosToken: string; eosToken: string }, templateVariables: Record<string, unknown>): string {
  try {
    return responseEndText(chatTemplate, tokens, templateVariables);
  } catch {
    return "";
  }
}

const SAMPLE_SYSTEM = "You are a helpful assistant.";
const SAMPLE_TURNS = [
  { role: "user" as const, content: "What is the capital of France?" },
  { role: "assistant" as const, content: "Paris." },
  { role: "user" as const, content: "And of Italy?" },
];

function verifyTemplate(
  chatTemplate: string,
  choice: OllamaTemplateChoice,
  tokens: { bosToken: string; eosToken: string },
  templateVariables: Record<string, unknown>,
): TemplateVerification {
  const render = (system: string | undefined) => renderPrompt({ system, turns: SAMPLE_TURNS }, { template: chatTemplate, ...tokens, templateVariables });
  let system: string | undefined = SAMPLE_SYSTEM;
  let trainingPrompt: string;
  try {
    trainingPrompt = render(system);
  } catch (error) {
    // templates that refuse a system message (Gemma 2: "System role not supported") are checked without one
    try {
      system = undefined;
      trainingPrompt = render(system);
    } catch {
      return { trainingPrompt: "", same: undefined, summary: `the chat template cannot render the sample conversation: ${(error as Error).message}` };
    }
  }
  if (choice.messagesPieces === undefined) {
    return { trainingPrompt, same: undefined, summary: `TEMPLATE is ${choice.description}: its render cannot be computed here; compare it with the training prompt below` };
  }
  const ollamaPrompt = ollamaRender(choice.messagesPieces, [...(system === undefined ? [] : [{ role: "system" as const, content: system }]), ...SAMPLE_TURNS]);
  if (ollamaPrompt === trainingPrompt) return { trainingPrompt, ollamaPrompt, same: true, summary: "Ollama's prompt is the one training renders" };
  let at = 0;
  while (at < trainingPrompt.length && trainingPrompt[at] === ollamaPrompt[at]) at++;
  return { trainingPrompt, ollamaPrompt, same: false, summary: `Ollama's prompt differs from training's at character ${at}` };
}

function resolveParameters(raw: Record<string, unknown>): { stops: string[]; parameters: Record<string, number | string> } {
  const stops: string[] = [];
  const parameters: Record<string, number | string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (!PARAMETER_NAME.test(name)) {
      throw new LoraGgufError("E_INVALID_OPTION", `${WHERE}: parameter names are letters, digits and _, got ${JSON.stringify(name)}`);
    }
    if (name === "stop") {
      for (const stop of Array.isArray(value) ? value : [value]) stops.push(requireString(WHERE, "parameters.stop", stop));
    } else if ((typeof value === "number" && Number.isFinite(value)) || (typeof value === "string" && value !== "")) {
      checkOllamaParameter(WHERE, name, value);
      parameters[name] = value;
    } else {
      throw new LoraGgufError("E_INVALID_OPTION", `${WHERE}: parameters.${name} must be a finite number or a non-empty string, got ${describe(value)}`);
    }
  }
  return { stops, parameters };
}

/**
 * Whether the runtime adds BOS itself: tokenizer.ggml.add_bos_token, else llama.cpp's default for
 * the vocabulary (llama-vocab.cpp: SentencePiece and WordPiece yes; BPE only for some pre-tokenizers).
 */
function addsBos(header: GgufHeader): boolean {
  const flag = header.metadataByKey.get("tokenizer.ggml.add_bos_token")?.value;
  if (typeof flag === "boolean") return flag;
  const model = header.metadataByKey.get("tokenizer.ggml.model")?.value;
  const pre = header.metadataByKey.get("tokenizer.ggml.pre")?.value;
  if (model === "llama" || model === "bert") return true;
  return model === "gpt2" && typeof pre === "string" && BPE_PRE_TOKENIZERS_WITH_BOS.has(pre);
}

const BPE_PRE_TOKENIZERS_WITH_BOS = new Set(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "tekken", "chameleon"]);

/** Absolute, or relative to `directory` with a leading ./ (so a name starting with ~ is not read as a home directory). */
function writtenPath(file: string, directory: string | undefined): string {
  const absolute = path.resolve(file);
  if (directory === undefined) return absolute;
  const relative = path.relative(path.resolve(directory), absolute);
  if (path.isAbsolute(relative)) return absolute;
  return relative.startsWith(`..${path.sep}`) ? relative : `.${path.sep}${relative}`;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  return value === null ? "null" : `${typeof value} ${String(value)}`;
}
