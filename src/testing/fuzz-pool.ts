// Runs fuzz cases in a pool of forked worker processes (fuzz-worker.ts), reusing each worker across
// cases: a worker that dies (abort, segfault, out of memory) or hangs is counted against the case it
// was running and replaced. Used by test/fuzz.test.ts and scripts/dev/fuzz.mjs alike.
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";

import type { FuzzFixtures } from "./fuzz-fixtures.js";
import type { FuzzOutcome, FuzzResult } from "./fuzz-run-case.js";
import { FUZZ_TARGETS, planFuzzCase } from "./fuzz-targets.js";
import type { FuzzWorkerReply, FuzzWorkerRequest } from "./fuzz-worker.js";

export interface FuzzCampaignOptions {
  seed: number;
  /** Case indices to run. */
  indices: readonly number[];
  fixtures: FuzzFixtures;
  /** The compiled worker, dist/testing/fuzz-worker.js. */
  workerScript: string;
  /** Where the workers write each case's input and output. */
  workDir: string;
  /** Worker processes. Default 2. */
  workers?: number;
  /** A case running longer is killed and counted as a timeout. Default 30 s. */
  caseTimeoutMs?: number;
  /**
   * Each worker's data segment limit (Linux, with prlimit), so that a huge allocation a mutation
   * provokes fails inside the worker instead of exhausting the machine; V8's heap gets half of it.
   * Default 2 GiB; 0 for none.
   */
  memoryLimitBytes?: number;
  /** Keep each case's directory. Default false. */
  keep?: boolean;
  onOutcome?: (outcome: FuzzOutcome) => void;
}

export interface FuzzCampaign {
  seed: number;
  outcomes: FuzzOutcome[];
  seconds: number;
  workerStarts: number;
}

/** Bytes of a worker's stdout and stderr kept, to quote when it dies. */
const OUTPUT_TAIL_BYTES = 4000;
const PRLIMIT = "/usr/bin/prlimit";

export async function runFuzzCampaign(options: FuzzCampaignOptions): Promise<FuzzCampaign> {
  const started = performance.now();
  const workerCount = options.workers ?? 2;
  const caseTimeoutMs = options.caseTimeoutMs ?? 30_000;
  const memoryLimit = options.memoryLimitBytes ?? 2 * 1024 ** 3;
  if (!existsSync(options.workerScript)) {
    throw new Error(`fuzz: ${options.workerScript} does not exist; build it with npm run build:ts`);
  }
  await mkdir(options.workDir, { recursive: true });
  const pending = [...options.indices];
  const outcomes: FuzzOutcome[] = [];
  let workerStarts = 0;

  const children = new Set<ChildProcess>();
  const record = (outcome: FuzzOutcome) => {
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  };

  /** Runs cases on one worker after another until none are left; resolves when this slot is done. */
  const slot = (slotIndex: number) =>
    new Promise<void>((resolve, reject) => {
      const startWorker = () => {
        workerStarts++;
        const workDir = path.join(options.workDir, `worker-${slotIndex}-${workerStarts}`);
        const limited = memoryLimit > 0 && process.platform === "linux" && existsSync(PRLIMIT);
        // V8 gives up at half the limit, so a runaway JS allocation dies quickly instead of thrashing in GC
        const nodeFlags = memoryLimit > 0 ? [`--max-old-space-size=${Math.floor(memoryLimit / 2 / 1024 ** 2)}`] : [];
        const child: ChildProcess = fork(options.workerScript, [], {
          execPath: limited ? PRLIMIT : process.execPath,
          execArgv: limited ? [`--data=${memoryLimit}`, process.execPath, ...nodeFlags] : nodeFlags,
          stdio: ["ignore", "pipe", "pipe", "ipc"],
          serialization: "json",
        });
        children.add(child);
        let outputTail = "";
        const keepTail = (chunk: Buffer) => (outputTail = (outputTail + chunk.toString("utf8")).slice(-OUTPUT_TAIL_BYTES));
        child.stdout!.on("data", keepTail);
        child.stderr!.on("data", keepTail);
        let ready = false;
        let current: { index: number; mutation: string; started: number } | undefined;
        let uncaught: string | undefined;
        let timer: NodeJS.Timeout | undefined;
        let timedOut = false;

        const next = () => {
          const index = pending.shift();
          if (index === undefined) {
            current = undefined;
            child.disconnect();
            return;
          }
          current = { index, mutation: "(not reported before the worker stopped)", started: performance.now() };
          outputTail = "";
          timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, caseTimeoutMs);
          child.send({ type: "run", index } satisfies FuzzWorkerRequest);
        };

        child.on("message", (reply: FuzzWorkerReply) => {
          if (reply.type === "ready") {
            ready = true;
            next();
          } else if (reply.type === "start") {
            if (current?.index === reply.index) current.mutation = reply.mutation;
          } else if (reply.type === "done") {
            clearTimeout(timer);
            record(reply.outcome);
            next();
          } else {
            uncaught = reply.detail;
          }
        });
        child.on("error", (error) => reject(error));
        // an abort's message is the worker's last output: wait for both streams to end (at most a second) before reporting
        const outputEnded = Promise.all(
          [child.stdout!, child.stderr!].map((stream) => new Promise<void>((ended) => stream.once("close", ended).once("end", ended))),
        );
        child.on("exit", (code, signal) => {
          clearTimeout(timer);
          void Promise.race([outputEnded, new Promise((elapsed) => setTimeout(elapsed, 1000))]).then(() => onExit(code, signal));
        });
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          children.delete(child);
          if (!ready) {
            reject(new Error(`fuzz: a worker exited (${signal ?? `code ${code}`}) before it was ready: ${outputTail.trim()}`));
            return;
          }
          if (current === undefined) {
            resolve();
            return;
          }
          const result: FuzzResult = timedOut ? "timeout" : "death";
          const how = timedOut ? `killed after ${caseTimeoutMs} ms` : uncaught ? `uncaught: ${uncaught}` : `exited with ${signal ?? `code ${code}`}`;
          record({
            index: current.index,
            target: planFuzzCase(options.seed, current.index).target.name,
            mutation: current.mutation,
            result,
            detail: `${how}; last output: ${outputTail.trim()}`,
            leftovers: [],
            ms: performance.now() - current.started,
          });
          if (pending.length > 0) startWorker();
          else resolve();
        };
        child.send({ type: "init", fixtures: options.fixtures, seed: options.seed, workDir, keep: options.keep ?? false } satisfies FuzzWorkerRequest);
      };
      startWorker();
    });

  try {
    await Promise.all(Array.from({ length: Math.min(workerCount, pending.length) }, (_, slotIndex) => slot(slotIndex)));
  } finally {
    for (const child of children) child.kill("SIGKILL");
  }
  outcomes.sort((a, b) => a.index - b.index);
  return { seed: options.seed, outcomes, seconds: (performance.now() - started) / 1000, workerStarts };
}

