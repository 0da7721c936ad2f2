// The files a training run writes, named and checked in one place: the adapter, and beside it
// training.json, metrics.jsonl, loss.svg and checkpoint.gguf. Each is refused when it exists (unless
// force, or a resume, whose run they belong to) or is an input, before any work; each is written to a
// temp file beside it and renamed (metrics.jsonl is then appended to, one line per completed step).
import { appendFile, open, rename, rm } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";
import { checkOutputPath, prepareAtomicOutput, tempPathBeside, type AtomicOutput } from "../io/atomic-output.js";

/** The names of the files beside the adapter. */
export const RUN_FILE_NAMES = {
  trainingConfig: "training.json",
  metrics: "metrics.jsonl",
  lossPlot: "loss.svg",
  checkpoint: "checkpoint.gguf",
} as const;

export type RunFiles = { -readonly [K in keyof typeof RUN_FILE_NAMES]: string };

export interface RunOutputs {
  adapter: AtomicOutput;
  /** Absolute paths of the files beside the adapter. */
  files: RunFiles;
  /**
   * The adapter the trainer starts from (fresh or from the checkpoint): a temp file beside the
   * output, so it is on the output's filesystem, removed by `discardStart`.
   */
  startAdapter: string;
  discardStart(): Promise<void>;
  /** Writes a whole file of the run (training.json, loss.svg, metrics.jsonl) through a temp file and a rename. */
  writeWhole(file: string, text: string): Promise<void>;
  appendMetrics(line: string): Promise<void>;
}

export async function prepareRunOutputs(
  where: string,
  output: string,
  options: { force: boolean; resume?: string; inputs: string[] },
): Promise<RunOutputs> {
  // a resumed run continues its own files
  const force = options.force || options.resume !== undefined;
  const adapter = await prepareAtomicOutput(where, output, { force, inputs: [...options.inputs, ...(options.resume ? [options.resume] : [])] });
  const directory = path.dirname(adapter.finalPath);
  const files = {} as RunFiles;
  for (const [kind, name] of Object.entries(RUN_FILE_NAMES) as [keyof RunFiles, string][]) {
    const file = path.join(directory, name);
    if (file === adapter.finalPath) {
      throw new LoraGgufError(
        "E_INVALID_OPTION",
        `${where}: the adapter cannot be named ${name}, which the run writes beside it; choose another name`,
      );
    }
    files[kind] = await checkOutputPath(`${where} (${name}, written beside the adapter)`, file, { force, inputs: options.inputs });
  }
  const startAdapter = tempPathBeside(adapter.finalPath);
  return {
    adapter,
    files,
    startAdapter,
    discardStart: () => rm(startAdapter, { force: true }).catch(() => undefined),
    writeWhole: (file, text) => writeTextAtomically(file, text),
    appendMetrics: (line) => appendFile(files.metrics, line).catch((error: unknown) => cannotWrite(files.metrics, error)),
  };
}

function cannotWrite(file: string, error: unknown): never {
  throw new LoraGgufError("E_OUTPUT_DIR", `cannot write ${file}: ${(error as Error).message}`, { cause: error });
}

async function writeTextAtomically(file: string, text: string): Promise<void> {
  const temp = tempPathBeside(file);
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    cannotWrite(file, error);
  }
}
