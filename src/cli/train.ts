import { readFile, stat } from "node:fs/promises";
import path from "node:path";

import { Option, type Command } from "commander";

import { DATASET_FORMATS, type DatasetFormat } from "../data/index.js";
import { LoraGgufError } from "../errors.js";
import { dryRunTraining, formatMemoryEstimate } from "../train/dry-run.js";
import { LEARNING_RATE_SCHEDULERS, type LearningRateScheduler } from "../train/learning-rate-schedule.js";
import { formatTrainingPreview, previewTraining } from "../train/preview.js";
import { train, type TrainResult } from "../train/train.js";
import { RECOMPUTE_MODES, THINKING_MODES, type RecomputeMode, type ThinkingMode, type TrainOptions, type TrainProgress } from "../train/train-options.js";
import { printJson, runAction } from "./output.js";
import { integerValue, layerCountValue, layerListValue, numberValue } from "./option-values.js";
import { abortOnInterrupt, createProgressBar } from "./progress.js";
import { shellQuote } from "./shell-quote.js";

interface TrainFlags {
  model: string;
  data: string;
  output?: string;
  format: "auto" | DatasetFormat;
  rank?: number;
  alpha?: number;
  targets?: string;
  layers?: number[];
  lr?: number;
  epochs?: number;
  maxSteps?: number;
  ctx?: number;
  batch?: number;
  gradAccum?: number;
  warmup?: number;
  scheduler?: LearningRateScheduler;
  weightDecay?: number;
  valSplit?: number;
  evalInterval?: number;
  seed?: number;
  threads?: number;
  recompute?: RecomputeMode;
  gpuLayers?: number | "all";
  thinking?: ThinkingMode;
  trainOnPrompt?: boolean;
  /** A template file, or false for --no-chat-template. */
  chatTemplate?: string | false;
  skipBadRows?: boolean;
  resume?: string;
  checkpointInterval?: number;
  ignoreMemoryEstimate?: boolean;
  force?: boolean;
  dryRun?: boolean;
  preview?: boolean;
  json?: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command("train")
    .description("fine-tune a LoRA adapter for a GGUF model on a dataset")
    .usage("--model <base.gguf> --data <data.jsonl> -o <adapter.gguf> [options]")
    .requiredOption("--model <file>", "base model GGUF (f32, f16, or quantized for QLoRA)")
    .requiredOption("--data <file>", "dataset: .jsonl, .json or .csv")
    .option("-o, --output <file>", "adapter GGUF to write; training.json, metrics.jsonl, loss.svg and checkpoint.gguf go beside it")
    .addOption(new Option("--format <format>", "dataset record format").choices(["auto", ...DATASET_FORMATS]).default("auto"))
    .option("--rank <n>", "LoRA rank r (default 16)", integerValue(1))
    .option("--alpha <x>", "LoRA alpha; updates are scaled by alpha/r (default 2*rank)", numberValue(0))
    .option("--targets <list>", "modules to adapt: comma list of q,k,v,o,gate,up,down (qkv,o,gate_up,down where fused, as phi3) (or q_proj, ...), or all-linear (default all-linear)")
    .option("--layers <list>", "only adapt these blocks, e.g. 0-3,8 (default all)", layerListValue)
    .option("--lr <x>", "peak learning rate (default 2e-4)", numberValue(0))
    .option("--epochs <n>", "passes over the data (default 1)", integerValue(1))
    .option("--max-steps <n>", "stop after this many optimizer steps", integerValue(1))
    .option("--ctx <n>", "tokens per window, a multiple of 256 (default: the longest sample, at most the model's context)", integerValue(1))
    .option("--batch <n>", "packed windows per micro-batch (default 1)", integerValue(1))
    .option("--grad-accum <n>", "micro-batches per optimizer step (default 1)", integerValue(1))
    .option("--warmup <n>", "warmup optimizer steps (default 0)", integerValue(0))
    .addOption(new Option("--scheduler <name>", "learning rate after warmup (default linear)").choices(LEARNING_RATE_SCHEDULERS))
    .option("--weight-decay <x>", "AdamW decoupled weight decay (default 0)", numberValue(0))
    .option("--val-split <x>", "fraction of samples held out for validation, 0 to 0.9 (default 0)", numberValue(0))
    .option("--eval-interval <n>", "evaluate the validation set every n steps and at the end (default 50)", integerValue(1))
    .option("--seed <n>", "seed for the adapter's initial weights and the data order (default 42)", integerValue(0))
    .option("--threads <n>", "worker threads (default: all CPUs)", integerValue(1))
    .option("--gpu-layers <n|all>", "layers to train on the GPU, from the last, or all (a LORA_GGUF_CUDA build; default 0: the CPU)", layerCountValue)
    .addOption(
      new Option("--recompute <mode>", "recompute each layer's activations in the backward pass to save memory; auto: when the run would not fit otherwise (default auto)").choices(
        RECOMPUTE_MODES,
      ),
    )
    .addOption(
      new Option("--thinking <mode>", "the chat template's enable_thinking (Qwen3 and others): on, off, or auto for the template's default (default auto)").choices(
        THINKING_MODES,
      ),
    )
    .option("--train-on-prompt", "learn the prompt tokens too, not only the responses")
    .option("--chat-template <file>", "a Jinja chat template file to use instead of the model's own")
    .option("--no-chat-template", "use no chat template (plain-text datasets only)")
    .option("--skip-bad-rows", "skip dataset rows that cannot be used (listed at the end) instead of stopping")
    .option("--resume <checkpoint>", "continue from a checkpoint.gguf written by an earlier run with the same options")
    .option("--checkpoint-interval <n>", "write checkpoint.gguf every n steps, and on Ctrl-C (default 100)", integerValue(1))
    .option("--ignore-memory-estimate", "train even if the memory estimate says it will not fit")
    .option("-f, --force", "overwrite an existing adapter and the run files beside it")
    .option("--dry-run", "load and plan everything, print the plan and memory estimate, train nothing")
    .option("--preview", "show the first example with its trained tokens marked, and token statistics; train nothing")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nCtrl-C stops the step in progress and saves the last completed step's checkpoint.gguf beside the adapter\n" +
        "(continue with --resume);\n" +
        "a second Ctrl-C exits at once.",
    )
    .action((flags: TrainFlags, command: Command) =>
      runAction(async () => {
        if (flags.preview && flags.dryRun) command.error("error: give --preview or --dry-run, not both", { exitCode: 2 });
        if (!flags.preview && !flags.output) command.error("error: required option '-o, --output <file>' not specified", { exitCode: 2 });
        const options = await trainOptionsFromFlags(flags);
        if (flags.preview) return printPreview(options, flags.json === true);
        if (flags.dryRun) return printDryRun(options, flags.json === true);
        return runTraining(options, flags);
      }),
    );
}

