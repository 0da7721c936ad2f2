// merge into bases of any tensor type: types ggml quantizes only with an importance matrix are stored
// as q2_K (said in the result), types ggml cannot write are refused before any work, and the native
// backstop refuses both without reaching ggml's GGML_ASSERT(imatrix != NULL).
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GgmlType, ggmlTypeInfo, isLoraGgufError, merge, quantize, readGgufHeader, tensorByteSize, writeGgufFile } from "../src/index.js";
import { float32ToFloat16 } from "../src/gguf/f16.js";
import { loadNative, runNativeJob } from "../src/native.js";
import { SeededRandom } from "../src/seeded-random.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { tokenSequenceProbabilities } from "./helpers/llama-eval.js";
import { tensorBytesByName } from "./helpers/run-outputs.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";

const temp = makeTempDir("merge-types");
const file = (name: string) => path.join(temp.dir, name);
const sequences = [[1, 300, 400, 500, 600], [1, 20, 21, 22, 23, 24, 25]];

/**
 * `source` with every 2-D weight of the blocks (and output.weight) stored as `type`, in valid blocks
 * of seeded random bytes with a small f16 scale: a GGUF ggml reads (llama.cpp runs it), made without
 * the importance matrix ggml's own quantizer would need for iq2_xs.
 */
async function rewriteWeights(source: string, target: string, type: number, seed: number): Promise<void> {
  const header = await readGgufHeader(source);
  const bytes = await tensorBytesByName(source);
  const info = ggmlTypeInfo(type)!;
  const random = new SeededRandom(seed);
  const scale = float32ToFloat16(0.002);
  await writeGgufFile(target, {
    metadata: header.metadata,
    tensors: header.tensors.map((tensor) => {
      if (tensor.dims.length !== 2 || !(tensor.name.startsWith("blk.") || tensor.name === "output.weight")) {
        return { name: tensor.name, dims: tensor.dims, type: tensor.type, data: bytes.get(tensor.name)! };
      }
      const data = new Uint8Array(tensorByteSize(type, tensor.dims));
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(random.nextFloat() * 256);
      // every block starts with its f16 scale d
      for (let block = 0; block < data.length; block += info.bytesPerBlock) {
        data[block] = scale & 0xff;
        data[block + 1] = scale >> 8;
      }
      return { name: tensor.name, dims: tensor.dims, type, data };
    }),
  });
}

beforeAll(async () => {
  // every adapted weight has rows of a multiple of 256 elements, the iq2_xs and q2_K block size
  await writeTinyLlamaGguf(file("base-f32.gguf"), { seed: 17, nLayer: 2, nEmbd: 256, nHead: 4, nHeadKv: 2, nFf: 512, vocabSize: 1024 });
  await rewriteWeights(file("base-f32.gguf"), file("base-iq2_xs.gguf"), GgmlType.IQ2_XS, 5);
  await rewriteWeights(file("base-f32.gguf"), file("base-q8_k.gguf"), GgmlType.Q8_K, 6);
  await writeRandomAdapter(file("base-f32.gguf"), file("adapter.gguf"), { rank: 8, alpha: 16, seed: 1, bStd: 0.2 });
});
afterAll(() => temp.cleanup());

describe("merge into bases of any tensor type", () => {
  it("an iq2_xs base: merged tensors are stored as q2_K, with a note; the others keep iq2_xs; each merged tensor is what merging in f32 and quantizing to q2_K gives", async () => {
    const output = file("merged-iq2_xs.gguf");
    const result = await merge({ model: file("base-iq2_xs.gguf"), adapters: [{ path: file("adapter.gguf") }], output, threads: 2 });
    expect(result.mergedTensorCount).toBe(2 * 7);
    expect(result.warnings).toContain(
      "14 merged iq2_xs tensors were stored as q2_K: ggml quantizes iq2_xs only with an importance matrix, which a merge does not have (the other tensors keep their types)",
    );
    const types = new Map((await readGgufHeader(output)).tensors.map((tensor) => [tensor.name, ggmlTypeInfo(tensor.type)!.name]));
    expect(types.get("blk.0.attn_q.weight")).toBe("q2_K");
    expect(types.get("blk.1.ffn_down.weight")).toBe("q2_K");
    expect(types.get("output.weight")).toBe("iq2_xs");

    // each merged tensor is bit for bit what merging into an f32 copy of the iq2_xs base and
    // quantizing that to q2_K gives (the same sums, the same q2_K rounding)
    await quantize(file("base-iq2_xs.gguf"), file("base-iq2_xs-as-f32.gguf"), { type: "F32", allowRequantize: true });
    await merge({ model: file("base-iq2_xs-as-f32.gguf"), adapters: [{ path: file("adapter.gguf") }], output: file("reference-f32.gguf") });
    await quantize(file("reference-f32.gguf"), file("reference-q2_k.gguf"), { type: "Q2_K", pure: true });
    const ours = await tensorBytesByName(output);
    const reference = await tensorBytesByName(file("reference-q2_k.gguf"));
    const adapted = [...types].filter(([, type]) => type === "q2_K").map(([name]) => name);
    expect(adapted).toHaveLength(14);
    for (const name of adapted) expect(ours.get(name)!.equals(reference.get(name)!), name).toBe(true);

    // and llama.cpp runs the mixed model
    const merged = await tokenSequenceProbabilities(output, sequences);
    expect(merged.flatMap((row) => [...row]).every((p) => Number.isFinite(p) && p > 0 && p < 1)).toBe(true);
  });

  it("a base whose adapted weights are of a type ggml cannot write (q8_K) is refused before any work, with E_UNSUPPORTED_TYPE", async () => {
    const output = file("merged-q8_k.gguf");
    const error = await merge({ model: file("base-q8_k.gguf"), adapters: [{ path: file("adapter.gguf") }], output }).catch((e: unknown) => e);
    expect(isLoraGgufError(error) && error.code).toBe("E_UNSUPPORTED_TYPE");
    expect((error as Error).message).toMatch(/blk\.0\.attn_q\.weight is q8_K, which ggml cannot write back after merging/);
    const { existsSync } = await import("node:fs");
    expect(existsSync(output)).toBe(false);
  });

  it("the native merge itself refuses to store iq2_xs or q8_K (the backstop before ggml_quantize_chunk), and the process lives", async () => {
    const native = await loadNative();
    for (const base of ["base-iq2_xs.gguf", "base-q8_k.gguf"]) {
      const outputPath = file(`native-${base}`);
      const error = await runNativeJob(
        () => native.merge({ basePath: file(base), outputPath, adapters: [{ path: file("adapter.gguf"), scale: 1 }], threads: 1 }),
        undefined,
        undefined,
      ).catch((e: unknown) => e);
      expect(isLoraGgufError(error) && error.code).toBe("E_UNSUPPORTED_TYPE");
      expect((error as Error).message).toMatch(/without an importance matrix/);
    }
  });
});
