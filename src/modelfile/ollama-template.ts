// Which Ollama TEMPLATE a GGUF's Jinja chat template becomes. First choice: a multi-turn .Messages
// template derived from the chat template's own renders (messages-template.ts), accepted only when
// Ollama's render of it equals the chat template's for every conversation of a set, so that Ollama
// prompts the model exactly as training rendered its data. Library templates are not used when that
// holds: a library template that matches the chat template's text can still frame prompts otherwise
// (Qwen3's opens the answer with <think>, Llama 3.1's has no date header). Where no derivation holds,
// @huggingface/ollama-utils' library match (by the chat template's first 128 characters, its special
// tokens or a pattern), the single-turn derivation (derived-template.ts) or ollama-utils' conversion
// is used, each with a warning naming where Ollama's prompt differs.
import { convertGGUFTemplateToOllama, type OllamaChatTemplateMapEntry } from "@huggingface/ollama-utils";

import { deriveOllamaTemplate } from "./derived-template.js";
import { deriveMessagesTemplate, type MessagesTemplatePieces } from "./messages-template.js";

export type TemplateSource =
  /** Ollama's library template for this chat template, matched by its text. */
  | "ollama-library"
  /** Derived here from the chat template's own renders, multi-turn (.Messages), checked against them. */
  | "derived-messages"
  /** One of ollama-utils' hand-written templates for a family, matched by a text pattern. */
  | "ollama-utils-pattern"
  /** Derived here from the chat template's own renders. */
  | "derived"
  /** Ollama's library template of a model whose chat template has the same special tokens (a guess). */
  | "ollama-library-by-tokens"
  /** ollama-utils' own conversion of the chat template. */
  | "ollama-utils-converted"
  /** No TEMPLATE: Ollama's default passes the prompt through unchanged. */
  | "none";

export interface OllamaTemplateChoice {
  /** Go template text; undefined for source "none". */
  template?: string;
  source: TemplateSource;
  /** The Ollama library model whose template this is (ollama-library and ollama-library-by-tokens). */
  ollamaModel?: string;
  /** Stop sequences that come with the template (its Ollama library entry, or ollama-utils' conversion). */
  stops: string[];
  /** Sampling parameters Ollama's library sets for the matched model (text matches only). */
  parameters: Record<string, number | string>;
  /** Whether the template places a system prompt ({{ .System }} or .Messages). */
  supportsSystem: boolean;
  /** One line for the Modelfile saying where TEMPLATE came from. */
  description: string;
  /** For "derived-messages": the pieces TEMPLATE is made of, from which Ollama's render can be simulated (ollamaRender). */
  messagesPieces?: MessagesTemplatePieces;
  warnings: string[];
}

const CUSTOM_MATCH = "custom-matching";
const AUTO_CONVERSION = "auto-conversion";

