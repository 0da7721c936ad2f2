// The workspace's files the pages offer as choices, from GET /api/models and GET /api/datasets.
import { getJson } from "./api.js";

/** GGUF base models and adapters (paths), every GGUF with inspect's facts, and Hugging Face folders to convert. */
export async function listWorkspaceModels() {
  const { models, checkpointDirectories } = await getJson("/api/models");
  const readable = models.filter((model) => !model.error);
  return {
    all: models,
    models: readable.filter((model) => model.kind === "model").map((model) => model.path),
    adapters: readable.filter((model) => model.kind === "adapter").map((model) => model.path),
    checkpointDirectories: checkpointDirectories.map((directory) => directory.path),
  };
}

/** Of `paths` (from a listWorkspaceModels() answer), the one modified last: the adapter just trained, most likely. */
export function newestOf(listed, paths) {
  const candidates = listed.all.filter((entry) => paths.includes(entry.path));
  return candidates.sort((a, b) => a.modified.localeCompare(b.modified)).at(-1)?.path;
}

/** The dataset files' paths. */
export async function listWorkspaceDatasets() {
  const { datasets } = await getJson("/api/datasets");
  return datasets.map((dataset) => dataset.path);
}
