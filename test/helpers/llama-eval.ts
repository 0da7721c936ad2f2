// Next-token distributions through node-llama-cpp: an independent llama.cpp build (its own
// prebuilt binary), so the models we write are checked by a consumer other than ourselves.
import { sharedNodeLlama } from "../../src/generate/greedy-completions.js";

export const sharedLlama = sharedNodeLlama;

/** Softmax of the logits for the token after `text` (vocabulary order). */
export async function nextTokenProbabilities(modelPath: string, text: string): Promise<Float64Array> {
  const llama = await sharedLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({ contextSize: 256, threads: 2 });
    try {
      const sequence = context.getSequence();
      const tokens = model.tokenize(text);
      const last = tokens.length - 1;
      const results = await sequence.controlledEvaluate(
        tokens.map((token, index) => (index === last ? [token, { generateNext: { logits: true } }] : token)),
      );
      const logits = results[last]?.next?.logits;
      if (!logits) throw new Error("node-llama-cpp returned no logits");
      const size = Math.max(...logits.keys()) + 1;
      const values = new Float64Array(size).fill(-Infinity);
      for (const [token, logit] of logits) values[token as number] = logit;
      const max = Math.max(...values);
      let sum = 0;
      for (let i = 0; i < size; i++) {
        values[i] = Math.exp(values[i] - max);
        sum += values[i];
      }
      for (let i = 0; i < size; i++) values[i] /= sum;
      return values;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** KL(p || q) in nats. */
export function klDivergence(p: Float64Array, q: Float64Array): number {
  if (p.length !== q.length) throw new Error(`distributions differ in size: ${p.length} vs ${q.length}`);
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] > 0) kl += p[i] * Math.log(p[i] / Math.max(q[i], 1e-300));
  }
  return kl;
}

export { greedyCompletions } from "../../src/generate/greedy-completions.js";

/** Next-token probabilities after each token sequence, through node-llama-cpp with an f32 KV cache and no flash attention (whose f16 casts would cost ~1e-4). */
export async function tokenSequenceProbabilities(
  modelPath: string,
  tokenSequences: number[][],
  options: { adapterPath?: string; adapters?: { filePath: string; scale: number }[] } = {},
): Promise<Float64Array[]> {
  const adapters = options.adapters ?? (options.adapterPath ? [{ filePath: options.adapterPath, scale: 1 }] : []);
  const llama = await sharedLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 256, threads: 2, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false,
    ...(adapters.length > 0 ? { lora: { adapters } } : {}),
  });
  const sequence = context.getSequence();
  try {
    const results: Float64Array[] = [];
    for (const tokens of tokenSequences) {
      await sequence.clearHistory();
      const evaluated = await sequence.controlledEvaluate(tokens.map((token, index) => (index === tokens.length - 1 ? [token, { generateNext: { logits: true } }] : token)) as never);
      const logits = evaluated.at(-1)!.next!.logits!;
      const values = new Float64Array(Math.max(...logits.keys()) + 1).fill(-Infinity);
      for (const [token, logit] of logits) values[token as number] = logit;
      const max = Math.max(...values);
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += values[i] = Math.exp(values[i] - max);
      for (let i = 0; i < values.length; i++) values[i] /= sum;
      results.push(values);
    }
    return results;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}


/** -log p(token) under `logits` (token id → logit, as node-llama-cpp's controlledEvaluate returns them). */
export function tokenCrossEntropy(logits: ReadonlyMap<number, number>, token: number): number {
  let max = -Infinity;
  for (const value of logits.values()) max = Math.max(max, value);
  let total = 0;
  for (const value of logits.values()) total += Math.exp(value - max);
  return -(logits.get(token)! - max - Math.log(total));
}

/** The largest elementwise |a - b| of two probability rows of equal length. */
export function maxAbsDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`rows of ${a.length} and ${b.length} values`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The largest elementwise |a - b| over rows of probabilities (one row per sequence). */
export function maxAbsDifferenceOfRows(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  if (a.length !== b.length) throw new Error(`${a.length} and ${b.length} rows`);
  return a.reduce((max, row, index) => Math.max(max, maxAbsDifference(row, b[index])), 0);
}