/** `templateVariables`: those training rendered with (enable_thinking), so that TEMPLATE gives the model the same prompts. */
export function chooseOllamaTemplate(
  chatTemplate: string | undefined,
  tokens: { bosToken: string; eosToken: string },
  templateVariables: Record<string, unknown> = {},
): OllamaTemplateChoice {
  if (chatTemplate === undefined) {
    return {
      source: "none",
      stops: [],
      parameters: {},
      supportsSystem: false,
      description: "none: the model has no chat template",
      warnings: [
        "the model has no chat template (tokenizer.chat_template), so no TEMPLATE is written and Ollama passes prompts through unchanged; " +
          "fine for a base model, not for a chat fine-tune",
      ],
    };
  }

  let entry: OllamaChatTemplateMapEntry | undefined;
  let utilsFailure: string | undefined;
  const messages = deriveMessagesTemplate(chatTemplate, tokens, templateVariables);
  try {
    entry = convertGGUFTemplateToOllama({ chat_template: chatTemplate, bos_token: tokens.bosToken, eos_token: tokens.eosToken });
  } catch (error) {
    utilsFailure = (error as Error).message;
  }
  // a conversion without {{ .Prompt }} or .Messages would drop the user's message
  if (entry && !/\.(Prompt|Messages)\b/.test(entry.ollama.template)) entry = undefined;

  const fromEntry = (source: TemplateSource, description: string, warnings: string[], withParameters: boolean): OllamaTemplateChoice => {
    const { stop, ...parameters } = entry!.ollama.params ?? {};
    const library = source === "ollama-library" || source === "ollama-library-by-tokens";
    return {
      template: entry!.ollama.template,
      source,
      ollamaModel: library ? entry!.model : undefined,
      stops: Array.isArray(stop) ? stop.filter((value): value is string => typeof value === "string") : [],
      parameters: withParameters ? numberOrStringValues(parameters) : {},
      supportsSystem: /\.(System|Messages)\b/.test(entry!.ollama.template),
      description,
      warnings,
    };
  };

  const textMatch = entry !== undefined && entry.model !== CUSTOM_MATCH && entry.model !== AUTO_CONVERSION && entry.gguf.slice(0, 128) === chatTemplate.slice(0, 128);
  if ("template" in messages) {
    // the library entry's sampling parameters and stops still describe the model when its text matched
    const library = textMatch ? fromEntry("ollama-library", "", [], true) : undefined;
    return {
      template: messages.template,
      source: "derived-messages",
      ollamaModel: library?.ollamaModel,
      stops: library?.stops ?? [],
      parameters: library?.parameters ?? {},
      supportsSystem: messages.pieces.system !== undefined,
      messagesPieces: messages.pieces,
      description:
        "derived from the GGUF's chat template by rendering it: multi-turn (.Messages), checked to give the chat template's own text " +
        "for one to three turns with and without a system message",
      warnings: [
        ...(messages.pieces.system === undefined ? ["the chat template takes no system message, so the TEMPLATE places none and SYSTEM has no effect"] : []),
        ...(messages.pieces.historyReasoning === "other"
          ? ["the chat template writes earlier answers' reasoning in a way TEMPLATE does not reproduce: where Ollama's history holds reasoning (thinking), its prompt differs from training's"]
          : []),
      ],
    };
  }
  const notExact = `no multi-turn TEMPLATE gives Ollama the chat template's own text (${messages.reason})`;
  if (textMatch) {
    return fromEntry("ollama-library", `Ollama's template for ${entry!.model} (ollama-utils matched the chat template's text)`, [`${notExact}; TEMPLATE is Ollama's library template for ${entry!.model}: check that it frames prompts as training did`], true);
  }
  if (entry?.model === CUSTOM_MATCH) {
    return fromEntry(
      "ollama-utils-pattern",
      "ollama-utils' template for this family (matched by a text pattern)",
      [`${notExact}; ollama-utils matched the chat template to one of its hand-written Ollama templates by a text pattern only; check that TEMPLATE frames prompts as the model was trained`],
      false,
    );
  }

  const unmatched = entry
    ? entry.model === AUTO_CONVERSION
      ? "ollama-utils knows no Ollama template for this chat template"
      : `ollama-utils matched the chat template to ${entry.model}'s Ollama template only by its special tokens (${specialTokenList(entry)}), not by its text`
    : `ollama-utils could not map the chat template${utilsFailure === undefined ? "" : ` (${utilsFailure})`}`;

  const derived = deriveOllamaTemplate(chatTemplate, tokens);
  if ("template" in derived) {
    const warnings = [
      `${notExact}; ${unmatched}; TEMPLATE is derived from the chat template's own renders of a system, user and assistant message ` +
        `(single-turn Ollama form; tool calls and images are not carried over)`,
    ];
    if (derived.multiTurnDifference) warnings.push(`the derived TEMPLATE is exact for one turn only: ${derived.multiTurnDifference}`);
    if (!derived.supportsSystem) warnings.push("the chat template takes no system message before the prompt, so the derived TEMPLATE has no {{ .System }}");
    return {
      template: derived.template,
      source: "derived",
      stops: [],
      parameters: {},
      supportsSystem: derived.supportsSystem,
      description: "derived from the GGUF's chat template by rendering it (ollama-utils has no text match for it)",
      warnings,
    };
  }
  if (entry) {
    const how = `${unmatched}, and deriving one from its renders failed (${derived.reason})`;
    return entry.model === AUTO_CONVERSION
      ? fromEntry("ollama-utils-converted", "ollama-utils' conversion of the chat template", [`${how}; TEMPLATE is ollama-utils' conversion: check it`], false)
      : fromEntry("ollama-library-by-tokens", `Ollama's template for ${entry.model} (a guess from special tokens)`, [`${how}; TEMPLATE is that guess: check it`], false);
  }
  return {
    source: "none",
    stops: [],
    parameters: {},
    supportsSystem: false,
    description: "none: the chat template could not be converted",
    warnings: [
      `${unmatched}, and deriving one from its renders failed (${derived.reason}); no TEMPLATE is written, so Ollama passes prompts through unchanged: ` +
        "write a TEMPLATE by hand (https://github.com/ollama/ollama/blob/main/docs/template.md)",
    ],
  };
}

function specialTokenList(entry: OllamaChatTemplateMapEntry): string {
  return entry.ollama.tokens.join(", ");
}

function numberOrStringValues(values: Record<string, unknown>): Record<string, number | string> {
  const result: Record<string, number | string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "number" || typeof value === "string") result[name] = value;
  }
  return result;
}
