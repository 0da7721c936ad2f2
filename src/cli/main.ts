#!/usr/bin/env node
import { Command, CommanderError } from "commander";

import { versionInfo } from "../version.js";
import { EXIT_USAGE } from "./output.js";

type Register = (program: Command) => void;

/**
 * Each command's module, in the order --help lists them. Only the command being run is loaded
 * (with everything it imports): a start then reads a few dozen modules instead of all ~150, which
 * is most of the time a failing or quick command takes. Help and unknown commands load them all.
 */
const commandModules: Record<string, () => Promise<Register>> = {
  quickstart: async () => (await import("./quickstart.js")).registerQuickstartCommand,
  convert: async () => (await import("./convert.js")).registerConvertCommand,
  merge: async () => (await import("./merge.js")).registerMergeCommand,
  quantize: async () => (await import("./quantize.js")).registerQuantizeCommand,
  inspect: async () => (await import("./inspect.js")).registerInspectCommand,
  train: async () => (await import("./train.js")).registerTrainCommand,
  "export-peft": async () => (await import("./export-peft.js")).registerExportPeftCommand,
  modelfile: async () => (await import("./modelfile.js")).registerModelfileCommand,
  generate: async () => (await import("./generate.js")).registerGenerateCommand,
  studio: async () => (await import("./studio.js")).registerStudioCommand,
};

const program = new Command("lora-gguf")
  .description("LoRA fine-tuning, conversion, merging and quantization of GGUF models, on llama.cpp, with no Python")
  .version(formatVersion(), "-v, --version", "print the lora-gguf version and the llama.cpp commit it is built from")
  .showHelpAfterError()
  // usage errors start with "lora-gguf:" as every other failure does (subcommands inherit this)
  .configureOutput({ outputError: (text, write) => write(`lora-gguf: ${text}`) })
  .exitOverride();

// `lora-gguf quantize --type list | head -1`: a reader that has all it wants is not an error
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

const requested = process.argv[2];
const registering = Object.hasOwn(commandModules, requested ?? "") ? [requested!] : Object.keys(commandModules);
for (const register of await Promise.all(registering.map((name) => commandModules[name]()))) register(program);

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
