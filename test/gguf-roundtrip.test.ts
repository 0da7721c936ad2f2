import { mkdtemp, mkdir, open, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LoraGgufError } from "../src/errors.js";
import {
  GGML_TYPES,
  GgmlType,
  GgufValueType,
  GgufWriter,
  encodeGgufHeader,
  getMetadataValue,
  readGgufHeader,
  tensorByteSize,
  uint32Entry,
  writeGgufFile,
  type GgufHeader,
  type GgufMetadataEntry,
  type GgufTensorWithData,
} from "../src/gguf/index.js";
import { llamaSourceDir } from "../src/testing/tiny-llama.js";
import { SeededRandom } from "../src/seeded-random.js";

const MODELS_DIR = join(llamaSourceDir(), "models");
const ALIGNMENT = 64;

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "lora-gguf-roundtrip-"));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

function randomBytes(seed: number, length: number): Uint8Array {
  const random = new SeededRandom(seed);
  return Uint8Array.from({ length }, () => random.nextUint32() & 0xff);
}

/** One key of every value type, with the extremes each type can hold. */
function everyTypeMetadata(): GgufMetadataEntry[] {
  const T = GgufValueType;
  return [
    { key: "general.alignment", type: T.UINT32, value: ALIGNMENT },
    { key: "test.u8", type: T.UINT8, value: 255 },
    { key: "test.i8", type: T.INT8, value: -128 },
    { key: "test.u16", type: T.UINT16, value: 65535 },
    { key: "test.i16", type: T.INT16, value: -32768 },
    { key: "test.u32", type: T.UINT32, value: 4294967295 },
    { key: "test.i32", type: T.INT32, value: -2147483648 },
    { key: "test.f32", type: T.FLOAT32, value: 1.5 },
    { key: "test.f32.nan", type: T.FLOAT32, value: NaN },
    { key: "test.f32.negative_zero", type: T.FLOAT32, value: -0 },
    { key: "test.f32.infinity", type: T.FLOAT32, value: -Infinity },
    { key: "test.bool.true", type: T.BOOL, value: true },
    { key: "test.bool.false", type: T.BOOL, value: false },
    { key: "test.string", type: T.STRING, value: "héllo wörld – 日本語 🦙" },
    { key: "test.string.empty", type: T.STRING, value: "" },
    { key: "test.u64.max", type: T.UINT64, value: 2n ** 64n - 1n },
    { key: "test.i64.min", type: T.INT64, value: -(2n ** 63n) },
    { key: "test.i64.max", type: T.INT64, value: 2n ** 63n - 1n },
    { key: "test.f64", type: T.FLOAT64, value: Math.PI },
    { key: "test.f64.nan", type: T.FLOAT64, value: NaN },
    { key: "test.f64.negative_zero", type: T.FLOAT64, value: -0 },
    { key: "test.f64.min_subnormal", type: T.FLOAT64, value: Number.MIN_VALUE },
    { key: "test.arr.u8", type: T.ARRAY, arrayType: T.UINT8, value: Uint8Array.of(0, 1, 255) },
    { key: "test.arr.i8", type: T.ARRAY, arrayType: T.INT8, value: Int8Array.of(-128, 0, 127) },
    { key: "test.arr.u16", type: T.ARRAY, arrayType: T.UINT16, value: Uint16Array.of(0, 65535) },
    { key: "test.arr.i16", type: T.ARRAY, arrayType: T.INT16, value: Int16Array.of(-32768, 32767) },
    { key: "test.arr.u32", type: T.ARRAY, arrayType: T.UINT32, value: Uint32Array.of(0, 4294967295) },
    { key: "test.arr.i32", type: T.ARRAY, arrayType: T.INT32, value: Int32Array.of(-2147483648, 7, 2147483647) },
    { key: "test.arr.f32", type: T.ARRAY, arrayType: T.FLOAT32, value: Float32Array.of(NaN, -0, 1e-45, Infinity, 0.1) },
    { key: "test.arr.u64", type: T.ARRAY, arrayType: T.UINT64, value: BigUint64Array.of(0n, 2n ** 64n - 1n) },
    { key: "test.arr.i64", type: T.ARRAY, arrayType: T.INT64, value: BigInt64Array.of(-(2n ** 63n), -1n, 2n ** 63n - 1n) },
    { key: "test.arr.f64", type: T.ARRAY, arrayType: T.FLOAT64, value: Float64Array.of(NaN, -0, Number.MAX_VALUE) },
    { key: "test.arr.bool", type: T.ARRAY, arrayType: T.BOOL, value: [true, false, true] },
    { key: "test.arr.string", type: T.ARRAY, arrayType: T.STRING, value: ["", "a", "ü", "🦙 llama", "\u0000nul"] },
    { key: "test.arr.empty_u8", type: T.ARRAY, arrayType: T.UINT8, value: new Uint8Array(0) },
    { key: "test.arr.empty_string", type: T.ARRAY, arrayType: T.STRING, value: [] },
    {
      key: "test.arr.nested",
      type: T.ARRAY,
      arrayType: T.ARRAY,
      value: [
        { arrayType: T.INT32, value: Int32Array.of(1, 2, 3) },
        { arrayType: T.STRING, value: ["x", "yz"] },
        { arrayType: T.BOOL, value: [] },
        { arrayType: T.ARRAY, value: [{ arrayType: T.FLOAT64, value: Float64Array.of(0.5) }] },
      ],
    },
    { key: "test.unicode.ключ", type: T.STRING, value: "значение" },
  ];
}

