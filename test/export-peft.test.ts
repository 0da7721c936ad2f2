// export-peft inverts convert's PEFT path: PEFT → GGUF → PEFT gives back the original
// safetensors byte for byte, and converting the export again gives the same GGUF tensors.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { readSafetensorsHeader, readTensorBytes } from "../src/convert/safetensors.js";
import { checkCloudflareAdapter } from "../src/export/cloudflare-target.js";
import { exportPeft, type ExportPeftOptions } from "../src/export/export-peft.js";
import {
  float32ArrayToFloat16, GgmlType, GgufValueType, isLoraGgufError, readGgufHeader, stringEntry, writeGgufFile, type GgufMetadataEntry,
} from "../src/index.js";
import { SeededRandom } from "../src/seeded-random.js";
import { writeTinyHfCheckpoint, type TinyHfArchitecture } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../src/testing/tiny-hf-tokenizer.js";
import { writeTinyPeftAdapter } from "../src/testing/tiny-peft-adapter.js";
import { tinyPeftModules } from "./helpers/peft-modules.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("export-peft");
afterAll(() => temp.cleanup());

const hidden = 64;
const kvWidth = 32;
const ffn = 128;
const modules = tinyPeftModules(hidden, kvWidth, ffn);

const bases = {} as Record<"llama" | "qwen2", { dir: string; gguf: string }>;

async function baseCheckpoint(architecture: TinyHfArchitecture): Promise<{ dir: string; gguf: string }> {
  const tokenizer = await tinyHfTokenizer({ family: architecture === "qwen2" ? "qwen2" : "llama3", keepTokens: 600 });
  const dir = path.join(temp.dir, `${architecture}-base`);
  await writeTinyHfCheckpoint(dir, {
    architecture, dtype: "float32", seed: 4, nLayer: 2, hiddenSize: hidden, nHead: 4, nKvHead: 2, intermediateSize: ffn,
    maxPositionEmbeddings: 1024, ropeTheta: 10000, rmsNormEps: 1e-5, vocabSize: tokenizer.vocabSize, tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
  });
  const gguf = path.join(temp.dir, `${architecture}-base.gguf`);
  await convert(dir, gguf, { outType: "f32" });
  return { dir, gguf };
}

/** PEFT fixtures (rsLoRA for llama) and their conversions: <arch>-peft/ and <arch>-adapter.gguf. */
const adapters = {} as Record<"llama" | "qwen2", { peft: string; gguf: string }>;

beforeAll(async () => {
  for (const architecture of ["llama", "qwen2"] as const) {
    bases[architecture] = await baseCheckpoint(architecture);
    const peft = path.join(temp.dir, `${architecture}-peft`);
    await writeTinyPeftAdapter(peft, { modules, layers: 2, rank: 4, alpha: 8, useRslora: architecture === "llama", seed: 9 });
    const gguf = path.join(temp.dir, `${architecture}-adapter.gguf`);
    await convert(peft, gguf, { base: bases[architecture].dir });
    adapters[architecture] = { peft, gguf };
  }
});

/** Every tensor of a GGUF: its ne, type and data bytes. */
async function ggufTensors(file: string): Promise<Map<string, { dims: number[]; type: number; bytes: Buffer }>> {
  const header = await readGgufHeader(file);
  const handle = await open(file, "r");
  try {
    const tensors = new Map<string, { dims: number[]; type: number; bytes: Buffer }>();
    for (const tensor of header.tensors) {
      const bytes = Buffer.alloc(tensor.byteSize);
      await handle.read(bytes, 0, bytes.length, tensor.absoluteOffset);
      tensors.set(tensor.name, { dims: tensor.dims, type: tensor.type, bytes });
    }
    return tensors;
  } finally {
    await handle.close();
  }
}

