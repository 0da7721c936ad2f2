import { open } from "node:fs/promises";
import { LoraGgufError } from "../errors.js";
/**
 * Sequential little-endian reads from a file through one refilling buffer, so a header of any size
 * is parsed with a bounded number of `read` calls and nothing past it is read beyond one chunk.
 *
 * Callers make bytes available with `fill(n)` and then take them with the synchronous readers; a
 * fill that would run past the end of the file throws E_BAD_GGUF ("truncated GGUF ...").
 */
export class BufferedFileReader {
    path;
    handle;
    fileSize;
    buffer;
    /** Absolute file offset of `buffer[0]`. */
    bufferStart = 0;
    /** Bytes of `buffer` that hold file data. */
    bufferEnd = 0;
    /** Index in `buffer` of the next unread byte. */
    cursor = 0;
    constructor(path, handle, fileSize, chunkBytes) {
        this.path = path;
        this.handle = handle;
        this.fileSize = fileSize;
        this.buffer = Buffer.allocUnsafe(chunkBytes);
    }
    static async open(path, chunkBytes) {
        let handle;
        try {
            handle = await open(path, "r");
        }
        catch (error) {
            throw inputError(path, error);
        }
        try {
            const stats = await handle.stat();
            if (!stats.isFile()) {
                throw new LoraGgufError("E_INPUT_NOT_FOUND", `${path} is not a regular file`);
            }
            return new BufferedFileReader(path, handle, stats.size, chunkBytes);
        }
        catch (error) {
            await handle.close();
            throw error;
        }
    }
    /** Absolute file offset of the next byte the readers return. */
    get position() {
        return this.bufferStart + this.cursor;
    }
    /** Bytes between the current position and the end of the file. */
    get remainingInFile() {
        return this.fileSize - this.position;
    }
    /** Bytes the synchronous readers can take without another `fill`. */
    get buffered() {
        return this.bufferEnd - this.cursor;
    }
    /** Makes the next `byteCount` bytes available to the synchronous readers; `what` names them in the truncation error. */
    async fill(byteCount, what) {
        if (this.bufferEnd - this.cursor >= byteCount)
            return;
        this.requireInFile(byteCount, what);
        const unread = this.bufferEnd - this.cursor;
        if (byteCount > this.buffer.length) {
            const grown = Buffer.allocUnsafe(byteCount);
            this.buffer.copy(grown, 0, this.cursor, this.bufferEnd);
            this.buffer = grown;
        }
        else {
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
                throw new LoraGgufError("E_BAD_GGUF", `truncated GGUF: ${what} at byte ${this.position} needs ${byteCount} bytes but the file ended at byte ${fileOffset} while reading`);
            }
            this.bufferEnd += bytesRead;
        }
    }
    /** Copies the next `target.length` bytes into `target`, refilling as often as needed. */
    async readInto(target, what) {
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
    requireInFile(byteCount, what) {
        if (byteCount > this.remainingInFile) {
            throw new LoraGgufError("E_BAD_GGUF", `truncated GGUF: ${what} at byte ${this.position} needs ${byteCount} bytes but the file has ${this.fileSize} bytes`);
        }
    }
    u8() {
        return this.buffer[this.cursor++];
    }
    i8() {
        return this.buffer.readInt8(this.cursor++);
    }
    u16() {
        const value = this.buffer.readUInt16LE(this.cursor);
        this.cursor += 2;
        return value;
    }
    i16() {
        const value = this.buffer.readInt16LE(this.cursor);
        this.cursor += 2;
        return value;
    }
    u32() {
        const value = this.buffer.readUInt32LE(this.cursor);
        this.cursor += 4;
        return value;
    }
    i32() {
        const value = this.buffer.readInt32LE(this.cursor);
        this.cursor += 4;
        return value;
    }
    u64() {
        const value = this.buffer.readBigUInt64LE(this.cursor);
        this.cursor += 8;
        return value;
    }
    i64() {
        const value = this.buffer.readBigInt64LE(this.cursor);
        this.cursor += 8;
        return value;
    }
    f32() {
        const value = this.buffer.readFloatLE(this.cursor);
        this.cursor += 4;
        return value;
    }
    f64() {
        const value = this.buffer.readDoubleLE(this.cursor);
        this.cursor += 8;
        return value;
    }
    /**
     * The next GGUF string when its length and bytes are already buffered, else undefined (and
     * nothing is consumed). Lets long string arrays be parsed without a promise per element.
     */
    bufferedString() {
        const available = this.bufferEnd - this.cursor;
        if (available < 8)
            return undefined;
        const low = this.buffer.readUInt32LE(this.cursor);
        const high = this.buffer.readUInt32LE(this.cursor + 4);
        if (high !== 0 || low > available - 8)
            return undefined;
        const start = this.cursor + 8;
        this.cursor = start + low;
        return this.buffer.toString("utf8", start, this.cursor);
    }
    /** Decodes the next `byteCount` bytes as UTF-8 (invalid sequences become U+FFFD). */
    utf8(byteCount) {
        const value = this.buffer.toString("utf8", this.cursor, this.cursor + byteCount);
        this.cursor += byteCount;
        return value;
    }
    /** A view of the next `byteCount` buffered bytes, valid until the next `fill`. */
    bytes(byteCount) {
        const view = this.buffer.subarray(this.cursor, this.cursor + byteCount);
        this.cursor += byteCount;
        return view;
    }
    async close() {
        await this.handle.close();
    }
}
function inputError(path, error) {
    const code = error.code;
    if (code === "ENOENT" || code === "ENOTDIR") {
        return new LoraGgufError("E_INPUT_NOT_FOUND", `GGUF file not found: ${path}`, { cause: error });
    }
    return new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${path}: ${error.message}`, { cause: error });
}
//# sourceMappingURL=buffered-file-reader.js.map