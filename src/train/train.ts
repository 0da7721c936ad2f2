import { readFile } from "node:fs/promises";
import path from "node:path";

import { isLoraGgufError, LoraGgufError } from "../errors.js";
import { GgufValueType, stringEntry } from "../gguf/index.js";
import { loadNative, toLoraGgufError, type NativeBuildInfo, type NativeTrainer } from "../native.js";
import { initialAdapterTensors, writeAdapterGguf, type AdapterTensorData } from "./adapter-file.js";
import { estimateRunMemory } from "./dry-run.js";
import { formatBytes } from "./memory-estimate.js";
import { peakResidentBytes } from "./peak-resident-memory.js";
import { prepareTrainingRun, type PreparedRun } from "./prepare-run.js";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.js";
import { learningRateAt } from "./learning-rate-schedule.js";
import { findLoraTargetTensors } from "./lora-targets.js";
import { lossPlotSvg } from "./loss-plot.js";
import { prepareRunOutputs } from "./run-outputs.js";
import { resolveTrainOptions, type ResolvedTrainConfig, type TrainOptions } from "./train-options.js";
import type { TrainingWindow } from "./packing.js";
import type { TrainingPlan } from "./training-plan.js";
import { countSpanMethods } from "./training-samples.js";

export interface TrainResult {
  adapter: string;
  trainingConfig: string;
  metrics: string;
  lossPlot: string;
  checkpoint: string;
  steps: number;
  /** Mean loss per trained token over the first and the last optimizer step. */
  firstLoss: number;
  finalLoss: number;
  validationLoss?: number;
  trainedTokens: number;
  tokensPerSecond: number;
  seconds: number;
  contextLength: number;
  truncatedSamples: number;
  skippedSamples: string[];
  /** Rows of the dataset that were skipped (onBadRow: "skip"), as "file:line: problem". */
  skippedRows: string[];
  peakRssBytes: number;
  /** What the run went on with but a user should know (each also passed to onWarning when it arose). */
  warnings: string[];
}

export interface MetricsRecord {
  step: number;
  epoch: number;
  loss: number;
  learningRate: number;
  tokensPerSecond: number;
  trainedTokens: number;
  validationLoss?: number;
}

interface ResumeOptions {
  /** A checkpoint.gguf written by an earlier run with the same model and data. */
  resume?: string;
  /** Write checkpoint.gguf every this many optimizer steps (and when aborted). Default 100. */
  checkpointInterval?: number;
  /** Train even when the memory estimate says it will not fit. Default false. */
  ignoreMemoryEstimate?: boolean;
}

/**
 * LoRA fine-tuning of a GGUF model inside llama.cpp (patched: see patches/), on a native thread of
 * its own. Writes the adapter GGUF atomically, with training.json, metrics.jsonl, loss.svg and a
 * checkpoint.gguf beside it.
 */
