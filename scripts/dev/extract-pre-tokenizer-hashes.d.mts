// Types of extract-pre-tokenizer-hashes.mjs, for the test that checks the committed table against llama.cpp's source.
export declare const defaultLlamaCppDir: string;
export declare const preTokenizerHashesPath: string;
/** The table as committed (src/convert/tokenizer/pre-tokenizer-hashes.json). */
export declare function extractPreTokenizerHashes(llamaCppDir?: string): Record<string, unknown>;
export declare function serializePreTokenizerHashes(table: Record<string, unknown>): string;
export declare function parsePythonStringLiteral(source: string, start: number, file?: string): string;
