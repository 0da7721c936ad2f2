import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { inspect } from "../src/index.js";
import { packageRoot } from "../src/native.js";
import { writeTinyHfCheckpoint } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../src/testing/tiny-hf-tokenizer.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("cli-convert");
const checkpoint = path.join(temp.dir, "tiny-llama");
const cli = path.join(packageRoot, "dist", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000 });

beforeAll(async () => {
  const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 600 });
  await writeTinyHfCheckpoint(checkpoint, {
    architecture: "llama", dtype: "bfloat16", seed: 2, nLayer: 1, hiddenSize: 64, nHead: 4, nKvHead: 2, intermediateSize: 128,
    maxPositionEmbeddings: 512, ropeTheta: 500000, rmsNormEps: 1e-5, vocabSize: tokenizer.vocabSize,
    tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
  });
});
afterAll(() => temp.cleanup());

describe("lora-gguf convert", () => {
  it("writes the same bytes as the API, deterministically", async () => {
    const viaApi = path.join(temp.dir, "api.gguf");
    const viaCli = path.join(temp.dir, "cli.gguf");
    await convert(checkpoint, viaApi, { outType: "f16" });
    const result = run("convert", checkpoint, "-o", viaCli, "--outtype", "f16", "--json");
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).architecture).toBe("llama");
    expect(readFileSync(viaCli).equals(readFileSync(viaApi))).toBe(true);
  });

  it("--outtype q8_0 writes q8_0 matrices and f32 vectors", async () => {
    const output = path.join(temp.dir, "q8.gguf");
    expect(run("convert", checkpoint, "-o", output, "--outtype", "q8_0").status).toBe(0);
    const info = await inspect(output, { tensors: true });
    expect(info.fileType?.name).toBe("Q8_0");
    expect(info.tensors!.find((t) => t.name === "blk.0.ffn_up.weight")!.type).toBe("q8_0");
    expect(info.tensors!.find((t) => t.name === "output_norm.weight")!.type).toBe("f32");
  });

  it("usage errors exit 2, refusals exit 1", () => {
    expect(run("convert", checkpoint, "--outtype", "q4_k").status).toBe(2);
    const again = run("convert", checkpoint, "-o", path.join(temp.dir, "api.gguf"));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/\[E_OUTPUT_EXISTS\]/);
  });
});