/**
 * The train() option each flag sets as it is, by the flag's attribute name (--grad-accum is gradAccum):
 * flags become options through it here, and options become a command line through it in
 * train-command-line.ts. --chat-template / --no-chat-template and --skip-bad-rows are not one to one.
 */
export const TRAIN_OPTION_FLAGS = {
  model: "model",
  data: "data",
  output: "output",
  format: "format",
  rank: "rank",
  alpha: "alpha",
  targets: "targets",
  layers: "layers",
  lr: "learningRate",
  epochs: "epochs",
  maxSteps: "maxSteps",
  ctx: "contextLength",
  batch: "batchSize",
  gradAccum: "gradientAccumulation",
  warmup: "warmupSteps",
  scheduler: "scheduler",
  weightDecay: "weightDecay",
  valSplit: "validationSplit",
  evalInterval: "evalInterval",
  seed: "seed",
  threads: "threads",
  recompute: "recompute",
  gpuLayers: "gpuLayers",
  thinking: "thinking",
  trainOnPrompt: "trainOnPrompt",
  force: "force",
} as const satisfies Partial<Record<keyof TrainFlags, keyof TrainOptions>>;

async function trainOptionsFromFlags(flags: TrainFlags): Promise<TrainOptions> {
  const options: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(TRAIN_OPTION_FLAGS)) options[option] = flags[flag as keyof typeof TRAIN_OPTION_FLAGS];
  return {
    ...(options as Omit<TrainOptions, "output">),
    output: flags.output ?? "",
    chatTemplate: typeof flags.chatTemplate === "string" ? await readChatTemplateFile(flags.chatTemplate) : undefined,
    noChatTemplate: flags.chatTemplate === false,
    onBadRow: flags.skipBadRows ? "skip" : "error",
  };
}

