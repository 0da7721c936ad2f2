type Options = Record<string, unknown>;
export declare function requireOptionsObject(where: string, options: unknown): Options;
/** Rejects misspelled option names instead of ignoring them (as better-sqlite3 does). */
export declare function rejectUnknownOptions(where: string, options: Options, known: readonly string[]): void;
export declare function requireString(where: string, name: string, value: unknown): string;
export declare function optionalInteger(where: string, name: string, value: unknown, min: number, max: number): number | undefined;
export declare function optionalBoolean(where: string, name: string, value: unknown): boolean | undefined;
export declare function optionalFunction<T extends (...args: never[]) => unknown>(where: string, name: string, value: unknown): T | undefined;
export declare function optionalSignal(where: string, value: unknown): AbortSignal | undefined;
export {};
