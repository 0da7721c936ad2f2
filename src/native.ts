// The one place that loads and types the native addon. Nothing else imports the raw binding.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { isLoraGgufErrorCode, LoraGgufError, type LoraGgufErrorCode } from "./errors.js";
import { checkLlamaLoadable } from "./gguf/llama-loader-checks.js";

/** Root of the lora-gguf package: one level above src/ (vitest) and dist/ (compiled). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface NativeBuildInfo {
  llamaCommit: string;
  /** Comma-separated names of our patches applied to llama.cpp. */
  llamaPatches: string;
  cuda: boolean;
  systemInfo: string;
  /** "name: description" of each GPU the compiled-in backends found; empty in a CPU build or without a device or driver. */
  gpuDevices: string[];
}

export interface NativeQuantizeOptions {
  inputPath: string;
  outputPath: string;
  ftype: number;
  threads: number;
  allowRequantize: boolean;
  quantizeOutputTensor: boolean;
  pure: boolean;
  onlyCopy: boolean;
}

export interface NativeQuantizeProgress {
  tensorsDone: number;
  tensorsTotal: number;
  tensorName: string;
}

/** A running native operation: its result, and a way to ask the worker to stop. */
export interface NativeJob<T> {
  promise: Promise<T>;
  cancel(): void;
}

/** llama.cpp's own reading of a GGUF header (gguf_init_from_file); for cross-checks. */
export interface LlamaGgufView {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: { key: string; type: number; arrayType?: number; value: unknown }[];
  tensors: { name: string; type: number; offset: number; byteSize: number; ne: number[] }[];
}

export interface NativeTrainerOptions {
  modelPath: string;
  /** GGUF LoRA adapter whose tensors are trained (f32); written beforehand (fresh or from a checkpoint). */
  adapterPath: string;
  /** Tokens per window; a multiple of 256 (llama.cpp pads contexts to that). */
  contextLength: number;
  /** Samples packed into one window attend only to themselves: each gets its own sequence id. */
  maxSequencesPerWindow: number;
  threads: number;
  /** Windows whose gradients are accumulated before each optimizer step. */
  windowsPerOptimizerStep: number;
  /** Upstream attention through the KV cache (K/V get no gradient). Only for tests that show the bug. */
  attentionThroughKvCache?: boolean;
  /** llama.cpp's full fine-tune of every weight instead of the adapter (f32 bases; bench/train's baseline). */
  fullFineTune?: boolean;
  /** Labelled positions per chunk of the output projection and loss (patches/0007); 0 or absent: all at once. */
  lossChunkRows?: number;
  /** Query rows per chunk of attention; 0 or absent: all at once. */
  attentionChunkRows?: number;
  /** Keep only each layer's output for the backward pass and evaluate the rest again (gradient checkpointing). */
  recomputeLayers?: boolean;
  /** llama.cpp's n_gpu_layers: layers (from the last) placed on a GPU, -1 all; 0 or absent: none. */
  gpuLayers?: number;
}

export interface NativeTrainerStep {
  tokens: Int32Array;
  /** Next-token targets; -1 leaves a position out of the loss. */
  labels: Int32Array;
  positions?: Int32Array;
  seqIds?: Int32Array;
  train: boolean;
  learningRate?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Resume: AdamW moments and step counter, applied after the graphs exist and before this step runs. */
  restoreOptimizer?: { iter: number; moments: { name: string; m: Float32Array; v: Float32Array }[] };
}

export interface NativeTrainerStepResult {
  /** Cross-entropy (natural log) summed over the window's labelled tokens. */
  crossEntropySum: number;
  /** The window's labelled tokens: crossEntropySum / labelledTokens is the mean loss per trained token. */
  labelledTokens: number;
  /** ggml-opt's step counter after this call (1 before the first optimizer step). */
  optimizerIter: number;
  /**
   * The ops of the session's training graphs so far that ran on the CPU although their inputs were on a GPU, for
   * want of a GPU kernel, as "OP(src types) -> dst type" (llama_opt_cpu_fallbacks, patches/0012); [] without a GPU.
   */
  cpuFallbacks: string[];
}

export type NativeTensorKind = "value" | "gradient" | "adamwM" | "adamwV";

