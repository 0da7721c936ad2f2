// The studio's long jobs (convert, train, merge, ...), which outlive the page that started them: each
// keeps every event it emitted, in order, so a page that reloads gets the whole history and then the
// live events. Stopping a job aborts its AbortSignal, as Ctrl-C does in the CLI: train() then saves
// the last completed step's checkpoint before it rejects.
import { randomUUID } from "node:crypto";

import { isLoraGgufError } from "../errors.js";
import { StudioRequestError, errorJson, type ErrorJson, type Log } from "./error-responses.js";

export const JOB_KINDS = ["convert", "train", "merge", "quantize", "export-peft", "generate"] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobState = "running" | "done" | "failed" | "stopped";

/** What a job reports. */
export type JobEventBody =
  | { type: "progress"; progress: unknown }
  | { type: "warning"; message: string }
  /** Generated text as it comes: the base model's ("base") or the adapter's ("adapted"). */
  | { type: "text"; generation: "base" | "adapted"; chunk: string }
  /** Training metrics recorded before this job: a resumed run's earlier steps. */
  | { type: "metrics"; records: unknown[] }
  /** A stopped training run's checkpoint, to resume from. */
  | { type: "checkpoint"; checkpoint: string; step: number }
  | { type: "result"; result: unknown }
  | { type: "error"; error: ErrorJson }
  /** Always the last event. */
  | { type: "end"; state: Exclude<JobState, "running"> };

/** An event as kept, in the order it happened; `seq` counts from 0 (the SSE event id). */
export type JobEvent = { seq: number; time: string } & JobEventBody;

export interface JobSummary {
  id: string;
  kind: JobKind;
  state: JobState;
  /** What the job works on (its output, ...), as the request gave it. */
  params: Record<string, unknown>;
  startedAt: string;
  endedAt?: string;
  /** The latest progress event's payload. */
  progress?: unknown;
  eventCount: number;
}

export interface JobContext {
  signal: AbortSignal;
  progress(progress: unknown): void;
  warning(message: string): void;
  emit(event: JobEventBody): void;
}

class Job {
  readonly id = randomUUID();
  readonly startedAt = new Date().toISOString();
  readonly controller = new AbortController();
  readonly events: JobEvent[] = [];
  state: JobState = "running";
  endedAt?: string;
  latestProgress?: unknown;
  settled: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];

  constructor(
    readonly kind: JobKind,
    readonly params: Record<string, unknown>,
  ) {}

  append(body: JobEventBody): void {
    if (this.state !== "running") return;
    this.events.push({ seq: this.events.length, time: new Date().toISOString(), ...body });
    if (body.type === "progress") this.latestProgress = body.progress;
    for (const wake of this.waiters.splice(0)) wake();
  }

  finish(state: Exclude<JobState, "running">): void {
    this.append({ type: "end", state });
    this.state = state;
    this.endedAt = new Date().toISOString();
  }

  /** Resolves at the next event (at once when the job has ended). */
  nextEvent(): Promise<void> {
    if (this.state !== "running") return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  summary(): JobSummary {
    return {
      id: this.id,
      kind: this.kind,
      state: this.state,
      params: this.params,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      progress: this.latestProgress,
      eventCount: this.events.length,
    };
  }
}

export type { Job };

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private closing = false;

  /** `log` gets the stack of a job that fails with anything but a LoraGgufError: a bug. */
  constructor(private readonly log: Log) {}

  /**
   * Starts `run` as a job and returns at once. A second training job while one runs is refused (409):
   * two would contend for the same cores and memory, and the memory estimate assumes one.
   */
  start(kind: JobKind, params: Record<string, unknown>, run: (context: JobContext) => Promise<unknown>): JobSummary {
    if (this.closing) throw new StudioRequestError(503, "E_INVALID_OPTION", "studio: the studio is shutting down and starts no more jobs");
    if (kind === "train") {
      const training = [...this.jobs.values()].find((job) => job.kind === "train" && job.state === "running");
      if (training) {
        throw new StudioRequestError(
          409,
          "E_INVALID_OPTION",
          `studio: training job ${training.id} (${String(training.params.output ?? "")}) is still running; one training job runs at a time: stop it, or wait for it to end`,
        );
      }
    }
    const job = new Job(kind, params);
    this.jobs.set(job.id, job);
    const context: JobContext = {
      signal: job.controller.signal,
      progress: (progress) => job.append({ type: "progress", progress }),
      warning: (message) => job.append({ type: "warning", message }),
      emit: (event) => job.append(event),
    };
    job.settled = (async () => {
      try {
        const result = await run(context);
        job.append({ type: "result", result });
        job.finish("done");
      } catch (error) {
        // a stopped job rejects with the signal's reason (train, after its checkpoint) or E_ABORTED
        if (job.controller.signal.aborted) {
          job.finish("stopped");
        } else {
          if (!isLoraGgufError(error)) this.log(`unexpected error in ${job.kind} job ${job.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          job.append({ type: "error", error: errorJson(error) });
          job.finish("failed");
        }
      }
    })();
    return job.summary();
  }

  get(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new StudioRequestError(404, "E_INVALID_OPTION", `studio: there is no job ${id} (jobs last as long as the studio process)`);
    return job;
  }

  list(): JobSummary[] {
    return [...this.jobs.values()].map((job) => job.summary());
  }

  /** Asks the job to stop; it ends (state "stopped") once its operation has cleaned up. */
  stop(id: string): JobSummary {
    const job = this.get(id);
    if (job.state === "running") job.controller.abort();
    return job.summary();
  }

  /** Stops every running job and waits for each to end (a training run writes its checkpoint first); no job starts after. */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.jobs.values()].filter((job) => job.state === "running");
    for (const job of running) job.controller.abort();
    await Promise.all(running.map((job) => job.settled));
  }
}
