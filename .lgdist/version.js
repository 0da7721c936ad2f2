import { readFileSync } from "node:fs";
import path from "node:path";
import { loadNativeSync, packageRoot } from "./native.js";
export function versionInfo() {
    const { version } = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8"));
    try {
        const build = loadNativeSync().buildInfo();
        return { version, llamaCommit: build.llamaCommit, llamaPatches: build.llamaPatches, cuda: build.cuda };
    }
    catch (error) {
        return { version, nativeError: error instanceof Error ? error.message : String(error) };
    }
}
//# sourceMappingURL=version.js.map