// The README's first command: generated model, bundled data, training, before/after.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("quickstart");
afterAll(() => temp.cleanup());

describe("lora-gguf quickstart", () => {
  it("trains the demo model until it answers the sampled questions, and says where everything went", () => {
    const dir = path.join(temp.dir, "qs");
    const started = Date.now();
    const run = spawnSync(process.execPath, [path.join(packageRoot, "dist", "cli", "main.js"), "quickstart", dir, "--json"], { encoding: "utf8", timeout: 300_000 });
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    console.log(`quickstart: ${((Date.now() - started) / 1000).toFixed(1)} s, loss ${result.training.firstLoss} -> ${result.training.finalLoss}`);
    expect(result.training.finalLoss).toBeLessThan(result.training.firstLoss * 0.1);
    for (const sample of result.samples) {
      expect(sample.after).toBe(sample.expected);
      expect(sample.before).not.toBe(sample.expected);
    }
    for (const file of [result.model, result.dataset, result.training.adapter, result.training.metrics, result.training.lossPlot, result.merged.q8_0, result.merged.q4_k_m, result.modelfile]) {
      expect(existsSync(file)).toBe(true);
    }
    expect(readFileSync(result.modelfile, "utf8")).toMatch(/^FROM \.\/merged-q8_0\.gguf$/m);
    expect(result.ollamaCreate).toBe(`ollama create lora-gguf-quickstart -f ${result.modelfile}`);
    // the whole path, training to Modelfile, within the 5 minutes on 2 cores
    expect(Date.now() - started).toBeLessThan(300_000);
  });
});
