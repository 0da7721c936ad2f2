// The valid inputs the fuzz cases mutate: a tiny GGUF model and LoRA adapter, a tiny sharded Hugging
// Face checkpoint with its tokenizer and a PEFT adapter for it, and a dataset in each file type.
// All seeded, so a seed and case index name the same bytes on every machine.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { readGgufHeader } from "../gguf/index.js";
import { SeededRandom } from "../seeded-random.js";
import { initialAdapterTensors, writeAdapterGguf } from "../train/adapter-file.js";
import { findLoraTargetTensors } from "../train/lora-targets.js";
import { writeTinyHfCheckpoint } from "./tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "./tiny-hf-tokenizer.js";
import { writeTinyLlamaGguf } from "./tiny-llama.js";
import { writeTinyPeftAdapter } from "./tiny-peft-adapter.js";

/** Absolute paths of the fixtures; plain strings, so they cross to the fuzz workers as JSON. */
export interface FuzzFixtures {
  dir: string;
  /** GGUF model with a chat template (llama, one block). */
  model: string;
  /** GGUF LoRA adapter for `model` with a non-zero B. */
  adapter: string;
  /** Hugging Face checkpoint directory (llama, two shards and model.safetensors.index.json). */
  hfDir: string;
  /** PEFT LoRA adapter directory for `hfDir`. */
  peftDir: string;
  /** Datasets of messages (JSON Lines), alpaca (JSON array) and alpaca columns (CSV) records. */
  jsonl: string;
  json: string;
  csv: string;
}

/** Mistral-style, so that records of every layout render and their responses are located. */
const CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message.role == 'user' %}[INST] {{ message.content }} [/INST]" +
  "{% elif message.role == 'system' %}{{ message.content }}\n{% else %} {{ message.content }}{{ eos_token }}{% endif %}{% endfor %}";

const EXAMPLES = [
  { prompt: "What colour is the lamp?", response: "The lamp is red." },
  { prompt: "What colour is the river?", response: "The river is green." },
  { prompt: "Name a \"quoted\" stone, please", response: "Stone, the grey one." },
  { prompt: "What colour is the cloud?", response: "The cloud is\nwhite." },
];

export async function writeFuzzFixtures(dir: string): Promise<FuzzFixtures> {
  await mkdir(dir, { recursive: true });
  const fixtures: FuzzFixtures = {
    dir,
    model: path.join(dir, "model.gguf"),
    adapter: path.join(dir, "adapter.gguf"),
    hfDir: path.join(dir, "hf"),
    peftDir: path.join(dir, "peft"),
    jsonl: path.join(dir, "data.jsonl"),
    json: path.join(dir, "data.json"),
    csv: path.join(dir, "data.csv"),
  };

  // q8_0 (quantize's type) needs rows of multiples of 32
  await writeTinyLlamaGguf(fixtures.model, { seed: 1, nLayer: 1, nEmbd: 64, nHead: 2, nHeadKv: 1, nFf: 128, nCtx: 256, vocabSize: 512, chatTemplate: CHAT_TEMPLATE });
  const targets = findLoraTargetTensors(await readGgufHeader(fixtures.model), ["q", "k", "v", "down"]);
  const tensors = initialAdapterTensors(targets, 2, 2);
  const random = new SeededRandom(3);
  for (const tensor of tensors) if (tensor.name.endsWith(".lora_b")) random.fillNormal(tensor.data, 0, 0.05);
  await writeAdapterGguf(fixtures.adapter, { architecture: "llama", alpha: 4, tensors });

  const hidden = 32;
  const kvWidth = 16;
  const ffn = 64;
  const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 300 });
  await writeTinyHfCheckpoint(fixtures.hfDir, {
    architecture: "llama", dtype: "float32", seed: 4, shards: 2, nLayer: 1, hiddenSize: hidden, nHead: 2, nKvHead: 1, intermediateSize: ffn,
    maxPositionEmbeddings: 512, ropeTheta: 10000, rmsNormEps: 1e-5, ropeScalingLlama3: true, vocabSize: tokenizer.vocabSize,
    bosTokenId: tokenizer.modelConfigTokenIds.bos_token_id, eosTokenId: tokenizer.modelConfigTokenIds.eos_token_id,
    tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
  });
  await writeTinyPeftAdapter(fixtures.peftDir, {
    modules: [
      { name: "self_attn.q_proj", out: hidden, in: hidden },
      { name: "self_attn.k_proj", out: kvWidth, in: hidden },
      { name: "self_attn.v_proj", out: kvWidth, in: hidden },
      { name: "mlp.down_proj", out: hidden, in: ffn },
    ],
    layers: 1, rank: 2, alpha: 4, useRslora: true, seed: 5,
  });

  await writeFile(
    fixtures.jsonl,
    EXAMPLES.map(({ prompt, response }, index) =>
      JSON.stringify({ messages: [...(index === 0 ? [{ role: "system", content: "Answer briefly." }] : []), { role: "user", content: prompt }, { role: "assistant", content: response }] }),
    ).join("\n") + "\n",
  );
  await writeFile(fixtures.json, JSON.stringify(EXAMPLES.map(({ prompt, response }, index) => ({ instruction: prompt, input: index % 2 ? "" : "context", output: response })), null, 1));
  const csvField = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  await writeFile(
    fixtures.csv,
    "instruction,input,output\n" + EXAMPLES.map(({ prompt, response }) => [prompt, "", response].map(csvField).join(",")).join("\n") + "\n",
  );
  return fixtures;
}