export async function train(options: TrainOptions & ResumeOptions): Promise<TrainResult> {
  const { resume, checkpointInterval, ignoreMemoryEstimate, ...trainOptions } = options;
  const { config, signal, onProgress, onWarning } = resolveTrainOptions(trainOptions);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    onWarning?.(message);
  };
  const interval = checkpointInterval ?? 100;
  if (!Number.isInteger(interval) || interval < 1) throw new LoraGgufError("E_INVALID_OPTION", `train: checkpointInterval must be a positive integer`);
  signal?.throwIfAborted();

  const checkpoint = resume ? await readCheckpoint(resume) : undefined;
  const run = await prepareTrainingRun(config);
  if (checkpoint) checkCheckpointFits(checkpoint, run, resume!);
  const memory = estimateRunMemory(run);
  if (!memory.fits && !ignoreMemoryEstimate) {
    throw new LoraGgufError(
      "E_OOM_ESTIMATE",
      `train: this run needs about ${formatBytes(memory.totalBytes)} but ${formatBytes(memory.availableBytes)} is available. ` +
        `Try: ${memory.suggestions.join("; ")}. (ignoreMemoryEstimate / --ignore-memory-estimate trains anyway.)`,
    );
  }

  const outputs = await prepareRunOutputs("train", config.output, { force: config.force, resume, inputs: [config.model, config.data] });
  const { files } = outputs;
  const startStep = checkpoint?.step ?? 0;

  const native = await loadNative();
  const callerStack = new Error().stack;
  let trainer: NativeTrainer | undefined;
  const interrupt = () => trainer?.interrupt();
  const started = performance.now();
  try {
    const startTensors = checkpoint?.tensors ?? initialAdapterTensors(findLoraTargetTensors(run.header, run.config.targets, config.layers), config.rank, config.seed);
    await writeAdapterGguf(outputs.startAdapter, { architecture: run.architecture, alpha: config.alpha, tensors: startTensors });
    const metrics: MetricsRecord[] = checkpoint ? await readMetricsUpTo(files.metrics, checkpoint.step) : [];
    await outputs.writeWhole(files.metrics, metrics.map((record) => `${JSON.stringify(record)}\n`).join(""));

    trainer = await native
      .createTrainer({
        modelPath: config.model,
        adapterPath: outputs.startAdapter,
        contextLength: run.plan.contextLength,
        maxSequencesPerWindow: run.plan.maxSequencesPerWindow,
        threads: config.threads,
        windowsPerOptimizerStep: run.plan.windowsPerStep,
        gpuLayers: gpuLayersToUse(config.gpuLayers, native.buildInfo(), warn),
        ...memory.layout,
      })
      .catch((error: unknown) => {
        throw toLoraGgufError(error, callerStack);
      });
    // an abort stops the step in progress within a graph node; the checkpoint is then the last completed step's
    signal?.addEventListener("abort", interrupt, { once: true });
    if (signal?.aborted) interrupt();
    const interrupted = (error: unknown) => signal?.aborted === true && isLoraGgufError(error, "E_ABORTED");
    const parameters = await trainer.parameterNames();
    let restoreOptimizer = checkpoint
      ? { iter: checkpoint.optimizerIter, moments: checkpoint.tensors.map((tensor) => ({ name: tensor.name, m: tensor.adamwM, v: tensor.adamwV })) }
      : undefined;

    // each op the GPU backend could not run, once: it runs on the CPU, with copies both ways every step
    const reportedFallbacks = new Set<string>();
    const reportFallbacks = (ops: string[]) => {
      for (const op of ops.filter((entry) => !reportedFallbacks.has(entry))) {
        reportedFallbacks.add(op);
        warn(`train: ${op} runs on the CPU: the GPU backend has no kernel for it (its inputs are copied every step)`);
      }
    };
    const totalSteps = run.plan.stepCount;
    let trainedTokens = 0;
    let processedTokens = 0;
    let trainingSeconds = 0;
    let validationLoss: number | undefined;
    let completedSteps = startStep;
    let checkpointedStep = startStep;
    for (let step = startStep; step < totalSteps && !signal?.aborted; step++) {
      const learningRate = learningRateAt(step, { learningRate: config.learningRate, warmupSteps: config.warmupSteps, totalSteps, scheduler: config.scheduler });
      const stepStarted = performance.now();
      let lossSum = 0;
      let labelled = 0;
      try {
        for (const window of run.plan.stepWindows(step)) {
          const result = await trainer
            .step({
              ...windowInput(window),
              train: true,
              learningRate,
              beta1: config.adamBeta1,
              beta2: config.adamBeta2,
              eps: config.adamEpsilon,
              weightDecay: config.weightDecay,
              restoreOptimizer,
            })
            .catch((error: unknown) => {
              throw toLoraGgufError(error, callerStack);
            });
          restoreOptimizer = undefined;
          reportFallbacks(result.cpuFallbacks);
          lossSum += result.crossEntropySum;
          labelled += result.labelledTokens;
        }
      } catch (error) {
        if (interrupted(error)) break;
        throw error;
      }
      const stepSeconds = (performance.now() - stepStarted) / 1000;
      trainingSeconds += stepSeconds;
      trainedTokens += labelled;
      processedTokens += run.plan.windowsPerStep * run.plan.contextLength;
      const done = step + 1;
      const isLast = done === totalSteps;
      const evaluateNow = run.plan.validationWindowCount > 0 && (done % config.evalInterval === 0 || isLast);
      let stepValidationLoss: number | undefined;
      if (evaluateNow) {
        // an abort during validation keeps the step (its record has no validation loss)
        stepValidationLoss = await evaluate(trainer, run.plan).catch((error: unknown) => {
          if (interrupted(error)) return undefined;
          throw error;
        });
        validationLoss = stepValidationLoss ?? validationLoss;
      }
      const record: MetricsRecord = {
        step: done,
        epoch: run.plan.stepEpoch(step),
        loss: labelled > 0 ? lossSum / labelled : 0,
        learningRate,
        tokensPerSecond: (run.plan.windowsPerStep * run.plan.contextLength) / stepSeconds,
        trainedTokens: labelled,
        ...(stepValidationLoss !== undefined ? { validationLoss: stepValidationLoss } : {}),
      };
      metrics.push(record);
      await outputs.appendMetrics(`${JSON.stringify(record)}\n`);
      completedSteps = done;
      const elapsedSeconds = (performance.now() - started) / 1000;
      onProgress?.({
        step: done,
        totalSteps,
        epoch: record.epoch,
        loss: record.loss,
        learningRate,
        tokensPerSecond: record.tokensPerSecond,
        elapsedSeconds,
        etaSeconds: (trainingSeconds / (done - startStep)) * (totalSteps - done),
        validationLoss: record.validationLoss,
      });
      if (done % interval === 0 || isLast) {
        await saveCheckpoint(trainer, parameters, run, done, files.checkpoint);
        checkpointedStep = done;
      }
    }
    if (signal?.aborted) {
      // nothing trained since the start (or the last checkpoint) leaves the checkpoint there is
      if (completedSteps > checkpointedStep) await saveCheckpoint(trainer, parameters, run, completedSteps, files.checkpoint);
      throw signal.reason;
    }

    const finalTensors = await readAdapterTensors(trainer, parameters);
    await writeAdapterGguf(outputs.adapter.tempPath, {
      architecture: run.architecture,
      alpha: config.alpha,
      tensors: finalTensors,
      metadata: [
        stringEntry("general.name", path.basename(config.output, ".gguf")),
        stringEntry("adapter.lora.base_fingerprint", run.baseFingerprint),
        stringEntry("adapter.lora.base_identity", run.baseIdentity),
        stringEntry("adapter.lora.training_config", JSON.stringify(run.config)),
        { key: "adapter.lora.rank", type: GgufValueType.UINT32, value: config.rank },
      ],
    });
    await outputs.adapter.commit();
    await outputs.writeWhole(files.lossPlot, lossPlotSvg(metrics));
    const summary: TrainResult = {
      adapter: outputs.adapter.finalPath,
      ...files,
      steps: totalSteps,
      firstLoss: metrics[0]?.loss ?? NaN,
      finalLoss: metrics.at(-1)?.loss ?? NaN,
      validationLoss,
      trainedTokens,
      tokensPerSecond: trainingSeconds > 0 ? processedTokens / trainingSeconds : 0,
      seconds: (performance.now() - started) / 1000,
      contextLength: run.plan.contextLength,
      truncatedSamples: run.plan.truncatedSamples,
      skippedSamples: run.plan.skippedSamples,
      skippedRows: run.skippedRows,
      warnings,
      peakRssBytes: peakResidentBytes(),
    };
    await outputs.writeWhole(
      files.trainingConfig,
      `${JSON.stringify({ config: run.config, contextLength: run.plan.contextLength, chatSpans: countSpanMethods(run.samples), baseFingerprint: run.baseFingerprint, result: summary }, null, 2)}\n`,
    );
    return summary;
  } catch (error) {
    await outputs.adapter.discard();
    throw error;
  } finally {
    signal?.removeEventListener("abort", interrupt);
    await trainer?.close().catch(() => undefined);
    await outputs.discardStart();
  }
}

