export interface AtomicOutput {
    /** Where to write. Same directory as the target, so the final rename cannot cross filesystems. */
    tempPath: string;
    finalPath: string;
    /** Moves the temp file into place. */
    commit(): Promise<void>;
    /** Removes the temp file; never throws. */
    discard(): Promise<void>;
}
export declare function prepareAtomicOutput(where: string, output: string, options: {
    force: boolean;
    inputs: string[];
}): Promise<AtomicOutput>;
