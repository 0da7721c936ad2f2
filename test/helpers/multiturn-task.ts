// A multi-turn task a tiny random model can learn in seconds: each conversation asks an item's
// colour, then another item's, after a system prompt.
import { writeFileSync } from "node:fs";

export const multiTurnSystem = "You name colours.";

const items = ["lamp", "river", "stone", "cloud", "apple", "chair", "window", "garden"];
const colours = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"];

export interface MultiTurnMessage {
  role: "user" | "assistant";
  content: string;
}

/** Two exchanges per conversation: an item's colour, then the colour of the item three on. */
export const multiTurnConversations: MultiTurnMessage[][] = items.map((item, index) => {
  const next = items[(index + 3) % items.length];
  return [
    { role: "user", content: `What colour is the ${item}?` },
    { role: "assistant", content: `The ${item} is ${colours[index]}.` },
    { role: "user", content: `And the ${next}?` },
    { role: "assistant", content: `The ${next} is ${colours[(index + 3) % items.length]}.` },
  ];
});

/** OpenAI-style `messages` JSONL, each conversation after the system prompt. */
export function writeMultiTurnJsonl(file: string, conversations: readonly MultiTurnMessage[][]): void {
  writeFileSync(file, conversations.map((turns) => JSON.stringify({ messages: [{ role: "system", content: multiTurnSystem }, ...turns] })).join("\n") + "\n");
}

/** Per conversation, the messages before each answer (the prompt at inference) and the answer. */
export function multiTurnPrompts(conversations: readonly MultiTurnMessage[][]): { messages: { role: "system" | "user" | "assistant"; content: string }[]; answer: string }[] {
  return conversations.flatMap((turns) =>
    [1, 3].map((answer) => ({ messages: [{ role: "system" as const, content: multiTurnSystem }, ...turns.slice(0, answer)], answer: turns[answer].content })),
  );
}
