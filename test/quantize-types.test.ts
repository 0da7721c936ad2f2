// Our type table must match llama.cpp's own (tools/quantize/quantize.cpp and include/llama.h in
// the source we build from), so that an update of node-llama-cpp cannot leave it stale.
import { readFileSync } from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { quantizationTypes, resolveQuantizationType } from "../src/quantize/types.js";
import { llamaSourceDir } from "../src/testing/tiny-llama.js";

describe("quantization type table", () => {
  it("lists exactly llama-quantize's QUANT_OPTIONS, in order, with the same ftype values", () => {
    const source = readFileSync(path.join(llamaSourceDir(), "tools", "quantize", "quantize.cpp"), "utf8");
    const header = readFileSync(path.join(llamaSourceDir(), "include", "llama.h"), "utf8");
    const ftypeValues = new Map([...header.matchAll(/^\s*(LLAMA_FTYPE_\w+)\s*=\s*(\d+),/gm)].map((m) => [m[1], Number(m[2])]));
    const block = source.slice(source.indexOf("QUANT_OPTIONS = {"), source.indexOf("};", source.indexOf("QUANT_OPTIONS = {")));
    const upstream = [...block.matchAll(/\{\s*"(\w+)",\s*(LLAMA_FTYPE_\w+)/g)].map((m) => ({ name: m[1], ftype: ftypeValues.get(m[2]) }));
    expect(upstream.length).toBeGreaterThan(30);
    expect(quantizationTypes.map(({ name, ftype }) => ({ name, ftype }))).toEqual(upstream);
  });

  it("resolves names case-insensitively and rejects unknown ones with the list", () => {
    expect(resolveQuantizationType("q4_k_m").ftype).toBe(15);
    expect(resolveQuantizationType(" Q8_0 ").ftype).toBe(7);
    expect(() => resolveQuantizationType("q4_k_x")).toThrow(/unknown quantization type "q4_k_x".*q4_k_m/);
  });
});
