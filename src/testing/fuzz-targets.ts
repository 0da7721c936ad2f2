// What the fuzzer feeds where: each target names a fixture file to mutate and the public API call
// that reads it. Case K of seed S is target K mod (number of targets) with a mutation drawn from
// its own stream, so any case can be run again alone from (S, K).
import { SeededRandom } from "../seeded-random.js";
import type { FuzzFixtures } from "./fuzz-fixtures.js";
import type { FuzzFileKind } from "./fuzz-mutations.js";

export type FuzzCall =
  | "inspect"
  | "quantize"
  | "merge model"
  | "merge adapter"
  | "export-peft"
  | "export-peft base"
  | "dry-run model"
  | "dry-run data"
  | "convert"
  | "convert peft";

export interface FuzzTarget {
  /** "<file> → <call>", as the summary prints it. */
  name: string;
  call: FuzzCall;
  kind: FuzzFileKind;
  /** The fixture mutated: a file, or a directory copied whole with one of `files` mutated. */
  fixture: Exclude<keyof FuzzFixtures, "dir">;
  files?: readonly string[];
}

const SHARDS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  { name: "model.gguf → inspect", call: "inspect", kind: "gguf", fixture: "model" },
  { name: "model.gguf → quantize", call: "quantize", kind: "gguf", fixture: "model" },
  { name: "model.gguf → merge", call: "merge model", kind: "gguf", fixture: "model" },
  { name: "model.gguf → train (dry run)", call: "dry-run model", kind: "gguf", fixture: "model" },
  { name: "model.gguf → export-peft --base", call: "export-peft base", kind: "gguf", fixture: "model" },
  { name: "adapter.gguf → inspect", call: "inspect", kind: "gguf", fixture: "adapter" },
  { name: "adapter.gguf → merge", call: "merge adapter", kind: "gguf", fixture: "adapter" },
  { name: "adapter.gguf → export-peft", call: "export-peft", kind: "gguf", fixture: "adapter" },
  { name: "model-*.safetensors → convert", call: "convert", kind: "safetensors", fixture: "hfDir", files: SHARDS },
  { name: "model.safetensors.index.json → convert", call: "convert", kind: "json", fixture: "hfDir", files: ["model.safetensors.index.json"] },
  { name: "config.json → convert", call: "convert", kind: "json", fixture: "hfDir", files: ["config.json"] },
  { name: "tokenizer.json → convert", call: "convert", kind: "json", fixture: "hfDir", files: ["tokenizer.json"] },
  { name: "tokenizer_config.json → convert", call: "convert", kind: "json", fixture: "hfDir", files: ["tokenizer_config.json"] },
  { name: "generation_config.json → convert", call: "convert", kind: "json", fixture: "hfDir", files: ["generation_config.json"] },
  { name: "adapter_model.safetensors → convert --base", call: "convert peft", kind: "safetensors", fixture: "peftDir", files: ["adapter_model.safetensors"] },
  { name: "adapter_config.json → convert --base", call: "convert peft", kind: "json", fixture: "peftDir", files: ["adapter_config.json"] },
  { name: "data.jsonl → train (dry run)", call: "dry-run data", kind: "jsonl", fixture: "jsonl" },
  { name: "data.json → train (dry run)", call: "dry-run data", kind: "json", fixture: "json" },
  { name: "data.csv → train (dry run)", call: "dry-run data", kind: "csv", fixture: "csv" },
];

export interface FuzzCasePlan {
  index: number;
  target: FuzzTarget;
  /** The case's own stream: which file of a directory, then the mutation. */
  random: SeededRandom;
}

export function planFuzzCase(seed: number, index: number): FuzzCasePlan {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`fuzz case index must be a non-negative integer, got ${index}`);
  return {
    index,
    target: FUZZ_TARGETS[index % FUZZ_TARGETS.length],
    random: new SeededRandom(SeededRandom.derivedSeed(seed, `fuzz case ${index}`)),
  };
}
