import { mkdir, open, readFile, rm, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, describe, expect, test, vi } from "vitest";
import {
  openCheckpointTensors,
  readSafetensorsHeader,
  readTensorAsFloat32,
  readTensorBytes,
  type CheckpointTensor,
} from "../src/convert/safetensors.js";
import { encodeSafetensorsHeader, writeSafetensorsFile } from "../src/convert/safetensors-writer.js";
import { isLoraGgufError, type LoraGgufErrorCode } from "../src/errors.js";
import { bfloat16ArrayToFloat32, float32ArrayToBfloat16 } from "../src/gguf/f16.js";
import { tinyHfTensorFloat32, writeTinyHfCheckpoint, type TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("safetensors");
afterAll(() => temp.cleanup());
afterEach(() => vi.restoreAllMocks());

let fileCounter = 0;
function tempPath(name: string): string {
  return path.join(temp.dir, `${fileCounter++}-${name}`);
}

async function expectError(promise: Promise<unknown>, code: LoraGgufErrorCode, message: string | RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isLoraGgufError(error), `expected a LoraGgufError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (typeof message === "string") expect((error as Error).message).toBe(message);
  else expect((error as Error).message).toMatch(message);
}

/** A safetensors file with a hand-written header (padded to 8 as the crate pads) and data section. */
async function writeRawSafetensors(header: string | object, data: Uint8Array = new Uint8Array(0)): Promise<string> {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, " ");
  json.copy(padded);
  return writeBytes(Buffer.concat([lengthPrefix(padded.length), padded, data]));
}

async function writeBytes(bytes: Uint8Array, name = "raw.safetensors"): Promise<string> {
  const file = tempPath(name);
  await writeFile(file, bytes);
  return file;
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length));
  return prefix;
}

function bits32(values: Float32Array): number[] {
  return [...new Uint32Array(values.buffer, values.byteOffset, values.length)];
}

const tinyOptions: TinyHfCheckpointOptions = {
  architecture: "qwen2",
  seed: 7,
  dtype: "bfloat16",
  nLayer: 2,
  hiddenSize: 32,
  nHead: 4,
  nKvHead: 2,
  intermediateSize: 48,
  vocabSize: 40,
  maxPositionEmbeddings: 256,
  ropeTheta: 1_000_000,
  rmsNormEps: 1e-6,
};

describe("safetensors writer", () => {
  // The byte strings of safetensors/src/tensor.rs's own serialization tests.
  test("writes the bytes the Rust crate writes", async () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5]);
    const out1 = tempPath("attn.safetensors");
    await writeSafetensorsFile(out1, { tensors: [{ name: "attn.0", dtype: "F32", shape: [1, 2, 3], data }] });
    expect([...(await readFile(out1))]).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97,
      112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125,
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);

    const out2 = tempPath("attn0.safetensors");
    await writeSafetensorsFile(out2, { tensors: [{ name: "attn0", dtype: "F32", shape: [1, 1, 2, 3], data }] });
    expect([...(await readFile(out2))]).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112,
      101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125,
      125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);

    expect([...encodeSafetensorsHeader([]).bytes]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...encodeSafetensorsHeader([], { framework: "pt" }).bytes]).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34,
      58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  test("orders tensors by descending dtype alignment, then name, so each is aligned to its element size", () => {
    const header = encodeSafetensorsHeader([
      { name: "b", dtype: "U8", shape: [3] },
      { name: "a", dtype: "BF16", shape: [3] },
      { name: "10", dtype: "F32", shape: [1] },
      { name: "9", dtype: "F32", shape: [1] },
      { name: "z", dtype: "F64", shape: [] },
    ]);
    expect(header.tensors.map((tensor) => tensor.name)).toEqual(["z", "10", "9", "a", "b"]);
    expect(header.tensors.map((tensor) => tensor.dataOffsets)).toEqual([[0, 8], [8, 12], [12, 16], [16, 22], [22, 25]]);
    // Integer-like names keep their place (a JS object would move them first).
    expect(Buffer.from(header.bytes).toString("utf8", 8)).toMatch(/^\{"z":.*"10":.*"9":.*"a":.*"b":/);
  });

  test("rejects a tensor whose data does not match its declaration", async () => {
    await expectError(
      writeSafetensorsFile(tempPath("bad.safetensors"), { tensors: [{ name: "x", dtype: "F32", shape: [3], data: new Float32Array(2) }] }),
      "E_INVALID_OPTION",
      'safetensors writer: tensor "x" data is 8 bytes but F32 [3] needs 12',
    );
  });
});

describe("safetensors reader", () => {
  test("round trips F32, F16 and BF16 (BF16 exactly) and the raw bytes of every dtype", async () => {
    const f32 = new Float32Array([1.5, -0, 1e-40, -3.4e38, Number.POSITIVE_INFINITY, 0.1]);
    // 1, -2, the smallest subnormal, the largest half, +inf
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00]);
    // 1, a negative subnormal, the largest finite, -inf, a NaN with a payload, +0
    const bf16 = new Uint16Array([0x3f80, 0x8001, 0x7f7f, 0xff80, 0x7fc1, 0x0000]);
    const i32 = new Int32Array([-5, 1 << 30]);
    const u8 = new Uint8Array([1, 2, 255]);
    const scalar = new Float64Array([Math.PI]);
    const file = tempPath("roundtrip.safetensors");
    await writeSafetensorsFile(file, {
      tensors: [
        { name: "w.f32", dtype: "F32", shape: [2, 3], data: f32 },
        { name: "w.f16", dtype: "F16", shape: [5], data: f16 },
        { name: "w.bf16", dtype: "BF16", shape: [3, 2], data: bf16 },
        { name: "w.i32", dtype: "I32", shape: [2], data: i32 },
        { name: "w.u8", dtype: "U8", shape: [3], data: u8 },
        { name: "w.scalar", dtype: "F64", shape: [], data: scalar },
      ],
      metadata: { format: "pt" },
    });

    const header = await readSafetensorsHeader(file);
    expect(header.metadata).toEqual({ format: "pt" });
    expect(header.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }))).toEqual([
      { name: "w.bf16", dtype: "BF16", shape: [3, 2] },
      { name: "w.f16", dtype: "F16", shape: [5] },
      { name: "w.f32", dtype: "F32", shape: [2, 3] },
      { name: "w.i32", dtype: "I32", shape: [2] },
      { name: "w.scalar", dtype: "F64", shape: [] },
      { name: "w.u8", dtype: "U8", shape: [3] },
    ]);
    const itemBytes = { BF16: 2, F16: 2, F32: 4, I32: 4, F64: 8, U8: 1 } as Record<string, number>;
    for (const info of header.tensors) expect(info.byteOffset % itemBytes[info.dtype]).toBe(0);
    expect(header.fileSize).toBe(header.dataOffset + 24 + 10 + 12 + 8 + 3 + 8);

    const entry = (name: string): CheckpointTensor => ({ file, info: header.tensors.find((info) => info.name === name)! });
    expect(bits32(await readTensorAsFloat32(entry("w.f32")))).toEqual(bits32(f32));
    expect([...(await readTensorAsFloat32(entry("w.f16")))]).toEqual([1, -2, 2 ** -24, 65504, Number.POSITIVE_INFINITY]);
    expect(bits32(await readTensorAsFloat32(entry("w.bf16")))).toEqual([...bf16].map((bits) => (bits << 16) >>> 0));
    expect([...(await readTensorBytes(entry("w.i32")))]).toEqual([...new Uint8Array(i32.buffer)]);
    expect([...(await readTensorBytes(entry("w.u8")))]).toEqual([1, 2, 255]);
    expect(new Float64Array((await readTensorBytes(entry("w.scalar"))).buffer)[0]).toBe(Math.PI);
    await expectError(
      readTensorAsFloat32(entry("w.i32")),
      "E_UNSUPPORTED_DTYPE",
      `tensor "w.i32" in ${file} is I32; only F32, F16 and BF16 tensors can be read as float32`,
    );
  });

  test("a bfloat16 checkpoint holds the float32 values rounded to nearest even, and reads back exactly", async () => {
    const dir = tempPath("bf16-checkpoint");
    await writeTinyHfCheckpoint(dir, tinyOptions);
    const f32Dir = tempPath("f32-checkpoint");
    await writeTinyHfCheckpoint(f32Dir, { ...tinyOptions, dtype: "float32" });
    const tensors = await openCheckpointTensors(dir);
    const f32Tensors = await openCheckpointTensors(f32Dir);
    let roundedUp = 0;
    for (const [name, entry] of tensors) {
      const generated = tinyHfTensorFloat32(tinyOptions, name);
      const read = await readTensorAsFloat32(entry);
      expect(bits32(read), name).toEqual(bits32(bfloat16ArrayToFloat32(float32ArrayToBfloat16(generated))));
      expect(bits32(await readTensorAsFloat32(f32Tensors.get(name)!)), name).toEqual(bits32(generated));
      const truncated = bits32(generated).map((bits) => (bits & 0xffff0000) >>> 0);
      roundedUp += bits32(read).filter((bits, index) => bits !== truncated[index]).length;
    }
    expect(roundedUp).toBeGreaterThan(0);
  });

  test("reads a missing file as E_INPUT_NOT_FOUND", async () => {
    const file = path.join(temp.dir, "nope.safetensors");
    await expectError(readSafetensorsHeader(file), "E_INPUT_NOT_FOUND", `safetensors file not found: ${file}`);
  });

  test("rejects files cut at any point, naming what is missing", async () => {
    const file = tempPath("whole.safetensors");
    await writeSafetensorsFile(file, {
      tensors: [
        { name: "first", dtype: "F32", shape: [4], data: new Float32Array(4) },
        { name: "second", dtype: "F32", shape: [2, 2], data: new Float32Array(4) },
      ],
    });
    const whole = await readFile(file);
    const { dataOffset, fileSize } = await readSafetensorsHeader(file);
    const headerLength = dataOffset - 8;
    for (const cut of [0, 3, 7, 8, 20, dataOffset - 1, dataOffset, dataOffset + 5, dataOffset + 16, fileSize - 1]) {
      const truncated = await writeBytes(whole.subarray(0, cut), `cut-${cut}.safetensors`);
      let expected: string;
      if (cut < 8) {
        expected = `${truncated}: truncated: the file has ${cut} bytes, fewer than the 8-byte header length that starts a safetensors file`;
      } else if (cut < dataOffset) {
        expected = `${truncated}: header length ${headerLength} runs past the end of the ${cut}-byte file`;
      } else {
        const [name, end] = cut < dataOffset + 16 ? ["first", dataOffset + 16] : ["second", dataOffset + 32];
        expected = `${truncated}: truncated: tensor "${name}" ends at byte ${end} but the file has ${cut} bytes`;
      }
      await expectError(readSafetensorsHeader(truncated), "E_BAD_SAFETENSORS", expected);
    }
  });

  test("rejects a header length past the end of the file or over the 100 MB limit", async () => {
    const file = await writeBytes(Buffer.concat([lengthPrefix(123456789), Buffer.alloc(992, 0x20)]));
    await expectError(readSafetensorsHeader(file), "E_BAD_SAFETENSORS", `${file}: header length 123456789 runs past the end of the 1000-byte file`);

    const huge = await writeBytes(lengthPrefix(150_000_000), "huge.safetensors");
    await truncate(huge, 150_000_100); // sparse: no data is written
    await expectError(
      readSafetensorsHeader(huge),
      "E_BAD_SAFETENSORS",
      `${huge}: header length 150000000 is over the 100000000-byte limit safetensors sets`,
    );
    await rm(huge);
  });

  test("rejects headers that are not UTF-8 JSON objects", async () => {
    const notJson = await writeRawSafetensors("{not json");
    await expectError(readSafetensorsHeader(notJson), "E_BAD_SAFETENSORS", new RegExp(`^${escape(notJson)}: the header is not valid JSON \\(`));
    const array = await writeRawSafetensors("[1,2]");
    await expectError(readSafetensorsHeader(array), "E_BAD_SAFETENSORS", `${array}: the header must be a JSON object, got [1,2]`);
    const binary = await writeBytes(Buffer.concat([lengthPrefix(8), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x20, 0x20, 0x20, 0x20])]));
    await expectError(readSafetensorsHeader(binary), "E_BAD_SAFETENSORS", `${binary}: the header is not valid UTF-8`);
  });

  test("rejects bad tensor entries and metadata, each with its own message", async () => {
    const f32x4 = { dtype: "F32", shape: [4], data_offsets: [0, 16] };
    const data = new Uint8Array(32);
    const cases: [object, string][] = [
      [{ x: { ...f32x4, dtype: "F7" } }, 'tensor "x" has unknown dtype "F7"'],
      [{ x: { ...f32x4, dtype: 4 } }, 'tensor "x" has unknown dtype 4'],
      [{ x: { ...f32x4, shape: [-4] } }, 'tensor "x" shape must be an array of non-negative integers, got [-4]'],
      [{ x: { ...f32x4, shape: [1.5] } }, 'tensor "x" shape must be an array of non-negative integers, got [1.5]'],
      [{ x: { ...f32x4, shape: "4" } }, 'tensor "x" shape must be an array of non-negative integers, got "4"'],
      [{ x: { ...f32x4, data_offsets: [16, 0] } }, 'tensor "x" data_offsets must be [begin, end] with 0 <= begin <= end, got [16,0]'],
      [{ x: { ...f32x4, data_offsets: [0] } }, 'tensor "x" data_offsets must be [begin, end] with 0 <= begin <= end, got [0]'],
      [{ x: { ...f32x4, data_offsets: [-4, 12] } }, 'tensor "x" data_offsets must be [begin, end] with 0 <= begin <= end, got [-4,12]'],
      [{ x: { dtype: "F32", shape: [4] } }, 'tensor "x" data_offsets must be [begin, end] with 0 <= begin <= end, got nothing'],
      [{ x: [1] }, 'tensor "x" must be an object with dtype, shape and data_offsets, got [1]'],
      [{ x: { ...f32x4, data_offsets: [0, 12] } }, 'tensor "x" data_offsets [0, 12] span 12 bytes but shape [4] of F32 needs 16'],
      [{ x: f32x4, y: { ...f32x4, data_offsets: [8, 24] } }, 'tensors "x" (data bytes 0 to 16) and "y" (8 to 24) overlap'],
      [{ x: { ...f32x4, data_offsets: [24, 40] } }, "truncated: tensor \"x\" ends at byte HEADER_END+40 but the file has HEADER_END+32 bytes"],
      [{ __metadata__: { format: 1 }, x: f32x4 }, '__metadata__ must map strings to strings, but "format" is 1'],
      [{ __metadata__: "pt", x: f32x4 }, '__metadata__ must be an object mapping strings to strings, got "pt"'],
    ];
    for (const [header, message] of cases) {
      const file = await writeRawSafetensors(header, data);
      const { dataOffset } = encodeLikeRaw(header);
      const expected = `${file}: ${message.replaceAll("HEADER_END+40", String(dataOffset + 40)).replaceAll("HEADER_END+32", String(dataOffset + 32))}`;
      await expectError(readSafetensorsHeader(file), "E_BAD_SAFETENSORS", expected);
    }
  });

  test("accepts gaps, zero-size tensors and F8 tensors, which read as raw bytes only", async () => {
    const file = await writeRawSafetensors(
      {
        empty: { dtype: "F32", shape: [0, 4], data_offsets: [4, 4] },
        fp8: { dtype: "F8_E4M3", shape: [2], data_offsets: [8, 10] },
        after: { dtype: "F16", shape: [1], data_offsets: [12, 14] },
      },
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0x38, 0xb8, 0, 0, 0x00, 0x3c]),
    );
    const header = await readSafetensorsHeader(file);
    const entry = (name: string): CheckpointTensor => ({ file, info: header.tensors.find((info) => info.name === name)! });
    expect([...(await readTensorAsFloat32(entry("empty")))]).toEqual([]);
    expect([...(await readTensorAsFloat32(entry("after")))]).toEqual([1]);
    expect([...(await readTensorBytes(entry("fp8")))]).toEqual([0x38, 0xb8]);
    await expectError(
      readTensorAsFloat32(entry("fp8")),
      "E_UNSUPPORTED_DTYPE",
      `tensor "fp8" in ${file} is F8_E4M3; only F32, F16 and BF16 tensors can be read as float32`,
    );
  });

  test("reads the header with exactly two reads and a tensor with reads of its bytes only", async () => {
    const big = (seed: number) => Float32Array.from({ length: 16384 }, (_, index) => seed + index);
    const file = tempPath("spied.safetensors");
    await writeSafetensorsFile(file, {
      tensors: [
        { name: "a", dtype: "F32", shape: [128, 128], data: big(1) },
        { name: "b", dtype: "F32", shape: [128, 128], data: big(2) },
        { name: "c", dtype: "F32", shape: [128, 128], data: big(3) },
      ],
    });
    const probe = await open(file);
    const fileHandlePrototype = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => unknown };
    await probe.close();
    const reads = vi.spyOn(fileHandlePrototype, "read");
    const spans = () => reads.mock.calls.map((call) => [call[3] as number, (call[3] as number) + (call[2] as number)]);

    const header = await readSafetensorsHeader(file);
    expect(spans()).toEqual([[0, 8], [8, header.dataOffset]]);

    const middle = { file, info: header.tensors[1] };
    for (const read of [() => readTensorBytes(middle), () => readTensorAsFloat32(middle)]) {
      reads.mockClear();
      await read();
      const covered = spans();
      expect(covered.length).toBeGreaterThan(0);
      expect(covered[0][0]).toBe(middle.info.byteOffset);
      for (const [start, end] of covered) {
        expect(start).toBeGreaterThanOrEqual(middle.info.byteOffset);
        expect(end).toBeLessThanOrEqual(middle.info.byteOffset + middle.info.byteLength);
      }
      expect(covered.reduce((sum, [start, end]) => sum + end - start, 0)).toBe(middle.info.byteLength);
    }
    expect([...(await readTensorAsFloat32(middle)).subarray(0, 3)]).toEqual([2, 3, 4]);
  });
});

describe("checkpoint directories", () => {
  test("a sharded checkpoint lists the same tensors, with the same values, as a single file", async () => {
    const singleDir = tempPath("single");
    const shardedDir = tempPath("sharded");
    await writeTinyHfCheckpoint(singleDir, tinyOptions);
    const sharded = await writeTinyHfCheckpoint(shardedDir, { ...tinyOptions, shards: 3 });
    expect(sharded.files).toEqual([
      "config.json",
      "generation_config.json",
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);

    const single = await openCheckpointTensors(singleDir);
    const shards = await openCheckpointTensors(shardedDir);
    expect([...single.keys()]).toEqual([...single.keys()].sort());
    expect([...shards.keys()].sort()).toEqual([...single.keys()]);

    const index = JSON.parse(await readFile(path.join(shardedDir, "model.safetensors.index.json"), "utf8")) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    expect(Object.keys(index.weight_map).sort()).toEqual([...single.keys()]);
    let totalSize = 0;
    for (const [name, entry] of shards) {
      expect(path.basename(entry.file), name).toBe(index.weight_map[name]);
      expect(bits32(await readTensorAsFloat32(entry)), name).toEqual(bits32(await readTensorAsFloat32(single.get(name)!)));
      totalSize += entry.info.byteLength;
    }
    expect(index.metadata.total_size).toBe(totalSize);
    // llama.cpp's order: shard by shard, each shard's tensors by name.
    const order = [...shards.values()].map((entry) => `${path.basename(entry.file)} ${entry.info.name}`);
    expect(order).toEqual([...order].sort());
    expect(new Set(order.map((line) => line.split(" ")[0])).size).toBe(3);
  });

  test("a shard the index lists but the directory lacks is E_INPUT_NOT_FOUND, naming the shard", async () => {
    const dir = tempPath("missing-shard");
    await writeTinyHfCheckpoint(dir, { ...tinyOptions, shards: 2 });
    await rm(path.join(dir, "model-00002-of-00002.safetensors"));
    await expectError(
      openCheckpointTensors(dir),
      "E_INPUT_NOT_FOUND",
      `shard model-00002-of-00002.safetensors listed in ${path.join(dir, "model.safetensors.index.json")} is missing from ${dir}`,
    );
  });

  test("an index that disagrees with its shards, or is not an index, is E_BAD_SAFETENSORS", async () => {
    const dir = tempPath("index-lies");
    await writeTinyHfCheckpoint(dir, { ...tinyOptions, shards: 2 });
    const indexPath = path.join(dir, "model.safetensors.index.json");
    const index = JSON.parse(await readFile(indexPath, "utf8")) as { weight_map: Record<string, string> };
    index.weight_map["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00002.safetensors";
    await writeFile(indexPath, JSON.stringify(index));
    await expectError(
      openCheckpointTensors(dir),
      "E_BAD_SAFETENSORS",
      `${indexPath} puts tensor "model.layers.9.mlp.up_proj.weight" in model-00001-of-00002.safetensors, but ${path.join(dir, "model-00001-of-00002.safetensors")} has no such tensor`,
    );

    delete index.weight_map["model.layers.9.mlp.up_proj.weight"];
    delete index.weight_map["model.norm.weight"];
    await writeFile(indexPath, JSON.stringify(index));
    await expectError(
      openCheckpointTensors(dir),
      "E_BAD_SAFETENSORS",
      `${path.join(dir, "model-00002-of-00002.safetensors")} holds tensor "model.norm.weight", which ${indexPath} does not list`,
    );

    index.weight_map["model.norm.weight"] = "../outside.safetensors";
    await writeFile(indexPath, JSON.stringify(index));
    await expectError(
      openCheckpointTensors(dir),
      "E_BAD_SAFETENSORS",
      `${indexPath}: weight_map gives tensor "model.norm.weight" the shard "../outside.safetensors", not a file name in the checkpoint directory`,
    );

    await writeFile(indexPath, "{");
    await expectError(openCheckpointTensors(dir), "E_BAD_SAFETENSORS", new RegExp(`^${escape(indexPath)} is not valid JSON \\(`));
    await writeFile(indexPath, "{}");
    await expectError(openCheckpointTensors(dir), "E_BAD_SAFETENSORS", `${indexPath} has no weight_map object mapping tensor names to shard files`);
  });

  test("a directory without safetensors weights is E_INPUT_NOT_FOUND", async () => {
    const missing = path.join(temp.dir, "no-such-dir");
    await expectError(openCheckpointTensors(missing), "E_INPUT_NOT_FOUND", `checkpoint directory not found: ${missing}`);

    const dir = tempPath("no-weights");
    await mkdir(dir);
    await expectError(openCheckpointTensors(dir), "E_INPUT_NOT_FOUND", `${dir} has neither model.safetensors nor model.safetensors.index.json`);
    await writeFile(path.join(dir, "pytorch_model.bin"), "");
    await expectError(
      openCheckpointTensors(dir),
      "E_INPUT_NOT_FOUND",
      `${dir} has neither model.safetensors nor model.safetensors.index.json; it has pytorch_model.bin weights, which are not read (only safetensors are): re-save the model with save_pretrained(..., safe_serialization=True)`,
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Where writeRawSafetensors puts the data section for this header. */
function encodeLikeRaw(header: object): { dataOffset: number } {
  return { dataOffset: 8 + Math.ceil(Buffer.byteLength(JSON.stringify(header)) / 8) * 8 };
}
