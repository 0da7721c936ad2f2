// An Ollama TEMPLATE in the multi-turn `.Messages` form, derived from the model's own Jinja chat
// template by rendering it around placeholder messages, and accepted only when Ollama's render of it
// (simulated here; test/modelfile-ollama.test.ts checks the simulation against Go's text/template)
// equals the chat template's render of every conversation in a set: one turn, two and three turns,
// each with and without a system message. Ollama executes a .Messages template once, with .System
// holding every system message and .Messages all messages (ollama/template/template.go).
import { compileChatTemplate, type TemplateMessage } from "../chat/chat-template.js";
import { renderPrompt } from "../chat/render-conversation.js";

const SYSTEM = "Q7SYSTEMQ7";
const USERS = ["Q7USERONEQ7", "Q7USERTWOQ7", "Q7USERTHREEQ7"];
const ANSWERS = ["Q7ANSWERONEQ7", "Q7ANSWERTWOQ7"];
const REASONING = "Q7REASONINGQ7";

/** The texts around the messages, cut from the chat template's renders. */
export interface MessagesTemplatePieces {
  /** Before the first user message when there is no system message (BOS, a default system prompt, the user header). */
  firstHead: string;
  /**
   * Where a system message goes, when the template takes one: before the first user message (the
   * text before and after it, up to that message's content), or into the last user message, just
   * before its content (Mistral Nemo: the text after it); undefined if the template takes none.
   */
  system?: { placement: "first"; before: string; after: string } | { placement: "last-user"; after: string };
  /** After a user message that the assistant answers, up to the answer. */
  userToAssistant: string;
  /** After the last user message: its end and the generation prompt. */
  generationPrompt: string;
  /** After an answer, up to the next user message. */
  assistantToUser: string;
  /**
   * An earlier answer's reasoning (Ollama's .Thinking): "dropped" where the chat template leaves it
   * out of history (Qwen3, DeepSeek, gpt-oss); where it writes it before the answer (Bielik, Laguna,
   * ...), the part of userToAssistant both renders share (`shared` characters) and the text around
   * the reasoning that replaces the rest; "other" where it writes it otherwise (TEMPLATE then leaves
   * it out, with a warning).
   */
  historyReasoning: "dropped" | "other" | { shared: number; before: string; after: string };
}

export type MessagesTemplateDerivation = { template: string; pieces: MessagesTemplatePieces } | { reason: string };

/**
 * The .Messages template for `chatTemplate`, or why there is none: the template fails to render, a
 * placeholder is not where one set of pieces can put it (the system prompt moves to the last user
 * message, earlier turns are rewritten), or a conversation of the set renders otherwise.
 * `bosToken` is "" when the runtime adds BOS itself, as Ollama does.
 */