async function readChatTemplateFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read the chat template file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

async function printPreview(options: TrainOptions, json: boolean): Promise<void> {
  const preview = await previewTraining({ ...options, output: undefined });
  if (json) printJson(preview);
  else process.stdout.write(formatTrainingPreview(preview, { color: process.stdout.hasColors?.() === true }));
}

async function printDryRun(options: TrainOptions, json: boolean): Promise<void> {
  const plan = await dryRunTraining(options);
  if (json) {
    printJson(plan);
    return;
  }
  const { config } = plan;
  const rows: [string, string][] = [
    ["model", config.model],
    ["data", `${config.data}: ${plan.trainingSamples} samples for training, ${plan.validationSamples} for validation`],
    ["context", `${plan.contextLength} tokens per window, up to ${plan.maxSequencesPerWindow} samples packed in one`],
    ["steps", `${plan.totalSteps} (${count(config.epochs, "epoch")}${config.maxSteps === undefined ? "" : `, at most ${config.maxSteps}`}), ${count(plan.windowsPerStep, "window")} per step`],
    ["trained", `${plan.trainedTokensPerEpoch} tokens per epoch`],
    ["truncated", `${plan.truncatedSamples} samples longer than the context`],
    ["LoRA", `rank ${config.rank}, alpha ${config.alpha}, ${config.targets.join(",")}, layers ${config.layers?.join(",") ?? "all"}`],
    ["optimizer", `AdamW, lr ${config.learningRate} (${config.scheduler}, ${config.warmupSteps} warmup steps), weight decay ${config.weightDecay}`],
  ];
  process.stdout.write(`${rows.map(([label, value]) => `${label.padEnd(11)}${value}`).join("\n")}\n\n${formatMemoryEstimate(plan.memory)}\n`);
  reportSkipped([...plan.skippedRows, ...plan.skippedSamples]);
}

async function runTraining(options: TrainOptions, flags: TrainFlags): Promise<void> {
  const json = flags.json === true;
  const bar = createProgressBar("train", !json);
  const lines = !json && !process.stderr.isTTY ? progressLines() : undefined;
  const interrupt = abortOnInterrupt({
    message: "interrupted: stopping this step and saving the last completed step's checkpoint (Ctrl-C again to quit at once)",
    onInterrupt: () => bar.stop(),
  });
  let last: TrainProgress | undefined;
  try {
    const result = await train({
      ...options,
      resume: flags.resume,
      checkpointInterval: flags.checkpointInterval,
      ignoreMemoryEstimate: flags.ignoreMemoryEstimate,
      signal: interrupt.signal,
      onWarning: (message) => {
        bar.stop();
        process.stderr.write(`lora-gguf: warning: ${message}\n`);
      },
      onProgress: (progress) => {
        last = progress;
        if (!interrupt.signal.aborted) bar.update(progress.step, progress.totalSteps, describeProgress(progress));
        lines?.(progress);
      },
    });
    bar.stop();
    if (json) printJson(result);
    else process.stdout.write(formatTrainResult(result));
    reportLeftOut(result);
  } catch (error) {
    bar.stop();
    // train() rejects with the signal's reason once it has saved the checkpoint
    if (!interrupt.signal.aborted || error !== interrupt.signal.reason) throw error;
    await reportInterrupted(options.output, last);
  } finally {
    interrupt.dispose();
  }
}

