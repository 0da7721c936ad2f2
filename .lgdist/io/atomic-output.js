// "Nothing lost": every output is written to a temp file beside its target and renamed into
// place only when complete, so a crash or an abort never leaves a half-written model behind.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { LoraGgufError } from "../errors.js";
export async function prepareAtomicOutput(where, output, options) {
    const finalPath = path.resolve(output);
    for (const input of options.inputs) {
        if (path.resolve(input) === finalPath) {
            throw new LoraGgufError("E_INVALID_OPTION", `${where}: the output ${output} is also an input; choose another output path`);
        }
    }
    const directory = path.dirname(finalPath);
    const directoryStat = await stat(directory).catch(() => undefined);
    if (!directoryStat?.isDirectory()) {
        throw new LoraGgufError("E_OUTPUT_DIR", `${where}: the output directory ${directory} does not exist; create it first`);
    }
    try {
        await access(directory, constants.W_OK);
    }
    catch {
        throw new LoraGgufError("E_OUTPUT_DIR", `${where}: the output directory ${directory} is not writable`);
    }
    const existing = await stat(finalPath).catch(() => undefined);
    if (existing && !options.force) {
        throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${output} already exists; pass force (--force) to overwrite it`);
    }
    if (existing?.isDirectory()) {
        throw new LoraGgufError("E_OUTPUT_EXISTS", `${where}: ${output} is a directory; give a file path`);
    }
    const tempPath = path.join(directory, `.${path.basename(finalPath)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
    return {
        tempPath,
        finalPath,
        commit: () => rename(tempPath, finalPath),
        discard: () => rm(tempPath, { force: true }).catch(() => undefined),
    };
}
//# sourceMappingURL=atomic-output.js.map