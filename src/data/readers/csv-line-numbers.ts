import { Transform, type TransformCallback } from "node:stream";

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Passes a byte stream through unchanged while remembering where its "\n" bytes are, so that the
 * byte offsets csv-parse reports (`bytes`, exact) become line numbers: csv-parse's own `lines`
 * counts a CRLF inside a quoted field or a blank line twice.
 *
 * Queries must come in non-decreasing offset order (records arrive in file order); offsets already
 * passed are forgotten, so memory stays bounded by how far the reader runs ahead of the parser.
 */
export class CsvLineNumbers extends Transform {
  /** File offsets of "\n" bytes not yet passed by a query, from `head` on. */
  private newlineOffsets: number[] = [];
  /** Whether the line each of those "\n" ends is blank ("" or "\r"). */
  private endsBlankLine: boolean[] = [];
  private head = 0;
  private newlinesPassed = 0;
  private bytesSeen = 0;
  private lineStart = 0;
  private previousByte = -1;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE, from); at !== -1; at = chunk.indexOf(NEWLINE, from)) {
      const offset = this.bytesSeen + at;
      const before = at > 0 ? chunk[at - 1] : this.previousByte;
      this.newlineOffsets.push(offset);
      this.endsBlankLine.push(offset === this.lineStart || (offset === this.lineStart + 1 && before === CARRIAGE_RETURN));
      this.lineStart = offset + 1;
      from = at + 1;
    }
    if (chunk.length > 0) this.previousByte = chunk[chunk.length - 1];
    this.bytesSeen += chunk.length;
    callback(null, chunk);
  }

  /** The 1-based line holding the byte at `offset`. */
  lineAt(offset: number): number {
    while (this.head < this.newlineOffsets.length && this.newlineOffsets[this.head] < offset) {
      this.head++;
      this.newlinesPassed++;
    }
    if (this.head > 4096 && this.head * 2 > this.newlineOffsets.length) {
      this.newlineOffsets = this.newlineOffsets.slice(this.head);
      this.endsBlankLine = this.endsBlankLine.slice(this.head);
      this.head = 0;
    }
    return this.newlinesPassed + 1;
  }

  /** The first line at or after the line start `offset` that is not blank: where a record after blank lines begins. */
  firstContentLineFrom(offset: number): number {
    let line = this.lineAt(offset);
    for (let next = this.head; next < this.newlineOffsets.length && this.endsBlankLine[next]; next++) line++;
    return line;
  }
}
