// Reading back what runs wrote, for comparing two of them.
import { readFileSync } from "node:fs";
import path from "node:path";

import { readGgufHeader } from "../../src/index.js";

/** Every tensor's bytes in a GGUF, by name. */
export async function tensorBytesByName(file: string): Promise<Map<string, Buffer>> {
  const header = await readGgufHeader(file);
  const bytes = readFileSync(file);
  return new Map(header.tensors.map((tensor) => [tensor.name, bytes.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize)]));
}

/** A training run's metrics.jsonl, without the fields that vary from run to run (times, rates). */
export function runMetrics(dir: string) {
  return readFileSync(path.join(dir, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .map(({ step, epoch, loss, learningRate, validationLoss, trainedTokens }) => ({ step, epoch, loss, learningRate, validationLoss, trainedTokens }));
}
