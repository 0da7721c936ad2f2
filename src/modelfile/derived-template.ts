// An Ollama template derived from the model's own Jinja chat template by rendering it around
// placeholder messages, for chat templates ollama-utils does not recognise. The result is Ollama's
// single-turn form ({{ .System }}, {{ .Prompt }}, {{ .Response }}), which Ollama renders once per
// turn (ollama/template/template.go, Execute without .Messages), cutting the last turn after
// {{ .Response }}; rendering the same conversations both ways checks it.
import { compileChatTemplate, type TemplateMessage } from "../chat/chat-template.js";
import { goText } from "./messages-template.js";

const SYSTEM = "Q7SYSTEMQ7";
const USER = "Q7USERQ7";
const ANSWER = "Q7ANSWERQ7";
const FOLLOW_UP = "Q7FOLLOWUPQ7";

export interface DerivedTemplate {
  /** Go template text. */
  template: string;
  /** Whether the chat template takes a system message (else TEMPLATE has no {{ .System }}). */
  supportsSystem: boolean;
  /**
   * Where a two-turn conversation rendered by Ollama with `template` differs from the chat
   * template's own render (templates that treat earlier turns differently: thinking blocks dropped
   * from history, a system prompt moved to the last user message); undefined when they agree.
   */
  multiTurnDifference?: string;
}

/** The chat template's pieces around each placeholder, or a reason it cannot be cut that way. */
interface TemplatePieces {
  /** Text before the prompt in a one-message conversation (no system message). */
  userPrefix: string;
  /** Text from the prompt to where the reply starts (the generation prompt). */
  generationPrompt: string;
  /**
   * Text the template writes between the generation prompt and a reply it renders, but that the
   * model generates itself (Mistral's " " before the reply): written only when there is a reply.
   */
  replyLead: string;
  /** Text after a reply (the end-of-turn marker and what follows it). */
  turnEnd: string;
  /** Text before and after the system message when one precedes the prompt. */
  system?: { prefix: string; suffix: string };
}

/**
 * Derives the Ollama template, or returns the reason it cannot (the chat template fails to render,
 * or places the messages in a way one {{ .Prompt }}/{{ .Response }} template cannot express).
 * `bosToken` is "" when the runtime adds BOS itself (add_bos_token), as Ollama does: a template
 * that wrote it too would double it.
 */
export function deriveOllamaTemplate(chatTemplate: string, tokens: { bosToken: string; eosToken: string }): DerivedTemplate | { reason: string } {
  let render: (messages: TemplateMessage[], addGenerationPrompt: boolean) => string;
  try {
    const compiled = compileChatTemplate(chatTemplate);
    render = (messages, addGenerationPrompt) =>
      compiled.render(
        { messages, bos_token: tokens.bosToken, eos_token: tokens.eosToken, add_generation_prompt: addGenerationPrompt },
        " while deriving an Ollama template",
      );
  } catch (error) {
    return { reason: (error as Error).message };
  }

  let pieces: TemplatePieces | string;
  try {
    pieces = cutTemplate(render);
  } catch (error) {
    return { reason: (error as Error).message };
  }
  if (typeof pieces === "string") return { reason: pieces };

  const template = goTemplate(pieces);
  let multiTurnDifference: string | undefined;
  try {
    multiTurnDifference = compareTwoTurns(render, pieces);
  } catch (error) {
    multiTurnDifference = `the chat template fails on a two-turn conversation: ${(error as Error).message}`;
  }
  return { template, supportsSystem: pieces.system !== undefined, multiTurnDifference };
}