/** Shapes chosen so no tensor's size is a multiple of the alignment. */
function fixtureTensors(): GgufTensorWithData[] {
  const declarations = [
    { name: "odd.f32", dims: [3, 5], type: GgmlType.F32 },
    { name: "odd.f16", dims: [7], type: GgmlType.F16 },
    { name: "blocks.q8_0", dims: [32, 3], type: GgmlType.Q8_0 },
    { name: "blocks.q4_K", dims: [256, 1, 2], type: GgmlType.Q4_K },
    { name: "ints.i8", dims: [1, 1, 1, 5], type: GgmlType.I8 },
    { name: "last.bf16", dims: [9], type: GgmlType.BF16 },
  ];
  return declarations.map((tensor, index) => ({
    ...tensor,
    data: randomBytes(100 + index, tensorByteSize(tensor.type, tensor.dims)),
  }));
}

async function writeFixture(path: string): Promise<{ metadata: GgufMetadataEntry[]; tensors: GgufTensorWithData[] }> {
  const content = { metadata: everyTypeMetadata(), tensors: fixtureTensors() };
  await writeGgufFile(path, content);
  return content;
}

/** Writes `header` back out with the tensor data copied from `sourceBytes`. */
async function rewrite(path: string, header: GgufHeader, sourceBytes: Uint8Array, padHeaderWithoutTensors = true): Promise<void> {
  await writeGgufFile(path, {
    metadata: header.metadata,
    version: header.version,
    padHeaderWithoutTensors,
    tensors: header.tensors.map((tensor) => ({
      name: tensor.name,
      dims: tensor.dims,
      type: tensor.type,
      data: sourceBytes.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize),
    })),
  });
}

async function expectBadGguf(path: string, message: RegExp): Promise<LoraGgufError> {
  const error = await readGgufHeader(path).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, `reading ${path} should fail`).toBeInstanceOf(LoraGgufError);
  expect((error as LoraGgufError).code).toBe("E_BAD_GGUF");
  expect((error as LoraGgufError).message).toMatch(message);
  return error as LoraGgufError;
}

