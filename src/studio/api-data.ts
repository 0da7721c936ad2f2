// Data page: a dataset file's detected format and bad rows (file:line, as loadDataset reports them),
// and with a model, the preview train --preview prints (an example with its trained tokens marked,
// token statistics and a histogram of lengths against the context).
import { stat } from "node:fs/promises";
import path from "node:path";

import type { Hono } from "hono";

import { DATASET_FILE_EXTENSIONS, describeDatasetProblem, formatTrainingPreview, isLoraGgufError, loadDataset, previewTraining, type DatasetFormat, type TrainOptions } from "../index.js";
import { RUN_FILE_NAMES } from "../train/run-outputs.js";
import { errorJson } from "./error-responses.js";
import { queryBoolean, queryInteger, readQuery } from "./request-body.js";
import type { StudioContext } from "./studio-context.js";
import { findInWorkspace } from "./workspace-files.js";
import { readWorkspaceText, resolveWorkspacePath, workspacePathsIn } from "./workspace-paths.js";

export function registerDataRoutes(app: Hono, { workspace }: StudioContext): void {
  app.get("/api/datasets", async (c) => {
    const files = await findInWorkspace(workspace, {
      kind: "file",
      matches: async (name, absolute) => DATASET_FILE_EXTENSIONS.some((extension) => name.toLowerCase().endsWith(extension)) && !(await isTrainingRunFile(name, absolute)),
    });
    return c.json({ datasets: files.map(({ path, bytes, modified }) => ({ path, bytes, modified })) });
  });

  app.get("/api/data", async (c) => {
    const where = "studio data";
    const query = readQuery(c, where, ["path", "model", "format", "contextLength", "trainOnPrompt", "thinking", "chatTemplateFile"]);
    const data = await resolveWorkspacePath(workspace, query.path, { mustExist: true, name: "path" });
    const format = (query.format || undefined) as "auto" | DatasetFormat | undefined;
    // every bad row, listed instead of failing at the first
    const dataset = await loadDataset(data, { format, onBadRow: "skip" });
    const badRows = dataset.problems.map((problem) => ({ ...problem, description: describeDatasetProblem(problem) }));
    const summary = { path: data, format: dataset.format, rowCount: dataset.rowCount, usableRecords: dataset.conversations.length, badRows };
    if (query.model === undefined || query.model === "") return c.json(workspacePathsIn(workspace, summary));

    const model = await resolveWorkspacePath(workspace, query.model, { mustExist: true, name: "model" });
    const chatTemplate = query.chatTemplateFile ? await readWorkspaceText(workspace, query.chatTemplateFile, "chatTemplateFile") : undefined;
    try {
      const preview = await previewTraining({
        model,
        data,
        format,
        onBadRow: "skip",
        contextLength: queryInteger(where, "contextLength", query.contextLength),
        trainOnPrompt: queryBoolean(where, "trainOnPrompt", query.trainOnPrompt),
        thinking: (query.thinking || undefined) as TrainOptions["thinking"],
        chatTemplate,
      });
      const shown = workspacePathsIn(workspace, preview);
      return c.json(workspacePathsIn(workspace, { ...summary, preview: { ...shown, text: formatTrainingPreview(shown, { color: false }) } }));
    } catch (error) {
      // the rows are worth showing even when the model cannot render them (no chat template, ...)
      if (!isLoraGgufError(error)) throw error;
      return c.json(workspacePathsIn(workspace, { ...summary, previewError: errorJson(error) }));
    }
  });
}

/**
 * A run's metrics.jsonl, or its training.json (beside a metrics.jsonl, which every run writes from its
 * first step): JSON files a training run wrote, not datasets.
 */
async function isTrainingRunFile(name: string, absolute: string): Promise<boolean> {
  if (name === RUN_FILE_NAMES.metrics) return true;
  if (name !== RUN_FILE_NAMES.trainingConfig) return false;
  return (await stat(path.join(path.dirname(absolute), RUN_FILE_NAMES.metrics)).catch(() => undefined))?.isFile() === true;
}
