// gpuLayers where the addon has no GPU (a CPU build, or a CUDA build on a machine without a device or
// driver, like these): a warning saying so, and a CPU run with the same results as one that asked for none.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { train } from "../src/index.js";
import { loadNative, packageRoot } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { expectError } from "./helpers/expect-error.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { tensorBytesByName } from "./helpers/run-outputs.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("gpu-layers");
const model = path.join(temp.dir, "base.gguf");
const data = path.join(temp.dir, "colours.jsonl");
const output = (name: string) => {
  mkdirSync(path.join(temp.dir, name));
  return path.join(temp.dir, name, "adapter.gguf");
};

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 3, nLayer: 2, nEmbd: 64, nHead: 4, nHeadKv: 2, nFf: 128, vocabSize: 1024, chatTemplate: instTemplate });
  writeMemorizationJsonl(data);
});
afterAll(() => temp.cleanup());

describe("gpuLayers without a GPU", async () => {
  const build = (await loadNative()).buildInfo();
  const options = { model, data, maxSteps: 3, threads: 2, seed: 1 } as const;

  it.skipIf(build.gpuDevices.length > 0)("warns once, trains on the CPU, and gives the adapter a run without gpuLayers gives", async () => {
    const warnings: string[] = [];
    const onGpu = await train({ ...options, output: output("asked"), gpuLayers: "all", onWarning: (message) => warnings.push(message) });
    const why = build.cuda ? "the CUDA backend found no GPU" : "this build of the addon has no GPU backend \\(build it with LORA_GGUF_CUDA=1\\)";
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^train: gpuLayers all asked for a GPU, but ${why}.*; training on the CPU$`));
    expect(onGpu.warnings).toEqual(warnings);
    const onCpu = await train({ ...options, output: output("cpu") });
    expect(onCpu.warnings).toEqual([]);
    expect(onGpu.steps).toBe(3);
    expect(onGpu.finalLoss).toBe(onCpu.finalLoss);
    const [a, b] = await Promise.all([tensorBytesByName(onGpu.adapter), tensorBytesByName(onCpu.adapter)]);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  });

  it("refuses a gpuLayers that is neither a count nor \"all\"", async () => {
    for (const gpuLayers of [-1, 1.5, "some"]) {
      await expectError(train({ ...options, output: path.join(temp.dir, "never.gguf"), gpuLayers: gpuLayers as number }), "E_INVALID_OPTION", /gpuLayers must be a number of layers \(0 or more\) or "all"/);
    }
  });

  it.skipIf(build.gpuDevices.length > 0)("the CLI prints the warning and trains; --gpu-layers abc is a usage error", () => {
    const cli = path.join(packageRoot, "dist", "cli", "main.js");
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, "train", "--model", model, "--data", data, "--max-steps", "1", "--threads", "2", ...args], { encoding: "utf8", timeout: 120_000 });
    const trained = run("--gpu-layers", "4", "-o", output("cli"));
    expect(trained.status).toBe(0);
    expect(trained.stderr).toMatch(/lora-gguf: warning: train: gpuLayers 4 asked for a GPU, but .*; training on the CPU/);
    const bad = run("--gpu-layers", "abc", "-o", path.join(temp.dir, "never.gguf"));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--gpu-layers <n\|all>.*expected a number of layers \(0 or more\) or "all"/s);
  });
});