function cutTemplate(render: (messages: TemplateMessage[], addGenerationPrompt: boolean) => string): TemplatePieces | string {
  const prompt = render([{ role: "user", content: USER }], true);
  const [userPrefix, generationPrompt] = splitOnce(prompt, USER) ?? [];
  if (userPrefix === undefined || generationPrompt === undefined) return "the rendered prompt does not hold the user message exactly once";

  const answered = render(
    [
      { role: "user", content: USER },
      { role: "assistant", content: ANSWER },
    ],
    false,
  );
  const [beforeAnswer, turnEnd] = splitOnce(answered, ANSWER) ?? [];
  if (beforeAnswer === undefined || turnEnd === undefined) return "the rendered conversation does not hold the assistant message exactly once";
  const promptEnd = `${userPrefix}${USER}${generationPrompt}`;
  const replyLead = beforeAnswer.startsWith(promptEnd) ? beforeAnswer.slice(promptEnd.length) : "";

  let system: TemplatePieces["system"];
  try {
    const withSystem = render(
      [
        { role: "system", content: SYSTEM },
        { role: "user", content: USER },
      ],
      true,
    );
    const [prefix, rest] = splitOnce(withSystem, SYSTEM) ?? [];
    const [suffix, tail] = rest === undefined ? [] : (splitOnce(rest, USER) ?? []);
    // the system message must come before the prompt and leave the generation prompt as it was
    if (prefix !== undefined && suffix !== undefined && tail === generationPrompt) system = { prefix, suffix };
  } catch {
    // a template that refuses system messages (raise_exception) gets no {{ .System }}
  }
  return { userPrefix, generationPrompt, replyLead, turnEnd, system };
}

function splitOnce(text: string, marker: string): [string, string] | undefined {
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + marker.length) >= 0) return undefined;
  return [text.slice(0, at), text.slice(at + marker.length)];
}

function goTemplate(pieces: TemplatePieces): string {
  const { userPrefix, generationPrompt, replyLead, turnEnd, system } = pieces;
  let head = goText(userPrefix);
  if (system && system.suffix.endsWith(userPrefix)) {
    // the usual shape: a system block, then the same user header as without one
    const block = system.suffix.slice(0, system.suffix.length - userPrefix.length);
    head = `{{ if .System }}${goText(system.prefix)}{{ .System }}${goText(block)}{{ end }}${goText(userPrefix)}`;
  } else if (system) {
    head = `{{ if .System }}${goText(system.prefix)}{{ .System }}${goText(system.suffix)}{{ else }}${goText(userPrefix)}{{ end }}`;
  }
  // Ollama ends the last turn's render at {{ .Response }}, but keeps an {{ if }} before it (its pipe is not walked)
  const lead = replyLead === "" ? "" : `{{ if .Response }}${goText(replyLead)}{{ end }}`;
  return `${head}{{ .Prompt }}${goText(generationPrompt)}${lead}{{ .Response }}${goText(turnEnd)}`;
}

/** What Ollama renders with the derived template for one turn; the last turn stops after {{ .Response }}. */
function ollamaTurn(pieces: TemplatePieces, system: string, prompt: string, response: string | undefined): string {
  const head = system !== "" && pieces.system ? `${pieces.system.prefix}${system}${pieces.system.suffix}` : pieces.userPrefix;
  return `${head}${prompt}${pieces.generationPrompt}${response === undefined ? "" : `${pieces.replyLead}${response}${pieces.turnEnd}`}`;
}

/** Renders user, assistant, user (with and without a system message first) both ways; describes the first difference. */
function compareTwoTurns(render: (messages: TemplateMessage[], addGenerationPrompt: boolean) => string, pieces: TemplatePieces): string | undefined {
  const conversation: TemplateMessage[] = [
    { role: "user", content: USER },
    { role: "assistant", content: ANSWER },
    { role: "user", content: FOLLOW_UP },
  ];
  const cases: { label: string; system: string }[] = [{ label: "", system: "" }];
  if (pieces.system) cases.push({ label: " with a system message", system: SYSTEM });
  for (const { label, system } of cases) {
    const expected = render(system === "" ? conversation : [{ role: "system", content: system }, ...conversation], true);
    const actual = ollamaTurn(pieces, system, USER, ANSWER) + ollamaTurn(pieces, "", FOLLOW_UP, undefined);
    if (expected !== actual) {
      const readable = (text: string) =>
        text.replaceAll(SYSTEM, "{system}").replaceAll(USER, "{prompt}").replaceAll(ANSWER, "{response}").replaceAll(FOLLOW_UP, "{prompt 2}");
      return describeDifference(readable(actual), readable(expected), label);
    }
  }
  return undefined;
}

function describeDifference(actual: string, expected: string, label: string): string {
  let same = 0;
  while (same < expected.length && expected[same] === actual[same]) same++;
  const excerpt = (text: string) => JSON.stringify(text.slice(Math.max(0, same - 15), same + 25));
  return `in a two-turn chat${label}, Ollama's render differs from the chat template's at character ${same}: ${excerpt(actual)} instead of ${excerpt(expected)}`;
}