/**
 * A known problem in code the fuzz harness's author may not change, left visible (printed as
 * "known issue") but not failing, until its owner fixes it; each names its reproduction.
 */
export interface FuzzKnownIssue {
  target: string;
  /** Matched against the outcome's mutation description. */
  mutation?: RegExp;
  /** Matched against the outcome's detail (the error, or the dead worker's last output). */
  detail: RegExp;
  note: string;
}

/**
 * Empty: the aborts the fuzz test found in llama.cpp's loaders (equal token strings, tokenizer models
 * that do not fit their tokens, a huge block_count) are refused before them since src/gguf/llama-loader-checks.ts.
 */
export const FUZZ_KNOWN_ISSUES: readonly FuzzKnownIssue[] = [];

/** Outcomes that break the rules: not a typed error, a death or hang, files left behind, or an unreadable output. */
export function fuzzViolations(campaign: FuzzCampaign, knownIssues: readonly FuzzKnownIssue[] = FUZZ_KNOWN_ISSUES) {
  const broken = campaign.outcomes.filter(
    (outcome) => outcome.result === "untyped" || outcome.result === "death" || outcome.result === "timeout" || outcome.leftovers.length > 0 || outcome.badOutput,
  );
  const knownIssueOf = (outcome: FuzzOutcome) =>
    knownIssues.find(
      (issue) => issue.target === outcome.target && issue.detail.test(outcome.detail ?? "") && (issue.mutation?.test(outcome.mutation) ?? true),
    );
  return {
    violations: broken.filter((outcome) => knownIssueOf(outcome) === undefined),
    known: broken.flatMap((outcome) => {
      const issue = knownIssueOf(outcome);
      return issue ? [{ outcome, issue }] : [];
    }),
  };
}

/** One line per violation, with what reproduces it. */
export function describeFuzzOutcome(seed: number, outcome: FuzzOutcome): string {
  const problems = [
    outcome.result === "typed" || outcome.result === "success" ? undefined : `${outcome.result}: ${abbreviateMiddle(outcome.detail ?? "", 1500)}`,
    outcome.leftovers.length > 0 ? `left behind after ${outcome.result === "success" ? "success" : `failure (${outcome.code ?? outcome.result})`}: ${outcome.leftovers.join(", ")}` : undefined,
    outcome.badOutput ? `unreadable output: ${outcome.badOutput}` : undefined,
  ].filter(Boolean);
  return `seed ${seed} case ${outcome.index} [${outcome.target}] ${outcome.mutation}\n    ${problems.join("\n    ")}\n    reproduce: npm run fuzz -- --seed ${seed} --only ${outcome.index}`;
}

/** The counts per target, typed failures by code, and the time. */
export function formatFuzzSummary(campaign: FuzzCampaign): string {
  const columns = ["cases", "success", "typed", "untyped", "deaths", "timeouts", "leftovers"] as const;
  const rows = new Map<string, Record<(typeof columns)[number], number>>();
  const codes = new Map<string, number>();
  for (const target of FUZZ_TARGETS) rows.set(target.name, { cases: 0, success: 0, typed: 0, untyped: 0, deaths: 0, timeouts: 0, leftovers: 0 });
  for (const outcome of campaign.outcomes) {
    const row = rows.get(outcome.target)!;
    row.cases++;
    row[({ success: "success", typed: "typed", untyped: "untyped", death: "deaths", timeout: "timeouts" } as const)[outcome.result]]++;
    if (outcome.leftovers.length > 0) row.leftovers++;
    if (outcome.code) codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
  }
  const total = Object.fromEntries(columns.map((column) => [column, [...rows.values()].reduce((sum, row) => sum + row[column], 0)]));
  const width = Math.max(...FUZZ_TARGETS.map((target) => target.name.length), 5);
  const line = (name: string, values: Record<string, number>) => name.padEnd(width) + columns.map((column) => String(values[column]).padStart(10)).join("");
  return [
    `fuzz: ${campaign.outcomes.length} cases, seed ${campaign.seed}, ${campaign.seconds.toFixed(1)} s, ${campaign.workerStarts} worker processes started`,
    "".padEnd(width) + columns.map((column) => column.padStart(10)).join(""),
    ...[...rows].filter(([, row]) => row.cases > 0).map(([name, row]) => line(name, row)),
    line("total", total),
    `typed failures by code: ${[...codes].sort((a, b) => b[1] - a[1]).map(([code, count]) => `${code} ${count}`).join(", ") || "none"}`,
  ].join("\n");
}

function abbreviateMiddle(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length / 2)} [...] ${text.slice(-length / 2)}`;
}
