#!/usr/bin/env node
// Builds the addon with cmake-js: llama.cpp from the pinned node-llama-cpp bundle plus native/.
// Incremental: the CMake build folder (build/) and the patched source (deps/llama.cpp) are reused.
//
//   node scripts/build-native.mjs                 build for this machine
//   LORA_GGUF_CUDA=1 node scripts/build-native.mjs  with llama.cpp's CUDA backend (needs the CUDA toolkit with cuBLAS)
//   LORA_GGUF_CUBLAS_ROOT=<dir> ...               cuBLAS from there (pip's nvidia/cu13), not the toolkit's
//   LORA_GGUF_PORTABLE=1 ...                      no -march=native (what prebuilds use)
//   LORA_GGUF_BUILD_DIR=<dir> ...                 build in <dir> instead of build/
//   --copy-to <dir>                               also copy the .node there (used by binding.gyp)
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function isOn(value) {
  return value !== undefined && !["", "0", "false", "off", "no"].includes(value.toLowerCase());
}

// Walks up node_modules folders the way Node resolves packages (the package may be hoisted
// into a parent project's node_modules); package "exports" hide package.json from require.resolve.
function locatePackageDir(name) {
  for (let dir = packageRoot; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    if (existsSync(path.join(candidate, "package.json"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function locateLlamaBundle() {
  const nodeLlamaCppDir = locatePackageDir("node-llama-cpp");
  if (!nodeLlamaCppDir) {
    throw new Error("node-llama-cpp is not installed; run `npm install` (it ships the llama.cpp source lora-gguf builds from)");
  }
  const bundle = path.join(nodeLlamaCppDir, "llama", "gitRelease.bundle");
  if (!existsSync(bundle)) {
    throw new Error(`node-llama-cpp at ${nodeLlamaCppDir} has no llama/gitRelease.bundle`);
  }
  return bundle;
}

const args = process.argv.slice(2);
const copyToIndex = args.indexOf("--copy-to");
const copyTo = copyToIndex >= 0 ? args[copyToIndex + 1] : undefined;

const cuda = isOn(process.env.LORA_GGUF_CUDA);
const cmakeDefines = {
  LORA_GGUF_LLAMA_BUNDLE: locateLlamaBundle(),
  LORA_GGUF_CUDA: cuda ? "ON" : "OFF",
  LORA_GGUF_NATIVE: isOn(process.env.LORA_GGUF_PORTABLE) ? "OFF" : "ON",
  // the GPUs to compile for, e.g. "89;90" (default: llama.cpp's list, or the GPU present)
  ...(cuda && process.env.CMAKE_CUDA_ARCHITECTURES ? { CMAKE_CUDA_ARCHITECTURES: process.env.CMAKE_CUDA_ARCHITECTURES } : {}),
  // cuBLAS from pip's wheels where the toolkit has none (CMakeLists.txt)
  ...(cuda && process.env.LORA_GGUF_CUBLAS_ROOT ? { LORA_GGUF_CUBLAS_ROOT: process.env.LORA_GGUF_CUBLAS_ROOT } : {}),
};
const childEnv = { ...process.env };
if (cuda && !childEnv.CUDACXX && !process.env.LORA_GGUF_CUBLAS_ROOT) {
  const compiler = cudaCompilerWithCublas();
  if (compiler) {
    if (compiler.note) console.error(`lora-gguf: ${compiler.note}`);
    childEnv.CUDACXX = compiler.nvcc;
    // FindCUDAToolkit looks for nvcc on PATH first; point it at the same toolkit. nvcc runs ptxas,
    // fatbinary and nvlink from PATH, so its own directory goes first (another toolkit's ptxas may
    // not know this one's GPU names)
    cmakeDefines.CUDAToolkit_ROOT = compiler.root;
    childEnv.PATH = `${path.dirname(compiler.nvcc)}${path.delimiter}${childEnv.PATH ?? ""}`;
  }
}
if (cuda && !childEnv.CUDAHOSTCXX) {
  const hostCompiler = cudaHostCompiler();
  if (hostCompiler) {
    console.error(`lora-gguf: nvcc ${hostCompiler.nvcc} does not take g++ ${hostCompiler.gxx}; compiling CUDA with ${hostCompiler.use} (set CUDAHOSTCXX to choose)`);
    childEnv.CUDAHOSTCXX = hostCompiler.use;
  }
}

/**
 * The first CUDA compiler whose toolkit has cuBLAS (llama.cpp's CUDA backend needs it): nvcc on
 * PATH, /usr/local/cuda's, Debian's /usr/bin/nvcc. undefined when none has; CMake then says so.
 */
function cudaCompilerWithCublas() {
  const onPath = spawnSync("sh", ["-c", "command -v nvcc"], { encoding: "utf8" }).stdout.trim();
  const candidates = [...new Set([onPath, "/usr/local/cuda/bin/nvcc", "/usr/bin/nvcc"].filter(Boolean))];
  for (const nvcc of candidates) {
    if (!existsSync(nvcc)) continue;
    const root = path.resolve(path.dirname(nvcc), "..");
    if (!existsSync(path.join(root, "include", "cublas_v2.h"))) continue;
    const note = nvcc === onPath ? undefined : `nvcc on PATH (${onPath || "none"}) has no cuBLAS beside it; compiling CUDA with ${nvcc} (set CUDACXX to choose)`;
    return { nvcc, root, note };
  }
  return undefined;
}

/**
 * CUDA 11.8's nvcc (Debian 12's toolkit) takes g++ up to 11; where the default g++ is newer and
 * g++-11 is installed, CMake must be told to compile CUDA with it (CUDAHOSTCXX). undefined otherwise.
 */
function cudaHostCompiler() {
  const version = (command, args, pattern) => {
    const probe = spawnSync(command, args, { encoding: "utf8" });
    return probe.status === 0 ? pattern.exec(probe.stdout)?.[1] : undefined;
  };
  const nvcc = version(childEnv.CUDACXX ?? "nvcc", ["--version"], /release (\d+\.\d+)/);
  const gxx = version("g++", ["-dumpversion"], /^(\d+)/);
  if (!nvcc || !gxx || Number(nvcc.split(".")[0]) !== 11 || Number(gxx) <= 11) return undefined;
  return version("g++-11", ["-dumpversion"], /^(\d+)/) ? { nvcc, gxx, use: "g++-11" } : undefined;
}

const cmakeJsDir = locatePackageDir("cmake-js");
if (!cmakeJsDir) throw new Error("cmake-js is not installed; run `npm install`");
const cmakeJs = path.join(cmakeJsDir, "bin", "cmake-js");
// Under node-gyp (binding.gyp, prebuildify) build/ belongs to node-gyp, which wipes it on every
// rebuild, so that CMake build lives in deps/ and build/ keeps the everyday incremental build.
// LORA_GGUF_BUILD_DIR puts a build elsewhere (tests use it to try options without touching build/).
const outDir = process.env.LORA_GGUF_BUILD_DIR ?? (copyTo ? path.join("deps", "build-for-node-gyp") : "build");
const cmakeArgs = [
  cmakeJs,
  "build",
  "--out", outDir,
  "--parallel", String(Math.max(1, availableParallelism())),
  ...Object.entries(cmakeDefines).map(([key, value]) => `--CD${key}=${value}`),
];

console.error(`lora-gguf: building the native addon (llama.cpp + native/) with cmake-js; the first build takes several minutes`);
const started = Date.now();
const result = spawnSync(process.execPath, cmakeArgs, { cwd: packageRoot, env: childEnv, stdio: ["ignore", "inherit", "inherit"] });
if (result.status !== 0) {
  console.error(`lora-gguf: native build failed (exit ${result.status ?? result.signal})`);
  process.exit(result.status ?? 1);
}
console.error(`lora-gguf: native build done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

if (copyTo) {
  mkdirSync(copyTo, { recursive: true });
  copyFileSync(path.join(packageRoot, outDir, "Release", "lora_gguf.node"), path.join(copyTo, "lora_gguf.node"));
}
