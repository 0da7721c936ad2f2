import { configDefaults, defineConfig } from "vitest/config";

/** The long end-to-end runs: `npm run test:long` (vitest.long.config.ts), which CI runs after `npm test`. */
export const LONG_TESTS = "test/long/**/*.test.ts";

/** What both configurations share. */
export const sharedTestSettings = {
  // native work runs in forked processes, so a crash fails a test instead of the runner
  pool: "forks",
  // two-core machines: files run one at a time so that timing tests (event-loop ticks, abort latency) are not starved
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 300_000,
} as const;

export default defineConfig({
  test: { ...sharedTestSettings, include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, LONG_TESTS] },
});
