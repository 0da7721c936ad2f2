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
export { dryRunTraining, formatMemoryEstimate, type TrainingDryRun } from "./train/dry-run.js";
export { estimateTrainingMemory, type TrainingMemoryEstimate } from "./train/memory-estimate.js";
export { previewTraining, formatTrainingPreview } from "./train/preview.js";
export { quickstart, type QuickstartOptions, type QuickstartResult } from "./quickstart/quickstart.js";
export { convert, type ConvertOptions, type ConvertProgress, type ConvertResult } from "./convert/convert.js";
export { merge, type MergeAdapter, type MergeOptions, type MergeProgress, type MergeResult } from "./merge/merge.js";
export { exportPeft, exportPeftTargets, type ExportPeftOptions, type ExportPeftResult, type ExportPeftTarget } from "./export/export-peft.js";