function describeProgress(progress: TrainProgress): string {
  const validation = progress.validationLoss === undefined ? "" : ` | val ${progress.validationLoss.toFixed(4)}`;
  return `loss ${progress.loss.toFixed(4)}${validation} | ${Math.round(progress.tokensPerSecond)} tok/s | ETA ${formatDuration(progress.etaSeconds)}`;
}

/** Without a terminal: one line at the first step (of this run or of a resumed one) and at every tenth of the run. */
function progressLines(): (progress: TrainProgress) => void {
  let lastTenth: number | undefined;
  return (progress) => {
    const tenth = Math.floor((progress.step * 10) / progress.totalSteps);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    const validation = progress.validationLoss === undefined ? "" : `  val ${progress.validationLoss.toFixed(4)}`;
    process.stderr.write(
      `step ${progress.step}/${progress.totalSteps}  loss ${progress.loss.toFixed(4)}${validation}  ${Math.round(progress.tokensPerSecond)} tok/s\n`,
    );
  };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

function formatTrainResult(result: TrainResult): string {
  const validation = result.validationLoss === undefined ? "" : ` (validation ${result.validationLoss.toFixed(4)})`;
  const rows: [string, string][] = [
    ["adapter", result.adapter],
    ["loss", `${result.firstLoss.toFixed(4)} -> ${result.finalLoss.toFixed(4)}${validation}`],
    ["steps", `${result.steps} in ${result.seconds.toFixed(1)} s, ${Math.round(result.tokensPerSecond)} tok/s, context ${result.contextLength}`],
    ["files", result.trainingConfig],
    ["", result.metrics],
    ["", result.lossPlot],
    ["", result.checkpoint],
  ];
  return `${rows.map(([label, value]) => `${label.padEnd(10)}${value}`).join("\n")}\n`;
}

/** Truncated samples and skipped rows or samples, on stderr: they are warnings, not the result. */
function reportLeftOut(result: TrainResult): void {
  if (result.truncatedSamples > 0) {
    process.stderr.write(`lora-gguf: ${result.truncatedSamples} samples were cut to the context length (${result.contextLength}); --ctx raises it\n`);
  }
  reportSkipped([...result.skippedRows, ...result.skippedSamples]);
}

function reportSkipped(skipped: readonly string[]): void {
  if (skipped.length > 0) {
    const shown = skipped.slice(0, 5).map((line) => `  ${line}\n`).join("");
    process.stderr.write(`lora-gguf: skipped ${skipped.length} rows:\n${shown}${skipped.length > 5 ? `  ... and ${skipped.length - 5} more\n` : ""}`);
  }
}

async function reportInterrupted(output: string, last: TrainProgress | undefined): Promise<void> {
  process.exitCode = 1;
  const checkpoint = path.join(path.dirname(path.resolve(output)), "checkpoint.gguf");
  const saved = last !== undefined && (await stat(checkpoint).then((info) => info.isFile(), () => false));
  if (!saved) {
    process.stderr.write("lora-gguf: training stopped before its first step; nothing was saved\n");
    return;
  }
  process.stderr.write(
    `lora-gguf: training stopped at step ${last!.step}/${last!.totalSteps}; checkpoint saved to ${checkpoint}\n` +
      `continue with:\n  ${resumeCommand(checkpoint)}\n`,
  );
}

/** This command line with --resume pointing at the checkpoint (POSIX shell quoting). */
function resumeCommand(checkpoint: string): string {
  const args: string[] = [];
  const given = process.argv.slice(2);
  for (let index = 0; index < given.length; index++) {
    if (given[index] === "--resume") index++;
    else if (!given[index].startsWith("--resume=")) args.push(given[index]);
  }
  return ["lora-gguf", ...args, "--resume", checkpoint].map(shellQuote).join(" ");
}
