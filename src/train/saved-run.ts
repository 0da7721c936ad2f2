// A run's settings and progress, read back from the files it writes beside its adapter: to show them
// again (a form's saved settings) or to continue it where it stopped. training.json is written when
// a run finishes; checkpoint.gguf every checkpointInterval steps and when it is stopped, so it is the
// newer of the two whenever both exist.
import { readFile, stat } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { readCheckpointSummary } from "./checkpoint.js";
import { RUN_FILE_NAMES } from "./run-outputs.js";
import type { MetricsRecord } from "./train.js";
import type { ResolvedTrainConfig, TrainOptions } from "./train-options.js";

/** The options of train() that a file can hold (no signal or callbacks). */
export type SavedTrainOptions = Omit<TrainOptions, "signal" | "onProgress" | "onWarning">;

export interface SavedTrainingRun {
  /** The options the run was started with, resolved (every default written out), with `output` the adapter asked about. */
  options: SavedTrainOptions;
  /** Which file they were read from. */
  source: "checkpoint" | "training.json";
  /** The checkpoint to resume from, when there is one. */
  checkpoint?: { path: string; step: number };
  /** Whether training.json is there: the run finished (possibly before a later, unfinished run with force). */
  finished: boolean;
  /** metrics.jsonl's records, up to the checkpoint's step when there is a checkpoint. */
  metrics: MetricsRecord[];
}

/**
 * Reads the run that wrote (or is writing) the adapter `output`: its options from checkpoint.gguf
 * (the newer) or training.json, and its metrics. E_INPUT_NOT_FOUND when neither file is beside it.
 */
export async function readTrainingRun(output: string): Promise<SavedTrainingRun> {
  const where = "readTrainingRun";
  if (typeof output !== "string" || output === "") throw new LoraGgufError("E_INVALID_OPTION", `${where}: output must be a non-empty string`);
  const directory = path.dirname(path.resolve(output));
  const file = (name: string) => path.join(directory, name);
  const checkpointPath = file(RUN_FILE_NAMES.checkpoint);
  const finishedPath = file(RUN_FILE_NAMES.trainingConfig);
  const [hasCheckpoint, finished] = await Promise.all([isFile(checkpointPath), isFile(finishedPath)]);

  let config: ResolvedTrainConfig;
  let checkpoint: SavedTrainingRun["checkpoint"];
  if (hasCheckpoint) {
    const summary = await readCheckpointSummary(checkpointPath);
    config = JSON.parse(summary.configJson) as ResolvedTrainConfig;
    checkpoint = { path: checkpointPath, step: summary.step };
  } else if (finished) {
    config = await readFinishedConfig(where, finishedPath);
  } else {
    throw new LoraGgufError(
      "E_INPUT_NOT_FOUND",
      `${where}: neither ${RUN_FILE_NAMES.checkpoint} nor ${RUN_FILE_NAMES.trainingConfig} is in ${directory}; it holds no training run`,
    );
  }
  const metrics = await readMetrics(file(RUN_FILE_NAMES.metrics));
  return {
    options: savedOptions(config, output),
    source: hasCheckpoint ? "checkpoint" : "training.json",
    checkpoint,
    finished,
    metrics: checkpoint ? metrics.filter((record) => record.step <= checkpoint.step) : metrics,
  };
}

/** The resolved configuration as train() options: they resolve to the same configuration again. */
function savedOptions(config: ResolvedTrainConfig, output: string): SavedTrainOptions {
  const { gpuLayers, ...rest } = config;
  // the resolved form of gpuLayers "all" is llama.cpp's -1
  return { ...rest, output, gpuLayers: gpuLayers < 0 ? "all" : gpuLayers };
}

async function readFinishedConfig(where: string, file: string): Promise<ResolvedTrainConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new LoraGgufError("E_BAD_CHECKPOINT", `${where}: ${file} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const config = (parsed as { config?: unknown } | null)?.config;
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new LoraGgufError("E_BAD_CHECKPOINT", `${where}: ${file} has no "config" object; it is not a training.json a run wrote`);
  }
  return config as ResolvedTrainConfig;
}

async function readMetrics(file: string): Promise<MetricsRecord[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  const records: MetricsRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    // a line cut by a crash mid-append is left out, as a resumed run rewrites the file from its checkpoint
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch {
      continue;
    }
  }
  return records;
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isFile(),
    () => false,
  );
}
