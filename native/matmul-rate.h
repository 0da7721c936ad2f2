#pragma once

#include <napi.h>

#include "job.h"

namespace lora_gguf {

// measureMatMulRate({ op: "mul_mat" | "out_prod", weightType, inputs, outputs, tokens, threads, repeats })
//   -> { promise, cancel }, resolving to { bestSeconds, flopsPerSecond, maxAbsError }.
// Times one ggml op on the CPU backend with random data, as the trainer runs it: mul_mat(W, x) is
// the forward matmul through a weight W [inputs, outputs] of weightType (f32 activations, converted
// by ggml as usual), out_prod(W, transpose(g)) the activation gradient through it. Both are
// 2 * inputs * outputs * tokens FLOPs. maxAbsError compares 9 output columns (the first and the last among them) with a float64 dot
// product over the dequantized weight, so a benchmark of a wrong kernel shows.
Napi::Value measure_matmul_rate(const Napi::CallbackInfo & info, JobRegistry & jobs);

} // namespace lora_gguf
