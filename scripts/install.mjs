#!/usr/bin/env node
// npm "install" hook, set explicitly so that npm never runs node-gyp on binding.gyp by itself.
// Uses a prebuild for this platform when there is one; otherwise builds from source.
// If npm skips this script (npm 11 allowScripts), the first API call builds instead (src/native.ts).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

try {
  createRequire(import.meta.url)("node-gyp-build")(packageRoot);
  process.exit(0);
} catch {
  // no usable prebuild or local build: build one below
}

if (process.env.LORA_GGUF_SKIP_INSTALL_BUILD) {
  console.error("lora-gguf: LORA_GGUF_SKIP_INSTALL_BUILD is set; the native addon will be built on first use");
  process.exit(0);
}

const result = spawnSync(process.execPath, [path.join(packageRoot, "scripts", "build-native.mjs")], { cwd: packageRoot, stdio: "inherit" });
process.exit(result.status ?? 1);
