/**
 * A file written under a temporary name next to its target and renamed over the target only when
 * complete, so readers never see a half-written output and a failure leaves nothing behind.
 */
export declare class AtomicOutputFile {
    readonly targetPath: string;
    readonly tempPath: string;
    private readonly handle;
    private closed;
    private constructor();
    static create(targetPath: string): Promise<AtomicOutputFile>;
    /** Appends all of `bytes`. */
    write(bytes: Uint8Array): Promise<void>;
    /** Flushes, closes and renames the temporary file onto the target. */
    commit(): Promise<void>;
    /** Closes and deletes the temporary file; never throws. */
    discard(): Promise<void>;
}
