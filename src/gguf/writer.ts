import { LoraGgufError } from "../errors.js";
import { AtomicOutputFile } from "../io/atomic-output-file.js";
import { padToAlignment } from "./format.js";
import {
  encodeGgufHeader,
  type EncodedGgufHeader,
  type GgufHeaderLayoutOptions,
  type GgufPlannedTensor,
  type GgufTensorDeclaration,
} from "./header-encoder.js";
import type { GgufMetadataEntry } from "./value-types.js";

export interface GgufWriterInit extends GgufHeaderLayoutOptions {
  /** Key-value pairs, written in this order. */
  metadata: readonly GgufMetadataEntry[];
  /** Tensor infos, written in this order; their data must then be written in the same order. */
  tensors: readonly GgufTensorDeclaration[];
}

const MAX_ZERO_CHUNK_BYTES = 1024 * 1024;

/**
 * Writes a GGUF file front to back: the header (metadata and tensor infos, with every tensor's
 * offset computed up front) on creation, then each tensor's data in declaration order, each
 * followed by zero padding to the alignment, byte for byte as gguf.cpp writes it.
 *
 * Output goes to `<path>.tmp-<pid>-<random>` and is renamed onto `path` by `finish()`; any error
 * (including a tensor written out of order or with the wrong length) deletes the temporary file.
 */
export class GgufWriter {
  private nextTensor = 0;
  private state: "open" | "finished" | "failed" = "open";
  private readonly zeroChunk: Uint8Array;

  private constructor(
    private readonly output: AtomicOutputFile,
    private readonly header: EncodedGgufHeader,
  ) {
    this.zeroChunk = new Uint8Array(Math.min(header.alignment, MAX_ZERO_CHUNK_BYTES));
  }

  /** Validates the declarations, creates the temporary file and writes the header. */
  static async create(path: string, init: GgufWriterInit): Promise<GgufWriter> {
    const header = encodeGgufHeader(init.metadata, init.tensors, init);
    const output = await AtomicOutputFile.create(path);
    const writer = new GgufWriter(output, header);
    await writer.guard(() => output.write(header.bytes));
    return writer;
  }

  get path(): string {
    return this.output.targetPath;
  }

  get alignment(): number {
    return this.header.alignment;
  }

  /** Absolute offset of the tensor data section. */
  get dataOffset(): number {
    return this.header.dataOffset;
  }

  /** The declared tensors with their data offsets and byte sizes. */
  get tensors(): readonly GgufPlannedTensor[] {
    return this.header.tensors;
  }

  /** Size the finished file will have. */
  get fileSize(): number {
    return this.header.fileSize;
  }

  /** Writes the data of the next declared tensor; `data` is viewed as raw bytes (little-endian). */
  async writeTensorData(name: string, data: ArrayBufferView): Promise<void> {
    this.requireOpen();
    await this.guard(async () => {
      const expected = this.header.tensors[this.nextTensor];
      if (expected === undefined) {
        throw new LoraGgufError("E_INVALID_OPTION", `tensor data for "${name}" written after all ${this.header.tensors.length} declared tensors`);
      }
      if (name !== expected.name) {
        throw new LoraGgufError("E_INVALID_OPTION", `tensor data for "${name}" written out of order: the next declared tensor is "${expected.name}"`);
      }
      if (data.byteLength !== expected.byteSize) {
        throw new LoraGgufError(
          "E_INVALID_OPTION",
          `tensor "${name}" data is ${data.byteLength} bytes but its shape [${expected.dims.join(", ")}] needs ${expected.byteSize}`,
        );
      }
      await this.output.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      await this.writeZeros(padToAlignment(expected.byteSize, this.header.alignment) - expected.byteSize);
      this.nextTensor++;
    });
  }

  /** Checks every declared tensor was written, then moves the file into place. */
  async finish(): Promise<void> {
    this.requireOpen();
    await this.guard(async () => {
      const missing = this.header.tensors.slice(this.nextTensor).map((tensor) => tensor.name);
      if (missing.length > 0) {
        throw new LoraGgufError("E_INVALID_OPTION", `GGUF writer finished before the data of ${missing.length} tensor(s) was written: ${missing.slice(0, 5).join(", ")}`);
      }
      await this.output.commit();
    });
    this.state = "finished";
  }

  /** Gives up on the file and deletes the temporary output. Safe to call at any time. */
  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "failed";
    await this.output.discard();
  }

  private requireOpen(): void {
    if (this.state !== "open") {
      throw new LoraGgufError("E_INVALID_OPTION", `GGUF writer for ${this.path} is already ${this.state}`);
    }
  }

  private async writeZeros(byteCount: number): Promise<void> {
    for (let left = byteCount; left > 0; left -= this.zeroChunk.length) {
      await this.output.write(left >= this.zeroChunk.length ? this.zeroChunk : this.zeroChunk.subarray(0, left));
    }
  }

  private async guard(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      await this.abort();
      throw error;
    }
  }
}

export interface GgufTensorWithData extends GgufTensorDeclaration {
  /** The tensor's raw bytes, `tensorByteSize(type, dims)` long. */
  data: ArrayBufferView;
}

export interface WriteGgufFileContent extends GgufHeaderLayoutOptions {
  metadata: readonly GgufMetadataEntry[];
  tensors: readonly GgufTensorWithData[];
}

/** Writes a whole GGUF file atomically from in-memory tensors. */
export async function writeGgufFile(path: string, content: WriteGgufFileContent): Promise<void> {
  const writer = await GgufWriter.create(path, {
    ...content,
    tensors: content.tensors.map(({ name, dims, type }) => ({ name, dims, type })),
  });
  for (const tensor of content.tensors) {
    await writer.writeTensorData(tensor.name, tensor.data);
  }
  await writer.finish();
}
