import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LoraGgufError } from "../errors.js";
import { float32ArrayToFloat16 } from "../gguf/f16.js";
import { GgmlType } from "../gguf/ggml-types.js";
import { float32Entry, stringEntry, uint32Entry } from "../gguf/metadata-entries.js";
import { readGgufHeader } from "../gguf/reader.js";
import { GgufValueType } from "../gguf/value-types.js";
import { GgufWriter } from "../gguf/writer.js";
import { SeededRandom } from "./seeded-random.js";
export const tinyLlamaDefaults = {
    seed: 1,
    nLayer: 2,
    nEmbd: 256,
    nHead: 4,
    nHeadKv: 2,
    nFf: 512,
    nCtx: 512,
    vocabSize: 4096,
    weightType: "f32",
};
/**
 * Standard deviations of the random weights. With RMS-normalised activations of unit scale, the
 * logits have a standard deviation of about OUTPUT * sqrt(nEmbd) ≈ 2 at the default size, which
 * makes the next-token distribution clearly peaked, while the small projections keep the residual
 * stream dominated by the token embedding so different prompts give different distributions.
 */
const WEIGHT_STD = {
    tokenEmbedding: 0.5,
    projection: 0.05,
    output: 0.12,
    normNoise: 0.02,
};
/** llama_ftype values for general.file_type. */
const FILE_TYPE = { f32: 0, f16: 1 };
const LLAMA_TOKEN_TYPE_BYTE = 6;
/** The llama.cpp checkout this package builds against: `<repo>/deps/llama.cpp` (from src/testing/ or dist/testing/). */
export function llamaSourceDir() {
    return fileURLToPath(new URL("../../deps/llama.cpp/", import.meta.url)).replace(/[\\/]$/, "");
}
/**
 * Writes a small llama-architecture GGUF with random weights and a real tokenizer, loadable and
 * runnable by llama.cpp. Returns the resolved configuration.
 */
export async function writeTinyLlamaGguf(path, options = {}) {
    const config = resolveConfig(options);
    const vocab = await readGgufHeader(config.vocabPath);
    const metadata = [...hyperparameterEntries(config), ...tokenizerEntries(vocab, config)];
    const tensors = tinyLlamaTensors(config);
    const writer = await GgufWriter.create(path, { metadata, tensors });
    try {
        for (const tensor of tensors) {
            await writer.writeTensorData(tensor.name, tensorData(tensor, config));
        }
        await writer.finish();
    }
    catch (error) {
        await writer.abort();
        throw error;
    }
    return config;
}
function resolveConfig(options) {
    const config = {
        ...tinyLlamaDefaults,
        vocabPath: join(llamaSourceDir(), "models", "ggml-vocab-llama-spm.gguf"),
        ...stripUndefined(options),
        chatTemplate: options.chatTemplate,
    };
    const positive = ["nLayer", "nEmbd", "nHead", "nHeadKv", "nFf", "nCtx", "vocabSize"];
    for (const name of positive) {
        const value = config[name];
        if (!Number.isSafeInteger(value) || value <= 0) {
            throw new LoraGgufError("E_INVALID_OPTION", `${name} must be a positive integer, got ${String(value)}`);
        }
    }
    if (!Number.isSafeInteger(config.seed)) {
        throw new LoraGgufError("E_INVALID_OPTION", `seed must be an integer, got ${String(config.seed)}`);
    }
    if (config.nEmbd % config.nHead !== 0 || (config.nEmbd / config.nHead) % 2 !== 0) {
        throw new LoraGgufError("E_INVALID_OPTION", `nEmbd (${config.nEmbd}) must be nHead (${config.nHead}) times an even head size`);
    }
    if (config.nHead % config.nHeadKv !== 0) {
        throw new LoraGgufError("E_INVALID_OPTION", `nHeadKv (${config.nHeadKv}) must divide nHead (${config.nHead})`);
    }
    if (config.weightType !== "f32" && config.weightType !== "f16") {
        throw new LoraGgufError("E_INVALID_OPTION", `weightType must be "f32" or "f16", got ${String(config.weightType)}`);
    }
    if (config.chatTemplate !== undefined && typeof config.chatTemplate !== "string") {
        throw new LoraGgufError("E_INVALID_OPTION", "chatTemplate must be a string");
    }
    return config;
}
function stripUndefined(value) {
    return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined));
}
function hyperparameterEntries(config) {
    const headSize = config.nEmbd / config.nHead;
    return [
        stringEntry("general.architecture", "llama"),
        stringEntry("general.name", "tiny-llama"),
        uint32Entry("general.file_type", FILE_TYPE[config.weightType]),
        uint32Entry("llama.vocab_size", config.vocabSize),
        uint32Entry("llama.context_length", config.nCtx),
        uint32Entry("llama.embedding_length", config.nEmbd),
        uint32Entry("llama.block_count", config.nLayer),
        uint32Entry("llama.feed_forward_length", config.nFf),
        uint32Entry("llama.attention.head_count", config.nHead),
        uint32Entry("llama.attention.head_count_kv", config.nHeadKv),
        uint32Entry("llama.rope.dimension_count", headSize),
        float32Entry("llama.rope.freq_base", 10000),
        float32Entry("llama.attention.layer_norm_rms_epsilon", 1e-5),
    ];
}
/**
 * The source's tokenizer.ggml.* keys with the token lists cut to `vocabSize`, special token ids
 * that would point past the cut dropped, and BPE merges kept only when both parts and their
 * result survive the cut.
 */
