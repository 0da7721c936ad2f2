// One fuzz case, in a worker process: the mutated input written into the case's own directory, the
// public API called on it, the outcome classified and the output directory checked for leftovers.
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { convert, dryRunTraining, exportPeft, inspect, isLoraGgufErrorCode, LoraGgufError, merge, quantize, readGgufHeader, type GgufHeader } from "../index.js";
import type { FuzzFixtures } from "./fuzz-fixtures.js";
import { mutateFile } from "./fuzz-mutations.js";
import { planFuzzCase, type FuzzTarget } from "./fuzz-targets.js";

export type FuzzResult =
  /** The call returned (a mutation may be harmless). */
  | "success"
  /** The call rejected with a LoraGgufError carrying a listed code. */
  | "typed"
  /** It rejected with anything else. */
  | "untyped"
  /** The worker process died (abort, signal, out of memory, an uncaught exception). */
  | "death"
  /** The case ran past the time limit and its worker was killed. */
  | "timeout";

export interface FuzzOutcome {
  index: number;
  target: string;
  /** The file mutated and how. */
  mutation: string;
  result: FuzzResult;
  /** The LoraGgufError's code (typed). */
  code?: string;
  /** What went wrong: the error (untyped), the exit and the worker's last output (death, timeout). */
  detail?: string;
  /** Files left in the case's output directory: any after a failure; temp files or unexpected names after a success. */
  leftovers: string[];
  /** A success whose output GGUF our own reader refuses. */
  badOutput?: string;
  ms: number;
}

/** Output names each call may leave behind on success. */
const OUTPUTS: Record<FuzzTarget["call"], readonly string[]> = {
  inspect: [],
  quantize: ["model-q8_0.gguf"],
  "merge model": ["merged.gguf"],
  "merge adapter": ["merged.gguf"],
  "export-peft": ["peft"],
  "export-peft base": ["peft"],
  "dry-run model": [],
  "dry-run data": [],
  convert: ["model.gguf"],
  "convert peft": ["adapter.gguf"],
};

/** Fixture bytes and headers, read once per worker. */
const fixtureCache = new Map<string, Promise<unknown>>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  let value = fixtureCache.get(key) as Promise<T> | undefined;
  if (value === undefined) {
    value = load();
    fixtureCache.set(key, value);
  }
  return value;
}

/**
 * Runs case `index` of `seed` in `workDir`/case-<index>; `onStart` hears the mutation before the
 * call (and is awaited), so that a death can be reported with it. The case directory is removed unless `keep`.
 */
export async function runFuzzCase(
  fixtures: FuzzFixtures,
  seed: number,
  index: number,
  options: { workDir: string; keep?: boolean; onStart?: (mutation: string) => void | Promise<void> },
): Promise<FuzzOutcome> {
  const { target, random } = planFuzzCase(seed, index);
  const caseDir = path.join(options.workDir, `case-${index}`);
  const inputDir = path.join(caseDir, "in");
  const outputDir = path.join(caseDir, "out");
  await rm(caseDir, { recursive: true, force: true });
  await mkdir(inputDir, { recursive: true });
  await mkdir(outputDir);

  const fixture = fixtures[target.fixture];
  let input: string;
  let source: string;
  let mutated: string;
  if (target.files) {
    // a directory: copied whole, one of its files mutated
    input = path.join(inputDir, path.basename(fixture));
    await mkdir(input);
    for (const file of await readdir(fixture)) await copyFile(path.join(fixture, file), path.join(input, file));
    const file = target.files[Math.floor(random.nextFloat() * target.files.length)];
    source = path.join(fixture, file);
    mutated = path.join(input, file);
  } else {
    input = path.join(inputDir, path.basename(fixture));
    source = fixture;
    mutated = input;
  }
  const original = await cached(`bytes ${source}`, () => readFile(source));
  const ggufHeader = target.kind === "gguf" ? await cached(`header ${source}`, () => readGgufHeader(source)) : undefined;
  const mutation = mutateFile(target.kind, original, random, { ggufHeader });
  await writeFile(mutated, mutation.bytes);
  const description = `${path.basename(mutated)}: ${mutation.description}`;
  await options.onStart?.(description);

  const started = performance.now();
  const outcome: FuzzOutcome = { index, target: target.name, mutation: description, result: "success", leftovers: [], ms: 0 };
  try {
    await callTarget(target, input, outputDir, fixtures);
  } catch (error) {
    if (error instanceof LoraGgufError && isLoraGgufErrorCode(error.code)) {
      outcome.result = "typed";
      outcome.code = error.code;
    } else {
      outcome.result = "untyped";
      outcome.detail = describeError(error);
    }
  }
  outcome.ms = performance.now() - started;

  const left = await listRecursively(outputDir);
  const expected = OUTPUTS[target.call];
  outcome.leftovers =
    outcome.result === "success" ? left.filter((name) => name.includes(".tmp-") || !expected.includes(name.split("/")[0])) : left;
  if (outcome.result === "success") {
    for (const name of left.filter((file) => file.endsWith(".gguf"))) {
      await readGgufHeader(path.join(outputDir, name)).catch((error: unknown) => (outcome.badOutput = `${name}: ${describeError(error)}`));
    }
  }
  if (!options.keep) await rm(caseDir, { recursive: true, force: true });
  return outcome;
}

async function callTarget(target: FuzzTarget, input: string, outputDir: string, fixtures: FuzzFixtures): Promise<void> {
  const output = (name: string) => path.join(outputDir, name);
  switch (target.call) {
    case "inspect":
      await inspect(input, { tensors: true });
      return;
    case "quantize":
      await quantize(input, output("model-q8_0.gguf"), { type: "q8_0", threads: 1 });
      return;
    case "merge model":
      await merge({ model: input, adapters: [{ path: fixtures.adapter }], output: output("merged.gguf"), threads: 1 });
      return;
    case "merge adapter":
      await merge({ model: fixtures.model, adapters: [{ path: input }], output: output("merged.gguf"), threads: 1 });
      return;
    case "export-peft":
      await exportPeft(input, output("peft"), { base: fixtures.model });
      return;
    case "export-peft base":
      await exportPeft(fixtures.adapter, output("peft"), { base: input });
      return;
    case "dry-run model":
      await dryRunTraining({ model: input, data: fixtures.jsonl, output: output("adapter.gguf"), threads: 1 });
      return;
    case "dry-run data":
      await dryRunTraining({ model: fixtures.model, data: input, output: output("adapter.gguf"), threads: 1 });
      return;
    case "convert":
      await convert(input, output("model.gguf"));
      return;
    case "convert peft":
      await convert(input, output("adapter.gguf"), { base: fixtures.hfDir });
      return;
  }
}

/** Paths below `dir`, relative to it, with "/" separators. */
async function listRecursively(dir: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const name = prefix + entry.name;
    names.push(name);
    if (entry.isDirectory()) names.push(...(await listRecursively(path.join(dir, entry.name), `${name}/`)));
  }
  return names;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const stack = (error.stack ?? "").split("\n").slice(1, 6).map((line) => line.trim()).join(" | ");
    const code = (error as { code?: unknown }).code;
    return `${error.name}${code === undefined ? "" : ` [${String(code)}]`}: ${error.message.slice(0, 500)}${stack ? ` (${stack})` : ""}`;
  }
  return `a thrown ${typeof error}: ${String(error).slice(0, 500)}`;
}
