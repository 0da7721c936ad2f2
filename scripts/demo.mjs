#!/usr/bin/env node
// `npm run demo`: what lora-gguf does so far, on a generated model (nothing is downloaded).
// Writes a tiny llama-architecture model, quantizes it to q8_0 and q4_k_m, and inspects the results.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { inspect, quantize, versionInfo } from "../dist/index.js";
import { formatInspectResult } from "../dist/cli/inspect.js";
import { writeTinyLlamaGguf } from "../dist/testing/tiny-llama.js";

const outputDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "demo-output");
mkdirSync(outputDir, { recursive: true });

const info = versionInfo();
console.log(`lora-gguf ${info.version}, llama.cpp ${info.llamaCommit ?? `(addon not loaded: ${info.nativeError})`}\n`);

const base = path.join(outputDir, "tiny-llama-f32.gguf");
await writeTinyLlamaGguf(base, { seed: 1, nLayer: 4, nEmbd: 512, nFf: 1536, nHead: 8, nHeadKv: 4 });
console.log(`1. generated ${base}`);

for (const type of ["q8_0", "q4_k_m"]) {
  const output = path.join(outputDir, `tiny-llama-${type}.gguf`);
  let lastPercent = -1;
  const result = await quantize(base, output, {
    type,
    force: true,
    onProgress: ({ fraction }) => {
      const percent = Math.floor(fraction * 10) * 10;
      if (process.stdout.isTTY && percent !== lastPercent) process.stdout.write(`\r2. quantizing to ${type}: ${percent}%   `);
      lastPercent = percent;
    },
  });
  const ratio = (result.inputBytes / result.outputBytes).toFixed(2);
  console.log(`${process.stdout.isTTY ? "\r" : ""}2. quantized to ${result.type} in ${result.seconds.toFixed(2)} s: ${output} (${ratio}x smaller)`);
}

console.log("\n3. lora-gguf inspect demo-output/tiny-llama-q4_k_m.gguf\n");
process.stdout.write(formatInspectResult(await inspect(path.join(outputDir, "tiny-llama-q4_k_m.gguf"))));
