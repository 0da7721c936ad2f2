// The `lora-gguf train` command line that runs with given options, built from the train command's own
// flag definitions and TRAIN_OPTION_FLAGS, so that it names every flag as --help does.
import { Command, type Option } from "commander";

import type { SavedTrainOptions } from "../train/saved-run.js";
import { shellQuote } from "./shell-quote.js";
import { registerTrainCommand, TRAIN_OPTION_FLAGS } from "./train.js";

export interface TrainCommandOptions extends SavedTrainOptions {
  /** The file --chat-template reads; `chatTemplate` holds its text, which no flag takes. */
  chatTemplateFile?: string;
  resume?: string;
  checkpointInterval?: number;
  ignoreMemoryEstimate?: boolean;
}

/** What stands for a chat template known only by its text (a run resumed from its checkpoint). */
const CHAT_TEMPLATE_PLACEHOLDER = "<chat-template-file>";

/** train()'s options that are not TrainOptions take flags of the same names. */
const RUN_CONTROL_FLAGS = { resume: "resume", checkpointInterval: "checkpointInterval", ignoreMemoryEstimate: "ignoreMemoryEstimate" } as const;

let trainFlags: readonly Option[] | undefined;

/**
 * The command line, POSIX-shell quoted, with the paths as given (run it where they are relative to).
 * Options left at the flag's own default (--format auto) and ones no flag sets are left out.
 */
export function trainCommandLine(options: TrainCommandOptions): string {
  const optionOf: Record<string, keyof TrainCommandOptions> = { ...TRAIN_OPTION_FLAGS, ...RUN_CONTROL_FLAGS };
  const args = ["lora-gguf", "train"];
  for (const flag of flagDefinitions()) {
    const attribute = flag.attributeName();
    const long = flag.long!;
    if (attribute === "chatTemplate") {
      if (flag.negate && options.noChatTemplate === true) args.push(long);
      const file = options.chatTemplateFile ?? (options.chatTemplate === undefined ? undefined : CHAT_TEMPLATE_PLACEHOLDER);
      if (!flag.negate && file !== undefined) args.push(long, file);
      continue;
    }
    if (attribute === "skipBadRows") {
      if (options.onBadRow === "skip") args.push(long);
      continue;
    }
    const option = optionOf[attribute];
    // --dry-run, --preview, --json: what the command prints, not how it trains
    if (option === undefined) continue;
    const value = options[option];
    if (value === undefined || value === false || value === flag.defaultValue) continue;
    if (flag.isBoolean()) args.push(long);
    else args.push(long, flagValue(value));
  }
  return args.map((arg) => (arg === CHAT_TEMPLATE_PLACEHOLDER ? arg : shellQuote(arg))).join(" ");
}

/** A train() option's flag as --help describes it (the studio's form shows these as its hints). */
export interface TrainOptionFlag {
  /** "--rank <n>". */
  flags: string;
  description: string;
  choices?: readonly string[];
  boolean: boolean;
}

/** The flag of every train() option that has one of its own, by the option's name (rank, learningRate, ...). */
export function trainOptionFlags(): Record<string, TrainOptionFlag> {
  const optionOf: Record<string, string> = { ...TRAIN_OPTION_FLAGS, ...RUN_CONTROL_FLAGS };
  const described: Record<string, TrainOptionFlag> = {};
  for (const flag of flagDefinitions()) {
    const option = optionOf[flag.attributeName()];
    if (option === undefined || flag.negate) continue;
    described[option] = { flags: flag.flags, description: flag.description, choices: flag.argChoices, boolean: flag.isBoolean() };
  }
  return described;
}

function flagDefinitions(): readonly Option[] {
  if (trainFlags === undefined) {
    const program = new Command("lora-gguf");
    registerTrainCommand(program);
    trainFlags = program.commands.find((command) => command.name() === "train")!.options;
  }
  return trainFlags;
}

/** As the flag's parser reads it back: lists comma-joined (--layers 0,1,2, --targets q,v). */
function flagValue(value: unknown): string {
  return Array.isArray(value) ? value.join(",") : String(value);
}
