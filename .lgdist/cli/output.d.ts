export declare const EXIT_OK = 0;
export declare const EXIT_ERROR = 1;
export declare const EXIT_USAGE = 2;
export declare function printJson(value: unknown): void;
/** Runs a command's action; a LoraGgufError becomes "lora-gguf: <message>" on stderr and exit 1. */
export declare function runAction(action: () => Promise<void>): Promise<void>;
export declare function formatBytes(bytes: number): string;
export declare function formatCount(count: number): string;
