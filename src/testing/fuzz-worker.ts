// The fuzz worker: a forked process (see fuzz-pool.ts) that runs cases one at a time as the parent
// sends them, so that an abort or a segfault in a case kills this process and not the runner.
import type { FuzzFixtures } from "./fuzz-fixtures.js";
import { describeError, runFuzzCase, type FuzzOutcome } from "./fuzz-run-case.js";

export type FuzzWorkerRequest =
  | { type: "init"; fixtures: FuzzFixtures; seed: number; workDir: string; keep: boolean }
  | { type: "run"; index: number };

export type FuzzWorkerReply =
  | { type: "ready" }
  | { type: "start"; index: number; mutation: string }
  | { type: "done"; outcome: FuzzOutcome }
  | { type: "uncaught"; detail: string };

if (process.send === undefined) {
  console.error("fuzz-worker: run it with child_process.fork (see src/testing/fuzz-pool.ts)");
  process.exit(2);
}

const send = (reply: FuzzWorkerReply, then?: () => void) => process.send!(reply, undefined, {}, then);

let config: Extract<FuzzWorkerRequest, { type: "init" }> | undefined;
let queue = Promise.resolve();

// an error that escapes a call's promise is as bad as a crash: report it, then die so it is counted
const dieWith = (error: unknown) => send({ type: "uncaught", detail: describeError(error) }, () => process.exit(70));
process.on("uncaughtException", dieWith);
process.on("unhandledRejection", dieWith);

process.on("message", (request: FuzzWorkerRequest) => {
  if (request.type === "init") {
    config = request;
    send({ type: "ready" });
    return;
  }
  const { fixtures, seed, workDir, keep } = config!;
  queue = queue.then(async () => {
    const outcome = await runFuzzCase(fixtures, seed, request.index, {
      workDir,
      keep,
      // sent before the call, and flushed: the call may abort the process
      onStart: (mutation) => new Promise<void>((resolve) => send({ type: "start", index: request.index, mutation }, resolve)),
    });
    send({ type: "done", outcome });
  });
});
// the parent closing the channel (it finished, or it died) ends the worker
process.on("disconnect", () => process.exit(0));
