// Seeded mutations of every input the public API reads (GGUF models and adapters, safetensors and
// their index, config and tokenizer JSON, datasets), each run in a forked worker: every case must
// succeed or fail with a typed LoraGgufError, never kill its process, and leave nothing behind.
// The same harness runs longer sweeps: npm run fuzz -- --cases 3000 [--seed S].
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { writeFuzzFixtures, type FuzzFixtures } from "../src/testing/fuzz-fixtures.js";
import { describeFuzzOutcome, formatFuzzSummary, fuzzViolations, runFuzzCampaign } from "../src/testing/fuzz-pool.js";
import { FUZZ_TARGETS } from "../src/testing/fuzz-targets.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const seed = Number(process.env.FUZZ_SEED ?? 1);
/** 50 cases per target (the longer sweeps: npm run fuzz). */
const caseCount = 50 * FUZZ_TARGETS.length;

const temp = makeTempDir("fuzz");
let fixtures: FuzzFixtures;

beforeAll(async () => {
  requireFreshDist();
  fixtures = await writeFuzzFixtures(path.join(temp.dir, "fixtures"));
});
afterAll(() => temp.cleanup());

/** The workers run the compiled library: a src/ file newer than its dist/ output would be tested stale. */
function requireFreshDist(): void {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        const built = path.join(packageRoot, "dist", path.relative(path.join(packageRoot, "src"), file)).replace(/\.ts$/, ".js");
        const builtAt = statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0;
        if (builtAt < statSync(file).mtimeMs) stale.push(path.relative(packageRoot, file));
      }
    }
  };
  walk(path.join(packageRoot, "src"));
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ` and ${stale.length - 5} more` : ""}: run npm run -s build:ts (npm test does it first)`);
  }
}

describe("fuzz: the worker pool", () => {
  it("counts an abort, an uncaught exception and a hang against their cases, replaces the worker, and runs every case", async () => {
    const campaign = await runFuzzCampaign({
      seed,
      indices: [0, 1, 2, 3, 4, 5],
      fixtures: {} as FuzzFixtures,
      workerScript: path.join(packageRoot, "test", "fixtures", "fuzz-crashing-worker.mjs"),
      workDir: path.join(temp.dir, "pool"),
      workers: 2,
      caseTimeoutMs: 1000,
    });
    expect(campaign.outcomes.map((outcome) => [outcome.index, outcome.result])).toEqual([
      [0, "success"], [1, "death"], [2, "death"], [3, "timeout"], [4, "success"], [5, "success"],
    ]);
    expect(campaign.outcomes[1].detail).toMatch(/^exited with SIGABRT/);
    expect(campaign.outcomes[1].mutation).toBe("stand-in mutation 1");
    expect(campaign.outcomes[2].detail).toMatch(/^uncaught: TypeError: thrown outside the call/);
    expect(campaign.outcomes[3].detail).toMatch(/^killed after 1000 ms/);
    expect(campaign.workerStarts).toBeGreaterThanOrEqual(4);
    expect(fuzzViolations(campaign).violations.map((outcome) => outcome.index)).toEqual([1, 2, 3]);
  });
});

describe("fuzz: mutated inputs to the public API", () => {
  it(`${caseCount} cases (seed ${seed}): typed errors only, no process deaths, nothing left behind`, async () => {
    const campaign = await runFuzzCampaign({
      seed,
      indices: Array.from({ length: caseCount }, (_, index) => index),
      fixtures,
      workerScript: path.join(packageRoot, "dist", "testing", "fuzz-worker.js"),
      workDir: path.join(temp.dir, "cases"),
      workers: 2,
    });
    console.log(formatFuzzSummary(campaign));
    const { violations, known } = fuzzViolations(campaign);
    for (const { outcome, issue } of known) console.log(`known issue: seed ${seed} case ${outcome.index} [${outcome.target}] ${outcome.mutation}\n    ${issue.note}`);

    expect(campaign.outcomes.length).toBe(caseCount);
    expect(violations.map((outcome) => describeFuzzOutcome(seed, outcome)).join("\n")).toBe("");
    // every target both runs through and is refused somewhere, so the mutations reach it and are not all harmless
    for (const target of FUZZ_TARGETS) {
      const outcomes = campaign.outcomes.filter((outcome) => outcome.target === target.name);
      expect(outcomes.some((outcome) => outcome.result === "typed"), `${target.name}: no mutation was refused`).toBe(
        target.name !== "generation_config.json → convert",
      );
    }
  }, 300_000);
});
