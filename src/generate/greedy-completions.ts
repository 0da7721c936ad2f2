// Quick before/after checks through node-llama-cpp (its own prebuilt llama.cpp, loaded in-process
// beside our addon): greedy completions of prompts, with or without a LoRA adapter.
import { availableParallelism } from "node:os";

import type { Llama } from "node-llama-cpp";

import { LoraGgufError } from "../errors.js";
import { checkLlamaLoadable } from "../gguf/llama-loader-checks.js";

let llamaPromise: Promise<Llama> | undefined;

/**
 * One CPU node-llama-cpp instance per process; it never builds llama.cpp from source. Imported on
 * first use: loading node-llama-cpp takes a third of a second, which every CLI command would pay.
 */
export function sharedNodeLlama(): Promise<Llama> {
  llamaPromise ??= import("node-llama-cpp").then(({ getLlama }) =>
    getLlama({ gpu: false, build: "never", logLevel: "error" as never, progressLogs: false }),
  );
  return llamaPromise;
}

export interface GreedyCompletion {
  text: string;
  /** The model ended the completion itself (an end-of-generation token) rather than hitting maxTokens. */
  endedWithEog: boolean;
}

/** Greedy (temperature 0) completions of `prompts`, whose special-token text is parsed as special tokens. */
export async function greedyCompletions(
  modelPath: string,
  prompts: readonly string[],
  options: { adapterPath?: string; maxTokens: number; contextSize?: number; threads?: number },
): Promise<GreedyCompletion[]> {
  await checkLlamaLoadable("generate", modelPath);
  const llama = await sharedNodeLlama();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 }).catch((error: unknown) => {
    throw new LoraGgufError("E_NATIVE", `node-llama-cpp could not load ${modelPath}: ${(error as Error).message}`, { cause: error });
  });
  try {
    const context = await model
      .createContext({
        contextSize: options.contextSize ?? 512,
        // node-llama-cpp's own default oversubscribes small machines (10x slower on 2 cores)
        threads: options.threads ?? availableParallelism(),
        ...(options.adapterPath ? { lora: { adapters: [{ filePath: options.adapterPath }] } } : {}),
      })
      .catch((error: unknown) => {
        const adapter = options.adapterPath ? ` with ${options.adapterPath}` : "";
        throw new LoraGgufError("E_NATIVE", `node-llama-cpp could not create a context${adapter}: ${(error as Error).message}`, { cause: error });
      });
    try {
      const results: GreedyCompletion[] = [];
      for (const prompt of prompts) {
        // a fresh sequence per prompt: clearing one whose generator was left mid-way never settles
        const sequence = context.getSequence();
        const generated: number[] = [];
        // node-llama-cpp's generator ends by itself, without yielding it, when it samples an end-of-generation token
        let endedWithEog = true;
        for await (const token of sequence.evaluate(model.tokenize(prompt, true), { temperature: 0 })) {
          if (model.isEogToken(token)) break;
          generated.push(token as number);
          if (generated.length >= options.maxTokens) {
            endedWithEog = false;
            break;
          }
        }
        results.push({ text: model.detokenize(generated as never[]), endedWithEog });
        sequence.dispose();
      }
      return results;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}
