import cliProgress from "cli-progress";

import { EXIT_INTERRUPTED } from "./output.js";

/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, --json). */
export function createProgressBar(label: string, enabled: boolean): { update(done: number, total: number, detail: string): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) {
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, detail) {
      if (!started) {
        bar.start(total, done, { detail });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { detail });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/**
 * An AbortController that Ctrl-C (SIGINT) aborts, so a long command stops cleanly and removes its
 * temp file; a second Ctrl-C exits at once (130, as a shell reports a SIGINT).
 */
export function abortOnInterrupt(options: { message?: string; onInterrupt?: () => void } = {}): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInterrupt = () => {
    options.onInterrupt?.();
    if (controller.signal.aborted) {
      process.stderr.write("\nlora-gguf: interrupted again, exiting now\n");
      process.exit(EXIT_INTERRUPTED);
    }
    process.stderr.write(`\nlora-gguf: ${options.message ?? "interrupted, stopping..."}\n`);
    controller.abort(Object.assign(new Error("interrupted"), { name: "AbortError" }));
  };
  process.on("SIGINT", onInterrupt);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onInterrupt) };
}

/**
 * Runs a tensor-by-tensor operation (convert, merge, quantize) with a progress bar and Ctrl-C
 * wired to its AbortSignal; both are torn down however the operation ends.
 */
export async function withTensorProgress<T>(
  label: string,
  showBar: boolean,
  operation: (signal: AbortSignal, onProgress: (progress: { tensorsDone: number; tensorsTotal: number; tensorName: string }) => void) => Promise<T>,
): Promise<T> {
  const bar = createProgressBar(label, showBar);
  const interrupt = abortOnInterrupt();
  try {
    return await operation(interrupt.signal, (progress) => bar.update(progress.tensorsDone, progress.tensorsTotal, progress.tensorName));
  } finally {
    bar.stop();
    interrupt.dispose();
  }
}