export function deriveMessagesTemplate(
  chatTemplate: string,
  tokens: { bosToken: string; eosToken: string },
  templateVariables: Record<string, unknown> = {},
): MessagesTemplateDerivation {
  let template: ReturnType<typeof compileChatTemplate>;
  try {
    template = compileChatTemplate(chatTemplate);
  } catch (error) {
    return { reason: (error as Error).message };
  }
  // rendered as training renders prompts (the same fallbacks for tool-use templates, the same date, the same enable_thinking)
  const render = (messages: TemplateMessage[]): string => {
    const system = messages[0]?.role === "system" ? messages[0].content : undefined;
    const turns = messages
      .filter((message) => message.role !== "system")
      .map((message) => ({ role: message.role as "user" | "assistant", content: message.content, ...(message.reasoning_content === undefined ? {} : { reasoning: message.reasoning_content }) }));
    return renderPrompt(system === undefined ? { turns } : { system, turns }, { template, ...tokens, templateVariables });
  };
  const user = (index: number): TemplateMessage => ({ role: "user", content: USERS[index] });
  const answer = (index: number): TemplateMessage => ({ role: "assistant", content: ANSWERS[index] });

  let pieces: MessagesTemplatePieces;
  try {
    const one = cut(render([user(0)]), [USERS[0]]);
    if (one === undefined) return { reason: "the rendered prompt does not hold the user message exactly once" };
    const [firstHead, generationPrompt] = one;
    const two = cut(render([user(0), answer(0), user(1)]), [USERS[0], ANSWERS[0], USERS[1]]);
    if (two === undefined) return { reason: "a two-turn conversation does not render each message exactly once, in order" };
    const [twoHead, userToAssistant, assistantToUser, twoTail] = two;
    if (twoHead !== firstHead || twoTail !== generationPrompt) {
      return { reason: "the text before the first message or after the last one changes with the number of turns" };
    }
    pieces = { firstHead, generationPrompt, userToAssistant, assistantToUser, historyReasoning: historyReasoning(render, userToAssistant, assistantToUser, firstHead, generationPrompt) };
  } catch (error) {
    return { reason: (error as Error).message };
  }
  let placements: NonNullable<MessagesTemplatePieces["system"]>[] = [];
  try {
    const withSystem = cut(render([{ role: "system", content: SYSTEM }, user(0)]), [SYSTEM, USERS[0]]);
    if (withSystem !== undefined && withSystem[2] === pieces.generationPrompt) {
      placements = [{ placement: "first", before: withSystem[0], after: withSystem[1] }];
      // the system prompt written right before the user's text (Mistral Nemo, into the last user message)
      if (withSystem[0] === pieces.firstHead) placements.push({ placement: "last-user", after: withSystem[1] });
    }
  } catch {
    // a template that refuses system messages (raise_exception) gets none
  }

  // every conversation of the set, rendered both ways, with each placement of the system message in turn
  let reason: string | undefined;
  for (const system of placements.length > 0 ? placements : [undefined]) {
    const candidate = { ...pieces, system };
    reason = verify(candidate, render, user, answer);
    if (reason === undefined) return { template: messagesTemplate(candidate), pieces: candidate };
  }
  return { reason: reason! };
}

/** How the chat template writes an earlier answer's reasoning (see MessagesTemplatePieces.historyReasoning). */
function historyReasoning(
  render: (messages: TemplateMessage[]) => string,
  userToAssistant: string,
  assistantToUser: string,
  firstHead: string,
  generationPrompt: string,
): MessagesTemplatePieces["historyReasoning"] {
  let text: string;
  try {
    text = render([{ role: "user", content: USERS[0] }, { role: "assistant", content: ANSWERS[0], reasoning_content: REASONING }, { role: "user", content: USERS[1] }]);
  } catch {
    return "other";
  }
  if (!text.includes(REASONING)) return text === `${firstHead}${USERS[0]}${userToAssistant}${ANSWERS[0]}${assistantToUser}${USERS[1]}${generationPrompt}` ? "dropped" : "other";
  const parts = cut(text, [USERS[0], REASONING, ANSWERS[0], USERS[1]]);
  if (parts === undefined || parts[0] !== firstHead || parts[3] !== assistantToUser || parts[4] !== generationPrompt) return "other";
  // the answer's framing without reasoning (Laguna's "</think>") gives way to the reasoning block
  let shared = 0;
  while (shared < userToAssistant.length && userToAssistant[shared] === parts[1][shared]) shared++;
  return { shared, before: parts[1].slice(shared), after: parts[2] };
}

function verify(
  pieces: MessagesTemplatePieces,
  render: (messages: TemplateMessage[]) => string,
  user: (index: number) => TemplateMessage,
  answer: (index: number) => TemplateMessage,
): string | undefined {
  const conversations: TemplateMessage[][] = [[user(0)], [user(0), answer(0), user(1)], [user(0), answer(0), user(1), answer(1), user(2)]];
  for (const conversation of conversations) {
    const cases = pieces.system ? [conversation, [{ role: "system" as const, content: SYSTEM }, ...conversation]] : [conversation];
    for (const messages of cases) {
      let expected: string;
      try {
        expected = render(messages);
      } catch (error) {
        return (error as Error).message;
      }
      const actual = ollamaRender(pieces, messages);
      if (actual !== expected) return describeDifference(actual, expected, messages);
    }
  }
  return undefined;
}

/** `text` cut at each marker in order, each occurring exactly once: the texts before, between and after them. */
function cut(text: string, markers: readonly string[]): string[] | undefined {
  const parts: string[] = [];
  let from = 0;
  for (const marker of markers) {
    const at = text.indexOf(marker, from);
    if (at < 0 || text.indexOf(marker, at + marker.length) >= 0) return undefined;
    parts.push(text.slice(from, at));
    from = at + marker.length;
  }
  parts.push(text.slice(from));
  return parts;
}