describe("GGUF writer and reader round trip", () => {
  it("reads back every value type, the alignment and the tensor infos exactly", async () => {
    const path = join(workDir, "every-type.gguf");
    const { metadata, tensors } = await writeFixture(path);
    const header = await readGgufHeader(path);

    expect(header.version).toBe(3);
    expect(header.alignment).toBe(ALIGNMENT);
    expect(header.metadata).toEqual(metadata);
    expect(header.metadata.map((entry) => entry.key)).toEqual(metadata.map((entry) => entry.key));
    expect([...header.metadataByKey.keys()]).toEqual(metadata.map((entry) => entry.key));
    expect(getMetadataValue(header, "test.u64.max")).toBe(2n ** 64n - 1n);
    expect(getMetadataValue(header, "test.arr.f32")).toBeInstanceOf(Float32Array);
    expect(getMetadataValue(header, "missing.key")).toBeUndefined();

    expect(header.dataOffset % ALIGNMENT).toBe(0);
    const expectedSizes = [60, 14, 102, 288, 5, 18];
    let expectedOffset = 0;
    header.tensors.forEach((tensor, index) => {
      expect(tensor).toEqual({
        name: tensors[index].name,
        dims: tensors[index].dims,
        type: tensors[index].type,
        offset: expectedOffset,
        byteSize: expectedSizes[index],
        absoluteOffset: header.dataOffset + expectedOffset,
      });
      expectedOffset += Math.ceil(expectedSizes[index] / ALIGNMENT) * ALIGNMENT;
    });
    expect(header.fileSize).toBe(header.dataOffset + expectedOffset);

    const bytes = await readFile(path);
    for (const [index, tensor] of header.tensors.entries()) {
      const data = bytes.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize);
      expect(Buffer.compare(data, tensors[index].data as Uint8Array)).toBe(0);
      const padding = bytes.subarray(tensor.absoluteOffset + tensor.byteSize, tensor.absoluteOffset + Math.ceil(tensor.byteSize / ALIGNMENT) * ALIGNMENT);
      expect(padding.every((byte) => byte === 0)).toBe(true);
    }
  });

  it("re-writes what it read byte for byte", async () => {
    const path = join(workDir, "original.gguf");
    const copyPath = join(workDir, "copy.gguf");
    await writeFixture(path);
    const original = await readFile(path);
    await rewrite(copyPath, await readGgufHeader(path), original);
    expect(Buffer.compare(await readFile(copyPath), original)).toBe(0);
  });

  it("gives the same result whatever the read chunk size", async () => {
    const path = join(workDir, "chunks.gguf");
    await writeFixture(path);
    const reference = await readGgufHeader(path);
    for (const chunkBytes of [16, 17, 31, 64, 1000]) {
      expect(await readGgufHeader(path, { chunkBytes })).toEqual(reference);
    }
  });

  it("writes version 2 headers when asked, and reads them", async () => {
    const path = join(workDir, "v2.gguf");
    await writeGgufFile(path, { metadata: everyTypeMetadata(), tensors: fixtureTensors(), version: 2 });
    const header = await readGgufHeader(path);
    expect(header.version).toBe(2);
    expect((await readFile(path)).readUInt32LE(4)).toBe(2);
  });

  it("pads the header and every tensor's data to the alignment as gguf.cpp does", async () => {
    const path = join(workDir, "default-alignment.gguf");
    await writeGgufFile(path, {
      metadata: [{ key: "a", type: GgufValueType.UINT8, value: 1 }],
      tensors: [
        { name: "t0", dims: [5], type: GgmlType.F32, data: new Float32Array(5).fill(1) },
        { name: "t1", dims: [3], type: GgmlType.I8, data: Int8Array.of(1, 2, 3) },
      ],
    });
    const bytes = await readFile(path);
    // magic 4 + version 4 + counts 16 + kv (8 + 1 + 4 + 1) + 2 tensor infos (8 + 2 + 4 + 8 + 4 + 8) = 106 → 128.
    const header = await readGgufHeader(path);
    expect(header.alignment).toBe(32);
    expect(header.dataOffset).toBe(128);
    expect(header.tensors.map((tensor) => tensor.offset)).toEqual([0, 32]);
    expect(bytes.length).toBe(128 + 32 + 32);
    expect(bytes.subarray(106, 128).every((byte) => byte === 0)).toBe(true);
    expect(bytes.subarray(128 + 20, 128 + 32).every((byte) => byte === 0)).toBe(true);
    expect(bytes.subarray(128 + 32 + 3).every((byte) => byte === 0)).toBe(true);
  });

  it("never reads tensor data: a 4 GiB sparse tensor costs less than 2 MiB of reads", async () => {
    const path = join(workDir, "sparse.gguf");
    const encoded = encodeGgufHeader(
      [{ key: "general.name", type: GgufValueType.STRING, value: "sparse" }],
      [
        { name: "small", dims: [10], type: GgmlType.F32 },
        { name: "huge", dims: [1024, 1024, 1024], type: GgmlType.F32 },
      ],
    );
    await writeFile(path, encoded.bytes);
    await truncate(path, encoded.fileSize);

    const probe = await open(path, "r");
    const fileHandlePrototype = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<{ bytesRead: number }> };
    await probe.close();
    const originalRead = fileHandlePrototype.read;
    let bytesRead = 0;
    const readSpy = vi.spyOn(fileHandlePrototype, "read").mockImplementation(async function (this: unknown, ...args: unknown[]) {
      const result = await originalRead.apply(this, args);
      bytesRead += result.bytesRead;
      return result;
    });
    try {
      const header = await readGgufHeader(path);
      expect(header.tensors[1].byteSize).toBe(4 * 1024 ** 3);
      expect(header.fileSize).toBe(encoded.fileSize);
      expect(readSpy).toHaveBeenCalled();
      expect(bytesRead).toBeGreaterThan(0);
      expect(bytesRead).toBeLessThan(2 * 1024 * 1024);
    } finally {
      readSpy.mockRestore();
    }
  });
});

