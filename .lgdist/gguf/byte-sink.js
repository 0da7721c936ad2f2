/** A growable little-endian byte buffer for building a GGUF header in memory. */
export class ByteSink {
    buffer = Buffer.allocUnsafe(64 * 1024);
    used = 0;
    get length() {
        return this.used;
    }
    reserve(byteCount) {
        if (this.used + byteCount <= this.buffer.length)
            return;
        let capacity = this.buffer.length * 2;
        while (capacity < this.used + byteCount)
            capacity *= 2;
        const grown = Buffer.allocUnsafe(capacity);
        this.buffer.copy(grown, 0, 0, this.used);
        this.buffer = grown;
    }
    u8(value) {
        this.reserve(1);
        this.used = this.buffer.writeUInt8(value, this.used);
    }
    i8(value) {
        this.reserve(1);
        this.used = this.buffer.writeInt8(value, this.used);
    }
    u16(value) {
        this.reserve(2);
        this.used = this.buffer.writeUInt16LE(value, this.used);
    }
    i16(value) {
        this.reserve(2);
        this.used = this.buffer.writeInt16LE(value, this.used);
    }
    u32(value) {
        this.reserve(4);
        this.used = this.buffer.writeUInt32LE(value, this.used);
    }
    i32(value) {
        this.reserve(4);
        this.used = this.buffer.writeInt32LE(value, this.used);
    }
    /** A non-negative safe integer as uint64. */
    u64Number(value) {
        this.reserve(8);
        this.buffer.writeUInt32LE(value % 0x1_0000_0000, this.used);
        this.buffer.writeUInt32LE(Math.floor(value / 0x1_0000_0000), this.used + 4);
        this.used += 8;
    }
    u64(value) {
        this.reserve(8);
        this.used = this.buffer.writeBigUInt64LE(value, this.used);
    }
    i64(value) {
        this.reserve(8);
        this.used = this.buffer.writeBigInt64LE(value, this.used);
    }
    f32(value) {
        this.reserve(4);
        this.used = this.buffer.writeFloatLE(value, this.used);
    }
    f64(value) {
        this.reserve(8);
        this.used = this.buffer.writeDoubleLE(value, this.used);
    }
    bytes(value) {
        this.reserve(value.length);
        this.buffer.set(value, this.used);
        this.used += value.length;
    }
    /** A GGUF string: uint64 byte length, then the UTF-8 bytes without a terminator. */
    string(value) {
        const byteCount = Buffer.byteLength(value, "utf8");
        this.u64Number(byteCount);
        this.reserve(byteCount);
        this.used += this.buffer.write(value, this.used, byteCount, "utf8");
    }
    zeros(byteCount) {
        this.reserve(byteCount);
        this.buffer.fill(0, this.used, this.used + byteCount);
        this.used += byteCount;
    }
    /** The bytes written so far (a view, not a copy). */
    view() {
        return this.buffer.subarray(0, this.used);
    }
}
//# sourceMappingURL=byte-sink.js.map