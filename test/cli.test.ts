import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { quantize } from "../src/index.js";
import { packageRoot } from "../src/native.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("cli");
const model = path.join(temp.dir, "tiny.gguf");
const cli = path.join(packageRoot, "dist", "cli", "main.js");

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { seed: 5 });
});
afterAll(() => temp.cleanup());

describe("lora-gguf CLI", () => {
  it("--help lists the commands; --version names the llama.cpp commit", () => {
    const help = run("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/quantize/);
    expect(help.stdout).toMatch(/inspect/);
    const version = run("--version");
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^lora-gguf \d+\.\d+\.\d+ \(llama\.cpp [0-9a-f]{40} \+ patches 0001-/);
  });

  it("quantize via the CLI writes the same bytes as the API", async () => {
    const viaApi = path.join(temp.dir, "api.gguf");
    const viaCli = path.join(temp.dir, "cli.gguf");
    await quantize(model, viaApi, { type: "q4_k_m" });
    const result = run("quantize", model, viaCli, "--type", "Q4_K_M", "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).type).toBe("Q4_K_M");
    expect(readFileSync(viaCli).equals(readFileSync(viaApi))).toBe(true);
  });

  it("exit codes: 1 for errors with the message on stderr, 2 for usage", () => {
    const exists = run("quantize", model, model.replace("tiny", "tiny-again"), "--type", "q8_0");
    expect(exists.code).toBe(0);
    const again = run("quantize", model, model.replace("tiny", "tiny-again"), "--type", "q8_0");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--force.*\[E_OUTPUT_EXISTS\]/);
    const unknownType = run("quantize", model, path.join(temp.dir, "x.gguf"), "--type", "q9_9");
    expect(unknownType.code).toBe(2);
    expect(unknownType.stderr).toMatch(/unknown quantization type "q9_9"/);
    expect(run("quantize", model).code).toBe(2);
    expect(run("no-such-command").code).toBe(2);
    expect(run("inspect", path.join(temp.dir, "missing.gguf")).code).toBe(1);
  });

  it("--type list shows every type llama.cpp offers", () => {
    const list = run("quantize", "--type", "list");
    expect(list.code).toBe(0);
    for (const name of ["q4_k_m", "q8_0", "f16", "bf16", "iq4_xs", "tq1_0", "copy"]) expect(list.stdout).toContain(name);
  });

  it("inspect prints the architecture, file type and a tensor-type summary; --json parses", () => {
    const text = run("inspect", model);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/architecture\s+llama/);
    expect(text.stdout).toMatch(/file type\s+F32/);
    expect(text.stdout).toMatch(/tokenizer\s+llama/);
    const json = JSON.parse(run("inspect", model, "--json", "--tensors").stdout);
    expect(json.architecture).toBe("llama");
    expect(json.tensors.length).toBe(json.tensorCount);
    expect(json.parameterCount).toBe(json.tensors.reduce((sum: number, t: { parameterCount: number }) => sum + t.parameterCount, 0));
  });
});
