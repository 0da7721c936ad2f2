import { AtomicOutputFile } from "../io/atomic-output-file.js";
import { OrderedTensorFileWriter } from "../io/ordered-tensor-file-writer.js";
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
export class GgufWriter extends OrderedTensorFileWriter {
  private readonly zeroChunk: Uint8Array;

  private constructor(
    output: AtomicOutputFile,
    private readonly header: EncodedGgufHeader,
  ) {
    super(output, header.tensors.map((tensor) => ({ name: tensor.name, byteLength: tensor.byteSize })), "GGUF writer");
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

  protected describe(index: number): string {
    return `its shape [${this.header.tensors[index].dims.join(", ")}]`;
  }

  /** gguf.cpp pads every tensor's data with zeros to the alignment. */
  protected async afterTensor(index: number): Promise<void> {
    const size = this.header.tensors[index].byteSize;
    for (let left = padToAlignment(size, this.header.alignment) - size; left > 0; left -= this.zeroChunk.length) {
      await this.output.write(left >= this.zeroChunk.length ? this.zeroChunk : this.zeroChunk.subarray(0, left));
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
