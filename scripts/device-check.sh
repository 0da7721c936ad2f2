#!/usr/bin/env bash
# One prepared run on a lent GPU machine (the device tool: one NVIDIA GPU, CUDA's nvcc, CMake, ninja,
# PyTorch with transformers and peft, cuBLAS from pip wheels; no Node.js, no network). Here, first:
#
#   npm run build:native && npm run build:ts && node scripts/device/pack.mjs   # .device/, ~46 MiB
#
# then run `bash scripts/device-check.sh` there with carry [".device"] and a timeout of 540 s. It
# unpacks Node.js, dist/, node_modules and the patched llama.cpp, builds the addon with the CUDA
# backend for that GPU, runs the GPU tests (test/train-gpu.test.ts: gradients against the CPU's on
# f32, f16, q8_0 and q4_k_m bases, the learning task, no CPU fallback of a LoRA step's ops) and
# bench/train on Qwen2.5-0.5B's shapes (f16, q8_0, q4_k_m, with llama.cpp's full fine-tune and the
# PyTorch and PyTorch+PEFT peers, tokens/s and GPU memory). Each step has its own time limit and the
# next runs whatever the last gave; the results go to $OUT (at most 8 files come back):
#   device-check.md   facts, each step's exit status and time, the tests' and the bench's results
#   device-check.log  every step's full output
#   bench-train.json  bench/train's rows
#   bench-train.txt   its table
#   vitest.json       the GPU tests' results
#
# DEVICE_CHECK_CPU=1 rehearses it on a machine without a GPU (a CPU build, the bench on SmolLM2's
# shapes at f32 only), to check the script itself before device time is spent on it.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/.device/out}
mkdir -p "$out"
summary=$out/device-check.md
log=$out/device-check.log
: > "$summary"
: > "$log"
started=$(date +%s)
# every step ends by then, so that the files are written before the device tool's own limit
deadline=$(( started + ${DEVICE_CHECK_SECONDS:-500} ))
rehearsal=${DEVICE_CHECK_CPU:-}

say() { echo "$*" | tee -a "$summary"; }
# step NAME SECONDS COMMAND...: runs it with its output in the log, and its status and time in the summary
step() {
  local name=$1 limit=$2
  shift 2
  local begun=$(date +%s)
  local left=$(( deadline - begun ))
  if [ "$left" -lt 15 ]; then
    say "- $name: skipped, no time left"
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "=== $name (limit $limit s) ===" >> "$log"
  # a function runs in a bash of its own (timeout runs programs): export -f it first
  if [ "$(type -t "$1")" = function ]; then
    timeout --kill-after=10 "$limit" bash -c "$*" >> "$log" 2>&1
  else
    timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
  fi
  local status=$?
  local took=$(( $(date +%s) - begun ))
  local how="exit $status"
  [ "$status" = 124 ] && how="timed out"
  say "- $name: $how, ${took} s (at $(( $(date +%s) - started )) s)"
  return "$status"
}

say "# device check, $(date -u +%FT%TZ)"
say ""
say "## Facts"
{
  echo '```'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -4
  (command -v nvcc && nvcc --version | tail -2) 2>&1
  cmake --version 2>&1 | head -1
  python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1 | tail -1
  python3 -c 'import transformers, peft; print("transformers", transformers.__version__, "peft", peft.__version__)' 2>&1 | tail -1
  grep -m1 "model name" /proc/cpuinfo; nproc; grep -o -m1 avx512_bf16 /proc/cpuinfo || echo "no avx512_bf16"
  echo '```'
} >> "$summary" 2>&1

# ---- unpack ----
mkdir -p .device/bin
unpack() {
  xz -dc .device/node.xz > .device/bin/node && chmod +x .device/bin/node && tar -xJf .device/payload.tar.xz -C "$root"
}
export root out
export -f unpack
step unpack 120 unpack
export PATH="$root/.device/bin:$PATH"
export LORA_GGUF_NO_BUILD=1
say "- node $(node --version 2>&1)"

