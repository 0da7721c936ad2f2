// Train page: the options' flags and help, the memory estimate before a start, the equivalent
// `lora-gguf train` command, the training job (one at a time) with its progress, stop with a
// checkpoint, resume, and a run's saved settings read back from the files beside its adapter
// (checkpoint.gguf, training.json).
import { mkdir } from "node:fs/promises";
import path from "node:path";

import type { Hono } from "hono";

import { dryRunTraining, formatMemoryEstimate, LoraGgufError, readTrainingRun, train, type MetricsRecord, type TrainOptions, type TrainProgress } from "../index.js";
import { trainCommandLine, trainOptionFlags, type TrainCommandOptions } from "../cli/train-command-line.js";
import { requireOptionsObject } from "../validate.js";
import { readJsonObject, readQuery } from "./request-body.js";
import type { StudioContext } from "./studio-context.js";
import { readWorkspaceText, resolveWorkspacePath, workspacePathOf, workspacePathsIn, type Workspace } from "./workspace-paths.js";

/** train()'s arguments besides TrainOptions, which the studio passes on. */
interface RunControl {
  checkpointInterval?: number;
  ignoreMemoryEstimate?: boolean;
}

interface TrainRequest {
  options: TrainOptions;
  control: RunControl;
  /** The equivalent command line, with workspace paths (run it in the workspace). */
  command: string;
}

const where = "studio train";

export function registerTrainRoutes(app: Hono, studio: StudioContext): void {
  const { workspace } = studio;

  // the form's hints: each option's flag and --help text, which states its default
  app.get("/api/train/flags", (c) => c.json({ flags: trainOptionFlags() }));

  app.post("/api/train/command", async (c) => {
    const body = await readJsonObject(c, where, ["options"]);
    return c.json({ command: (await resolveTrainRequest(workspace, body.options, { outputRequired: false })).command });
  });

  app.post("/api/train/estimate", async (c) => {
    const body = await readJsonObject(c, where, ["options"]);
    const request = await resolveTrainRequest(workspace, body.options, { outputRequired: false });
    const plan = await dryRunTraining(request.options);
    return c.json({ ...workspacePathsIn(workspace, plan), memoryText: formatMemoryEstimate(plan.memory), command: request.command });
  });

  app.post("/api/train", async (c) => {
    const body = await readJsonObject(c, where, ["options"]);
    const request = await resolveTrainRequest(workspace, body.options, { outputRequired: true });
    return c.json(startTraining(studio, request), 202);
  });

  app.post("/api/train/resume", async (c) => {
    const body = await readJsonObject(c, where, ["output", "threads", "gpuLayers", "checkpointInterval", "ignoreMemoryEstimate"]);
    const output = await resolveWorkspacePath(workspace, body.output, { mustExist: false, name: "output" });
    const run = await readTrainingRun(output);
    if (run.checkpoint === undefined) {
      throw new LoraGgufError("E_INPUT_NOT_FOUND", `${where}: there is no checkpoint.gguf beside ${String(body.output)} to resume from; the run finished before checkpoints were written, or stopped before its first step`);
    }
    // the run's own inputs, which must still be in this workspace
    const options: TrainOptions = {
      ...run.options,
      model: await resolveWorkspacePath(workspace, run.options.model, { mustExist: true, name: "the run's model" }),
      data: await resolveWorkspacePath(workspace, run.options.data, { mustExist: true, name: "the run's data" }),
      output,
      // where the run computes may change on resume (train() compares the rest with the checkpoint's)
      ...(body.threads === undefined ? {} : { threads: body.threads as number }),
      ...(body.gpuLayers === undefined ? {} : { gpuLayers: body.gpuLayers as TrainOptions["gpuLayers"] }),
    };
    const control = { checkpointInterval: body.checkpointInterval as number | undefined, ignoreMemoryEstimate: body.ignoreMemoryEstimate as boolean | undefined };
    const resume = run.checkpoint.path;
    const command = trainCommandLine(workspacePathsIn(workspace, { ...options, ...control, resume }));
    return c.json(startTraining(studio, { options, control, command }, { resume, metrics: run.metrics }), 202);
  });

  app.get("/api/train/run", async (c) => {
    const query = readQuery(c, where, ["output"]);
    const output = await resolveWorkspacePath(workspace, query.output, { mustExist: false, name: "output" });
    const run = await readTrainingRun(output);
    return c.json({ ...workspacePathsIn(workspace, run), command: trainCommandLine(workspacePathsIn(workspace, run.options)) });
  });
}

