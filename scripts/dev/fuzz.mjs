#!/usr/bin/env node
// The fuzz sweep: seeded mutations of every input the public API reads, run in forked workers, the
// same harness as test/fuzz.test.ts (src/testing/fuzz-*.ts, compiled to dist/testing).
//
//   npm run fuzz -- --cases 3000 [--seed 1] [--workers 2] [--timeout-ms 30000]
//   npm run fuzz -- --seed 1 --only 17,42 [--keep]    one case (or a few) again, every outcome printed
//
// Exits 1 when any case is not a success or a typed LoraGgufError, kills its worker, or leaves files.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { writeFuzzFixtures } from "../../dist/testing/fuzz-fixtures.js";
import { describeFuzzOutcome, formatFuzzSummary, fuzzViolations, runFuzzCampaign } from "../../dist/testing/fuzz-pool.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    only: { type: "string" },
    workers: { type: "string", default: "2" },
    "timeout-ms": { type: "string", default: "30000" },
    keep: { type: "boolean", default: false },
  },
  strict: true,
});
const integer = (name, text) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`fuzz: --${name} must be a non-negative integer, got ${text}`);
    process.exit(2);
  }
  return value;
};
const seed = integer("seed", values.seed);
const indices = values.only
  ? values.only.split(",").map((text) => integer("only", text.trim()))
  : Array.from({ length: integer("cases", values.cases) }, (_, index) => index);

const dir = mkdtempSync(path.join(tmpdir(), "lora-gguf-fuzz-"));
let done = 0;
try {
  const fixtures = await writeFuzzFixtures(path.join(dir, "fixtures"));
  const campaign = await runFuzzCampaign({
    seed,
    indices,
    fixtures,
    workerScript: path.join(root, "dist", "testing", "fuzz-worker.js"),
    workDir: path.join(dir, "cases"),
    workers: integer("workers", values.workers),
    caseTimeoutMs: integer("timeout-ms", values["timeout-ms"]),
    keep: values.keep,
    onOutcome: (outcome) => {
      done++;
      if (values.only) {
        console.log(`case ${outcome.index} [${outcome.target}] ${outcome.mutation}\n  ${outcome.result}${outcome.code ? ` ${outcome.code}` : ""}${outcome.detail ? `: ${outcome.detail}` : ""} (${outcome.ms.toFixed(0)} ms)`);
      } else if (done % 250 === 0) {
        console.log(`  ${done} of ${indices.length} cases`);
      }
    },
  });
  console.log(formatFuzzSummary(campaign));
  const { violations, known } = fuzzViolations(campaign);
  for (const { outcome, issue } of known) console.log(`known issue: seed ${seed} case ${outcome.index} [${outcome.target}] ${outcome.mutation}\n    ${issue.note}`);
  for (const outcome of violations) console.log(describeFuzzOutcome(seed, outcome));
  if (values.keep) console.log(`case directories kept in ${path.join(dir, "cases")}`);
  process.exitCode = violations.length > 0 ? 1 : 0;
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
