// Texts and llama.cpp test vectors that tokenizer agreement tests run through both Hugging Face's
// tokenizer and llama.cpp.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PRE_TOKENIZER_PROBE_TEXT } from "../../src/convert/tokenizer/index.js";
import { llamaSourceDir } from "../../src/testing/llama-source-dir.js";

/** Strings where tokenizers differ: whitespace runs, digits, scripts, emoji, code, contractions. */
export const AGREEMENT_TEXTS: readonly string[] = [
  "Hello world",
  " Hello world",
  "a  b   c    d     e",
  "trailing spaces   ",
  "\t\ttabs\tand\nnewlines\n\n\n  indented\n\t\n",
  "windows\r\nline\r\n\r\nends",
  "1234567890123456789 3.14159 1,000,000 007",
  "我想在apple工作1314151天～ 日本語のテキスト 한국어 텍스트",
  "🚀 (normal) 😶‍🌫️ 🦙🦙 👍🏽 🇫🇷 ✅",
  "Äpfel, café, naïve, Cửa Việt, Ελληνικά, нещо на Български, עברית, العربية",
  "function f(x) {\n\treturn x * 2; // double\n}\n\nif (a != b && c >= d) { print('it\\'s'); }",
  "    def g(self):\n        return [i**2 for i in range(10)]  # squares\n",
  "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
  "''''''```````\"\"\"\"......!!!!!!?????? ------=======",
  PRE_TOKENIZER_PROBE_TEXT,
];

/** The path of one of llama.cpp's vocabulary files (models/ggml-vocab-*.gguf). */
export function llamaCppVocabPath(file: string): string {
  return path.join(llamaSourceDir(), "models", file);
}

/** llama.cpp's tokenizer test vectors: the .inp texts and, by line, the ids Hugging Face's tokenizer gives them. */
export async function llamaCppTestVectors(file: string): Promise<Array<{ text: string; ids: number[] }>> {
  const inputs = (await readFile(`${llamaCppVocabPath(file)}.inp`, "utf8")).split("\n__ggml_vocab_test__\n");
  if (inputs[inputs.length - 1] === "") inputs.pop();
  const outputs = (await readFile(`${llamaCppVocabPath(file)}.out`, "utf8")).split("\n");
  if (outputs[outputs.length - 1] === "") outputs.pop();
  if (outputs.length !== inputs.length) throw new Error(`${file}: ${inputs.length} texts but ${outputs.length} id lines`);
  return inputs.map((text, index) => ({ text, ids: outputs[index].trim() === "" ? [] : outputs[index].trim().split(" ").map(Number) }));
}