/** The training job: progress per optimizer step; when stopped, the checkpoint it saved. */
function startTraining({ workspace, jobs }: StudioContext, request: TrainRequest, resumed?: { resume: string; metrics: MetricsRecord[] }) {
  const { options, control, command } = request;
  const params = { output: workspacePathOf(workspace, options.output), command, resumedFrom: resumed && workspacePathOf(workspace, resumed.resume) };
  const job = jobs.start("train", params, async ({ signal, progress, warning, emit }) => {
    if (resumed) emit({ type: "metrics", records: resumed.metrics });
    else await createRunDirectory(options.output);
    let lastStep: number | undefined;
    try {
      const result = await train({
        ...options,
        ...control,
        resume: resumed?.resume,
        signal,
        onWarning: warning,
        onProgress: (update: TrainProgress) => {
          lastStep = update.step;
          progress(update);
        },
      });
      return workspacePathsIn(workspace, result);
    } catch (error) {
      // train() saved the last completed step's checkpoint before rejecting, as on Ctrl-C
      if (signal.aborted && lastStep !== undefined) {
        const checkpoint = (await readTrainingRun(options.output).catch(() => undefined))?.checkpoint;
        if (checkpoint) emit({ type: "checkpoint", checkpoint: workspacePathOf(workspace, checkpoint.path), step: checkpoint.step });
      }
      throw error;
    }
  });
  return { ...job, command };
}

/**
 * A run gets a directory of its own (its run files have fixed names), which the page's form names
 * before it exists; train() creates none, so that a mistyped path on the command line fails instead.
 */
async function createRunDirectory(output: string): Promise<void> {
  const directory = path.dirname(output);
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    throw new LoraGgufError("E_OUTPUT_DIR", `${where}: cannot create the run's directory ${directory}: ${(error as Error).message}`, { cause: error });
  });
}

/**
 * A page's training options: TrainOptions as JSON, with workspace paths, the chat template as
 * `chatTemplateFile` (as the CLI's --chat-template), and train()'s checkpointInterval and
 * ignoreMemoryEstimate. Everything but the paths is train()'s to check.
 */
async function resolveTrainRequest(workspace: Workspace, raw: unknown, { outputRequired }: { outputRequired: boolean }): Promise<TrainRequest> {
  const given = requireOptionsObject(`${where}: options`, raw);
  if (given.resume !== undefined) throw new LoraGgufError("E_INVALID_OPTION", `${where}: resume a run with POST /api/train/resume { output }, not with options.resume`);
  if (given.chatTemplate !== undefined) {
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: give the chat template as chatTemplateFile, a file in the workspace (the CLI's --chat-template)`);
  }
  const { chatTemplateFile, checkpointInterval, ignoreMemoryEstimate, ...rest } = given;
  const model = await resolveWorkspacePath(workspace, given.model, { mustExist: true, name: "model" });
  const data = await resolveWorkspacePath(workspace, given.data, { mustExist: true, name: "data" });
  const output = given.output === undefined && !outputRequired ? undefined : await resolveWorkspacePath(workspace, given.output, { mustExist: false, name: "output" });
  const templateFile = chatTemplateFile === undefined ? undefined : await resolveWorkspacePath(workspace, chatTemplateFile, { mustExist: true, name: "chatTemplateFile" });
  const control: RunControl = { checkpointInterval: checkpointInterval as number | undefined, ignoreMemoryEstimate: ignoreMemoryEstimate as boolean | undefined };
  const commandOptions = { ...rest, ...control, model, data, output, chatTemplateFile: templateFile } as TrainCommandOptions;
  return {
    // a plan needs an output name, though it writes nothing
    options: {
      ...(rest as Partial<TrainOptions>),
      model,
      data,
      output: output ?? path.join(workspace.root, "adapter.gguf"),
      chatTemplate: templateFile === undefined ? undefined : await readWorkspaceText(workspace, templateFile, "chatTemplateFile"),
    },
    control,
    command: trainCommandLine(workspacePathsIn(workspace, commandOptions)),
  };
}
