/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, --json). */
export declare function createProgressBar(label: string, enabled: boolean): {
    update(done: number, total: number, detail: string): void;
    stop(): void;
};
/** An AbortController that Ctrl-C (SIGINT) aborts, so a long command stops cleanly and removes its temp file. */
export declare function abortOnInterrupt(): {
    signal: AbortSignal;
    dispose(): void;
};
