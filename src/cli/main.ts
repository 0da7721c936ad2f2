#!/usr/bin/env node
import { Command, CommanderError } from "commander";

import { versionInfo } from "../version.js";
import { registerInspectCommand } from "./inspect.js";
import { EXIT_USAGE } from "./output.js";
import { registerConvertCommand } from "./convert.js";
import { registerExportPeftCommand } from "./export-peft.js";
import { registerGenerateCommand } from "./generate.js";
import { registerMergeCommand } from "./merge.js";
import { registerModelfileCommand } from "./modelfile.js";
import { registerQuantizeCommand } from "./quantize.js";
import { registerQuickstartCommand } from "./quickstart.js";
import { registerTrainCommand } from "./train.js";

const program = new Command("lora-gguf")
  .description("LoRA fine-tuning, conversion, merging and quantization of GGUF models, on llama.cpp, with no Python")
  .version(formatVersion(), "-v, --version", "print the lora-gguf version and the llama.cpp commit it is built from")
  .showHelpAfterError()
  // usage errors start with "lora-gguf:" as every other failure does (subcommands inherit this)
  .configureOutput({ outputError: (text, write) => write(`lora-gguf: ${text}`) })
  .exitOverride();

registerQuickstartCommand(program);
registerConvertCommand(program);
registerMergeCommand(program);
registerQuantizeCommand(program);
registerInspectCommand(program);
registerTrainCommand(program);
registerExportPeftCommand(program);
registerModelfileCommand(program);
registerGenerateCommand(program);

function formatVersion(): string {
  const info = versionInfo();
  const llama = info.llamaCommit
    ? `llama.cpp ${info.llamaCommit}${info.llamaPatches ? ` + patches ${info.llamaPatches}` : ""}${info.cuda ? ", CUDA" : ", CPU"}`
    : `native addon not loaded: ${info.nativeError}`;
  return `lora-gguf ${info.version} (${llama})`;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // help and version exit 0; every other commander error is a usage error
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
    // no command: commander printed the help on stderr, without saying why
    if (error.code === "commander.help" && error.exitCode !== 0) process.stderr.write("lora-gguf: error: give a command (listed above)\n");
  } else {
    throw error;
  }
}
