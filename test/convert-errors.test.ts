// Bad checkpoints: typed errors before anything is written, and nothing left at the output path.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { isLoraGgufError } from "../src/index.js";
import { writeTinyHfCheckpoint } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../src/testing/tiny-hf-tokenizer.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("convert-errors");
const good = path.join(temp.dir, "good");
afterAll(() => temp.cleanup());

beforeAll(async () => {
  const tokenizer = await tinyHfTokenizer({ family: "qwen2", keepTokens: 600 });
  await writeTinyHfCheckpoint(good, {
    architecture: "qwen2", dtype: "float32", seed: 1, nLayer: 1, hiddenSize: 32, nHead: 2, nKvHead: 1, intermediateSize: 64,
    maxPositionEmbeddings: 512, ropeTheta: 10000, rmsNormEps: 1e-6, vocabSize: tokenizer.vocabSize, shards: 2,
    tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
  });
});

/** A copy of the good checkpoint, changed by `edit`. */
function variant(name: string, edit: (dir: string) => void): string {
  const dir = path.join(temp.dir, name);
  mkdirSync(dir);
  for (const file of readdirSync(good)) copyFileSync(path.join(good, file), path.join(dir, file));
  edit(dir);
  return dir;
}

async function expectRefused(dir: string, code: string, message?: RegExp) {
  const output = path.join(temp.dir, `${path.basename(dir)}.gguf`);
  const error = await convert(dir, output).then(() => undefined, (e: unknown) => e);
  expect(isLoraGgufError(error), `expected a LoraGgufError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
  expect(existsSync(output)).toBe(false);
  expect(readdirSync(temp.dir).filter((file) => file.includes(".tmp-"))).toEqual([]);
}

const shards = (dir: string) => readdirSync(dir).filter((file) => file.endsWith(".safetensors")).sort();

describe("convert: bad input", () => {
  it("the good checkpoint converts (so the failures below are the edits)", async () => {
    const result = await convert(good, path.join(temp.dir, "good.gguf"));
    expect(result.tensorCount).toBeGreaterThan(5);
  });

  it("missing config.json", async () => {
    await expectRefused(variant("no-config", (dir) => rmSync(path.join(dir, "config.json"))), "E_INPUT_NOT_FOUND", /config\.json/);
  });

  it("an unknown architecture names the supported ones", async () => {
    const dir = variant("unknown-arch", (dir) => {
      const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
      writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, architectures: ["GPTNeoXForCausalLM"] }));
    });
    await expectRefused(dir, "E_UNSUPPORTED_ARCH", /GPTNeoXForCausalLM.*LlamaForCausalLM.*Qwen2ForCausalLM/);
  });

  it("a truncated safetensors shard, cut at several places", async () => {
    for (const fraction of [0.001, 0.3, 0.999]) {
      const dir = variant(`truncated-${fraction}`, (dir) => {
        const file = path.join(dir, shards(dir)[0]);
        truncateSync(file, Math.floor(readFileSync(file).length * fraction));
      });
      await expectRefused(dir, "E_BAD_SAFETENSORS");
    }
  });

  it("a header length past the end of the file", async () => {
    const dir = variant("header-past-end", (dir) => {
      const file = path.join(dir, shards(dir)[0]);
      const bytes = readFileSync(file);
      bytes.writeBigUInt64LE(BigInt(bytes.length + 1000), 0);
      writeFileSync(file, bytes);
    });
    await expectRefused(dir, "E_BAD_SAFETENSORS", /past the end/);
  });

  it("a dtype that cannot be converted", async () => {
    const dir = variant("int8", (dir) => {
      const file = path.join(dir, shards(dir)[0]);
      const bytes = readFileSync(file);
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const header = bytes.subarray(8, 8 + headerLength).toString("utf8");
      // F32 -> I32 keeps every size and offset valid
      writeFileSync(file, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header.replaceAll('"F32"', '"I32"')), bytes.subarray(8 + headerLength)]));
    });
    await expectRefused(dir, "E_UNSUPPORTED_DTYPE", /I32/);
  });

  it("a shard listed in the index but missing", async () => {
    await expectRefused(variant("missing-shard", (dir) => rmSync(path.join(dir, shards(dir)[1]))), "E_INPUT_NOT_FOUND", /safetensors/);
  });

  it("config.json values of the wrong type or range, however deeply nested", async () => {
    const deepArrays = "[".repeat(20_000) + "]".repeat(20_000);
    const configVariant = (name: string, replace: (config: Record<string, unknown>) => string) =>
      variant(name, (dir) => writeFileSync(path.join(dir, "config.json"), replace(JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")))));
    const withRaw = (config: Record<string, unknown>, key: string, raw: string) => JSON.stringify({ ...config, [key]: "RAW" }).replace('"RAW"', raw);
    await expectRefused(configVariant("architectures-infinite", (c) => withRaw(c, "architectures", "1e400")), "E_BAD_CHECKPOINT_DIR", /architectures must be an array of class names, got Infinity/);
    await expectRefused(configVariant("architectures-deep", (c) => withRaw(c, "architectures", deepArrays)), "E_BAD_CHECKPOINT_DIR", /architectures .*a deeply nested array/);
    await expectRefused(configVariant("head-dim", (c) => withRaw(c, "head_dim", "-1e400")), "E_BAD_CHECKPOINT_DIR", /head_dim must be an integer from 1/);
    await expectRefused(configVariant("kv-heads", (c) => JSON.stringify({ ...c, num_key_value_heads: 3 })), "E_BAD_CHECKPOINT_DIR", /num_key_value_heads \(3\) must divide/);
    await expectRefused(configVariant("rope-factor", (c) => JSON.stringify({ ...c, rope_scaling: { rope_type: "linear", factor: "8" } })), "E_BAD_CHECKPOINT_DIR", /rope_scaling\.factor/);
    await expectRefused(configVariant("not-an-object", () => "[]"), "E_BAD_CHECKPOINT_DIR", /must hold a JSON object/);
  });

  it("a deeply nested value in a safetensors header or in the index", async () => {
    const deepArrays = "[".repeat(20_000) + "]".repeat(20_000);
    const header = variant("header-deep", (dir) => {
      const file = path.join(dir, shards(dir)[0]);
      const bytes = readFileSync(file);
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const edited = Buffer.from(`{"x":${deepArrays},${bytes.subarray(9, 8 + headerLength).toString("utf8")}`);
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(edited.length));
      writeFileSync(file, Buffer.concat([prefix, edited, bytes.subarray(8 + headerLength)]));
    });
    await expectRefused(header, "E_BAD_SAFETENSORS", /tensor "x" must be an object .* a deeply nested array/);
    const index = variant("index-deep", (dir) => {
      const file = path.join(dir, "model.safetensors.index.json");
      const parsed = JSON.parse(readFileSync(file, "utf8"));
      const [first] = Object.keys(parsed.weight_map);
      writeFileSync(file, JSON.stringify({ ...parsed, weight_map: { ...parsed.weight_map, [first]: "RAW" } }).replace('"RAW"', deepArrays));
    });
    await expectRefused(index, "E_BAD_SAFETENSORS", /the shard a deeply nested array/);
  });

  it("attention weights whose shapes do not split into config.json's heads", async () => {
    const dir = variant("kv-width", (dir) => {
      const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
      writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, num_attention_heads: 4, num_key_value_heads: 4 }));
    });
    await expectRefused(dir, "E_BAD_CHECKPOINT_DIR", /blk\.0\.attn_k\.weight has shape 16x32, config\.json implies 32x32/);
  });

  it("a head_dim the weights do not have is refused before rope_freqs is generated from it (llama 3 rope scaling)", async () => {
    const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 300 });
    const dir = path.join(temp.dir, "llama3-head-dim");
    await writeTinyHfCheckpoint(dir, {
      architecture: "llama", dtype: "float32", seed: 2, nLayer: 1, hiddenSize: 32, nHead: 2, nKvHead: 1, intermediateSize: 64,
      maxPositionEmbeddings: 512, ropeTheta: 10000, rmsNormEps: 1e-5, ropeScalingLlama3: true, vocabSize: tokenizer.vocabSize,
      tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
    });
    const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
    // 2^31 / 2 rope factors would be a 4 GiB Float32Array
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, head_dim: 2 ** 31 }));
    await expectRefused(dir, "E_BAD_CHECKPOINT_DIR", /blk\.0\.attn_q\.weight has shape 32x32, config\.json implies 4294967296x32/);
  });

  it("shapes that disagree with config.json", async () => {
    const dir = variant("wrong-shape", (dir) => {
      const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
      writeFileSync(path.join(dir, "config.json"), JSON.stringify({ ...config, intermediate_size: 96 }));
    });
    await expectRefused(dir, "E_BAD_CHECKPOINT_DIR", /ffn_down/);
  });
});
