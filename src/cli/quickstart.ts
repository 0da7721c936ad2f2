import type { Command } from "commander";

import { quickstart } from "../quickstart/quickstart.js";
import { integerValue } from "./option-values.js";
import { formatBytes, printJson, runAction } from "./output.js";
import { abortOnInterrupt, createProgressBar } from "./progress.js";

export function registerQuickstartCommand(program: Command): void {
  program
    .command("quickstart")
    .description("generate a demo model and dataset (or use --model), train a LoRA adapter, and show a before/after sample")
    .argument("[dir]", "where everything goes", "lora-gguf-quickstart")
    .option("--model <gguf>", "a real base model to fine-tune instead of the generated demo model")
    .option("--epochs <n>", "passes over the demo dataset (default 60 for the demo model, 3 for --model)", integerValue(1))
    .option("--threads <n>", "worker threads (default: all CPUs)", integerValue(1))
    .option("--json", "print the result as JSON")
    .action((dir: string, flags: { model?: string; epochs?: number; threads?: number; json?: boolean }) =>
      runAction(async () => {
        const log = (message: string) => {
          if (!flags.json) process.stderr.write(`lora-gguf: ${message}\n`);
        };
        const bar = createProgressBar("train", !flags.json);
        const interrupt = abortOnInterrupt();
        let lastReported = 0;
        try {
          const result = await quickstart({
            dir,
            model: flags.model,
            epochs: flags.epochs,
            threads: flags.threads,
            signal: interrupt.signal,
            onStep: log,
            onProgress: (progress) => {
              bar.update(progress.step, progress.totalSteps, `loss ${progress.loss.toFixed(3)}, ${progress.tokensPerSecond.toFixed(0)} tok/s`);
              // without a terminal, a line at every tenth of the run shows the loss falling
              if (!process.stderr.isTTY && !flags.json && progress.step >= lastReported + progress.totalSteps / 10) {
                lastReported = progress.step;
                log(`step ${progress.step}/${progress.totalSteps}: loss ${progress.loss.toFixed(3)}`);
              }
            },
          });
          bar.stop();
          if (flags.json) {
            printJson(result);
            return;
          }
          const { training } = result;
          const lines = [
            "",
            `loss ${training.firstLoss.toFixed(3)} -> ${training.finalLoss.toFixed(3)} over ${training.steps} steps (${training.tokensPerSecond.toFixed(0)} tok/s, ${training.seconds.toFixed(1)} s, peak ${formatBytes(training.peakRssBytes)})`,
            "",
            ...result.samples.flatMap((sample) => [
              `Q: ${sample.prompt}`,
              `   before: ${JSON.stringify(sample.before)}`,
              `   after:  ${JSON.stringify(sample.after)}   (merged q8_0 model; trained answer: ${JSON.stringify(sample.expected)})`,
            ]),
            "",
            `base model:  ${result.model}`,
            `dataset:     ${result.dataset}`,
            `adapter:     ${training.adapter}`,
            `also:        ${training.trainingConfig}, ${training.metrics}, ${training.lossPlot}, ${training.checkpoint}`,
            `merged:      ${result.merged.full}, ${result.merged.q8_0}, ${result.merged.q4_k_m}`,
            `Modelfile:   ${result.modelfile}`,
            "",
            `next: ${result.ollamaCreate}`,
            "",
          ];
          process.stdout.write(lines.join("\n"));
        } finally {
          bar.stop();
          interrupt.dispose();
        }
      }),
    );
}
