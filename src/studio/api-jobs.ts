// The jobs every page starts: list, one job's summary, stop, and its events as server-sent events:
// the whole history first (or what follows Last-Event-ID, when an EventSource reconnects), then live
// events, closing after the job's "end" event.
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";

import { queryInteger } from "./request-body.js";
import type { StudioContext } from "./studio-context.js";

export function registerJobRoutes(app: Hono, { jobs, log }: StudioContext): void {
  app.get("/api/jobs", (c) => c.json({ jobs: jobs.list() }));

  app.get("/api/jobs/:id", (c) => c.json(jobs.get(c.req.param("id")).summary()));

  app.post("/api/jobs/:id/stop", (c) => c.json(jobs.stop(c.req.param("id")), 202));

  app.get("/api/jobs/:id/events", (c) => {
    const job = jobs.get(c.req.param("id"));
    const lastSeen = queryInteger("studio events", "Last-Event-ID", c.req.header("Last-Event-ID"));
    let next = lastSeen === undefined ? 0 : lastSeen + 1;
    return streamSSE(
      c,
      async (stream) => {
        let disconnected = false;
        let wakeOnDisconnect: (() => void) | undefined;
        stream.onAbort(() => {
          disconnected = true;
          wakeOnDisconnect?.();
        });
        while (!disconnected) {
          for (; next < job.events.length && !disconnected; next++) {
            const event = job.events[next];
            await stream.writeSSE({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
          }
          if (job.state !== "running" && next >= job.events.length) break;
          await Promise.race([job.nextEvent(), new Promise<void>((resolve) => (wakeOnDisconnect = resolve))]);
        }
      },
      async (error) => log(`events of job ${job.id}: ${error.stack ?? error.message}`),
    );
  });
}
