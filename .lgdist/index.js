// The public API of lora-gguf.
export { LoraGgufError, isLoraGgufError } from "./errors.js";
export { quantize } from "./quantize/quantize.js";
export { quantizationTypes, resolveQuantizationType } from "./quantize/types.js";
export { inspect } from "./inspect/inspect.js";
export { versionInfo } from "./version.js";
export * from "./gguf/index.js";
//# sourceMappingURL=index.js.map