import { GgufValueType, type GgufArrayValue, type GgufMetadataEntry } from "./value-types.js";

/** Builders for the metadata entries models commonly carry. */

export function uint32Entry(key: string, value: number): GgufMetadataEntry {
  return { key, type: GgufValueType.UINT32, value };
}

export function int32Entry(key: string, value: number): GgufMetadataEntry {
  return { key, type: GgufValueType.INT32, value };
}

export function float32Entry(key: string, value: number): GgufMetadataEntry {
  return { key, type: GgufValueType.FLOAT32, value };
}

export function boolEntry(key: string, value: boolean): GgufMetadataEntry {
  return { key, type: GgufValueType.BOOL, value };
}

export function stringEntry(key: string, value: string): GgufMetadataEntry {
  return { key, type: GgufValueType.STRING, value };
}

export function arrayEntry(key: string, arrayType: GgufValueType, value: GgufArrayValue): GgufMetadataEntry {
  return { key, type: GgufValueType.ARRAY, arrayType, value };
}
