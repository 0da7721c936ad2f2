import path from "node:path";

import type { Command } from "commander";

import { compareGenerations, generate, type GenerateResult } from "../generate/generate.js";
import { printJson, runAction } from "./output.js";
import { integerValue, numberValue } from "./option-values.js";
import { abortOnInterrupt } from "./progress.js";

interface GenerateFlags {
  model: string;
  lora?: string;
  chat?: boolean;
  system?: string;
  compare?: boolean;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  threads?: number;
  json?: boolean;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command("generate")
    .description("generate text with a GGUF model, optionally with a LoRA adapter; --compare shows the model with and without it")
    .argument("<prompt>", "the prompt (with --chat, the user message)")
    .requiredOption("--model <gguf>", "GGUF model")
    .option("--lora <adapter>", "GGUF LoRA adapter applied on top of the model")
    .option("--chat", "frame the prompt with the model's chat template, as one user message")
    .option("--system <text>", "a system message before the prompt (with --chat)")
    .option("--compare", "generate without and with --lora, and show both")
    .option("--max-tokens <n>", "most tokens to generate (default 256)", integerValue(1))
    .option("--temperature <x>", "sampling temperature; 0 is greedy (default 0)", numberValue(0))
    .option("--seed <n>", "sampling seed, for --temperature above 0", integerValue(0))
    .option("--threads <n>", "CPU threads (default: all CPUs)", integerValue(1))
    .option("--json", "print the result as JSON")
    .action((prompt: string, flags: GenerateFlags, command: Command) =>
      runAction(async () => {
        if (flags.compare && !flags.lora) command.error("error: --compare needs --lora", { exitCode: 2 });
        if (flags.system !== undefined && !flags.chat) command.error("error: --system needs --chat", { exitCode: 2 });
        const interrupt = abortOnInterrupt();
        try {
          const options = {
            model: flags.model,
            prompt,
            chat: flags.chat === true,
            system: flags.system,
            maxTokens: flags.maxTokens,
            temperature: flags.temperature,
            seed: flags.seed,
            threads: flags.threads,
            signal: interrupt.signal,
          };
          if (flags.compare) {
            const result = await compareGenerations({ ...options, adapter: flags.lora! });
            if (flags.json) printJson({ prompt, ...result });
            else {
              warn(result.adapted.warnings);
              process.stdout.write(sideBySide(`base: ${path.basename(flags.model)}`, result.base, `with ${path.basename(flags.lora!)}`, result.adapted));
              process.stdout.write(result.differ ? "the outputs differ\n" : "the outputs are the same\n");
            }
            return;
          }
          if (flags.json) {
            printJson(await generate({ ...options, adapter: flags.lora }));
            return;
          }
          // the text as it is generated, as llama.cpp's CLI prints it
          const stream = trimmedWriter((text) => process.stdout.write(text));
          const result = await generate({ ...options, adapter: flags.lora, onTextChunk: stream.write });
          process.stdout.write("\n");
          warn(result.warnings);
          process.stderr.write(`(${describeStop(result)})\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );
}

/** Writes a text that comes in chunks with its leading and trailing whitespace left out (a detokenizer's leading space, a last newline). */
function trimmedWriter(write: (text: string) => void): { write(chunk: string): void } {
  let started = false;
  let heldWhitespace = "";
  return {
    write(chunk) {
      const text = heldWhitespace + (started ? chunk : chunk.trimStart());
      if (text === "") return;
      started = true;
      const kept = text.trimEnd();
      heldWhitespace = text.slice(kept.length);
      if (kept !== "") write(kept);
    },
  };
}

function warn(warnings: readonly string[]): void {
  for (const warning of warnings) process.stderr.write(`lora-gguf: warning: ${warning}\n`);
}

function describeStop(result: GenerateResult): string {
  const why = { "end-of-generation": "ended its turn", "max-tokens": "stopped at --max-tokens", context: "stopped at the end of the context" }[result.stopReason];
  return `${result.generatedTokens} tokens, ${why}, ${result.tokensPerSecond.toFixed(1)} tokens/s`;
}

/** Two outputs in columns, each wrapped to half the terminal (100 columns when not a terminal). */
function sideBySide(leftTitle: string, left: GenerateResult, rightTitle: string, right: GenerateResult): string {
  const width = Math.max(40, process.stdout.columns ?? 100);
  const column = Math.floor((width - 3) / 2);
  const lines = (title: string, result: GenerateResult) => [
    title,
    "-".repeat(Math.min(column, title.length)),
    ...wrap(result.text.trim(), column),
    ...wrap(`(${describeStop(result)})`, column),
  ];
  const leftLines = lines(leftTitle, left);
  const rightLines = lines(rightTitle, right);
  const rows: string[] = [];
  for (let row = 0; row < Math.max(leftLines.length, rightLines.length); row++) {
    rows.push(`${(leftLines[row] ?? "").slice(0, column).padEnd(column)} | ${(rightLines[row] ?? "").slice(0, column)}`.trimEnd());
  }
  return `${rows.join("\n")}\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/(\s+)/)) {
      if (line.length + word.length > width && line.trim() !== "") {
        lines.push(line.trimEnd());
        line = word.trimStart();
      } else {
        line += word;
      }
      while (line.length > width) {
        lines.push(line.slice(0, width));
        line = line.slice(width);
      }
    }
    lines.push(line.trimEnd());
  }
  return lines;
}