describe("real GGUF files from llama.cpp", () => {
  it("reads the 151k-token qwen2 vocabulary and re-writes it byte for byte", async () => {
    const path = join(MODELS_DIR, "ggml-vocab-qwen2.gguf");
    const original = await readFile(path);
    const header = await readGgufHeader(path);

    expect(header.tensors).toEqual([]);
    expect(getMetadataValue(header, "general.architecture")).toBe("qwen2");
    expect(getMetadataValue(header, "tokenizer.ggml.model")).toBe("gpt2");
    const tokens = getMetadataValue(header, "tokenizer.ggml.tokens") as string[];
    expect(tokens).toHaveLength(151936);
    expect(tokens[0]).toBe("!");
    expect(getMetadataValue(header, "tokenizer.ggml.token_type")).toBeInstanceOf(Int32Array);
    expect(getMetadataValue(header, "tokenizer.ggml.merges")).toHaveLength(151387);
    expect(getMetadataValue(header, "tokenizer.ggml.eos_token_id")).toBe(151643);

    // gguf-py's vocab-only writer stops right after the header; gguf.cpp would pad it to the alignment.
    expect(header.fileSize).toBe(header.dataOffset);
    const exactPath = join(workDir, "qwen2-exact.gguf");
    await rewrite(exactPath, header, original, false);
    expect(Buffer.compare(await readFile(exactPath), original)).toBe(0);

    const gguCppLayoutPath = join(workDir, "qwen2-ggml-layout.gguf");
    await rewrite(gguCppLayoutPath, header, original);
    const padded = await readFile(gguCppLayoutPath);
    expect(padded.length).toBe(Math.ceil(original.length / 32) * 32);
    expect(Buffer.compare(padded.subarray(0, original.length), original)).toBe(0);
    expect(padded.subarray(original.length).every((byte) => byte === 0)).toBe(true);
  });

  it("reads the qwen2 vocabulary with a small chunk size, refilling thousands of times", async () => {
    const path = join(MODELS_DIR, "ggml-vocab-qwen2.gguf");
    const header = await readGgufHeader(path, { chunkBytes: 4096 });
    expect(getMetadataValue(header, "tokenizer.ggml.tokens")).toHaveLength(151936);
    expect(getMetadataValue(header, "tokenizer.chat_template")).toMatch(/im_start/);
  });

  it("re-writes every vocab GGUF shipped with llama.cpp byte for byte", async () => {
    const names = (await readdir(MODELS_DIR)).filter((name) => /^ggml-vocab-.*\.gguf$/.test(name));
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const path = join(MODELS_DIR, name);
      const original = await readFile(path);
      const header = await readGgufHeader(path);
      const copyPath = join(workDir, `copy-${name}`);
      await rewrite(copyPath, header, original, header.fileSize > header.dataOffset);
      expect(Buffer.compare(await readFile(copyPath), original), name).toBe(0);
      await rm(copyPath);
    }
  });
});

describe("ggml type table", () => {
  it("matches GGML_QUANT_SIZES in llama.cpp's gguf-py", async () => {
    const constants = await readFile(join(llamaSourceDir(), "gguf-py", "gguf", "constants.py"), "utf8");
    const table = constants.slice(constants.indexOf("GGML_QUANT_SIZES"));
    const rows = [...table.matchAll(/GGMLQuantizationType\.(\w+):\s*\((\d+),\s*([^)]+)\)/g)];
    expect(rows.length).toBeGreaterThan(30);
    for (const [, enumName, blockSize, sizeExpression] of rows) {
      const type = GGML_TYPES.find((candidate) => candidate.name.toUpperCase() === enumName);
      expect(type, enumName).toBeDefined();
      const bytesPerBlock = Function(`"use strict"; const QK_K = 256; return (${sizeExpression.replaceAll("//", "/")});`)() as number;
      expect([type!.blockSize, type!.bytesPerBlock], enumName).toEqual([Number(blockSize), bytesPerBlock]);
    }
    expect(GGML_TYPES.filter((type) => !type.removed)).toHaveLength(rows.length);
  });

  it("lists every id of enum ggml_type, with the removed ones marked", async () => {
    const header = await readFile(join(llamaSourceDir(), "ggml", "include", "ggml.h"), "utf8");
    const enumBody = header.slice(header.indexOf("enum ggml_type {"), header.indexOf("GGML_TYPE_COUNT", header.indexOf("enum ggml_type {")));
    const active = [...enumBody.matchAll(/^\s+GGML_TYPE_(\w+)\s*=\s*(\d+),/gm)].map(([, name, id]) => [Number(id), name.toLowerCase()]);
    const removedIds = [...enumBody.matchAll(/^\s+\/\/\s*GGML_TYPE_\w+\s*=\s*(\d+),/gm)].map(([, id]) => Number(id));
    expect(GGML_TYPES.filter((type) => !type.removed).map((type) => [type.id, type.name.toLowerCase()])).toEqual(active);
    expect(GGML_TYPES.filter((type) => type.removed).map((type) => type.id)).toEqual(removedIds);
    GGML_TYPES.forEach((type, index) => expect(type.id).toBe(index));
  });

  it("computes tensor byte sizes and rejects what ggml rejects", () => {
    expect(tensorByteSize(GgmlType.F32, [3, 5])).toBe(60);
    expect(tensorByteSize(GgmlType.Q4_K, [512, 3])).toBe(2 * 3 * 144);
    expect(tensorByteSize(GgmlType.BF16, [4096, 4096, 4])).toBe(2 * 4096 * 4096 * 4);
    const reject = (type: number, dims: number[], message: RegExp) => {
      let thrown: unknown;
      try {
        tensorByteSize(type, dims);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(LoraGgufError);
      expect((thrown as LoraGgufError).code).toBe("E_BAD_GGUF");
      expect((thrown as LoraGgufError).message).toMatch(message);
    };
    reject(99, [32], /unknown ggml tensor type 99/);
    reject(4, [32], /type 4 \(q4_2\) has been removed/);
    reject(GgmlType.Q8_0, [33, 2], /33 elements per row, not a multiple of the q8_0 block size 32/);
    reject(GgmlType.F32, [0, 2], /dimension 0 is not a positive integer/);
    reject(GgmlType.F32, [2 ** 30, 2 ** 30, 2 ** 30], /more elements than can be addressed/);
  });
});

