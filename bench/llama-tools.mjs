// llama.cpp's own command-line tools, built from deps/llama.cpp (the patched tree the addon is built
// from) in a build folder of their own, for the benches to compare against.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const llamaSource = path.join(root, "deps", "llama.cpp");
const toolBuild = path.join(root, "build", "bench-llama-tools");

/** The path of llama.cpp tool `target` (e.g. "llama-quantize"), built on first use. */
export function llamaTool(target) {
  const tool = path.join(toolBuild, "bin", target);
  if (existsSync(tool)) return tool;
  if (!existsSync(llamaSource)) throw new Error("deps/llama.cpp is missing: run `npm run build:native` first");
  console.error(`bench: building ${target} from deps/llama.cpp (once)...`);
  if (!existsSync(path.join(toolBuild, "CMakeCache.txt"))) {
    const configure = [
      "-S", llamaSource, "-B", toolBuild, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
      "-DBUILD_SHARED_LIBS=OFF", "-DGGML_OPENMP=OFF", "-DGGML_NATIVE=ON", "-DLLAMA_OPENSSL=OFF",
      "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_BUILD_TOOLS=ON",
    ];
    execFileSync("cmake", configure, { stdio: ["ignore", "ignore", "inherit"] });
  }
  execFileSync("cmake", ["--build", toolBuild, "--target", target, "-j", String(availableParallelism())], { stdio: ["ignore", "ignore", "inherit"] });
  return tool;
}
