import { LoraGgufError } from "../errors.js";
// Mirrors QUANT_OPTIONS in llama.cpp's tools/quantize/quantize.cpp; test/quantize-types.test.ts
// checks this table against the source we build from, so a llama.cpp update cannot drift silently.
export const quantizationTypes = [
    { name: "Q1_0", ftype: 40, description: "1.125 bpw quantization", needsImatrix: false },
    { name: "Q2_0", ftype: 41, description: "2.25 bpw quantization (group 64)", needsImatrix: false },
    { name: "Q4_0", ftype: 2, description: "4.34G, +0.4685 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q4_1", ftype: 3, description: "4.78G, +0.4511 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "MXFP4_MOE", ftype: 38, description: "MXFP4 MoE", needsImatrix: false },
    { name: "Q5_0", ftype: 8, description: "5.21G, +0.1316 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q5_1", ftype: 9, description: "5.65G, +0.1062 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "IQ2_XXS", ftype: 19, description: "2.06 bpw quantization", needsImatrix: true },
    { name: "IQ2_XS", ftype: 20, description: "2.31 bpw quantization", needsImatrix: true },
    { name: "IQ2_S", ftype: 28, description: "2.5  bpw quantization", needsImatrix: true },
    { name: "IQ2_M", ftype: 29, description: "2.7  bpw quantization", needsImatrix: true },
    { name: "IQ1_S", ftype: 24, description: "1.56 bpw quantization", needsImatrix: true },
    { name: "IQ1_M", ftype: 31, description: "1.75 bpw quantization", needsImatrix: true },
    { name: "TQ1_0", ftype: 36, description: "1.69 bpw ternarization", needsImatrix: false },
    { name: "TQ2_0", ftype: 37, description: "2.06 bpw ternarization", needsImatrix: false },
    { name: "Q2_K", ftype: 10, description: "2.96G, +3.5199 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q2_K_S", ftype: 21, description: "2.96G, +3.1836 ppl @ Llama-3-8B", needsImatrix: true },
    { name: "IQ3_XXS", ftype: 23, description: "3.06 bpw quantization", needsImatrix: true },
    { name: "IQ3_S", ftype: 26, description: "3.44 bpw quantization", needsImatrix: false },
    { name: "IQ3_M", ftype: 27, description: "3.66 bpw quantization mix", needsImatrix: false },
    { name: "Q3_K", ftype: 12, description: "alias for Q3_K_M", needsImatrix: false, aliasOf: "Q3_K_M" },
    { name: "IQ3_XS", ftype: 22, description: "3.3 bpw quantization", needsImatrix: false },
    { name: "Q3_K_S", ftype: 11, description: "3.41G, +1.6321 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q3_K_M", ftype: 12, description: "3.74G, +0.6569 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q3_K_L", ftype: 13, description: "4.03G, +0.5562 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "IQ4_NL", ftype: 25, description: "4.50 bpw non-linear quantization", needsImatrix: false },
    { name: "IQ4_XS", ftype: 30, description: "4.25 bpw non-linear quantization", needsImatrix: false },
    { name: "Q4_K", ftype: 15, description: "alias for Q4_K_M", needsImatrix: false, aliasOf: "Q4_K_M" },
    { name: "Q4_K_S", ftype: 14, description: "4.37G, +0.2689 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q4_K_M", ftype: 15, description: "4.58G, +0.1754 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q5_K", ftype: 17, description: "alias for Q5_K_M", needsImatrix: false, aliasOf: "Q5_K_M" },
    { name: "Q5_K_S", ftype: 16, description: "5.21G, +0.1049 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q5_K_M", ftype: 17, description: "5.33G, +0.0569 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q6_K", ftype: 18, description: "6.14G, +0.0217 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "Q8_0", ftype: 7, description: "7.96G, +0.0026 ppl @ Llama-3-8B", needsImatrix: false },
    { name: "F16", ftype: 1, description: "14.00G, +0.0020 ppl @ Mistral-7B", needsImatrix: false },
    { name: "BF16", ftype: 32, description: "14.00G, -0.0050 ppl @ Mistral-7B", needsImatrix: false },
    { name: "F32", ftype: 0, description: "26.00G              @ 7B", needsImatrix: false },
    { name: "COPY", ftype: 0, description: "only copy tensors, no quantizing", needsImatrix: false, onlyCopy: true },
];
/** Looks a type up by name, case-insensitively ("q4_k_m", "Q4_K_M"). */
export function resolveQuantizationType(name) {
    const wanted = name.trim().toUpperCase();
    const found = quantizationTypes.find((type) => type.name === wanted);
    if (!found) {
        throw new LoraGgufError("E_UNKNOWN_TYPE", `unknown quantization type "${name}"; llama.cpp offers: ${quantizationTypes.map((type) => type.name.toLowerCase()).join(", ")}`);
    }
    return found;
}
/** Name of a llama_ftype value as llama.cpp prints it in general.file_type listings (e.g. 15 → "Q4_K_M"). */
export function fileTypeName(ftype) {
    const found = quantizationTypes.find((type) => type.ftype === ftype && !type.aliasOf && !type.onlyCopy);
    if (found)
        return found.name;
    if (ftype === 39)
        return "NVFP4";
    return `unknown (${ftype})`;
}
//# sourceMappingURL=types.js.map