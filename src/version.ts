import { readFileSync } from "node:fs";
import path from "node:path";

import { loadNativeSync, packageRoot } from "./native.js";

export interface VersionInfo {
  version: string;
  /** The llama.cpp commit the addon was built from (from node-llama-cpp's bundle). */
  llamaCommit?: string;
  /** Our patches applied to that source, comma-separated. */
  llamaPatches?: string;
  cuda?: boolean;
  /** Why the addon could not be loaded, when it could not. */
  nativeError?: string;
}

export function versionInfo(): VersionInfo {
  const { version } = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string };
  try {
    const build = loadNativeSync().buildInfo();
    return { version, llamaCommit: build.llamaCommit, llamaPatches: build.llamaPatches, cuda: build.cuda };
  } catch (error) {
    return { version, nativeError: error instanceof Error ? error.message : String(error) };
  }
}