# ---- cuBLAS: beside nvcc, or from pip's wheels (nvidia/cu13 or nvidia/cublas under site-packages) ----
nvcc_path=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
cuda_args=""
if [ -z "$rehearsal" ]; then
  toolkit_root=$(dirname "$(dirname "$(readlink -f "$nvcc_path")")")
  cublas_header=$(ls "$toolkit_root"/include/cublas_v2.h "$toolkit_root"/targets/*/include/cublas_v2.h 2>/dev/null | head -1)
  if [ -z "$cublas_header" ]; then
    site=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
    cublas_header=$(find $site -path '*nvidia*' -name cublas_v2.h 2>/dev/null | head -1)
  fi
  cublas_root=$(dirname "$(dirname "$cublas_header")")
  cublas_lib=$(ls "$cublas_root"/lib/libcublas.so* "$cublas_root"/lib64/libcublas.so* 2>/dev/null | grep -v Lt | sort | tail -1)
  cublaslt_lib=$(ls "$cublas_root"/lib/libcublasLt.so* "$cublas_root"/lib64/libcublasLt.so* 2>/dev/null | sort | tail -1)
  say "- nvcc $nvcc_path (toolkit $toolkit_root); cuBLAS header $cublas_header, libraries $cublas_lib $cublaslt_lib"
  cuda_args="-DLORA_GGUF_CUDA=ON -DCMAKE_CUDA_COMPILER=$nvcc_path -DCMAKE_CUDA_ARCHITECTURES=90 -DLORA_GGUF_CUBLAS_ROOT=$cublas_root"
  export LD_LIBRARY_PATH="$(dirname "$cublas_lib"):${LD_LIBRARY_PATH:-}"
fi

# ---- build: CMake straight (the headers cmake-js would pass are in node_modules) ----
configure() {
  cmake -S . -B deps/build-device -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_JS_INC="$root/node_modules/node-api-headers/include;$root/node_modules/node-addon-api" \
    -DLORA_GGUF_LLAMA_PREPARED_COMMIT="$(cat .device/llama-commit)" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$root/deps/build-device/Release" $cuda_args
}
build() {
  cmake --build deps/build-device --parallel "$(nproc)" && mkdir -p build/Release && cp deps/build-device/Release/lora_gguf.node build/Release/
}
export cuda_args
export -f configure build
step configure 60 configure && step build 300 build
node -e 'import("./dist/native.js").then(async (m) => console.log("buildInfo", JSON.stringify((await m.loadNative()).buildInfo())))' 2>&1 | tail -1 | tee -a "$summary"

# ---- tests on the GPU ----
say ""
say "## Tests"
step gpu-tests 180 node node_modules/vitest/vitest.mjs run test/train-gpu.test.ts test/train-gpu-layers.test.ts \
  --reporter=verbose --reporter=json --outputFile.json="$out/vitest.json"
# the tests' own figures (gradients, losses, fallbacks, learning) are console lines in the log
grep -E "^(f32|f16|q8_0|q4_k_m) on |^GPU: steps|✓|×|FAIL|Tests +[0-9]" "$log" | tail -20 | sed 's/^/    /' >> "$summary"

# ---- bench/train on Qwen2.5-0.5B's shapes ----
say ""
say "## bench/train"
if [ -n "$rehearsal" ]; then
  bench=(--shape smollm2-135m --ctx 256 --steps 3 --types f32 --gpu-layers all --no-peers)
else
  bench=(--shape qwen2.5-0.5b --ctx 256 --types f16,q8_0,q4_k_m --gpu-layers all --threads "$(nproc)" --steps 5)
fi
bench_args="${bench[*]}"
run_bench() {
  node bench/train.mjs $bench_args --json "$out/bench-train.json" > "$out/bench-train.txt"
}
export bench_args
export -f run_bench
step bench 300 run_bench
sed 's/^/    /' "$out/bench-train.txt" >> "$summary" 2>/dev/null

say ""
say "total $(( $(date +%s) - started )) s"
