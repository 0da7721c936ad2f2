import type { Command } from "commander";

import { modelFamilies } from "../arch/index.js";
import { convert } from "../convert/convert.js";
import { convertOutTypes, type ConvertOutType } from "../convert/tensor-encoding.js";
import { formatBytes, printJson, runAction } from "./output.js";
import { withTensorProgress } from "./progress.js";

interface ConvertFlags {
  output?: string;
  outtype: string;
  preTokenizer?: string;
  base?: string;
  force?: boolean;
  json?: boolean;
}

export function registerConvertCommand(program: Command): void {
  program
    .command("convert")
    .description(`convert a Hugging Face safetensors checkpoint (${modelFamilies.map((family) => family.ggufArchitecture).join(", ")}) to GGUF, without Python`)
    .argument("<dir>", "checkpoint directory: config.json, *.safetensors, tokenizer.json")
    .option("-o, --output <file>", "GGUF to write (default: <dir>/<name>-<outtype>.gguf)")
    .option("--outtype <type>", `matrix type: ${convertOutTypes.join(", ")} (auto keeps the checkpoint's)`, "auto")
    .option("--pre-tokenizer <name>", "llama.cpp pre-tokenizer name, for a tokenizer llama.cpp does not recognise")
    .option("--base <dir-or-gguf>", "for a PEFT adapter directory: its base model (Hugging Face directory or GGUF)")
    .option("-f, --force", "overwrite an existing output")
    .option("--json", "print the result as JSON")
    .action((dir: string, flags: ConvertFlags, command: Command) =>
      runAction(async () => {
        if (!(convertOutTypes as readonly string[]).includes(flags.outtype)) {
          command.error(`error: --outtype must be one of ${convertOutTypes.join(", ")}, got "${flags.outtype}"`, { exitCode: 2 });
        }
        const output = flags.output ?? `${dir.replace(/\/+$/, "")}/${dir.replace(/\/+$/, "").split("/").at(-1)}-${flags.outtype}.gguf`;
        const result = await withTensorProgress("convert", !flags.json, (signal, onProgress) =>
          convert(dir, output, {
            outType: flags.outtype as ConvertOutType,
            preTokenizer: flags.preTokenizer,
            base: flags.base,
            force: flags.force === true,
            signal,
            onProgress,
          }));
        if (flags.json) printJson(result);
        else {
          process.stdout.write(
            `wrote ${result.output}: ${result.kind === "adapter" ? `LoRA adapter for ${result.architecture} (r ${result.rank}, alpha ${result.alpha})` : result.architecture}, ` +
              `${result.tensorCount} tensors, ${formatBytes(result.outputBytes)}` +
              `${result.preTokenizer ? `, pre-tokenizer ${result.preTokenizer}` : ""}, in ${result.seconds.toFixed(2)} s\n`,
          );
        }
      }),
    );
}
