export interface TensorTypeSummary {
    /** ggml type name, e.g. "q4_K". */
    type: string;
    tensorCount: number;
    parameterCount: number;
    bytes: number;
}
export interface TensorEntry {
    name: string;
    type: string;
    /** ggml ne order: row length first. */
    dims: number[];
    parameterCount: number;
    bytes: number;
}
export interface AdapterInfo {
    /** adapter.type, "lora" for LoRA adapters. */
    adapterType: string;
    alpha?: number;
    /** LoRA rank r, read from the lora_a shapes (undefined when they disagree). */
    rank?: number;
    /** Base-model tensors the adapter modifies. */
    targetCount: number;
    targets: string[];
}
export interface InspectResult {
    path: string;
    fileBytes: number;
    ggufVersion: number;
    /** "model", "adapter" (general.type = adapter) or "vocab" (no tensors). */
    kind: "model" | "adapter" | "vocab";
    architecture?: string;
    name?: string;
    parameterCount: number;
    /** general.file_type, as a llama.cpp ftype name ("Q4_K_M") and number. */
    fileType?: {
        name: string;
        id: number;
    };
    contextLength?: number;
    tokenizer?: {
        model: string;
        pre?: string;
        tokenCount?: number;
    };
    hasChatTemplate: boolean;
    adapter?: AdapterInfo;
    tensorTypes: TensorTypeSummary[];
    tensorCount: number;
    tensors?: TensorEntry[];
}
/** Describes a GGUF model or adapter from its header alone (no tensor data is read). */
export declare function inspect(path: string, options?: {
    tensors?: boolean;
}): Promise<InspectResult>;
