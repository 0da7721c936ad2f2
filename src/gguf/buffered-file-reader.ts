import { open, type FileHandle } from "node:fs/promises";
import { LoraGgufError } from "../errors.js";

/**
 * Sequential little-endian reads from a file through one refilling buffer, so a header of any size
 * is parsed with a bounded number of `read` calls and nothing past it is read beyond one chunk.
 *
 * Callers make bytes available with `fill(n)` and then take them with the synchronous readers; a
 * fill that would run past the end of the file throws E_BAD_GGUF ("truncated GGUF ...").
 */
export class BufferedFileReader {
  private buffer: Buffer;
  /** Absolute file offset of `buffer[0]`. */
  private bufferStart = 0;
  /** Bytes of `buffer` that hold file data. */
  private bufferEnd = 0;
  /** Index in `buffer` of the next unread byte. */
  private cursor = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly fileSize: number,
    chunkBytes: number,
  ) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
  }

  static async open(path: string, chunkBytes: number): Promise<BufferedFileReader> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      throw inputError(path, error);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw new LoraGgufError("E_INPUT_NOT_FOUND", `${path} is not a regular file`);
      }
      return new BufferedFileReader(path, handle, stats.size, chunkBytes);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Absolute file offset of the next byte the readers return. */
  get position(): number {
    return this.bufferStart + this.cursor;
  }

  /** Bytes between the current position and the end of the file. */
  get remainingInFile(): number {
    return this.fileSize - this.position;
  }

  /** Bytes the synchronous readers can take without another `fill`. */
  get buffered(): number {
    return this.bufferEnd - this.cursor;
  }

  /** Makes the next `byteCount` bytes available to the synchronous readers; `what` names them in the truncation error. */
  async fill(byteCount: number, what: string): Promise<void> {
    if (this.bufferEnd - this.cursor >= byteCount) return;
    this.requireInFile(byteCount, what);

    const unread = this.bufferEnd - this.cursor;
    if (byteCount > this.buffer.length) {
      const grown = Buffer.allocUnsafe(byteCount);
      this.buffer.copy(grown, 0, this.cursor, this.bufferEnd);
      this.buffer = grown;
    } else {
      this.buffer.copyWithin(0, this.cursor, this.bufferEnd);
    }
    this.bufferStart += this.cursor;
    this.cursor = 0;
    this.bufferEnd = unread;

    while (this.bufferEnd < byteCount) {
      const fileOffset = this.bufferStart + this.bufferEnd;
      const length = Math.min(this.buffer.length - this.bufferEnd, this.fileSize - fileOffset);
      const { bytesRead } = await this.handle.read(this.buffer, this.bufferEnd, length, fileOffset);
      if (bytesRead === 0) {
        throw new LoraGgufError(
          "E_BAD_GGUF",
          `truncated GGUF: ${what} at byte ${this.position} needs ${byteCount} bytes but the file ended at byte ${fileOffset} while reading`,
        );
      }
      this.bufferEnd += bytesRead;
    }
  }

  /** Copies the next `target.length` bytes into `target`, refilling as often as needed. */
  async readInto(target: Uint8Array, what: string): Promise<void> {
    this.requireInFile(target.length, what);
    let copied = 0;
    while (copied < target.length) {
      if (this.buffered === 0) {
        await this.fill(Math.min(this.buffer.length, target.length - copied), what);
      }
      const count = Math.min(this.buffered, target.length - copied);
      target.set(this.buffer.subarray(this.cursor, this.cursor + count), copied);
      this.cursor += count;
      copied += count;
    }
  }

  /** Throws the truncation error unless `byteCount` more bytes exist in the file. */
  requireInFile(byteCount: number, what: string): void {
    if (byteCount > this.remainingInFile) {
      throw new LoraGgufError(
        "E_BAD_GGUF",
        `truncated GGUF: ${what} at byte ${this.position} needs ${byteCount} bytes but the file has ${this.fileSize} bytes`,
      );
    }
  }

  u8(): number {
    return this.buffer[this.cursor++];
  }

  i8(): number {
    return this.buffer.readInt8(this.cursor++);
  }

  u16(): number {
    const value = this.buffer.readUInt16LE(this.cursor);
    this.cursor += 2;
    return value;
  }

  i16(): number {
    const value = this.buffer.readInt16LE(this.cursor);
    this.cursor += 2;
    return value;
  }

  u32(): number {
    const value = this.buffer.readUInt32LE(this.cursor);
    this.cursor += 4;
    return value;
  }

  i32(): number {
    const value = this.buffer.readInt32LE(this.cursor);
    this.cursor += 4;
    return value;
  }

  u64(): bigint {
    const value = this.buffer.readBigUInt64LE(this.cursor);
    this.cursor += 8;
    return value;
  }

  i64(): bigint {
    const value = this.buffer.readBigInt64LE(this.cursor);
    this.cursor += 8;
    return value;
  }

  f32(): number {
    const value = this.buffer.readFloatLE(this.cursor);
    this.cursor += 4;
    return value;
  }

  f64(): number {
    const value = this.buffer.readDoubleLE(this.cursor);
    this.cursor += 8;
    return value;
  }

  /**
   * The next GGUF string when its length and bytes are already buffered, else undefined (and
   * nothing is consumed). Lets long string arrays be parsed without a promise per element.
   */
  bufferedString(): string | undefined {
    const available = this.bufferEnd - this.cursor;
    if (available < 8) return undefined;
    const low = this.buffer.readUInt32LE(this.cursor);
    const high = this.buffer.readUInt32LE(this.cursor + 4);
    if (high !== 0 || low > available - 8) return undefined;
    const start = this.cursor + 8;
    this.cursor = start + low;
    return this.buffer.toString("utf8", start, this.cursor);
  }

  /** Decodes the next `byteCount` bytes as UTF-8 (invalid sequences become U+FFFD). */
  utf8(byteCount: number): string {
    const value = this.buffer.toString("utf8", this.cursor, this.cursor + byteCount);
    this.cursor += byteCount;
    return value;
  }

  /** A view of the next `byteCount` buffered bytes, valid until the next `fill`. */
  bytes(byteCount: number): Uint8Array {
    const view = this.buffer.subarray(this.cursor, this.cursor + byteCount);
    this.cursor += byteCount;
    return view;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function inputError(path: string, error: unknown): LoraGgufError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new LoraGgufError("E_INPUT_NOT_FOUND", `GGUF file not found: ${path}`, { cause: error });
  }
  return new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${path}: ${(error as Error).message}`, { cause: error });
}
