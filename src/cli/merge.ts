import type { Command } from "commander";

import { merge, type MergeAdapter } from "../merge/merge.js";
import { integerValue } from "./option-values.js";
import { formatBytes, printJson, runAction } from "./output.js";
import { withTensorProgress } from "./progress.js";

interface MergeFlags {
  model: string;
  lora: string[];
  output: string;
  type?: string;
  threads?: number;
  force?: boolean;
  json?: boolean;
  allowOtherBase?: boolean;
}

/** "adapter.gguf" or "adapter.gguf:0.5". */
function parseLora(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerMergeCommand(program: Command): void {
  program
    .command("merge")
    .description("merge LoRA adapters into their base model (W + scale·alpha/r·B·A), optionally quantizing the result")
    .requiredOption("--model <gguf>", "base model GGUF")
    .requiredOption("--lora <adapter[:scale]>", "a GGUF LoRA adapter, with an optional scale (repeatable)", parseLora)
    .requiredOption("-o, --output <gguf>", "merged model to write")
    .option("--type <type>", "quantize the merged model (q8_0, q4_k_m, ...; default: the base's types)")
    .option("--threads <n>", "worker threads (default: all CPUs)", integerValue(1))
    .option("--allow-other-base", "merge an adapter trained on another model of the same shapes (another encoding of the same model needs no flag)")
    .option("-f, --force", "overwrite an existing output")
    .option("--json", "print the result as JSON")
    .action((flags: MergeFlags, command: Command) =>
      runAction(async () => {
        const adapters: MergeAdapter[] = flags.lora.map((spec) => {
          const match = /^(.*?)(?::([^:]*))?$/.exec(spec)!;
          if (match[2] === undefined) return { path: spec };
          if (match[1] === "") command.error(`error: --lora ${spec}: give the adapter's path before ':'`, { exitCode: 2 });
          const scale = Number(match[2]);
          if (match[2].trim() === "" || !Number.isFinite(scale)) command.error(`error: --lora ${spec}: the scale after ':' must be a number`, { exitCode: 2 });
          return { path: match[1], scale };
        });
        const result = await withTensorProgress("merge", !flags.json, (signal, onProgress) =>
          merge({
            model: flags.model,
            adapters,
            output: flags.output,
            type: flags.type,
            threads: flags.threads,
            force: flags.force === true,
            allowOtherBase: flags.allowOtherBase === true,
            signal,
            onProgress,
          }));
        if (flags.json) printJson(result);
        else {
          for (const warning of result.warnings) process.stderr.write(`lora-gguf: note: ${warning}\n`);
          process.stdout.write(
            `wrote ${result.output}: ${result.mergedTensorCount} of ${result.tensorCount} tensors merged` +
              `${result.type ? `, quantized to ${result.type}` : ""}, ${formatBytes(result.outputBytes)} in ${result.seconds.toFixed(2)} s\n`,
          );
        }
      }),
    );
}
