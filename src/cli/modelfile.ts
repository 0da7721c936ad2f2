import { open } from "node:fs/promises";
import path from "node:path";

import { Option, type Command } from "commander";

import { LoraGgufError } from "../errors.js";
import { prepareAtomicOutput } from "../io/atomic-output.js";
import { buildModelfile, type ModelfileResult } from "../modelfile/build-modelfile.js";
import { THINKING_MODES, type ThinkingMode } from "../train/train-options.js";
import { printJson, runAction } from "./output.js";
import { shellQuote } from "./shell-quote.js";

interface ModelfileFlags {
  model: string;
  lora?: string;
  system?: string;
  parameter: string[];
  output?: string;
  force?: boolean;
  json?: boolean;
  thinking?: ThinkingMode;
  verify?: boolean;
}

export function registerModelfileCommand(program: Command): void {
  program
    .command("modelfile")
    .description("write an Ollama Modelfile for a GGUF model (and LoRA adapter): its chat template as TEMPLATE, stop tokens, sampling defaults")
    .requiredOption("--model <gguf>", "the model for FROM: a merged model, or the base with --lora")
    .option("--lora <adapter>", "a GGUF LoRA adapter for ADAPTER, applied by Ollama on top of --model")
    .option("--system <text>", "default system prompt (SYSTEM)")
    .option("--parameter <name=value>", "a PARAMETER over the defaults, e.g. temperature=0.2 or stop=END (repeatable)", collect, [])
    .option("-o, --output <file>", "Modelfile to write (FROM/ADAPTER relative to its directory); default: print it")
    .addOption(
      new Option("--thinking <mode>", "the chat template's enable_thinking as training used it: on, off, or auto for the adapter's recorded setting (default auto)").choices(THINKING_MODES),
    )
    .option("--verify", "print a sample conversation's prompt as training renders it and as Ollama renders TEMPLATE; exit 1, writing nothing, unless they are the same")
    .option("-f, --force", "overwrite an existing output")
    .option("--json", "print the result as JSON")
    .action((flags: ModelfileFlags, command: Command) =>
      runAction(async () => {
        const parameters: Record<string, number | string | string[]> = {};
        for (const spec of flags.parameter) {
          const match = /^([^=]+)=(.*)$/s.exec(spec);
          if (!match) command.error(`error: --parameter ${spec}: expected name=value`, { exitCode: 2 });
          const [, name, value] = match!;
          if (name === "stop") parameters.stop = [...((parameters.stop as string[] | undefined) ?? []), value];
          else parameters[name] = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value.trim()) ? Number(value) : value;
        }
        const output = flags.output === undefined ? undefined : path.resolve(flags.output);
        const result = await buildModelfile({
          model: flags.model,
          adapter: flags.lora,
          system: flags.system,
          parameters,
          relativeTo: output === undefined ? undefined : path.dirname(output),
          thinking: flags.thinking,
        });
        const failed = flags.verify ? verificationFailure(result, output) : undefined;
        if (output !== undefined && failed === undefined) {
          await writeModelfile(output, result.text, flags.force === true, [flags.model, ...(flags.lora ? [flags.lora] : [])]);
        }
        const createCommand = ollamaCreateCommand(flags.model, flags.output);

        if (flags.json) {
          printJson({ ...result, output: failed === undefined ? output : undefined, createCommand });
          if (failed) throw failed;
          return;
        }
        for (const warning of result.warnings) process.stderr.write(`lora-gguf: warning: ${warning}\n`);
        if (flags.verify) printVerification(result);
        if (failed) throw failed;
        if (output === undefined) {
          process.stdout.write(result.text);
          process.stderr.write(`save it as Modelfile, then run: ${createCommand}\n`);
        } else {
          process.stdout.write(`wrote ${output} (TEMPLATE: ${describeSource(result)}; ${result.stops.length} stop sequences)\n`);
          process.stdout.write(`next: ${createCommand}\n`);
        }
      }),
    );
}

/** --verify fails unless Ollama's prompt is the one training renders (a model without a chat template has nothing to compare). */
function verificationFailure(result: ModelfileResult, output: string | undefined): LoraGgufError | undefined {
  const verification = result.verification;
  if (verification === undefined || verification.same === true) return undefined;
  const problem =
    verification.same === false
      ? `${verification.summary}, so the fine-tune would be prompted unlike its training data`
      : `Ollama's prompt cannot be checked against training's (${verification.summary})`;
  return new LoraGgufError(
    "E_CHAT_TEMPLATE",
    `modelfile --verify: ${problem}; ${output === undefined ? "the Modelfile was not printed" : `${output} was not written`}: drop --verify to have it anyway`,
  );
}

function printVerification(result: ModelfileResult): void {
  if (result.verification === undefined) {
    process.stderr.write("verify: the model has no chat template: Ollama passes prompts through unchanged, as training renders plain text\n");
    return;
  }
  const { summary, trainingPrompt, ollamaPrompt } = result.verification;
  process.stderr.write(`verify: ${summary}\n--- prompt as training renders it ---\n${trainingPrompt}\n`);
  if (ollamaPrompt !== undefined && ollamaPrompt !== trainingPrompt) process.stderr.write(`--- prompt as Ollama renders TEMPLATE ---\n${ollamaPrompt}\n`);
  process.stderr.write("---\n");
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Writes the Modelfile atomically, refusing to replace an existing file without `force` or one of the `inputs`. */
export async function writeModelfile(output: string, text: string, force: boolean, inputs: string[]): Promise<void> {
  const target = await prepareAtomicOutput("modelfile", output, { force, inputs });
  try {
    const handle = await open(target.tempPath, "w");
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    await target.commit();
  } catch (error) {
    await target.discard();
    throw error instanceof LoraGgufError ? error : new LoraGgufError("E_OUTPUT_DIR", `modelfile: cannot write ${output}: ${(error as Error).message}`, { cause: error });
  }
}

function describeSource(result: ModelfileResult): string {
  switch (result.templateSource) {
    case "ollama-library":
      return `Ollama's template for ${result.ollamaModel}`;
    case "ollama-library-by-tokens":
      return `Ollama's template for ${result.ollamaModel}, guessed from special tokens`;
    case "ollama-utils-pattern":
      return "ollama-utils' template for the family";
    case "ollama-utils-converted":
      return "ollama-utils' conversion";
    case "derived-messages":
      return "derived from the chat template, multi-turn";
    case "derived":
      return "derived from the chat template, single-turn";
    case "none":
      return "none";
  }
}

/** The `ollama create` line for a Modelfile of `model` written to `modelfile` (default: "Modelfile", for one printed to be saved). */
export function ollamaCreateCommand(model: string, modelfile: string | undefined): string {
  return `ollama create ${ollamaModelName(model)} -f ${modelfile === undefined ? "Modelfile" : shellQuote(modelfile)}`;
}

/** Ollama model names are lower-case letters, digits, '.', '-' and '_'. */
function ollamaModelName(modelPath: string): string {
  const name = path
    .basename(modelPath)
    .replace(/\.gguf$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "");
  return name === "" ? "my-model" : name;
}
