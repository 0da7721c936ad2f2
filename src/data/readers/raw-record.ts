import type { RecordSource } from "../conversation.js";

/** One record as a file reader yields it: a parsed value, or what kept it from parsing. */
export type RawRecord = { source: RecordSource; value: unknown } | { source: RecordSource; problem: string };