/** The layers to offload: none, with a warning, where the addon found no GPU. */
function gpuLayersToUse(requested: number, build: NativeBuildInfo, warn: (message: string) => void): number {
  if (requested === 0 || build.gpuDevices.length > 0) return requested;
  const asked = requested < 0 ? "all" : String(requested);
  const why = build.cuda
    ? "the CUDA backend found no GPU (no NVIDIA device or driver here)"
    : "this build of the addon has no GPU backend (build it with LORA_GGUF_CUDA=1)";
  warn(`train: gpuLayers ${asked} asked for a GPU, but ${why}; training on the CPU`);
  return 0;
}

function checkCheckpointFits(checkpoint: Awaited<ReturnType<typeof readCheckpoint>>, run: PreparedRun, file: string): void {
  if (checkpoint.baseFingerprint !== run.baseFingerprint) {
    throw new LoraGgufError("E_BAD_CHECKPOINT", `${file} was written for a different base model than ${run.config.model}`);
  }
  if (checkpoint.dataFingerprint !== run.dataFingerprint) {
    throw new LoraGgufError("E_BAD_CHECKPOINT", `${file} was written for different training data than ${run.config.data}`);
  }
  const saved = JSON.parse(checkpoint.configJson) as ResolvedTrainConfig;
  const differing = (Object.keys(saved) as (keyof ResolvedTrainConfig)[]).filter(
    // where the run computes is not what it computes: threads and GPU layers may differ on resume
    (key) => !["threads", "gpuLayers", "force", "output"].includes(key) && JSON.stringify(saved[key]) !== JSON.stringify(run.config[key]),
  );
  if (differing.length > 0) {
    throw new LoraGgufError("E_BAD_CHECKPOINT", `${file} was written with other options (${differing.join(", ")}); resume with the same options`);
  }
  if (checkpoint.step > run.plan.stepCount) {
    throw new LoraGgufError("E_BAD_CHECKPOINT", `${file} is at step ${checkpoint.step}, past this run's ${run.plan.stepCount} steps`);
  }
  // the same options name the same targets; an edited checkpoint may still lack some of them
  const expected = findLoraTargetTensors(run.header, run.config.targets, run.config.layers).flatMap((target) => [`${target.baseName}.lora_a`, `${target.baseName}.lora_b`]);
  const held = new Set(checkpoint.tensors.map((tensor) => tensor.name));
  const missing = expected.filter((name) => !held.has(name));
  const extra = [...held].filter((name) => !expected.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new LoraGgufError(
      "E_BAD_CHECKPOINT",
      `${file} does not hold this run's adapter tensors (${missing.length > 0 ? `missing ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""}` : ""}${missing.length > 0 && extra.length > 0 ? "; " : ""}${extra.length > 0 ? `not trained here: ${extra.slice(0, 3).join(", ")}` : ""}); resume from the checkpoint this run wrote`,
    );
  }
}

