/** A growable little-endian byte buffer for building a GGUF header in memory. */
export declare class ByteSink {
    private buffer;
    private used;
    get length(): number;
    private reserve;
    u8(value: number): void;
    i8(value: number): void;
    u16(value: number): void;
    i16(value: number): void;
    u32(value: number): void;
    i32(value: number): void;
    /** A non-negative safe integer as uint64. */
    u64Number(value: number): void;
    u64(value: bigint): void;
    i64(value: bigint): void;
    f32(value: number): void;
    f64(value: number): void;
    bytes(value: Uint8Array): void;
    /** A GGUF string: uint64 byte length, then the UTF-8 bytes without a terminator. */
    string(value: string): void;
    zeros(byteCount: number): void;
    /** The bytes written so far (a view, not a copy). */
    view(): Uint8Array;
}
