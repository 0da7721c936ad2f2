/** One output type `quantize` accepts, as llama.cpp's `llama-quantize` names it. */
export interface QuantizationType {
    /** Canonical name, as in llama.cpp's tools/quantize QUANT_OPTIONS (matched case-insensitively). */
    name: string;
    /** `enum llama_ftype` value passed to llama_model_quantize, and written to general.file_type. */
    ftype: number;
    description: string;
    /** Low-bit types that llama.cpp refuses to make without an importance matrix. */
    needsImatrix: boolean;
    /** COPY: rewrite tensors as they are. */
    onlyCopy?: boolean;
    /** An alias of another entry (Q4_K is Q4_K_M). */
    aliasOf?: string;
}
export declare const quantizationTypes: readonly QuantizationType[];
/** Looks a type up by name, case-insensitively ("q4_k_m", "Q4_K_M"). */
export declare function resolveQuantizationType(name: string): QuantizationType;
/** Name of a llama_ftype value as llama.cpp prints it in general.file_type listings (e.g. 15 → "Q4_K_M"). */
export declare function fileTypeName(ftype: number): string;