function windowInput(window: TrainingWindow) {
  return { tokens: window.tokens, labels: window.labels, positions: window.positions, seqIds: window.seqIds };
}

/** Mean loss per labelled token over the plan's validation windows, forward only; each is packed when it is evaluated. */
async function evaluate(trainer: NativeTrainer, plan: TrainingPlan): Promise<number> {
  let lossSum = 0;
  let labelled = 0;
  for (let index = 0; index < plan.validationWindowCount; index++) {
    const window = plan.validationWindow(index);
    const result = await trainer.step({ ...windowInput(window), train: false });
    lossSum += result.crossEntropySum;
    labelled += result.labelledTokens;
  }
  return labelled > 0 ? lossSum / labelled : NaN;
}

async function readAdapterTensors(trainer: NativeTrainer, parameters: { name: string; dims: [number, number] }[]): Promise<AdapterTensorData[]> {
  const tensors: AdapterTensorData[] = [];
  for (const parameter of parameters) {
    tensors.push({ name: parameter.name, dims: parameter.dims, data: await trainer.readTensor(parameter.name, "value") });
  }
  return tensors;
}

async function saveCheckpoint(trainer: NativeTrainer, parameters: { name: string; dims: [number, number] }[], run: PreparedRun, step: number, file: string) {
  const tensors = [];
  for (const parameter of parameters) {
    tensors.push({
      name: parameter.name,
      dims: parameter.dims,
      data: await trainer.readTensor(parameter.name, "value"),
      adamwM: await trainer.readTensor(parameter.name, "adamwM"),
      adamwV: await trainer.readTensor(parameter.name, "adamwV"),
    });
  }
  await writeCheckpoint(file, {
    step,
    optimizerIter: await trainer.optimizerIter(),
    configJson: JSON.stringify(run.config),
    baseFingerprint: run.baseFingerprint,
    dataFingerprint: run.dataFingerprint,
    architecture: run.architecture,
    alpha: run.config.alpha,
    tensors,
  });
}

async function readMetricsUpTo(file: string, step: number): Promise<MetricsRecord[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as MetricsRecord)
    .filter((record) => record.step <= step);
}
