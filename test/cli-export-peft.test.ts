import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GgmlType, GgufValueType, stringEntry, writeGgufFile } from "../src/index.js";
import { packageRoot } from "../src/native.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("cli-export-peft");
const adapter = path.join(temp.dir, "adapter.gguf");
const rank64 = path.join(temp.dir, "rank64.gguf");
const cli = path.join(packageRoot, "dist", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });

/** A llama adapter of blk.0.attn_v (64 → 32), which needs no base to export. */
async function writeAdapter(file: string, rank: number): Promise<void> {
  await writeGgufFile(file, {
    metadata: [
      stringEntry("general.architecture", "llama"),
      stringEntry("general.type", "adapter"),
      stringEntry("adapter.type", "lora"),
      { key: "adapter.lora.alpha", type: GgufValueType.FLOAT32, value: 2 * rank },
    ],
    tensors: [
      { name: "blk.0.attn_v.weight.lora_a", dims: [64, rank], type: GgmlType.F32, data: new Float32Array(64 * rank).fill(0.5) },
      { name: "blk.0.attn_v.weight.lora_b", dims: [rank, 32], type: GgmlType.F32, data: new Float32Array(rank * 32).fill(0.25) },
    ],
  });
}

beforeAll(async () => {
  await writeAdapter(adapter, 8);
  await writeAdapter(rank64, 64);
});
afterAll(() => temp.cleanup());

describe("lora-gguf export-peft", () => {
  it("--json prints the result; the directory holds the two PEFT files", () => {
    const out = path.join(temp.dir, "peft");
    const result = run("export-peft", adapter, "-o", out, "--target", "cloudflare", "--json");
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      dir: out, rank: 8, alpha: 16, targetModules: ["v_proj"], architecture: "llama", tensorCount: 2, baseModelName: null, modelType: "llama",
    });
    expect(readdirSync(out).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    expect(JSON.parse(readFileSync(path.join(out, "adapter_config.json"), "utf8"))).toMatchObject({ r: 8, lora_alpha: 16, model_type: "llama" });

    const text = run("export-peft", adapter, "-o", path.join(temp.dir, "peft-text"), "--base-model-name", "meta-llama/Llama-3.2-1B");
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^wrote .*peft-text: PEFT LoRA for llama \(r 8, alpha 16, v_proj\), 2 tensors, /);
  });

  it("refusals exit 1 with the code; usage errors exit 2", () => {
    const again = run("export-peft", adapter, "-o", path.join(temp.dir, "peft"));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/\[E_OUTPUT_EXISTS\]/);
    expect(run("export-peft", adapter, "-o", path.join(temp.dir, "peft"), "-f").status).toBe(0);

    const wide = run("export-peft", rank64, "-o", path.join(temp.dir, "wide"), "--target", "cloudflare");
    expect(wide.status).toBe(1);
    expect(wide.stderr).toMatch(/rank 64; Workers AI takes rank 32 at most.*\[E_TARGET_UNSUPPORTED\]/);
    expect(readdirSync(temp.dir).filter((name) => name.startsWith("wide"))).toEqual([]);

    expect(run("export-peft", adapter, "-o", path.join(temp.dir, "x"), "--target", "azure").status).toBe(2);
    expect(run("export-peft", adapter).status).toBe(2);
  });
});
