// A job's events as the studio streams them (GET /api/jobs/:id/events): the whole history first,
// then live events, then `end`. A page that reloads reattaches by finding its job in GET /api/jobs
// and following it again: the replayed history rebuilds what the page showed.
import { getJson } from "./api.js";

/** The event types of src/studio/jobs.ts (JobEventBody). */
const JOB_EVENT_TYPES = ["progress", "warning", "text", "metrics", "checkpoint", "result", "error", "end"];

/** Calls `onEvent` with each event's data ({ seq, time, type, ... }); returns a function that stops following. */
export function followJobEvents(jobId, onEvent) {
  const source = new EventSource(`/api/jobs/${encodeURIComponent(jobId)}/events`);
  for (const type of JOB_EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      // EventSource's own "error" (a dropped connection, which it retries with Last-Event-ID) has no data
      if (message.data === undefined) return;
      const event = JSON.parse(message.data);
      // the server closes the stream after `end`; closing first keeps EventSource from reconnecting
      if (event.type === "end") source.close();
      onEvent(event);
    });
  }
  return () => source.close();
}

/** The newest job of one of `kinds`, or undefined: a running one first, when `running` is asked for. */
export async function findLatestJob(kinds, { running = false } = {}) {
  const { jobs } = await getJson("/api/jobs");
  const ofKind = jobs.filter((job) => kinds.includes(job.kind) && (!running || job.state === "running"));
  return ofKind.sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1);
}
