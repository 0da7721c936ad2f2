import type { RecordSource } from "./conversation.js";

/** A record that could not be used, reported instead of silently dropped. */
export interface DatasetProblem extends RecordSource {
  message: string;
}

/** "<file>:<line>: <what is wrong>", with the array position for JSON array files. */
export function describeDatasetProblem(problem: DatasetProblem): string {
  const element = problem.index === undefined ? "" : `element ${problem.index}: `;
  return `${problem.file}:${problem.line}: ${element}${problem.message}`;
}
