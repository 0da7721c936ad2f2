#!/usr/bin/env node
// `npm run prebuild`: a portable (no -march=native) N-API prebuild for this platform in prebuilds/,
// made by prebuildify through binding.gyp, which delegates to our CMake build.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const prebuildify = path.join(packageRoot, "node_modules", "prebuildify", "bin.js");
const result = spawnSync(process.execPath, [prebuildify, "--napi", "--strip", "--name", "lora_gguf"], {
  cwd: packageRoot,
  stdio: "inherit",
  env: { ...process.env, LORA_GGUF_PORTABLE: "1" },
});
process.exit(result.status ?? 1);