/** A LoRA training session on its own native thread; calls run in order. */
export interface NativeTrainer {
  readonly contextLength: number;
  parameterNames(): Promise<{ name: string; dims: [number, number] }[]>;
  step(step: NativeTrainerStep): Promise<NativeTrainerStepResult>;
  readTensor(name: string, kind: NativeTensorKind): Promise<Float32Array>;
  writeTensor(name: string, kind: NativeTensorKind, data: Float32Array): Promise<void>;
  /** Reads, or with a value sets, the optimizer step counter (AdamW bias correction). */
  optimizerIter(set?: number): Promise<number>;
  /**
   * Stops the step in progress, and every later one, at its next graph node: they reject with
   * E_ABORTED. An optimizer update once begun runs to its end, so tensors read afterwards are those of
   * the last completed step.
   */
  interrupt(): void;
  close(): Promise<void>;
}

/** A model's vocabulary, loaded without weights, on its own native thread. */
export interface NativeTokenizer {
  readonly vocabularySize: number;
  readonly bos: number;
  readonly eos: number;
  /** End-of-turn token, or -1. */
  readonly eot: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** Every token that ends generation (EOS, EOT, <|im_end|>, ...). */
  readonly endOfGeneration: number[];
  tokenize(texts: string[], parseSpecial: boolean): Promise<Int32Array[]>;
  pieces(tokens: Int32Array): Promise<string[]>;
  close(): Promise<void>;
}

export interface NativeMergeOptions {
  basePath: string;
  outputPath: string;
  adapters: { path: string; scale: number }[];
  threads: number;
  /** Merged tensors of type `from` are stored as `to` (ggml_type ids). */
  storeTypes?: { from: number; to: number }[];
}

export interface NativeMergeProgress {
  tensorsDone: number;
  tensorsTotal: number;
  tensorName: string;
  /** Whether an adapter changed this tensor. */
  merged: boolean;
}

/** A ggml op timed on the CPU backend (bench/train's GEMM peak and kernel rates): see native/matmul-rate.h. */
export interface NativeMatMulRateOptions {
  op: "mul_mat" | "out_prod";
  /** ggml type id of the weight [inputs, outputs]. */
  weightType: number;
  inputs: number;
  outputs: number;
  tokens: number;
  threads: number;
  repeats: number;
}

export interface NativeMatMulRate {
  bestSeconds: number;
  flopsPerSecond: number;
  /** Largest difference of 9 sampled output columns (the first and last among them) from a float64 reference over the dequantized weight. */
  maxAbsError: number;
}

export interface NativeBinding {
  buildInfo(): NativeBuildInfo;
  quantize(options: NativeQuantizeOptions, onProgress?: (progress: NativeQuantizeProgress) => void): NativeJob<{ tensorCount: number }>;
  readGgufWithLlama(path: string): LlamaGgufView;
  createTrainer(options: NativeTrainerOptions): Promise<NativeTrainer>;
  openTokenizer(modelPath: string): Promise<NativeTokenizer>;
  merge(options: NativeMergeOptions, onProgress?: (progress: NativeMergeProgress) => void): NativeJob<{ tensorCount: number; mergedTensorCount: number }>;
  measureMatMulRate(options: NativeMatMulRateOptions): NativeJob<NativeMatMulRate>;
}


let loaded: NativeBinding | undefined;
let building: Promise<NativeBinding> | undefined;

function tryLoad(): { binding?: NativeBinding; error?: unknown } {
  try {
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require("node-gyp-build") as (dir: string) => unknown;
    return { binding: typedBinding(nodeGypBuild(packageRoot) as NativeBinding) };
  } catch (error) {
    return { error };
  }
}

/**
 * The addon with its trainer and tokenizer sessions typed: whatever their methods throw or reject
 * with becomes a LoraGgufError (the addon's own code, else E_NATIVE), in this one place rather than
 * at every call. Jobs (merge, quantize, convert) are typed by runNativeJob.
 */
function typedBinding(binding: NativeBinding): NativeBinding {
  // the addon's exports are not all enumerable, so they are copied by name
  const copy = Object.fromEntries(Reflect.ownKeys(binding).map((key) => [key, Reflect.get(binding, key)])) as unknown as NativeBinding;
  return {
    ...copy,
    createTrainer: async (options: NativeTrainerOptions) => closableSession(typedMethods(await typed(() => binding.createTrainer(options))), "trainer"),
    openTokenizer: async (modelPath: string) => {
      await checkLlamaLoadable("tokenizer", modelPath);
      return closableSession(typedMethods(await typed(() => binding.openTokenizer(modelPath))), "tokenizer");
    },
  };
}