/** What Ollama writes for `messages` with the derived template (the system message read as .System). */
export function ollamaRender(pieces: MessagesTemplatePieces, messages: readonly TemplateMessage[]): string {
  const system = messages.filter((message) => message.role === "system").map((message) => message.content).join("\n\n");
  const turns = messages.filter((message) => message.role !== "system");
  let text = "";
  let first = true;
  turns.forEach((message, index) => {
    const last = index === turns.length - 1;
    if (message.role === "user") {
      const placement = system !== "" ? pieces.system : undefined;
      if (first) text += placement?.placement === "first" ? `${placement.before}${system}${placement.after}` : pieces.firstHead;
      first = false;
      if (placement?.placement === "last-user" && last) text += `${system}${placement.after}`;
      const reasoning = pieces.historyReasoning;
      text += message.content + (last ? pieces.generationPrompt : typeof reasoning === "object" ? pieces.userToAssistant.slice(0, reasoning.shared) : pieces.userToAssistant);
    } else if (message.role === "assistant") {
      const reasoning = pieces.historyReasoning;
      if (typeof reasoning === "object") {
        const thinking = message.reasoning_content ?? "";
        text += thinking !== "" ? `${reasoning.before}${thinking}${reasoning.after}` : pieces.userToAssistant.slice(reasoning.shared);
      }
      text += message.content + (last ? "" : pieces.assistantToUser);
    }
  });
  return text;
}

/** Text for a Go template: "{{" would open an action, so it is written as an action printing "{{". */
export function goText(text: string): string {
  return text.replaceAll("{{", '{{ "{{" }}');
}

function messagesTemplate(pieces: MessagesTemplatePieces): string {
  const { system } = pieces;
  const head =
    system?.placement === "first"
      ? `{{ if $.System }}${goText(system.before)}{{ $.System }}${goText(system.after)}{{ else }}${goText(pieces.firstHead)}{{ end }}`
      : goText(pieces.firstHead);
  const reasoning = pieces.historyReasoning;
  const thinking =
    typeof reasoning === "object"
      ? `{{ if .Thinking }}${goText(reasoning.before)}{{ .Thinking }}${goText(reasoning.after)}{{ else }}${goText(pieces.userToAssistant.slice(reasoning.shared))}{{ end }}`
      : "";
  const userToAssistant = typeof reasoning === "object" ? pieces.userToAssistant.slice(0, reasoning.shared) : pieces.userToAssistant;
  const lastUserSystem = system?.placement === "last-user" ? `{{ if and $last $.System }}{{ $.System }}${goText(system.after)}{{ end }}` : "";
  return (
    "{{- $first := true }}" +
    "{{- range $i, $_ := .Messages }}" +
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}" +
    `{{- if eq .Role "user" }}{{ if $first }}${head}{{ $first = false }}{{ end }}${lastUserSystem}{{ .Content }}` +
    `{{ if $last }}${goText(pieces.generationPrompt)}{{ else }}${goText(userToAssistant)}{{ end }}` +
    `{{- else if eq .Role "assistant" }}${thinking}{{ .Content }}{{ if not $last }}${goText(pieces.assistantToUser)}{{ end }}` +
    "{{- end }}" +
    "{{- end }}"
  );
}

function describeDifference(actual: string, expected: string, messages: readonly TemplateMessage[]): string {
  let same = 0;
  while (same < expected.length && expected[same] === actual[same]) same++;
  const readable = (text: string) => {
    let result = text.replaceAll(SYSTEM, "{system}");
    USERS.forEach((marker, index) => (result = result.replaceAll(marker, `{user ${index + 1}}`)));
    ANSWERS.forEach((marker, index) => (result = result.replaceAll(marker, `{answer ${index + 1}}`)));
    return JSON.stringify(result);
  };
  const excerpt = (text: string) => readable(text.slice(Math.max(0, same - 20), same + 30));
  const turns = messages.filter((message) => message.role === "user").length;
  const withSystem = messages.some((message) => message.role === "system") ? " with a system message" : "";
  return `for ${turns} user turn${turns === 1 ? "" : "s"}${withSystem}, the chat template renders ${excerpt(expected)} where one set of per-message pieces gives ${excerpt(actual)}`;
}