function tokenizerEntries(vocab, config) {
    const { vocabSize } = config;
    const tokens = vocab.metadataByKey.get("tokenizer.ggml.tokens");
    if (tokens?.arrayType !== GgufValueType.STRING) {
        throw new LoraGgufError("E_WRONG_KIND", `${config.vocabPath} has no tokenizer.ggml.tokens string array`);
    }
    const tokenList = tokens.value;
    if (vocabSize > tokenList.length) {
        throw new LoraGgufError("E_INVALID_OPTION", `vocabSize ${vocabSize} is larger than the ${tokenList.length} tokens of ${config.vocabPath}`);
    }
    const tokenTypes = vocab.metadataByKey.get("tokenizer.ggml.token_type")?.value;
    if (tokenTypes instanceof Int32Array) {
        const lastByteToken = tokenTypes.lastIndexOf(LLAMA_TOKEN_TYPE_BYTE);
        if (lastByteToken >= vocabSize) {
            throw new LoraGgufError("E_INVALID_OPTION", `vocabSize ${vocabSize} would drop byte-fallback tokens; keep at least ${lastByteToken + 1} tokens of ${config.vocabPath}`);
        }
    }
    const kept = new Set(tokenList.slice(0, vocabSize));
    const entries = [];
    for (const entry of vocab.metadata) {
        if (!entry.key.startsWith("tokenizer.ggml."))
            continue;
        const { value } = entry;
        if (entry.key === "tokenizer.ggml.merges" && Array.isArray(value)) {
            const merges = value.filter((merge) => {
                const [left, right] = merge.split(" ", 2);
                return right !== undefined && kept.has(left) && kept.has(right) && kept.has(left + right);
            });
            entries.push({ ...entry, value: merges });
        }
        else if (entry.type === GgufValueType.ARRAY && (Array.isArray(value) || ArrayBuffer.isView(value))) {
            const list = value;
            entries.push({ ...entry, value: list.length === tokenList.length ? list.slice(0, vocabSize) : list });
        }
        else if (entry.key.endsWith("_token_id")) {
            if (typeof value === "number" && value < vocabSize)
                entries.push(entry);
        }
        else {
            entries.push(entry);
        }
    }
    if (config.chatTemplate !== undefined) {
        entries.push(stringEntry("tokenizer.chat_template", config.chatTemplate));
    }
    return entries;
}
/** Tensor names and shapes (ne order) llama.cpp's llama_model_llama::load_arch_tensors expects. */
export function tinyLlamaTensors(config) {
    const { nEmbd, nFf, vocabSize } = config;
    const headSize = nEmbd / config.nHead;
    const kvSize = headSize * config.nHeadKv;
    const matrix = config.weightType === "f16" ? GgmlType.F16 : GgmlType.F32;
    const tensors = [{ name: "token_embd.weight", dims: [nEmbd, vocabSize], type: matrix }];
    for (let layer = 0; layer < config.nLayer; layer++) {
        const block = `blk.${layer}`;
        tensors.push({ name: `${block}.attn_norm.weight`, dims: [nEmbd], type: GgmlType.F32 }, { name: `${block}.attn_q.weight`, dims: [nEmbd, headSize * config.nHead], type: matrix }, { name: `${block}.attn_k.weight`, dims: [nEmbd, kvSize], type: matrix }, { name: `${block}.attn_v.weight`, dims: [nEmbd, kvSize], type: matrix }, { name: `${block}.attn_output.weight`, dims: [headSize * config.nHead, nEmbd], type: matrix }, { name: `${block}.ffn_norm.weight`, dims: [nEmbd], type: GgmlType.F32 }, { name: `${block}.ffn_gate.weight`, dims: [nEmbd, nFf], type: matrix }, { name: `${block}.ffn_up.weight`, dims: [nEmbd, nFf], type: matrix }, { name: `${block}.ffn_down.weight`, dims: [nFf, nEmbd], type: matrix });
    }
    tensors.push({ name: "output_norm.weight", dims: [nEmbd], type: GgmlType.F32 }, { name: "output.weight", dims: [nEmbd, vocabSize], type: matrix });
    return tensors;
}
function tensorData(tensor, config) {
    const random = new SeededRandom(SeededRandom.derivedSeed(config.seed, tensor.name));
    const values = new Float32Array(tensor.dims.reduce((product, dim) => product * dim, 1));
    if (tensor.name.endsWith("norm.weight")) {
        return random.fillNormal(values, 1, WEIGHT_STD.normNoise);
    }
    const std = tensor.name === "token_embd.weight"
        ? WEIGHT_STD.tokenEmbedding
        : tensor.name === "output.weight" ? WEIGHT_STD.output : WEIGHT_STD.projection;
    random.fillNormal(values, 0, std);
    return tensor.type === GgmlType.F16 ? float32ArrayToFloat16(values) : values;
}
//# sourceMappingURL=tiny-llama.js.map