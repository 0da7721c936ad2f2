export {
  GGML_TYPES,
  GGML_TYPE_COUNT,
  GgmlType,
  ggmlTypeByName,
  ggmlTypeInfo,
  ggmlWritability,
  requireGgmlType,
  tensorByteSize,
  type GgmlTypeInfo,
} from "./ggml-types.js";
export {
  GGUF_VALUE_TYPE_COUNT,
  GGUF_VALUE_TYPE_NAMES,
  GgufValueType,
  ggufValueTypeName,
  isGgufValueType,
  type GgufArrayValue,
  type GgufMetadataEntry,
  type GgufNestedArray,
  type GgufNumericArray,
  type GgufScalarValue,
  type GgufValue,
} from "./value-types.js";
export {
  GGML_MAX_DIMS,
  GGML_MAX_NAME_BYTES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_KEY_ALIGNMENT,
  GGUF_VERSION,
  padToAlignment,
} from "./format.js";
export {
  getMetadataValue,
  readGgufHeader,
  type GgufHeader,
  type GgufTensorInfo,
  type ReadGgufHeaderOptions,
} from "./reader.js";
export {
  encodeGgufHeader,
  type EncodedGgufHeader,
  type GgufHeaderLayoutOptions,
  type GgufPlannedTensor,
  type GgufTensorDeclaration,
} from "./header-encoder.js";
export {
  GgufWriter,
  writeGgufFile,
  type GgufTensorWithData,
  type GgufWriterInit,
  type WriteGgufFileContent,
} from "./writer.js";
export { arrayEntry, boolEntry, float32Entry, int32Entry, stringEntry, uint32Entry } from "./metadata-entries.js";
export {
  bfloat16ArrayToFloat32,
  bfloat16ToFloat32,
  float16ArrayToFloat32,
  float16ToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16,
  float32ToFloat16,
} from "./f16.js";