async function safetensorsTensors(file: string): Promise<Map<string, { dtype: string; shape: number[]; bytes: Buffer }>> {
  const header = await readSafetensorsHeader(file);
  const tensors = new Map<string, { dtype: string; shape: number[]; bytes: Buffer }>();
  for (const info of header.tensors) {
    tensors.set(info.name, { dtype: info.dtype, shape: info.shape, bytes: Buffer.from(await readTensorBytes({ file, info })) });
  }
  return tensors;
}

const readConfig = (dir: string) => JSON.parse(readFileSync(path.join(dir, "adapter_config.json"), "utf8")) as Record<string, unknown>;

/** A GGUF LoRA adapter written directly: `targets` are base tensor names with their [in, out]. */
async function writeAdapter(
  file: string,
  options: { architecture: string; rank: number | number[]; targets: [string, number, number][]; alpha?: number; type?: "f32" | "f16"; metadata?: GgufMetadataEntry[] },
): Promise<void> {
  const random = new SeededRandom(3);
  const tensors = options.targets.flatMap(([name, inputs, outputs], index) => {
    const rank = Array.isArray(options.rank) ? options.rank[index] : options.rank;
    return [
      { name: `${name}.lora_a`, dims: [inputs, rank] },
      { name: `${name}.lora_b`, dims: [rank, outputs] },
    ].map(({ name: tensorName, dims }) => {
      const values = random.fillNormal(new Float32Array(dims[0] * dims[1]), 0, 0.1);
      return options.type === "f16"
        ? { name: tensorName, dims, type: GgmlType.F16, data: float32ArrayToFloat16(values) }
        : { name: tensorName, dims, type: GgmlType.F32, data: values };
    });
  });
  const metadata: GgufMetadataEntry[] = [
    stringEntry("general.architecture", options.architecture),
    stringEntry("general.type", "adapter"),
    stringEntry("adapter.type", "lora"),
    ...(options.alpha === undefined ? [] : [{ key: "adapter.lora.alpha", type: GgufValueType.FLOAT32, value: options.alpha }]),
    ...(options.metadata ?? []),
  ];
  await writeGgufFile(file, { metadata, tensors });
}

/** Runs exportPeft expecting a LoraGgufError; checks nothing is left in the output's directory. */
async function refused(adapter: string, options: ExportPeftOptions = {}, output = path.join(temp.dir, "refused", "out")): Promise<{ code: string; message: string }> {
  mkdirSync(path.dirname(output), { recursive: true });
  const before = readdirSync(path.dirname(output)).sort();
  const error = await exportPeft(adapter, output, options).then(() => undefined, (e: unknown) => e);
  expect(isLoraGgufError(error), String(error)).toBe(true);
  expect(readdirSync(path.dirname(output)).sort()).toEqual(before);
  return error as { code: string; message: string };
}