/**
 * A session whose close() may be called again (it returns the first call's promise: the addon's own
 * close does not settle a second time) and whose other methods, once it is closing, reject with
 * E_INVALID_OPTION instead of reaching a freed handle.
 */
function closableSession<T extends { close(): Promise<void> }>(session: T, what: string): T {
  let closing: Promise<void> | undefined;
  return new Proxy({} as T, {
    get(_blank, property) {
      if (property === "close") return () => (closing ??= session.close());
      const value: unknown = Reflect.get(session, property);
      if (closing === undefined || typeof value !== "function") return value;
      return () => Promise.reject(new LoraGgufError("E_INVALID_OPTION", `the ${what} is closed; open a new one`));
    },
  });
}

/** `call`'s throw or rejection as a LoraGgufError. */
async function typed<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toLoraGgufError(error, undefined);
  }
}

/** A view of a native session whose methods' throws and rejections are LoraGgufErrors; other properties read through. */
function typedMethods<T extends object>(object: T): T {
  // the proxy's target is a blank object: the session's own properties may be read-only, which a proxy of it would have to return as they are
  return new Proxy({} as T, {
    get(_blank, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(object, args);
        } catch (error) {
          throw toLoraGgufError(error, undefined);
        }
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              throw toLoraGgufError(error, undefined);
            })
          : result;
      };
    },
  });
}

function loadFailure(error: unknown, extra = ""): LoraGgufError {
  const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new LoraGgufError(
    "E_NATIVE_LOAD",
    `the lora-gguf native addon could not be loaded for ${process.platform}-${process.arch} (node ${process.version}). ` +
      `Tried ${path.join(packageRoot, "build", "Release")} and ${path.join(packageRoot, "prebuilds", `${process.platform}-${process.arch}`)}: ${detail}. ` +
      `Build it from source with \`node ${path.join(packageRoot, "scripts", "build-native.mjs")}\` (needs cmake and a C++17 compiler)` +
      extra,
    { cause: error },
  );
}

/** Loads the addon synchronously; throws E_NATIVE_LOAD if there is neither a prebuild nor a local build. */
export function loadNativeSync(): NativeBinding {
  if (loaded) return loaded;
  const { binding, error } = tryLoad();
  if (!binding) throw loadFailure(error);
  loaded = binding;
  return binding;
}

/**
 * Loads the addon; when none exists (npm skipped our install script, say) and the source can be
 * built here, builds it once, telling the user on stderr. LORA_GGUF_NO_BUILD=1 turns that off.
 */
export async function loadNative(): Promise<NativeBinding> {
  if (loaded) return loaded;
  const first = tryLoad();
  if (first.binding) {
    loaded = first.binding;
    return loaded;
  }
  const script = path.join(packageRoot, "scripts", "build-native.mjs");
  if (process.env.LORA_GGUF_NO_BUILD || !existsSync(script)) throw loadFailure(first.error);
  building ??= new Promise<NativeBinding>((resolve, reject) => {
    process.stderr.write(
      `lora-gguf: no native addon for ${process.platform}-${process.arch} yet; building it from source once (several minutes)...\n`,
    );
    const child = spawn(process.execPath, [script], { cwd: packageRoot, stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", (error) => reject(loadFailure(error)));
    child.on("exit", (code) => {
      const second = tryLoad();
      if (code === 0 && second.binding) {
        loaded = second.binding;
        resolve(loaded);
      } else {
        reject(loadFailure(second.error ?? `build exited with ${code}`, "; the automatic build failed, see the output above"));
      }
    });
  });
  return building;
}

/**
 * Awaits a native job, cancelling it when `signal` aborts. Errors become LoraGgufErrors that carry
 * the caller's stack (captured before the async hop, as sharp does), and an abort rejects with
 * `signal.reason`.
 */
export async function runNativeJob<T>(start: () => NativeJob<T>, signal: AbortSignal | undefined, callerStack: string | undefined): Promise<T> {
  if (signal?.aborted) throw signal.reason;
  const job = start();
  const onAbort = () => job.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await job.promise;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw toLoraGgufError(error, callerStack);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

export function toLoraGgufError(error: unknown, callerStack: string | undefined): LoraGgufError {
  if (error instanceof LoraGgufError) return error;
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const wrapped = new LoraGgufError(
    isLoraGgufErrorCode(code) ? code : "E_NATIVE",
    message,
    { cause: error },
  );
  if (callerStack) wrapped.stack = `${wrapped.name}: ${message}\n${callerStack.split("\n").slice(1).join("\n")}`;
  return wrapped;
}
