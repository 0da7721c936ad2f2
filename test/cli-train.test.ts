import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("cli-train");
const model = path.join(temp.dir, "base.gguf");
const data = path.join(temp.dir, "colours.jsonl");
const cli = path.join(packageRoot, "dist", "cli", "main.js");
let examples: { prompt: string; response: string }[];

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function outputDir(name: string): string {
  const dir = path.join(temp.dir, name);
  mkdirSync(dir);
  return dir;
}

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 3, chatTemplate: instTemplate });
  examples = writeMemorizationJsonl(data);
});
afterAll(() => temp.cleanup());

describe("lora-gguf train", () => {
  it("--help lists every flag", () => {
    const help = run("train", "--help");
    expect(help.code).toBe(0);
    const flags = [
      "--model", "--data", "--output", "--format", "--rank", "--alpha", "--targets", "--layers", "--lr", "--epochs", "--max-steps",
      "--ctx", "--batch", "--grad-accum", "--warmup", "--scheduler", "--weight-decay", "--val-split", "--eval-interval", "--seed",
      "--threads", "--gpu-layers", "--train-on-prompt", "--chat-template", "--no-chat-template", "--skip-bad-rows", "--resume",
      "--checkpoint-interval", "--force", "--dry-run", "--preview", "--json",
    ];
    for (const flag of flags) expect(help.stdout).toContain(flag);
    expect(run("--help").stdout).toMatch(/train/);
  });

  it("--preview marks the response as trained and the question as masked, then the length statistics", () => {
    const preview = run("train", "--model", model, "--data", data, "--preview");
    expect(preview.code, preview.stderr).toBe(0);
    const [, example] = preview.stdout.split("\n");
    const trained = [...example.matchAll(/\[\[(.*?)\]\]/g)].map((match) => match[1]).join("");
    const masked = example.replace(/\[\[.*?\]\]/g, "");
    expect(trained).toContain(examples[0].response);
    expect(trained).not.toContain("What colour");
    expect(masked).toContain(examples[0].prompt);
    expect(masked).not.toContain(examples[0].response);
    expect(preview.stdout).toMatch(/^samples\s+16$/m);
    expect(preview.stdout).toMatch(/^tokens median\s+\d+$/m);
    expect(preview.stdout).toMatch(/^tokens p95\s+\d+$/m);
    expect(preview.stdout).toMatch(/^context length\s+256$/m);
    expect(preview.stdout).toMatch(/^truncated\s+0 /m);
    expect(preview.stdout).toMatch(/^trained tokens\s+\d+\.\d%/m);
    expect(preview.stdout).not.toContain("\x1b[");

    const json = JSON.parse(run("train", "--model", model, "--data", data, "--preview", "--json").stdout);
    expect(json.stats).toMatchObject({ samples: 16, contextLength: 256, truncatedAtContext: 0 });
    expect(json.stats.minTokens).toBeLessThanOrEqual(json.stats.medianTokens);
    expect(json.stats.p95Tokens).toBeLessThanOrEqual(json.stats.maxTokens);
    expect(json.example.tokens.filter((token: { trained: boolean }) => token.trained).map((token: { text: string }) => token.text).join("")).toContain(
      examples[0].response,
    );
  });

  it("--chat-template <file> renders with that template; --train-on-prompt trains everything", () => {
    const template = path.join(temp.dir, "qa.jinja");
    writeFileSync(template, "{{ bos_token }}{% for message in messages %}{% if message.role == 'user' %}Q: {{ message.content }}\n{% else %}A: {{ message.content }}{{ eos_token }}{% endif %}{% endfor %}");
    const preview = run("train", "--model", model, "--data", data, "--preview", "--chat-template", template);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(`Q: ${examples[0].prompt}`);
    const everything = JSON.parse(run("train", "--model", model, "--data", data, "--preview", "--json", "--train-on-prompt").stdout);
    expect(everything.stats.trainedTokenFraction).toBeGreaterThan(0.9);
    const missing = run("train", "--model", model, "--data", data, "--preview", "--chat-template", path.join(temp.dir, "missing.jinja"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/missing\.jinja.*\[E_INPUT_NOT_FOUND\]/);
  });

  it("--dry-run prints the plan and the memory estimate and writes nothing", () => {
    const dir = outputDir("dry");
    const output = path.join(dir, "adapter.gguf");
    const dry = run("train", "--model", model, "--data", data, "-o", output, "--epochs", "3", "--dry-run", "--json");
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan).toMatchObject({ contextLength: 256, trainingSamples: 16, validationSamples: 0, truncatedSamples: 0 });
    expect(plan.totalSteps).toBeGreaterThanOrEqual(3);
    expect(plan.trainedTokensPerEpoch).toBeGreaterThan(0);
    expect(plan.memory.totalBytes).toBeGreaterThan(plan.memory.parts.modelWeightsBytes);
    expect(plan.memory.fits).toBe(true);
    const text = run("train", "--model", model, "--data", data, "-o", output, "--epochs", "3", "--dry-run");
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^steps\s+\d+ \(3 epochs\), 1 window per step$/m);
    expect(text.stdout).toMatch(/^Estimated peak memory: /m);
    expect(existsSync(output)).toBe(false);
    expect(existsSync(path.join(dir, "checkpoint.gguf"))).toBe(false);
  });

  it("a short run writes the adapter and its files and prints the loss as JSON", () => {
    const dir = outputDir("short");
    const output = path.join(dir, "adapter.gguf");
    const result = run("train", "--model", model, "--data", data, "-o", output, "--epochs", "3", "--max-steps", "5", "--threads", "2", "--lr", "3e-3", "--json");
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ adapter: output, steps: 5, contextLength: 256 });
    expect(Number.isFinite(summary.finalLoss)).toBe(true);
    expect(summary.finalLoss).toBeLessThan(summary.firstLoss);
    for (const file of [output, summary.trainingConfig, summary.metrics, summary.lossPlot, summary.checkpoint]) expect(existsSync(file)).toBe(true);
    expect(result.stderr).not.toMatch(/step \d/);

    const again = run("train", "--model", model, "--data", data, "-o", output, "--max-steps", "1");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\[E_OUTPUT_EXISTS\]/);
  });

  it("bad flag values are usage errors (exit 2) that name the flag", () => {
    const base = ["train", "--model", model, "--data", data, "-o", path.join(temp.dir, "never.gguf")];
    const cases: [string[], RegExp][] = [
      [["--rank", "abc"], /--rank <n>' argument 'abc' is invalid/],
      [["--lr", "1e-3x"], /--lr <x>' argument '1e-3x' is invalid/],
      [["--epochs", "0"], /--epochs <n>' argument '0' is invalid/],
      [["--layers", "3-1"], /--layers <list>' argument '3-1' is invalid/],
      [["--format", "yaml"], /--format <format>' argument 'yaml' is invalid/],
      [["--scheduler", "step"], /--scheduler <name>' argument 'step' is invalid/],
      [["--targets", "q,nope"], /unknown LoRA target "nope"/],
    ];
    for (const [flags, message] of cases) {
      const result = run(...base, ...flags);
      expect(result.code, flags.join(" ")).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const noOutput = run("train", "--model", model, "--data", data);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toMatch(/--output/);
    expect(noOutput.stderr).not.toMatch(/unexpected error/);
    expect(existsSync(path.join(temp.dir, "never.gguf"))).toBe(false);
  });

  it("a missing dataset exits 1 with E_INPUT_NOT_FOUND", () => {
    const result = run("train", "--model", model, "--data", path.join(temp.dir, "missing.jsonl"), "-o", path.join(temp.dir, "never.gguf"));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/missing\.jsonl.*\[E_INPUT_NOT_FOUND\]/);
  });

  it("Ctrl-C saves a checkpoint and prints the --resume command, which finishes the run", async () => {
    const dir = outputDir("interrupted");
    const output = path.join(dir, "adapter.gguf");
    const args = ["train", "--model", model, "--data", data, "-o", output, "--epochs", "10", "--threads", "2", "--lr", "3e-3"];
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      // without a terminal, progress comes as lines; the first one is step 1
      if (!stderr.includes("step 1/") && (stderr + chunk).includes("step 1/")) child.kill("SIGINT");
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/training stopped at step \d+\/20; checkpoint saved to .*checkpoint\.gguf/);
    expect(existsSync(output)).toBe(false);
    const resume = /continue with:\n {2}lora-gguf (.*)\n/.exec(stderr)![1].split(" ");
    expect(resume.slice(-2)).toEqual(["--resume", path.join(dir, "checkpoint.gguf")]);

    const resumed = run(...resume, "--json");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ adapter: output, steps: 20 });
  });
});
