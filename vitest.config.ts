import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // native work runs in forked processes, so a crash fails a test instead of the runner
    pool: "forks",
    // two-core machines: files run one at a time so that timing tests (event-loop ticks, abort latency) are not starved
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
