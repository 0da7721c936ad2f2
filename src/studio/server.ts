// lora-gguf studio: a local web app over the public API, on 127.0.0.1 only, every request carrying a
// random access token, every path inside one workspace directory. Long jobs run in this process and
// outlive the pages that started them; close() stops them as Ctrl-C stops a CLI command.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";

import { DATASET_FORMATS, exportPeftTargets, LoraGgufError, quantizationTypes, trainableArchitectures, versionInfo } from "../index.js";
import { convertOutTypes } from "../convert/tensor-encoding.js";
import { optionalInteger } from "../validate.js";
import { accessCookieName, checkAccessToken, createAccessToken, requireAccessToken } from "./access-token.js";
import { registerChatRoutes } from "./api-chat.js";
import { registerDataRoutes } from "./api-data.js";
import { registerExportRoutes } from "./api-export.js";
import { registerJobRoutes } from "./api-jobs.js";
import { registerModelRoutes } from "./api-models.js";
import { registerTrainRoutes } from "./api-train.js";
import { errorResponse, type Log } from "./error-responses.js";
import { JobRegistry } from "./jobs.js";
import { registerStaticPages, securityHeaders } from "./static-pages.js";
import type { StudioContext } from "./studio-context.js";
import { openWorkspace } from "./workspace-paths.js";

/** Loopback only: a studio is for the machine it runs on (and an SSH tunnel to it), never the network. */
export const STUDIO_HOST = "127.0.0.1";
export const DEFAULT_STUDIO_PORT = 7860;

/** Request bodies are options, never files: far below this. */
const MAX_BODY_BYTES = 1 << 20;

export interface StudioOptions {
  /** The directory the studio reads and writes in. Default: the current directory. */
  workspace?: string;
  /** Default 7860; 0 picks a free port. */
  port?: number;
  /** The access token; default 32 random bytes as hex. */
  token?: string;
  /** Where unexpected errors are written (with their stacks). Default: stderr. */
  log?: Log;
}

export interface Studio {
  /** The address to open: it carries the token, which the first page load moves into a cookie. */
  url: string;
  token: string;
  /** The bound address: always 127.0.0.1. */
  address: { address: string; port: number };
  workspace: string;
  jobs: JobRegistry;
  /** Stops every running job (a training run saves its checkpoint), waits for them, and closes the server. */
  close(): Promise<void>;
}

export async function startStudio(options: StudioOptions = {}): Promise<Studio> {
  const where = "studio";
  const port = optionalInteger(where, "port", options.port, 0, 65_535) ?? DEFAULT_STUDIO_PORT;
  const token = options.token === undefined ? createAccessToken() : checkAccessToken(options.token);
  const log = options.log ?? ((message: string) => process.stderr.write(`lora-gguf studio: ${message}\n`));
  const workspace = await openWorkspace(options.workspace ?? process.cwd());
  const jobs = new JobRegistry(log);

  let app: Hono | undefined;
  // the node adapter would otherwise replace the process's global Request and Response, which are not only ours
  const server = createAdaptorServer({ fetch: (request, env) => app!.fetch(request, env), overrideGlobalObjects: false }) as Server;
  const address = await listen(server, port);
  app = studioApp({ workspace, jobs, log }, token, accessCookieName(address.port));

  let closing: Promise<void> | undefined;
  return {
    url: `http://${STUDIO_HOST}:${address.port}/?token=${token}`,
    token,
    address: { address: address.address, port: address.port },
    workspace: workspace.root,
    jobs,
    close: () =>
      (closing ??= (async () => {
        await jobs.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // event streams of ended jobs have closed; idle keep-alive connections would hold close() open
          server.closeAllConnections();
        });
      })()),
  };
}

function studioApp(studio: StudioContext, token: string, cookieName: string): Hono {
  const app = new Hono();
  app.onError((error, c) => errorResponse(c, error, studio.log));
  app.notFound((c) => errorResponse(c, new LoraGgufError("E_INPUT_NOT_FOUND", `studio: there is no ${c.req.path}`), studio.log));
  app.use("*", securityHeaders);
  app.use("*", requireAccessToken(token, cookieName, studio.log));
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorResponse(c, new LoraGgufError("E_INVALID_OPTION", `studio: the request body is over ${MAX_BODY_BYTES} bytes`), studio.log),
    }),
  );

  // what every page's forms offer
  app.get("/api/studio", (c) =>
    c.json({
      workspace: studio.workspace.root,
      version: versionInfo(),
      datasetFormats: DATASET_FORMATS,
      convertOutTypes,
      trainableArchitectures,
      quantizationTypes,
      exportPeftTargets,
    }),
  );
  registerModelRoutes(app, studio);
  registerDataRoutes(app, studio);
  registerTrainRoutes(app, studio);
  registerChatRoutes(app, studio);
  registerExportRoutes(app, studio);
  registerJobRoutes(app, studio);
  registerStaticPages(app);
  return app;
}

function listen(server: Server, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why =
        error.code === "EADDRINUSE" ? "is in use" : error.code === "EACCES" ? "needs privileges this process lacks" : `cannot be listened on (${error.message})`;
      reject(new LoraGgufError("E_INVALID_OPTION", `studio: port ${port} on ${STUDIO_HOST} ${why}; choose another with --port (port: 0 picks a free one)`, { cause: error }));
    };
    server.once("error", onError);
    server.listen(port, STUDIO_HOST, () => {
      server.off("error", onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
