import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { LoraGgufError } from "../errors.js";
import { tempPathBeside } from "./atomic-output.js";

/** Node's fs refuses a write longer than 2^31 - 1 bytes (ERR_OUT_OF_RANGE), so larger tensors go in pieces. */
const MAX_WRITE_BYTES = 1 << 30;

/**
 * A file written under a temporary name next to its target and renamed over the target only when
 * complete, so readers never see a half-written output and a failure leaves nothing behind.
 */
export class AtomicOutputFile {
  private closed = false;

  private constructor(
    readonly targetPath: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(targetPath: string): Promise<AtomicOutputFile> {
    const tempPath = tempPathBeside(targetPath);
    try {
      return new AtomicOutputFile(targetPath, tempPath, await open(tempPath, "wx"));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "does not exist" : `is not writable (${(error as Error).message})`;
      throw new LoraGgufError("E_OUTPUT_DIR", `cannot write ${basename(targetPath)}: directory ${dirname(targetPath)} ${reason}`, {
        cause: error,
      });
    }
  }

  /** Appends all of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written, Math.min(bytes.length - written, MAX_WRITE_BYTES));
      written += bytesWritten;
    }
  }

  /**
   * Extends the file to `byteLength` with ftruncate: the new bytes read as zeros and, on filesystems
   * with sparse files, take no disk until written.
   */
  async extendTo(byteLength: number): Promise<void> {
    await this.handle.truncate(byteLength);
  }

  /** Flushes, closes and renames the temporary file onto the target. */
  async commit(): Promise<void> {
    try {
      await this.handle.sync();
      this.closed = true;
      await this.handle.close();
      await rename(this.tempPath, this.targetPath);
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Closes and deletes the temporary file; never throws. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await unlink(this.tempPath).catch(() => undefined);
  }
}
