import type { Command } from "commander";

import { quantize } from "../quantize/quantize.js";
import { quantizationTypes } from "../quantize/types.js";
import { integerValue } from "./option-values.js";
import { formatBytes, printJson, runAction } from "./output.js";
import { withTensorProgress } from "./progress.js";

interface QuantizeFlags {
  type: string;
  threads?: number;
  force?: boolean;
  allowRequantize?: boolean;
  leaveOutputTensor?: boolean;
  pure?: boolean;
  json?: boolean;
}

export function registerQuantizeCommand(program: Command): void {
  program
    .command("quantize")
    .description("quantize or convert a GGUF model (f16, q8_0, q4_k_m, ...); --type list shows every type")
    .argument("[input]", "input GGUF model")
    .argument("[output]", "output GGUF file")
    .requiredOption("-t, --type <type>", "output type, case-insensitive (q4_k_m, q8_0, f16, ...), or 'list'")
    .option("--threads <n>", "worker threads (default: all CPUs)", integerValue(1))
    .option("-f, --force", "overwrite an existing output file")
    .option("--allow-requantize", "allow quantizing tensors that are already quantized")
    .option("--leave-output-tensor", "keep output.weight in its input type")
    .option("--pure", "use the type for every tensor, without llama.cpp's per-tensor mixes")
    .option("--json", "print the result as JSON")
    .action((input: string | undefined, output: string | undefined, flags: QuantizeFlags, command: Command) =>
      runAction(async () => {
        if (flags.type.toLowerCase() === "list") {
          printTypeList(flags.json === true);
          return;
        }
        if (!input || !output) command.error("error: quantize needs <input> and <output>", { exitCode: 2 });
        const result = await withTensorProgress("quantize", !flags.json, (signal, onProgress) =>
          quantize(input!, output!, {
            type: flags.type,
            threads: flags.threads,
            force: flags.force === true,
            allowRequantize: flags.allowRequantize === true,
            leaveOutputTensor: flags.leaveOutputTensor === true,
            pure: flags.pure === true,
            signal,
            onProgress,
          }));
        if (flags.json) {
          printJson(result);
        } else {
          process.stdout.write(
            `wrote ${result.output}: ${result.type}, ${result.tensorCount} tensors, ` +
              `${formatBytes(result.inputBytes)} -> ${formatBytes(result.outputBytes)} in ${result.seconds.toFixed(2)} s\n`,
          );
        }
      }),
    );
}

function printTypeList(json: boolean): void {
  if (json) {
    printJson(quantizationTypes.map(({ name, ftype, description, needsImatrix }) => ({ name: name.toLowerCase(), ftype, description, needsImatrix })));
    return;
  }
  const width = Math.max(...quantizationTypes.map((type) => type.name.length));
  for (const type of quantizationTypes) {
    const note = type.needsImatrix ? " (needs an importance matrix; not supported yet)" : "";
    process.stdout.write(`  ${type.name.toLowerCase().padEnd(width)}  ${type.description.trim()}${note}\n`);
  }
}
