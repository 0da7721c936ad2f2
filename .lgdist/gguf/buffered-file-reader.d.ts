/**
 * Sequential little-endian reads from a file through one refilling buffer, so a header of any size
 * is parsed with a bounded number of `read` calls and nothing past it is read beyond one chunk.
 *
 * Callers make bytes available with `fill(n)` and then take them with the synchronous readers; a
 * fill that would run past the end of the file throws E_BAD_GGUF ("truncated GGUF ...").
 */
export declare class BufferedFileReader {
    readonly path: string;
    private readonly handle;
    readonly fileSize: number;
    private buffer;
    /** Absolute file offset of `buffer[0]`. */
    private bufferStart;
    /** Bytes of `buffer` that hold file data. */
    private bufferEnd;
    /** Index in `buffer` of the next unread byte. */
    private cursor;
    private constructor();
    static open(path: string, chunkBytes: number): Promise<BufferedFileReader>;
    /** Absolute file offset of the next byte the readers return. */
    get position(): number;
    /** Bytes between the current position and the end of the file. */
    get remainingInFile(): number;
    /** Bytes the synchronous readers can take without another `fill`. */
    get buffered(): number;
    /** Makes the next `byteCount` bytes available to the synchronous readers; `what` names them in the truncation error. */
    fill(byteCount: number, what: string): Promise<void>;
    /** Copies the next `target.length` bytes into `target`, refilling as often as needed. */
    readInto(target: Uint8Array, what: string): Promise<void>;
    /** Throws the truncation error unless `byteCount` more bytes exist in the file. */
    requireInFile(byteCount: number, what: string): void;
    u8(): number;
    i8(): number;
    u16(): number;
    i16(): number;
    u32(): number;
    i32(): number;
    u64(): bigint;
    i64(): bigint;
    f32(): number;
    f64(): number;
    /**
     * The next GGUF string when its length and bytes are already buffered, else undefined (and
     * nothing is consumed). Lets long string arrays be parsed without a promise per element.
     */
    bufferedString(): string | undefined;
    /** Decodes the next `byteCount` bytes as UTF-8 (invalid sequences become U+FFFD). */
    utf8(byteCount: number): string;
    /** A view of the next `byteCount` buffered bytes, valid until the next `fill`. */
    bytes(byteCount: number): Uint8Array;
    close(): Promise<void>;
}
