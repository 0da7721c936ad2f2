#!/usr/bin/env node
// Packs what scripts/device-check.sh needs on a lent GPU machine that has no Node.js and takes at most
// 64 MiB of carried files: this Node.js binary (xz), and one tar.xz of dist/, the node_modules the
// checks load (the package's dependencies, vitest, the addon's build headers; not the llama.cpp
// bundle or node-llama-cpp's GPU binaries) and deps/llama.cpp as the build patched it (its sources
// for ggml's CPU and CUDA backends and llama, and the vocabularies the benches use).
//
//   npm run build:ts && node scripts/device/pack.mjs     writes .device/ (git-ignored)
//   then the device tool: run `bash scripts/device-check.sh`, carry [".device"]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = path.join(root, ".device");
const carryLimitBytes = 64 * 2 ** 20;

const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
const llamaDir = path.join(root, "deps", "llama.cpp");
const stamp = path.join(llamaDir, ".lora-gguf-source-stamp");
if (!existsSync(stamp)) throw new Error("deps/llama.cpp is not prepared: run `npm run build:native` first");
if (!existsSync(path.join(root, "dist", "index.js"))) throw new Error("dist/ is missing: run `npm run build:ts` first");
const llamaCommit = execFileSync("git", ["bundle", "list-heads", path.join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle")], { encoding: "utf8" }).split(" ")[0];

// ---- node_modules: the closure of these packages as npm laid them out (package-lock's paths) ----
const roots = [...Object.keys(lock.packages[""].dependencies), "vitest"].filter((name) => name !== "cmake-js");
// node-llama-cpp's prebuilt binaries: only the CPU one (the checks' greedy completions run on the CPU)
const leftOut = (name) => (name.startsWith("@node-llama-cpp/") && name !== "@node-llama-cpp/linux-x64") || name === "cmake-js";
const wanted = new Set();
function resolve(fromDir, name) {
  // Node's lookup: node_modules of the requiring package, then of each folder above it
  for (let dir = fromDir; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
    const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!dir) return undefined;
  }
}
function visit(location) {
  if (wanted.has(location)) return;
  wanted.add(location);
  const entry = lock.packages[location];
  for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
    if (leftOut(name)) continue;
    const found = resolve(location, name);
    // optional packages for other platforms are in the lock file but not installed
    if (found && existsSync(path.join(root, found))) visit(found);
  }
}
for (const name of roots) visit(resolve("", name));

// ---- deps/llama.cpp: what CMake reads for the CPU and CUDA backends and llama, nothing else ----
const llamaParts = ["CMakeLists.txt", "LICENSE", "cmake", "include", "src", "vendor", "licenses", "ggml/CMakeLists.txt", "ggml/cmake", "ggml/include",
  // the vocabularies of the tiny test models (src/testing) and of bench/model-shapes' Qwen2.5 and SmolLM2
  ...["models/ggml-vocab-qwen2.gguf", "models/ggml-vocab-llama-bpe.gguf", "models/ggml-vocab-llama-spm.gguf"]];
const ggmlSrc = path.join(llamaDir, "ggml", "src");
const otherBackends = ["ggml-vulkan", "ggml-metal", "ggml-sycl", "ggml-opencl", "ggml-cann", "ggml-hexagon", "ggml-musa", "ggml-hip", "ggml-webgpu", "ggml-zdnn", "ggml-zendnn", "ggml-openvino", "ggml-virtgpu", "ggml-et"];

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, "llama-commit"), `${llamaCommit}\n`);
writeFileSync(path.join(outDir, "node-version"), `${process.version}\n`);
const listFile = path.join(outDir, "payload.list");
writeFileSync(listFile, [
  "dist",
  ...[...wanted].sort(),
  ...llamaParts.map((part) => `deps/llama.cpp/${part}`),
  "deps/llama.cpp/.lora-gguf-source-stamp",
  "deps/llama.cpp/ggml/src",
].join("\n") + "\n");
const excludes = [
  "--exclude=node_modules/node-llama-cpp/llama/gitRelease.bundle",
  ...otherBackends.map((backend) => `--exclude=deps/llama.cpp/ggml/src/${backend}`),
  "--exclude=*.md", "--exclude=*.map", "--exclude=*.d.ts.map",
];
console.error(`pack: ${wanted.size} packages, llama.cpp ${llamaCommit.slice(0, 12)}; compressing (a minute or two on 2 cores)`);
execFileSync("tar", ["-C", root, ...excludes, "-cf", path.join(outDir, "payload.tar"), "-T", listFile], { stdio: "inherit" });
execFileSync("xz", ["-T0", "-6", path.join(outDir, "payload.tar")], { stdio: "inherit" });
execFileSync("sh", ["-c", `xz -T0 -6 -c "${process.execPath}" > "${path.join(outDir, "node.xz")}"`], { stdio: "inherit" });
rmSync(listFile);

const sizes = ["node.xz", "payload.tar.xz"].map((name) => [name, statSync(path.join(outDir, name)).size]);
const total = sizes.reduce((sum, [, bytes]) => sum + bytes, 0);
for (const [name, bytes] of sizes) console.log(`.device/${name}: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
console.log(`total ${(total / 2 ** 20).toFixed(1)} MiB of the ${carryLimitBytes / 2 ** 20} MiB a device run carries (Node.js ${process.version})`);
if (total > carryLimitBytes * 0.95) {
  console.error("pack: too close to the carry limit");
  process.exit(1);
}
