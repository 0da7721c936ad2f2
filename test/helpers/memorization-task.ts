// A task a tiny random model can visibly learn in seconds: answer a fixed question about each of a
// few dozen made-up items with that item's made-up colour.
import { writeFileSync } from "node:fs";

const items = ["lamp", "river", "stone", "cloud", "apple", "chair", "window", "garden", "bottle", "pencil", "mirror", "candle", "ladder", "basket", "kettle", "button"];
const colours = ["red", "blue", "green", "yellow", "purple", "orange", "black", "white"];

/** Mistral-style: the response and its </s> are the assistant span. */
export const instTemplate =
  "{{ bos_token }}{% for message in messages %}{% if message.role == 'user' %}[INST] {{ message.content }} [/INST]{% else %} {{ message.content }}{{ eos_token }}{% endif %}{% endfor %}";

export function memorizationExamples(count = items.length): { prompt: string; response: string }[] {
  return items.slice(0, count).map((item, index) => ({
    prompt: `What colour is the ${item}?`,
    response: `The ${item} is ${colours[(index * 5) % colours.length]}.`,
  }));
}

/** Writes the examples as OpenAI-style `messages` JSONL. */
export function writeMemorizationJsonl(file: string, count?: number): { prompt: string; response: string }[] {
  const examples = memorizationExamples(count);
  writeFileSync(
    file,
    examples.map(({ prompt, response }) => JSON.stringify({ messages: [{ role: "user", content: prompt }, { role: "assistant", content: response }] })).join("\n") + "\n",
  );
  return examples;
}

/** The prompt as the template renders it before the response (BOS is added by the tokenizer). */
export function renderedPrompt(prompt: string): string {
  return `[INST] ${prompt} [/INST]`;
}
