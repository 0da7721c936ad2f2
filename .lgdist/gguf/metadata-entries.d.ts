import { GgufValueType, type GgufArrayValue, type GgufMetadataEntry } from "./value-types.js";
/** Builders for the metadata entries models commonly carry. */
export declare function uint32Entry(key: string, value: number): GgufMetadataEntry;
export declare function int32Entry(key: string, value: number): GgufMetadataEntry;
export declare function float32Entry(key: string, value: number): GgufMetadataEntry;
export declare function boolEntry(key: string, value: boolean): GgufMetadataEntry;
export declare function stringEntry(key: string, value: string): GgufMetadataEntry;
export declare function arrayEntry(key: string, arrayType: GgufValueType, value: GgufArrayValue): GgufMetadataEntry;