// Byte helpers for hand-made and patched files.
const u32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
};
const i32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32LE(value);
  return bytes;
};
const u64 = (value: number | bigint) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt(value));
  return bytes;
};
const ggufString = (value: string) => Buffer.concat([u64(Buffer.byteLength(value)), Buffer.from(value)]);
const headerStart = (tensorCount: number, metadataCount: number) =>
  Buffer.concat([Buffer.from("GGUF"), u32(3), u64(tensorCount), u64(metadataCount)]);

/** Offsets of the fields of the tensor info for `name` (a unique byte string in the file). */
function tensorInfoFields(bytes: Buffer, name: string) {
  const nameAt = bytes.indexOf(ggufString(name));
  expect(nameAt).toBeGreaterThan(0);
  const dimCountAt = nameAt + 8 + Buffer.byteLength(name);
  const dimCount = bytes.readUInt32LE(dimCountAt);
  const typeAt = dimCountAt + 4 + 8 * dimCount;
  return { nameAt, dimCountAt, dimsAt: dimCountAt + 4, typeAt, offsetAt: typeAt + 4 };
}

/** Offset of the value type field of metadata key `key`. */
function metadataTypeField(bytes: Buffer, key: string): number {
  const keyAt = bytes.indexOf(ggufString(key));
  expect(keyAt).toBeGreaterThan(0);
  return keyAt + 8 + Buffer.byteLength(key);
}

