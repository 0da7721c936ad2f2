// Chat page: the base model and the adapter on the same prompt, through compareGenerations, framed by
// the model's chat template. The job's "text" events stream each generation as it comes (the base's
// first), and its result has both whole.
import type { Hono } from "hono";

import { compareGenerations, generate, type GenerateOptions } from "../index.js";
import { readJsonObject } from "./request-body.js";
import type { StudioContext } from "./studio-context.js";
import { resolveWorkspacePath, workspacePathOf, workspacePathsIn } from "./workspace-paths.js";

export function registerChatRoutes(app: Hono, { workspace, jobs }: StudioContext): void {
  app.post("/api/chat", async (c) => {
    const body = await readJsonObject(c, "studio chat", ["model", "adapter", "prompt", "maxTokens", "chat", "system", "temperature", "seed", "threads"]);
    const model = await resolveWorkspacePath(workspace, body.model, { mustExist: true, name: "model" });
    const adapter = body.adapter === undefined ? undefined : await resolveWorkspacePath(workspace, body.adapter, { mustExist: true, name: "adapter" });
    // generate() checks the rest; a chat page frames the prompt with the chat template unless told not to
    const options = { ...body, model, adapter, chat: body.chat ?? true } as GenerateOptions;
    const params = { model: workspacePathOf(workspace, model), adapter: adapter && workspacePathOf(workspace, adapter) };
    const job = jobs.start("generate", params, async ({ signal, emit }) => {
      const onTextChunk = (chunk: string, generation: "base" | "adapted") => emit({ type: "text", generation, chunk });
      // without an adapter, the base alone: a merged model tried on its own
      return workspacePathsIn(
        workspace,
        adapter === undefined ? { base: await generate({ ...options, signal, onTextChunk }) } : await compareGenerations({ ...options, adapter, signal, onTextChunk }),
      );
    });
    return c.json(job, 202);
  });
}
