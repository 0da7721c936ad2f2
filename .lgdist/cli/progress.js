import cliProgress from "cli-progress";
/** A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, --json). */
export function createProgressBar(label, enabled) {
    if (!enabled || !process.stderr.isTTY) {
        return { update: () => undefined, stop: () => undefined };
    }
    const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total} {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
        update(done, total, detail) {
            if (!started) {
                bar.start(total, done, { detail });
                started = true;
            }
            else {
                bar.setTotal(total);
                bar.update(done, { detail });
            }
        },
        stop() {
            if (started)
                bar.stop();
        },
    };
}
/** An AbortController that Ctrl-C (SIGINT) aborts, so a long command stops cleanly and removes its temp file. */
export function abortOnInterrupt() {
    const controller = new AbortController();
    const onInterrupt = () => {
        process.stderr.write("\nlora-gguf: interrupted, stopping...\n");
        controller.abort(Object.assign(new Error("interrupted"), { name: "AbortError" }));
    };
    process.once("SIGINT", onInterrupt);
    return { signal: controller.signal, dispose: () => process.off("SIGINT", onInterrupt) };
}
//# sourceMappingURL=progress.js.map