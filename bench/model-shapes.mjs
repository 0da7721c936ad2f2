// Real model shapes for the benches: the released config.json values (random weights, generated here).
// FLOP counts follow the usual MFU convention (PaLM, appendix B): 2 FLOPs per multiply-accumulate,
// a backward pass twice its forward, attention scores over the whole window.

/** name -> writeTinyModelGguf options plus the Hugging Face config values they come from. */
export const modelShapes = {
  // HuggingFaceTB/SmolLM2-135M: hidden 576, intermediate 1536, 30 layers, 9 heads, 3 KV heads, vocab 49152, tied
  "smollm2-135m": { architecture: "llama", nLayer: 30, nEmbd: 576, nHead: 9, nHeadKv: 3, nFf: 1536, vocabSize: 49152, tiedEmbeddings: true, vocab: "llama-bpe" },
  // Qwen/Qwen2.5-0.5B: hidden 896, intermediate 4864, 24 layers, 14 heads, 2 KV heads, vocab 151936, tied, q/k/v biases
  "qwen2.5-0.5b": { architecture: "qwen2", nLayer: 24, nEmbd: 896, nHead: 14, nHeadKv: 2, nFf: 4864, vocabSize: 151936, tiedEmbeddings: true, vocab: "qwen2" },
  // Qwen/Qwen3-8B: hidden 4096, intermediate 12288, 36 layers, 32 heads, 8 KV heads, head_dim 128, vocab 151936, untied, q/k norms
  "qwen3-8b": { architecture: "qwen3", nLayer: 36, nEmbd: 4096, nHead: 32, nHeadKv: 8, headDim: 128, nFf: 12288, vocabSize: 151936, tiedEmbeddings: false, vocab: "qwen2" },
};

/** Weights of the matrices a token passes through: the 7 projections of every block and the output head. */
export function matmulParameters(shape) {
  const headDim = shape.nEmbd / shape.nHead;
  const q = shape.nEmbd * shape.nHead * headDim;
  const kv = 2 * shape.nEmbd * shape.nHeadKv * headDim;
  const o = shape.nHead * headDim * shape.nEmbd;
  const mlp = 3 * shape.nEmbd * shape.nFf;
  return { blocks: shape.nLayer * (q + kv + o + mlp), head: shape.nEmbd * shape.vocabSize };
}

/** LoRA parameters of rank r on all 7 targets of every block: r * (in + out) per matrix. */
export function loraParameters(shape, rank) {
  const headDim = shape.nEmbd / shape.nHead;
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
  const attention = 12 * shape.nLayer * shape.nEmbd * contextLength;
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
    await writeTinyModelGguf(f32, { ...options, seed: 1, nCtx: 8192, vocabPath: path.join(llamaSourceDir(), "models", `ggml-vocab-${vocab}.gguf`) });
  }
  return f32;
}
