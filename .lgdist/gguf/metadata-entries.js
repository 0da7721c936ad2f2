import { GgufValueType } from "./value-types.js";
/** Builders for the metadata entries models commonly carry. */
export function uint32Entry(key, value) {
    return { key, type: GgufValueType.UINT32, value };
}
export function int32Entry(key, value) {
    return { key, type: GgufValueType.INT32, value };
}
export function float32Entry(key, value) {
    return { key, type: GgufValueType.FLOAT32, value };
}
export function boolEntry(key, value) {
    return { key, type: GgufValueType.BOOL, value };
}
export function stringEntry(key, value) {
    return { key, type: GgufValueType.STRING, value };
}
export function arrayEntry(key, arrayType, value) {
    return { key, type: GgufValueType.ARRAY, arrayType, value };
}
//# sourceMappingURL=metadata-entries.js.map