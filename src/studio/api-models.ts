// Models page: the GGUFs in the workspace with inspect's facts, the Hugging Face checkpoint folders
// there are to convert, and the convert job.
import { readdir } from "node:fs/promises";

import type { Hono } from "hono";

import { convert, inspect, isLoraGgufError, type ConvertOptions } from "../index.js";
import { errorJson } from "./error-responses.js";
import { readJsonObject } from "./request-body.js";
import type { StudioContext } from "./studio-context.js";
import { findInWorkspace } from "./workspace-files.js";
import { resolveWorkspacePath, workspacePathOf, workspacePathsIn } from "./workspace-paths.js";

export function registerModelRoutes(app: Hono, { workspace, jobs }: StudioContext): void {
  app.get("/api/models", async (c) => {
    const files = await findInWorkspace(workspace, { kind: "file", matches: (name) => name.toLowerCase().endsWith(".gguf") });
    const models = await Promise.all(
      files.map(async (file) => {
        try {
          return { ...(await inspect(file.absolute)), path: file.path, modified: file.modified };
        } catch (error) {
          // one unreadable file is listed with why, not a failed page
          if (!isLoraGgufError(error)) throw error;
          return { path: file.path, fileBytes: file.bytes, modified: file.modified, error: errorJson(error) };
        }
      }),
    );
    const checkpointDirectories = await findInWorkspace(workspace, {
      kind: "directory",
      matches: async (_name, absolute) => isCheckpointDirectory(await readdir(absolute).catch(() => [])),
    });
    return c.json(workspacePathsIn(workspace, { models, checkpointDirectories: checkpointDirectories.map(({ path, modified }) => ({ path, modified })) }));
  });

  app.post("/api/convert", async (c) => {
    const where = "studio convert";
    const body = await readJsonObject(c, where, ["input", "output", "outType", "preTokenizer", "base", "force"]);
    const input = await resolveWorkspacePath(workspace, body.input, { mustExist: true, name: "input" });
    const output = await resolveWorkspacePath(workspace, body.output, { mustExist: false, name: "output" });
    const base = body.base === undefined ? undefined : await resolveWorkspacePath(workspace, body.base, { mustExist: true, name: "base" });
    // convert() checks the other options itself
    const options = { outType: body.outType, preTokenizer: body.preTokenizer, base, force: body.force } as ConvertOptions;
    const job = jobs.start("convert", { input: workspacePathOf(workspace, input), output: workspacePathOf(workspace, output) }, async ({ signal, progress }) =>
      workspacePathsIn(workspace, await convert(input, output, { ...options, signal, onProgress: progress })),
    );
    return c.json(job, 202);
  });
}

/** A Hugging Face model or PEFT adapter folder: a config and safetensors weights. */
function isCheckpointDirectory(names: string[]): boolean {
  return (names.includes("config.json") || names.includes("adapter_config.json")) && names.some((name) => name.endsWith(".safetensors"));
}
