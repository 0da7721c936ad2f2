import { readGgufHeader } from "../gguf/index.js";
import { ggmlTypeInfo } from "../gguf/ggml-types.js";
import { fileTypeName } from "../quantize/types.js";
import { requireString } from "../validate.js";
/** Describes a GGUF model or adapter from its header alone (no tensor data is read). */
export async function inspect(path, options = {}) {
    requireString("inspect", "path", path);
    const header = await readGgufHeader(path);
    return describeGguf(path, header, options.tensors === true);
}
function describeGguf(path, header, withTensors) {
    const value = (key) => header.metadataByKey.get(key)?.value;
    const architecture = stringOrUndefined(value("general.architecture"));
    const fileTypeId = numberOrUndefined(value("general.file_type"));
    const tokenizerModel = stringOrUndefined(value("tokenizer.ggml.model"));
    const tokens = value("tokenizer.ggml.tokens");
    const entries = header.tensors.map((tensor) => {
        const parameterCount = tensor.dims.reduce((product, dim) => product * dim, 1);
        return { name: tensor.name, type: ggmlTypeInfo(tensor.type)?.name ?? `type ${tensor.type}`, dims: tensor.dims, parameterCount, bytes: tensor.byteSize };
    });
    const byType = new Map();
    for (const entry of entries) {
        const summary = byType.get(entry.type) ?? { type: entry.type, tensorCount: 0, parameterCount: 0, bytes: 0 };
        summary.tensorCount += 1;
        summary.parameterCount += entry.parameterCount;
        summary.bytes += entry.bytes;
        byType.set(entry.type, summary);
    }
    const isAdapter = value("general.type") === "adapter";
    const kind = isAdapter ? "adapter" : entries.length === 0 ? "vocab" : "model";
    return {
        path,
        fileBytes: header.fileSize,
        ggufVersion: header.version,
        kind,
        architecture,
        name: stringOrUndefined(value("general.name")),
        parameterCount: entries.reduce((sum, entry) => sum + entry.parameterCount, 0),
        fileType: fileTypeId === undefined ? undefined : { name: fileTypeName(fileTypeId), id: fileTypeId },
        contextLength: architecture ? numberOrUndefined(value(`${architecture}.context_length`)) : undefined,
        tokenizer: tokenizerModel
            ? { model: tokenizerModel, pre: stringOrUndefined(value("tokenizer.ggml.pre")), tokenCount: Array.isArray(tokens) ? tokens.length : undefined }
            : undefined,
        hasChatTemplate: typeof value("tokenizer.chat_template") === "string",
        adapter: isAdapter ? describeAdapter(entries, value) : undefined,
        tensorTypes: [...byType.values()].sort((a, b) => b.bytes - a.bytes),
        tensorCount: entries.length,
        tensors: withTensors ? entries : undefined,
    };
}
function describeAdapter(entries, value) {
    // GGUF LoRA tensors are "<base tensor>.lora_a" with ne = [n_in, r] and "<base tensor>.lora_b" with ne = [r, n_out].
    const loraA = entries.filter((entry) => entry.name.endsWith(".lora_a"));
    const ranks = new Set(loraA.map((entry) => entry.dims[1]));
    return {
        adapterType: stringOrUndefined(value("adapter.type")) ?? "unknown",
        alpha: numberOrUndefined(value("adapter.lora.alpha")),
        rank: ranks.size === 1 ? [...ranks][0] : undefined,
        targetCount: loraA.length,
        targets: loraA.map((entry) => entry.name.slice(0, -".lora_a".length)),
    };
}
function stringOrUndefined(value) {
    return typeof value === "string" ? value : undefined;
}
function numberOrUndefined(value) {
    if (typeof value === "number")
        return value;
    if (typeof value === "bigint")
        return Number(value);
    return undefined;
}
//# sourceMappingURL=inspect.js.map