describe("exportPeft: round trips through convert", () => {
  for (const { architecture, useRslora } of [
    { architecture: "llama" as const, useRslora: true },
    { architecture: "qwen2" as const, useRslora: false },
  ]) {
    it(`${architecture}${useRslora ? " (rsLoRA)" : ""}: the export is the original PEFT file byte for byte, and converts to the same GGUF tensors`, async () => {
      const { peft, gguf } = adapters[architecture];

      const exported = path.join(temp.dir, `${architecture}-exported`);
      // llama needs the base for its q/k head counts (given as GGUF here); qwen2 does without
      const result = await exportPeft(gguf, exported, architecture === "llama" ? { base: bases.llama.gguf } : {});
      const alpha = useRslora ? 8 * Math.sqrt(4) : 8;
      expect(result).toEqual({
        dir: exported,
        files: [path.join(exported, "adapter_config.json"), path.join(exported, "adapter_model.safetensors")],
        rank: 4,
        alpha,
        targetModules: ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"],
        bytes: expect.any(Number),
        architecture,
        tensorCount: 28,
        baseModelName: null,
      });
      expect(readdirSync(exported).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);

      const original = await safetensorsTensors(path.join(peft, "adapter_model.safetensors"));
      const roundTripped = await safetensorsTensors(path.join(exported, "adapter_model.safetensors"));
      expect([...roundTripped.keys()]).toEqual([...original.keys()]);
      for (const [name, tensor] of original) {
        const back = roundTripped.get(name)!;
        expect({ name, dtype: back.dtype, shape: back.shape }).toEqual({ name, dtype: tensor.dtype, shape: tensor.shape });
        expect(back.bytes.equals(tensor.bytes), `${name} differs`).toBe(true);
      }
      // same names, dtypes, data and {"format": "pt"}: the whole file is the same
      expect(readFileSync(path.join(exported, "adapter_model.safetensors")).equals(readFileSync(path.join(peft, "adapter_model.safetensors")))).toBe(true);

      const config = readConfig(exported);
      expect(config).toMatchObject({
        peft_type: "LORA", task_type: "CAUSAL_LM", r: 4, lora_alpha: alpha, use_rslora: false, use_dora: false, lora_dropout: 0,
        bias: "none", inference_mode: true, base_model_name_or_path: null, layers_to_transform: null, modules_to_save: null,
        target_modules: ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"],
      });
      expect(Object.keys(config)).toEqual(Object.keys(config).sort());
      expect(config).not.toHaveProperty("model_type");

      const again = path.join(temp.dir, `${architecture}-again.gguf`);
      await convert(exported, again, { base: bases[architecture].gguf });
      const first = await ggufTensors(gguf);
      const second = await ggufTensors(again);
      expect([...second.keys()]).toEqual([...first.keys()]);
      for (const [name, tensor] of first) {
        const back = second.get(name)!;
        expect({ name, dims: back.dims, type: back.type }).toEqual({ name, dims: tensor.dims, type: GgmlType.F32 });
        expect(back.bytes.equals(tensor.bytes), `${name} differs`).toBe(true);
      }
      const alphaAgain = (await readGgufHeader(again)).metadataByKey.get("adapter.lora.alpha")!.value;
      expect(alphaAgain).toBe((await readGgufHeader(gguf)).metadataByKey.get("adapter.lora.alpha")!.value);
    });
  }

  it("llama q/k need the base's head counts; v/o and mlp do not", async () => {
    const adapter = adapters.llama.gguf;
    const error = await refused(adapter);
    expect(error.code).toBe("E_INVALID_OPTION");
    expect(error.message).toBe(
      `export-peft: ${adapter} adapts blk.0.attn_k.weight, whose lora_b rows llama.cpp keeps in its own rotary order; ` +
        "give the base model with base (--base), its GGUF or Hugging Face directory, so its head counts can restore Hugging Face's order",
    );

    const peft = path.join(temp.dir, "llama-vo-peft");
    await writeTinyPeftAdapter(peft, { modules: modules.filter((m) => !/[qk]_proj/.test(m.name)), layers: 2, rank: 4, alpha: 8, seed: 5 });
    const gguf = path.join(temp.dir, "llama-vo.gguf");
    await convert(peft, gguf, { base: bases.llama.gguf });
    const exported = path.join(temp.dir, "llama-vo-exported");
    expect((await exportPeft(gguf, exported)).targetModules).toEqual(["down_proj", "gate_proj", "o_proj", "up_proj", "v_proj"]);
    expect(readFileSync(path.join(exported, "adapter_model.safetensors")).equals(readFileSync(path.join(peft, "adapter_model.safetensors")))).toBe(true);
  });

  it("keeps f16 factors as F16, bit for bit", async () => {
    const adapter = path.join(temp.dir, "f16.gguf");
    await writeAdapter(adapter, { architecture: "qwen2", rank: 8, alpha: 16, type: "f16", targets: [["blk.0.attn_v.weight", hidden, kvWidth], ["blk.1.ffn_down.weight", ffn, hidden]] });
    const exported = path.join(temp.dir, "f16-exported");
    await exportPeft(adapter, exported);
    const source = await ggufTensors(adapter);
    const tensors = await safetensorsTensors(path.join(exported, "adapter_model.safetensors"));
    expect([...tensors].map(([name, { dtype, shape }]) => ({ name, dtype, shape }))).toEqual([
      { name: "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", dtype: "F16", shape: [8, hidden] },
      { name: "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight", dtype: "F16", shape: [kvWidth, 8] },
      { name: "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", dtype: "F16", shape: [8, ffn] },
      { name: "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", dtype: "F16", shape: [hidden, 8] },
    ]);
    expect(tensors.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")!.bytes.equals(source.get("blk.1.ffn_down.weight.lora_b")!.bytes)).toBe(true);
  });

  it("layers_to_transform lists the blocks when the adapter covers only some, as far as it can tell", async () => {
    const lateOnly = path.join(temp.dir, "late-only.gguf");
    await writeAdapter(lateOnly, { architecture: "qwen2", rank: 4, alpha: 8, targets: [["blk.1.attn_v.weight", hidden, kvWidth]] });
    const earlyOnly = path.join(temp.dir, "early-only.gguf");
    await writeAdapter(earlyOnly, { architecture: "qwen2", rank: 4, alpha: 8, targets: [["blk.0.attn_v.weight", hidden, kvWidth]] });
    const layersOf = async (adapter: string, options: ExportPeftOptions) => {
      const out = path.join(temp.dir, `layers-${path.basename(adapter, ".gguf")}-${options.base ? "base" : "alone"}`);
      await exportPeft(adapter, out, options);
      return readConfig(out).layers_to_transform;
    };
    expect(await layersOf(lateOnly, {})).toEqual([1]);
    expect(await layersOf(lateOnly, { base: bases.qwen2.gguf })).toEqual([1]);
    // without the base, blocks 0..0 may be all there are
    expect(await layersOf(earlyOnly, {})).toBeNull();
    expect(await layersOf(earlyOnly, { base: bases.qwen2.dir })).toEqual([0]);
  });

  it("base_model_name_or_path: the option, else general.base_model.0.repo_url on huggingface.co; alpha absent means alpha = r", async () => {
    const adapter = path.join(temp.dir, "named.gguf");
    await writeAdapter(adapter, {
      architecture: "qwen2", rank: 4, targets: [["blk.0.attn_v.weight", hidden, kvWidth]],
      metadata: [stringEntry("general.base_model.0.repo_url", "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct")],
    });
    const fromMetadata = path.join(temp.dir, "named-exported");
    const result = await exportPeft(adapter, fromMetadata);
    expect(result.baseModelName).toBe("Qwen/Qwen2.5-0.5B-Instruct");
    expect(readConfig(fromMetadata)).toMatchObject({ base_model_name_or_path: "Qwen/Qwen2.5-0.5B-Instruct", lora_alpha: 4, r: 4 });
    const fromOption = path.join(temp.dir, "named-option");
    await exportPeft(adapter, fromOption, { baseModelName: "my-org/my-base" });
    expect(readConfig(fromOption).base_model_name_or_path).toBe("my-org/my-base");
  });
});

describe("exportPeft --target cloudflare", () => {
  it("accepts a llama adapter of rank <= 32 and adds model_type", async () => {
    const adapter = adapters.llama.gguf;
    const out = path.join(temp.dir, "cloudflare-llama");
    const result = await exportPeft(adapter, out, { target: "cloudflare", base: bases.llama.dir });
    expect(result.modelType).toBe("llama");
    expect(readConfig(out).model_type).toBe("llama");

    const mistral = path.join(temp.dir, "cloudflare-mistral");
    await exportPeft(adapter, mistral, { target: "cloudflare", base: bases.llama.gguf, baseModelName: "mistralai/Mistral-7B-Instruct-v0.2" });
    expect(readConfig(mistral)).toMatchObject({ model_type: "mistral", base_model_name_or_path: "mistralai/Mistral-7B-Instruct-v0.2" });
  });

  it("refuses rank 64, qwen2 and 300 MB of weights", async () => {
    const wide = path.join(temp.dir, "rank64.gguf");
    await writeAdapter(wide, { architecture: "llama", rank: 64, alpha: 64, targets: [["blk.0.attn_v.weight", hidden, kvWidth]] });
    expect(await refused(wide, { target: "cloudflare" })).toEqual(
      expect.objectContaining({
        code: "E_TARGET_UNSUPPORTED",
        message: "export-peft --target cloudflare: the adapter has rank 64; Workers AI takes rank 32 at most: train again with a lower rank (--rank)",
      }),
    );
    // without a target, rank 64 is fine
    await exportPeft(wide, path.join(temp.dir, "rank64-plain"));

    const qwen = await refused(adapters.qwen2.gguf, { target: "cloudflare" });
    expect(qwen.code).toBe("E_TARGET_UNSUPPORTED");
    expect(qwen.message).toMatch(/this adapter is for qwen2, which is not one of them/);

    expect(checkCloudflareAdapter({ architecture: "llama", rank: 32, weightsBytes: 299_999_999, baseNames: [] })).toBe("llama");
    expect(() => checkCloudflareAdapter({ architecture: "llama", rank: 8, weightsBytes: 300_000_000, baseNames: [] })).toThrow(
      /adapter_model.safetensors would be 300000000 bytes; Workers AI takes less than 300 MB/,
    );
  });
});

describe("exportPeft: bad input and outputs", () => {
  it("refuses a model GGUF, non-LoRA and unknown tensors, unpaired factors, mixed ranks and another base", async () => {
    const model = await refused(bases.llama.gguf);
    expect(model.code).toBe("E_WRONG_KIND");
    expect(model.message).toBe(`export-peft: ${bases.llama.gguf} is a model (general.type), not a LoRA adapter; give an adapter GGUF (from train, or convert --base)`);

    const norm = path.join(temp.dir, "norm.gguf");
    await writeAdapter(norm, { architecture: "llama", rank: 4, alpha: 8, targets: [["blk.0.attn_norm.weight", hidden, 1]] });
    expect(await refused(norm)).toEqual(
      expect.objectContaining({
        code: "E_UNSUPPORTED_ADAPTER",
        message: `export-peft: ${norm} adapts blk.0.attn_norm.weight, which is not a llama linear weight with a Hugging Face name (q/k/v/o_proj, gate/up/down_proj, lm_head)`,
      }),
    );
    const embedding = path.join(temp.dir, "embedding.gguf");
    await writeAdapter(embedding, { architecture: "llama", rank: 4, alpha: 8, targets: [["token_embd.weight", hidden, 600]] });
    expect((await refused(embedding)).code).toBe("E_UNSUPPORTED_ADAPTER");

    const extra = path.join(temp.dir, "extra.gguf");
    await writeGgufFile(extra, {
      metadata: [stringEntry("general.architecture", "qwen2"), stringEntry("general.type", "adapter"), stringEntry("adapter.type", "lora")],
      tensors: [{ name: "blk.0.attn_norm.weight", dims: [hidden], type: GgmlType.F32, data: new Float32Array(hidden) }],
    });
    expect((await refused(extra)).message).toBe(
      `export-peft: ${extra} holds blk.0.attn_norm.weight, which is not a LoRA factor (<weight>.lora_a / .lora_b); PEFT LoRA adapters hold nothing else`,
    );

    const lone = path.join(temp.dir, "lone.gguf");
    await writeGgufFile(lone, {
      metadata: [stringEntry("general.architecture", "qwen2"), stringEntry("general.type", "adapter"), stringEntry("adapter.type", "lora")],
      tensors: [{ name: "blk.0.attn_v.weight.lora_a", dims: [hidden, 4], type: GgmlType.F32, data: new Float32Array(hidden * 4) }],
    });
    expect(await refused(lone)).toEqual(
      expect.objectContaining({ code: "E_BAD_GGUF", message: `export-peft: ${lone} has blk.0.attn_v.weight.lora_a but not blk.0.attn_v.weight.lora_b` }),
    );

    const mixed = path.join(temp.dir, "mixed.gguf");
    await writeAdapter(mixed, { architecture: "qwen2", rank: [4, 8], alpha: 8, targets: [["blk.0.attn_v.weight", hidden, kvWidth], ["blk.1.attn_v.weight", hidden, kvWidth]] });
    expect(await refused(mixed)).toEqual(
      expect.objectContaining({ code: "E_UNSUPPORTED_ADAPTER", message: `export-peft: ${mixed} mixes ranks 4, 8; export-peft writes one r for every module` }),
    );

    const qwenAdapter = adapters.qwen2.gguf;
    expect((await refused(qwenAdapter, { base: bases.llama.gguf })).code).toBe("E_ADAPTER_MISMATCH");
    const wide = path.join(temp.dir, "wide.gguf");
    await writeAdapter(wide, { architecture: "qwen2", rank: 4, alpha: 8, targets: [["blk.0.attn_v.weight", hidden, 2 * kvWidth]] });
    expect((await refused(wide, { base: bases.qwen2.dir })).message).toMatch(/this adapter was trained for a different base model/);

    const notGguf = path.join(temp.dir, "not.gguf");
    writeFileSync(notGguf, "hello, world");
    expect((await refused(notGguf)).code).toBe("E_BAD_GGUF");
    expect((await refused(path.join(temp.dir, "missing.gguf"))).code).toBe("E_INPUT_NOT_FOUND");
    expect(await refused(qwenAdapter, { target: "azure" } as unknown as ExportPeftOptions)).toEqual(
      expect.objectContaining({ code: "E_INVALID_OPTION", message: 'export-peft: target must be one of "cloudflare", got "azure"' }),
    );
  });

  it("refuses an existing non-empty directory without force; with force replaces only the adapter files", async () => {
    const adapter = adapters.qwen2.gguf;
    const out = path.join(temp.dir, "existing");
    mkdirSync(out);
    writeFileSync(path.join(out, "adapter_config.json"), "old");
    writeFileSync(path.join(out, "README.md"), "keep me");
    const error = await refused(adapter, {}, out);
    expect(error).toEqual(
      expect.objectContaining({ code: "E_OUTPUT_EXISTS", message: `export-peft: ${out} already exists and is not empty; pass force (--force) to overwrite its files` }),
    );
    expect(readFileSync(path.join(out, "adapter_config.json"), "utf8")).toBe("old");

    await exportPeft(adapter, out, { force: true });
    expect(readdirSync(out).sort()).toEqual(["README.md", "adapter_config.json", "adapter_model.safetensors"]);
    expect(readConfig(out).r).toBe(4);
    expect(readdirSync(temp.dir).filter((name) => name.includes(".tmp-"))).toEqual([]);

    const empty = path.join(temp.dir, "empty");
    mkdirSync(empty);
    await exportPeft(adapter, empty);
    expect(readdirSync(empty).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);

    const file = path.join(temp.dir, "refused", "a-file");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, "");
    expect((await refused(adapter, { force: true }, file)).code).toBe("E_OUTPUT_EXISTS");
    const orphan = path.join(temp.dir, "no-such-parent", "out");
    const missingParent = await exportPeft(adapter, orphan).then(() => undefined, (e: unknown) => e as { code: string });
    expect(missingParent?.code).toBe("E_OUTPUT_DIR");
    expect(existsSync(path.dirname(orphan))).toBe(false);
  });

  it("an abort while writing rejects with the signal's reason and leaves nothing behind", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    controller.abort(reason);
    const out = path.join(temp.dir, "aborted", "out");
    mkdirSync(path.dirname(out));
    const error = await exportPeft(adapters.qwen2.gguf, out, { signal: controller.signal }).then(() => undefined, (e: unknown) => e);
    expect(error).toBe(reason);
    expect(readdirSync(path.dirname(out))).toEqual([]);
  });
});
