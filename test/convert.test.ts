// convert against a float64 Hugging Face reference forward pass (written from transformers'
// semantics, not from the converter): the converted GGUF, run by node-llama-cpp, gives the same
// next-token probabilities.
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { inspect, readGgufHeader } from "../src/index.js";
import type { TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer } from "../src/testing/tiny-hf-tokenizer.js";
import { hfReferenceNextTokenProbabilities, REFERENCE_SEQUENCES, writeReferenceCheckpoint } from "./helpers/hf-reference-forward.js";
import { maxAbsDifference, tokenSequenceProbabilities as llamaCppProbabilities } from "./helpers/llama-eval.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("convert");
afterAll(() => temp.cleanup());

const sequences = REFERENCE_SEQUENCES;

const cases: { name: string; options: Partial<TinyHfCheckpointOptions> & Pick<TinyHfCheckpointOptions, "architecture" | "dtype"> }[] = [
  { name: "llama f32", options: { architecture: "llama", dtype: "float32" } },
  { name: "llama bf16, llama 3 rope scaling, 2 shards", options: { architecture: "llama", dtype: "bfloat16", shards: 2, ropeScalingLlama3: true } },
  { name: "mistral f32", options: { architecture: "mistral", dtype: "float32" } },
  { name: "mistral bf16, 3 shards", options: { architecture: "mistral", dtype: "bfloat16", shards: 3 } },
  { name: "qwen2 bf16", options: { architecture: "qwen2", dtype: "bfloat16" } },
  { name: "qwen2 f32, tied embeddings", options: { architecture: "qwen2", dtype: "float32", tieWordEmbeddings: true } },
  { name: "qwen3 f32, head_dim 32", options: { architecture: "qwen3", dtype: "float32", headDim: 32 } },
  { name: "qwen3 bf16", options: { architecture: "qwen3", dtype: "bfloat16" } },
];

describe("convert: Hugging Face checkpoints to GGUF", () => {
  for (const { name, options } of cases) {
    it(`${name}: node-llama-cpp matches the float64 reference within 1e-4`, async () => {
      const family = options.architecture.startsWith("qwen") ? "qwen2" : "llama3";
      const tokenizer = await tinyHfTokenizer({ family, keepTokens: 1000 });
      const dir = path.join(temp.dir, name.replace(/[^a-z0-9]+/gi, "-"));
      await writeReferenceCheckpoint(dir, tokenizer, { seed: 3, ...options });
      // f32 output for the tight comparison (bf16 weights convert exactly to f32)
      const output = path.join(temp.dir, `${path.basename(dir)}-f32.gguf`);
      const result = await convert(dir, output, { outType: "f32" });
      expect(result.architecture).toBe(options.architecture === "mistral" ? "llama" : options.architecture);

      const ours = await llamaCppProbabilities(output, sequences);
      let worst = 0;
      for (const [index, tokens] of sequences.entries()) {
        worst = Math.max(worst, maxAbsDifference(ours[index], await hfReferenceNextTokenProbabilities(dir, tokens)));
      }
      console.log(`${name}: max |p_llama.cpp - p_reference| = ${worst.toExponential(2)} (pre-tokenizer ${result.preTokenizer})`);
      expect(worst).toBeLessThan(1e-4);

      const auto = path.join(temp.dir, `${path.basename(dir)}-auto.gguf`);
      await convert(dir, auto);
      const info = await inspect(auto, { tensors: true });
      const matrixType = info.tensors!.find((tensor) => tensor.name === "blk.0.attn_q.weight")!.type;
      expect(matrixType).toBe(options.dtype === "bfloat16" ? "bf16" : "f32");
      expect(info.tensors!.find((tensor) => tensor.name === "blk.0.attn_norm.weight")!.type).toBe("f32");
      const header = await readGgufHeader(auto);
      expect(header.metadataByKey.get("tokenizer.ggml.model")?.value).toBe("gpt2");
      expect(header.metadataByKey.has("tokenizer.chat_template")).toBe(true);
    });
  }
});
