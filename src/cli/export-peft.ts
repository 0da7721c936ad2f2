import type { Command } from "commander";

import { exportPeft, exportPeftTargets, type ExportPeftTarget } from "../export/export-peft.js";
import { formatBytes, printJson, runAction } from "./output.js";
import { abortOnInterrupt } from "./progress.js";

interface ExportPeftFlags {
  output: string;
  target?: string;
  base?: string;
  baseModelName?: string;
  force?: boolean;
  json?: boolean;
}

export function registerExportPeftCommand(program: Command): void {
  program
    .command("export-peft")
    .description("export a GGUF LoRA adapter as a PEFT adapter directory (adapter_config.json + adapter_model.safetensors)")
    .argument("<adapter>", "GGUF LoRA adapter (from train, or convert --base)")
    .requiredOption("-o, --output <dir>", "directory to write")
    .option("--target <platform>", `also meet a platform's limits and conventions: ${exportPeftTargets.join(", ")} (Workers AI)`)
    .option("--base <gguf-or-dir>", "the base model (GGUF or Hugging Face directory): needed for llama adapters of q/k; checks shapes")
    .option("--base-model-name <hf-id>", "base_model_name_or_path to write (default: from the adapter's metadata, else null)")
    .option("-f, --force", "write into an existing non-empty directory, replacing the adapter files")
    .option("--json", "print the result as JSON")
    .action((adapter: string, flags: ExportPeftFlags, command: Command) =>
      runAction(async () => {
        if (flags.target !== undefined && !(exportPeftTargets as readonly string[]).includes(flags.target)) {
          command.error(`error: --target must be one of ${exportPeftTargets.join(", ")}, got "${flags.target}"`, { exitCode: 2 });
        }
        const interrupt = abortOnInterrupt();
        try {
          const result = await exportPeft(adapter, flags.output, {
            target: flags.target as ExportPeftTarget | undefined,
            base: flags.base,
            baseModelName: flags.baseModelName,
            force: flags.force === true,
            signal: interrupt.signal,
          });
          if (flags.json) printJson(result);
          else {
            process.stdout.write(
              `wrote ${result.dir}: PEFT LoRA for ${result.architecture} (r ${result.rank}, alpha ${result.alpha}, ${result.targetModules.join(", ")}), ` +
                `${result.tensorCount} tensors, ${formatBytes(result.bytes)}` +
                `${result.modelType ? `, model_type ${result.modelType} for Cloudflare Workers AI` : ""}\n`,
            );
          }
        } finally {
          interrupt.dispose();
        }
      }),
    );
}
