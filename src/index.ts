// The public API of lora-gguf.
export { LoraGgufError, isLoraGgufError, type LoraGgufErrorCode } from "./errors.js";
export { quantize, type QuantizeOptions, type QuantizeProgress, type QuantizeResult } from "./quantize/quantize.js";
export { quantizationTypes, resolveQuantizationType, type QuantizationType } from "./quantize/types.js";
export { inspect, type InspectResult, type TensorTypeSummary, type TensorEntry, type AdapterInfo } from "./inspect/inspect.js";
export { versionInfo, type VersionInfo } from "./version.js";
export * from "./data/index.js";
export * from "./chat/index.js";
export * from "./gguf/index.js";
export { train, type TrainResult, type MetricsRecord } from "./train/train.js";
export { trainableArchitectures } from "./train/prepare-run.js";
export type { TrainOptions, TrainProgress } from "./train/train-options.js";
