export interface VersionInfo {
    version: string;
    /** The llama.cpp commit the addon was built from (from node-llama-cpp's bundle). */
    llamaCommit?: string;
    /** Our patches applied to that source, comma-separated. */
    llamaPatches?: string;
    cuda?: boolean;
    /** Why the addon could not be loaded, when it could not. */
    nativeError?: string;
}
export declare function versionInfo(): VersionInfo;