describe("rejecting bad input", () => {
  let validBytes: Buffer;
  let validHeader: GgufHeader;
  let caseNumber = 0;

  beforeAll(async () => {
    const path = join(workDir, "valid.gguf");
    await writeFixture(path);
    validBytes = await readFile(path);
    validHeader = await readGgufHeader(path);
  });

  async function fileWith(bytes: Uint8Array): Promise<string> {
    const path = join(workDir, `bad-${caseNumber++}.gguf`);
    await writeFile(path, bytes);
    return path;
  }

  function patched(at: number, replacement: Uint8Array): Buffer {
    const bytes = Buffer.from(validBytes);
    bytes.set(replacement, at);
    return bytes;
  }

  it("rejects files that are not GGUF", async () => {
    await expectBadGguf(await fileWith(new Uint8Array(0)), /^not a GGUF file \(the file is empty\)$/);
    await expectBadGguf(await fileWith(Buffer.from("GG")), /^not a GGUF file \(2 bytes, too short/);
    await expectBadGguf(await fileWith(Buffer.from("hello world\n")), /^not a GGUF file \(magic "hell", expected "GGUF"\)$/);
    await expectBadGguf(await fileWith(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0])), /^not a GGUF file \(magic "PK\\x03\\x04"/);
    await expectBadGguf(await fileWith(randomBytes(7, 4096)), /^not a GGUF file \(magic "/);
  });

  it("rejects unsupported and byte-swapped versions", async () => {
    await expectBadGguf(await fileWith(patched(4, u32(1))), /GGUF version 1 is no longer supported/);
    await expectBadGguf(await fileWith(patched(4, u32(4))), /unsupported GGUF version 4 \(supported: 2 and 3\)/);
    await expectBadGguf(await fileWith(patched(4, Buffer.from([0, 0, 0, 3]))), /version 0x03000000 looks byte-swapped: big-endian/);
  });

  it("rejects a file cut anywhere in its header or tensor data", async () => {
    const lastTensor = validHeader.tensors[validHeader.tensors.length - 1];
    const dataEnd = lastTensor.absoluteOffset + lastTensor.byteSize;
    const cuts = new Set<number>();
    // Every byte of the header (magic, counts, metadata, tensor infos, padding) ...
    for (let cut = 0; cut <= validHeader.dataOffset; cut++) cuts.add(cut);
    // ... and a spread of cuts through the tensor data.
    for (const tensor of validHeader.tensors) {
      cuts.add(tensor.absoluteOffset);
      cuts.add(tensor.absoluteOffset + 1);
      cuts.add(tensor.absoluteOffset + tensor.byteSize - 1);
    }
    cuts.add(dataEnd - 1);
    expect(cuts.size).toBeGreaterThan(500);

    const path = join(workDir, "cut.gguf");
    for (const cut of cuts) {
      await writeFile(path, validBytes.subarray(0, cut));
      const error = await readGgufHeader(path).then(() => undefined, (thrown: unknown) => thrown);
      expect(error, `cut at byte ${cut}`).toBeInstanceOf(LoraGgufError);
      expect((error as LoraGgufError).code, `cut at byte ${cut}`).toBe("E_BAD_GGUF");
      expect((error as LoraGgufError).message, `cut at byte ${cut}`).toMatch(/^(not a GGUF file|truncated (or corrupt )?GGUF: .*\bbyte \d+)/);
    }
  });

  it("names the tensor whose data is cut off", async () => {
    const last = validHeader.tensors[validHeader.tensors.length - 1];
    await expectBadGguf(
      await fileWith(validBytes.subarray(0, last.absoluteOffset + 3)),
      new RegExp(`^truncated GGUF: the data of tensor "${last.name}" ends at byte ${last.absoluteOffset + last.byteSize} but the file has ${last.absoluteOffset + 3} bytes$`),
    );
  });

  it("accepts a file whose only missing bytes are the last tensor's padding, as llama.cpp does", async () => {
    const last = validHeader.tensors[validHeader.tensors.length - 1];
    const header = await readGgufHeader(await fileWith(validBytes.subarray(0, last.absoluteOffset + last.byteSize)));
    expect(header.tensors).toEqual(validHeader.tensors);
  });

  it("rejects unknown value types, tensor types and bad shapes", async () => {
    await expectBadGguf(await fileWith(patched(metadataTypeField(validBytes, "test.u8"), i32(13))), /metadata key "test.u8" has unknown value type 13 at byte \d+/);
    const arrayTypeAt = metadataTypeField(validBytes, "test.arr.u8") + 4;
    await expectBadGguf(await fileWith(patched(arrayTypeAt, i32(-1))), /array of metadata key "test.arr.u8" at byte \d+ has unknown element type -1/);

    const fields = tensorInfoFields(validBytes, "odd.f32");
    await expectBadGguf(await fileWith(patched(fields.typeAt, i32(99))), /tensor "odd.f32" at byte \d+: unknown ggml tensor type 99/);
    await expectBadGguf(await fileWith(patched(fields.typeAt, i32(31))), /tensor "odd.f32" at byte \d+: ggml tensor type 31 \(q4_0_4_4\) has been removed/);
    await expectBadGguf(await fileWith(patched(fields.typeAt, i32(GgmlType.Q8_0))), /3 elements per row, not a multiple of the q8_0 block size 32/);
    await expectBadGguf(await fileWith(patched(fields.dimCountAt, u32(5))), /tensor "odd.f32" at byte \d+ has 5 dimensions; ggml tensors have 1 to 4/);
    await expectBadGguf(await fileWith(patched(fields.dimCountAt, u32(0))), /has 0 dimensions/);
    await expectBadGguf(await fileWith(patched(fields.dimsAt, u64(0))), /tensor "odd.f32" at byte \d+ has invalid dimension 0: 0/);
    await expectBadGguf(await fileWith(patched(fields.dimsAt, u64(2n ** 63n))), /has invalid dimension 0: -9223372036854775808/);
  });

  it("rejects tensor offsets that are misaligned, out of order or past the end of the file", async () => {
    const fields = tensorInfoFields(validBytes, "odd.f16");
    await expectBadGguf(await fileWith(patched(fields.offsetAt, u64(ALIGNMENT + 8))), /tensor "odd.f16" has data offset 72, which is not a multiple of the alignment 64/);
    await expectBadGguf(await fileWith(patched(fields.offsetAt, u64(2 * ALIGNMENT))), /tensor "odd.f16" has data offset 128, expected 64 \(ggml requires tensor data packed in tensor-info order/);
    const last = tensorInfoFields(validBytes, "last.bf16");
    await expectBadGguf(await fileWith(patched(last.offsetAt, u64(2n ** 40n))), /tensor "last.bf16" has data offset 1099511627776, expected \d+/);
    await expectBadGguf(await fileWith(patched(last.offsetAt, u64(2n ** 64n - 64n))), /tensor "last.bf16" at byte \d+ has data offset \d+, beyond any file/);
  });

  it("rejects duplicate keys and tensor names", async () => {
    // "test.i8" → "test.u8", "odd.f16" → "odd.f32": same lengths, so only the names change.
    const duplicateKey = patched(validBytes.indexOf(ggufString("test.i8")) + 8, Buffer.from("test.u8"));
    await expectBadGguf(await fileWith(duplicateKey), /^duplicate metadata key "test.u8" at byte \d+$/);
    const duplicateTensor = patched(validBytes.indexOf(ggufString("odd.f16")) + 8, Buffer.from("odd.f32"));
    await expectBadGguf(await fileWith(duplicateTensor), /^duplicate tensor name "odd.f32" at byte \d+$/);
  });

  it("rejects a general.alignment that is not a u32 power of two", async () => {
    const typeAt = metadataTypeField(validBytes, "general.alignment");
    await expectBadGguf(await fileWith(patched(typeAt + 4, u32(48))), /"general.alignment" is 48, which is not a power of two/);
    await expectBadGguf(await fileWith(patched(typeAt + 4, u32(0))), /"general.alignment" is 0, which is not a power of two/);
    await expectBadGguf(await fileWith(patched(typeAt, i32(GgufValueType.INT32))), /"general.alignment" must be of type u32 but is i32/);
  });

  it("rejects counts and lengths the file cannot hold without allocating them", async () => {
    await expectBadGguf(await fileWith(patched(8, u64(2n ** 40n))), /^truncated or corrupt GGUF: the tensor count at byte 8 is 1099511627776/);
    await expectBadGguf(await fileWith(patched(8, u64(2n ** 64n - 1n))), /^GGUF tensor count at byte 8 is negative \(-1\)/);
    await expectBadGguf(await fileWith(patched(16, u64(10_000))), /^truncated or corrupt GGUF: the metadata entry count at byte 16 is 10000/);
    await expectBadGguf(await fileWith(patched(24, u64(2n ** 40n))), /^truncated or corrupt GGUF: key of metadata entry 0 at byte 24 is 1099511627776 bytes long/);
    const arrayCountAt = metadataTypeField(validBytes, "test.arr.string") + 8;
    await expectBadGguf(await fileWith(patched(arrayCountAt, u64(2n ** 29n))), /^truncated or corrupt GGUF: array of 536870912 str values of metadata key "test.arr.string" at byte \d+ needs at least 4294967296 bytes/);
    await expectBadGguf(await fileWith(patched(arrayCountAt, u64(2n ** 31n))), /has 2147483648 elements, more than the GGUF limit/);
  });

  it("rejects empty keys, over-long tensor names and arrays nested too deeply", async () => {
    // Two value bytes: the entry count check assumes keys of at least one byte.
    const emptyKey = Buffer.concat([headerStart(0, 1), ggufString(""), i32(GgufValueType.UINT8), Buffer.of(1, 0)]);
    await expectBadGguf(await fileWith(emptyKey), /^metadata entry 0 at byte 24 has an empty key$/);

    const longName = "x".repeat(64);
    const longTensor = Buffer.concat([headerStart(1, 0), ggufString(longName), u32(1), u64(1), i32(GgmlType.F32), u64(0), Buffer.alloc(64)]);
    await expectBadGguf(await fileWith(longTensor), /^tensor 0 at byte 24 has a name of 64 bytes; ggml allows at most 63$/);

    const nesting = [];
    for (let level = 0; level < 17; level++) nesting.push(i32(GgufValueType.ARRAY), u64(1));
    const deep = Buffer.concat([headerStart(0, 1), ggufString("deep"), i32(GgufValueType.ARRAY), ...nesting, i32(GgufValueType.UINT8), u64(0)]);
    await expectBadGguf(await fileWith(deep), /nests arrays more than 16 levels deep/);
  });

  it("reports a missing file or a directory as E_INPUT_NOT_FOUND", async () => {
    const missing = join(workDir, "does-not-exist.gguf");
    await expect(readGgufHeader(missing)).rejects.toMatchObject({ code: "E_INPUT_NOT_FOUND", message: `GGUF file not found: ${missing}` });
    await expect(readGgufHeader(join(workDir, "no-dir", "x.gguf"))).rejects.toMatchObject({ code: "E_INPUT_NOT_FOUND" });
    await expect(readGgufHeader(workDir)).rejects.toMatchObject({ code: "E_INPUT_NOT_FOUND", message: `${workDir} is not a regular file` });
  });
});

describe("GGUF writer validation and atomic output", () => {
  const declarations = [
    { name: "a", dims: [4], type: GgmlType.F32 },
    { name: "b", dims: [2], type: GgmlType.F16 },
  ];

  async function leftoverFiles(dir: string): Promise<string[]> {
    return (await readdir(dir)).sort();
  }

  it("rejects data written out of order or with the wrong length, and leaves no file behind", async () => {
    const dir = join(workDir, "writer-order");
    await mkdir(dir);
    const target = join(dir, "out.gguf");

    const outOfOrder = await GgufWriter.create(target, { metadata: [], tensors: declarations });
    expect(await leftoverFiles(dir)).toHaveLength(1);
    await expect(outOfOrder.writeTensorData("b", new Uint16Array(2))).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'GGUF writer: data for "b" written out of order: the next declared tensor is "a"',
    });
    expect(await leftoverFiles(dir)).toEqual([]);

    const wrongLength = await GgufWriter.create(target, { metadata: [], tensors: declarations });
    await expect(wrongLength.writeTensorData("a", new Float32Array(3))).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'GGUF writer: tensor "a" data is 12 bytes but its shape [4] needs 16',
    });
    expect(await leftoverFiles(dir)).toEqual([]);

    const unfinished = await GgufWriter.create(target, { metadata: [], tensors: declarations });
    await unfinished.writeTensorData("a", new Float32Array(4));
    await expect(unfinished.finish()).rejects.toMatchObject({ code: "E_INVALID_OPTION", message: /before the data of 1 tensor\(s\) was written: b/ });
    expect(await leftoverFiles(dir)).toEqual([]);
  });

  it("replaces the target only on success, with no temporary file left", async () => {
    const dir = join(workDir, "writer-atomic");
    await mkdir(dir);
    const target = join(dir, "model.gguf");
    await writeFile(target, "previous contents");

    const failing = await GgufWriter.create(target, { metadata: [], tensors: declarations });
    await failing.abort();
    expect(await readFile(target, "utf8")).toBe("previous contents");
    expect(await leftoverFiles(dir)).toEqual(["model.gguf"]);

    const writer = await GgufWriter.create(target, { metadata: [uint32Entry("x", 1)], tensors: declarations });
    expect(writer.fileSize).toBe(writer.dataOffset + 64);
    await writer.writeTensorData("a", Float32Array.of(1, 2, 3, 4));
    await writer.writeTensorData("b", Uint16Array.of(0x3c00, 0x4000));
    await writer.finish();
    expect(await leftoverFiles(dir)).toEqual(["model.gguf"]);
    const header = await readGgufHeader(target);
    expect(header.fileSize).toBe(writer.fileSize);
    expect(header.tensors.map((tensor) => tensor.name)).toEqual(["a", "b"]);
    await expect(writer.writeTensorData("a", new Float32Array(4))).rejects.toMatchObject({ message: /already finished/ });
  });

  it("validates metadata values and tensor declarations before creating the file", async () => {
    const target = join(workDir, "invalid.gguf");
    const attempt = (content: Parameters<typeof writeGgufFile>[1]) => writeGgufFile(target, content);
    const T = GgufValueType;
    await expect(attempt({ metadata: [{ key: "k", type: T.UINT8, value: 256 }], tensors: [] })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'metadata key "k": 256 is not a u8 (an integer in 0..255)',
    });
    await expect(attempt({ metadata: [{ key: "k", type: T.INT64, value: 2n ** 63n }], tensors: [] })).rejects.toMatchObject({ message: /is not a i64/ });
    await expect(attempt({ metadata: [{ key: "k", type: T.ARRAY, arrayType: T.FLOAT32, value: new Float64Array(1) }], tensors: [] })).rejects.toMatchObject({
      message: 'metadata key "k": an array of f32 must be a Float32Array',
    });
    await expect(attempt({ metadata: [uint32Entry("k", 1), uint32Entry("k", 2)], tensors: [] })).rejects.toMatchObject({ message: 'duplicate metadata key "k"' });
    await expect(attempt({ metadata: [uint32Entry("general.alignment", 24)], tensors: [] })).rejects.toMatchObject({ message: /must be a u32 power of two/ });
    await expect(attempt({ metadata: [], tensors: [{ name: "q", dims: [16], type: GgmlType.Q4_0, data: new Uint8Array(9) }] })).rejects.toMatchObject({
      code: "E_INVALID_OPTION",
      message: 'tensor "q": tensor shape [16] has 16 elements per row, not a multiple of the q4_0 block size 32',
    });
    await expect(attempt({ metadata: [], tensors: [{ name: "n".repeat(64), dims: [1], type: GgmlType.F32, data: new Float32Array(1) }] })).rejects.toMatchObject({
      message: /is 64 bytes long; ggml allows at most 63/,
    });
    await expect(readGgufHeader(target)).rejects.toMatchObject({ code: "E_INPUT_NOT_FOUND" });
  });

  it("reports a missing output directory as E_OUTPUT_DIR", async () => {
    await expect(writeGgufFile(join(workDir, "missing-dir", "x.gguf"), { metadata: [], tensors: [] })).rejects.toMatchObject({
      code: "E_OUTPUT_DIR",
    });
  });
});
