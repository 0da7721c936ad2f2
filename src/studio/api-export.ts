// Export page: merge (adapters with scales), quantize, an Ollama Modelfile with its warnings and the
// `ollama create` line, and a PEFT export checked against a platform (Cloudflare Workers AI). The
// operations check their own options; the studio resolves the paths.
import path from "node:path";

import type { Hono } from "hono";

import { ollamaCreateCommand, writeModelfile } from "../cli/modelfile.js";
import { buildModelfile, exportPeft, LoraGgufError, merge, quantize, type ExportPeftOptions, type MergeOptions, type ModelfileOptions, type QuantizeOptions } from "../index.js";
import { readJsonObject } from "./request-body.js";
import type { StudioContext } from "./studio-context.js";
import { resolveWorkspacePath, workspacePathOf, workspacePathsIn } from "./workspace-paths.js";

export function registerExportRoutes(app: Hono, { workspace, jobs }: StudioContext): void {
  const input = (value: unknown, name: string) => resolveWorkspacePath(workspace, value, { mustExist: true, name });
  const output = (value: unknown, name = "output") => resolveWorkspacePath(workspace, value, { mustExist: false, name });
  const shown = (absolute: string) => workspacePathOf(workspace, absolute);

  app.post("/api/merge", async (c) => {
    const body = await readJsonObject(c, "studio merge", ["model", "adapters", "output", "type", "allowOtherBase", "threads", "force"]);
    if (!Array.isArray(body.adapters)) throw new LoraGgufError("E_INVALID_OPTION", "studio merge: adapters must be an array of { path, scale }");
    const adapters = await Promise.all(
      body.adapters.map(async (adapter: unknown, index) => {
        const given = (adapter ?? {}) as { path?: unknown; scale?: unknown };
        return { ...given, path: await input(given.path, `adapters[${index}].path`) };
      }),
    );
    const options = { ...body, model: await input(body.model, "model"), adapters, output: await output(body.output) } as MergeOptions;
    const job = jobs.start("merge", { output: shown(options.output) }, async ({ signal, progress }) =>
      workspacePathsIn(workspace, await merge({ ...options, signal, onProgress: progress })),
    );
    return c.json(job, 202);
  });

  app.post("/api/quantize", async (c) => {
    const body = await readJsonObject(c, "studio quantize", ["input", "output", "type", "threads", "force", "allowRequantize", "leaveOutputTensor", "pure"]);
    const { input: givenInput, output: givenOutput, ...rest } = body;
    const source = await input(givenInput, "input");
    const target = await output(givenOutput);
    const options = rest as unknown as QuantizeOptions;
    const job = jobs.start("quantize", { input: shown(source), output: shown(target) }, async ({ signal, progress }) =>
      workspacePathsIn(workspace, await quantize(source, target, { ...options, signal, onProgress: progress })),
    );
    return c.json(job, 202);
  });

  app.post("/api/modelfile", async (c) => {
    const body = await readJsonObject(c, "studio modelfile", ["model", "adapter", "system", "parameters", "thinking", "output", "force"]);
    const { output: written, force, ...options } = body;
    const model = await input(options.model, "model");
    const adapter = options.adapter === undefined ? undefined : await input(options.adapter, "adapter");
    const file = written === undefined ? undefined : await output(written);
    // FROM and ADAPTER relative to a written Modelfile, as Ollama resolves them; absolute in one only shown
    const result = await buildModelfile({ ...options, model, adapter, relativeTo: file === undefined ? undefined : path.dirname(file) } as ModelfileOptions);
    if (file !== undefined) await writeModelfile(file, result.text, force === true, [model, ...(adapter ? [adapter] : [])]);
    // the line is run in the workspace, as every path the studio shows is relative to it
    const createCommand = ollamaCreateCommand(shown(model), file === undefined ? undefined : shown(file));
    return c.json(workspacePathsIn(workspace, { ...result, output: file, createCommand }));
  });

  app.post("/api/export-peft", async (c) => {
    const body = await readJsonObject(c, "studio export-peft", ["adapter", "output", "target", "baseModelName", "base", "force"]);
    const { adapter: givenAdapter, output: givenOutput, ...rest } = body;
    const adapter = await input(givenAdapter, "adapter");
    const directory = await output(givenOutput);
    const options = { ...rest, base: rest.base === undefined ? undefined : await input(rest.base, "base") } as ExportPeftOptions;
    const job = jobs.start("export-peft", { adapter: shown(adapter), output: shown(directory) }, async ({ signal }) =>
      workspacePathsIn(workspace, await exportPeft(adapter, directory, { ...options, signal })),
    );
    return c.json(job, 202);
  });
}
