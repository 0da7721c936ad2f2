import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";

import { LoraGgufError } from "../errors.js";
import { readGgufHeader, type GgufHeader } from "../gguf/index.js";
import { ggmlTypeInfo } from "../gguf/ggml-types.js";
import { checkLlamaHyperparameters } from "../gguf/llama-hyperparameters.js";
import { prepareAtomicOutput } from "../io/atomic-output.js";
import { loadNative, runNativeJob } from "../native.js";
import {
  optionalBoolean, optionalFunction, optionalInteger, optionalSignal, rejectUnknownOptions, requireOptionsObject, requireString,
} from "../validate.js";
import { resolveQuantizationType, type QuantizationType } from "./types.js";

export interface QuantizeProgress {
  tensorsDone: number;
  tensorsTotal: number;
  /** The tensor just written. */
  tensorName: string;
  /** tensorsDone / tensorsTotal, 0..1. */
  fraction: number;
}

export interface QuantizeOptions {
  /** Output type, by llama.cpp's name, case-insensitive: "q4_k_m", "q8_0", "f16", ... (see `quantizationTypes`). */
  type: string;
  /** Worker threads. Default: the number of CPUs. */
  threads?: number;
  /** Overwrite an existing output file. Default false. */
  force?: boolean;
  /** Allow quantizing tensors that are already quantized (loses quality). Default false. */
  allowRequantize?: boolean;
  /** Leave output.weight in its input type. Default false (it is quantized, as llama-quantize does). */
  leaveOutputTensor?: boolean;
  /** Use the type for every tensor, without llama.cpp's per-tensor mixes (q4_k_m's q6_k tensors, ...). Default false. */
  pure?: boolean;
  signal?: AbortSignal;
  /** Called after each tensor is written, on the JS thread. */
  onProgress?: (progress: QuantizeProgress) => void;
}

export interface QuantizeResult {
  output: string;
  /** Canonical name of the type written, e.g. "Q4_K_M". */
  type: string;
  /** llama_ftype written to general.file_type. */
  ftype: number;
  tensorCount: number;
  inputBytes: number;
  outputBytes: number;
  seconds: number;
}

const knownOptions = ["type", "threads", "force", "allowRequantize", "leaveOutputTensor", "pure", "signal", "onProgress"] as const;

/** Quantizes (or converts) a GGUF model with llama.cpp's llama_model_quantize, off the JS thread. */
export async function quantize(input: string, output: string, options: QuantizeOptions): Promise<QuantizeResult> {
  const callerStack = new Error().stack;
  const where = "quantize";
  requireString(where, "input", input);
  requireString(where, "output", output);
  const raw = requireOptionsObject(where, options);
  rejectUnknownOptions(where, raw, knownOptions);
  const type = resolveQuantizationType(requireString(where, "type", raw.type));
  const threads = optionalInteger(where, "threads", raw.threads, 1, 1024) ?? availableParallelism();
  const force = optionalBoolean(where, "force", raw.force) ?? false;
  const allowRequantize = optionalBoolean(where, "allowRequantize", raw.allowRequantize) ?? false;
  const leaveOutputTensor = optionalBoolean(where, "leaveOutputTensor", raw.leaveOutputTensor) ?? false;
  const pure = optionalBoolean(where, "pure", raw.pure) ?? false;
  const signal = optionalSignal(where, raw.signal);
  const onProgress = optionalFunction<(progress: QuantizeProgress) => void>(where, "onProgress", raw.onProgress);

  if (type.needsImatrix) {
    throw new LoraGgufError(
      "E_NEEDS_IMATRIX",
      `${where}: ${type.name} needs an importance matrix, which lora-gguf does not compute yet; choose another type (for example q4_k_m or iq4_xs)`,
    );
  }
  const header = await readGgufHeader(input);
  checkIsQuantizableModel(where, input, header, type, allowRequantize);
  const target = await prepareAtomicOutput(where, output, { force, inputs: [input] });

  signal?.throwIfAborted();
  const native = await loadNative();
  const started = performance.now();
  try {
    const { tensorCount } = await runNativeJob(
      () =>
        native.quantize(
          {
            inputPath: input,
            outputPath: target.tempPath,
            ftype: type.ftype,
            threads,
            allowRequantize: allowRequantize || type.onlyCopy === true,
            quantizeOutputTensor: !leaveOutputTensor,
            pure,
            onlyCopy: type.onlyCopy === true,
          },
          onProgress &&
            ((progress) => onProgress({ ...progress, fraction: progress.tensorsTotal ? progress.tensorsDone / progress.tensorsTotal : 1 })),
        ),
      signal,
      callerStack,
    );
    await target.commit();
    return {
      output: target.finalPath,
      type: type.name,
      ftype: type.ftype,
      tensorCount,
      inputBytes: header.fileSize,
      outputBytes: (await stat(target.finalPath)).size,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await target.discard();
    throw error;
  }
}

function checkIsQuantizableModel(where: string, input: string, header: GgufHeader, type: QuantizationType, allowRequantize: boolean): void {
  const generalType = header.metadataByKey.get("general.type")?.value;
  if (generalType === "adapter") {
    throw new LoraGgufError("E_WRONG_KIND", `${where}: ${input} is a LoRA adapter, not a model; merge it into its base model first`);
  }
  if (typeof header.metadataByKey.get("general.architecture")?.value !== "string") {
    throw new LoraGgufError("E_WRONG_KIND", `${where}: ${input} has no general.architecture; it is not a llama.cpp model`);
  }
  if (header.tensors.length === 0) {
    throw new LoraGgufError("E_WRONG_KIND", `${where}: ${input} has no tensors (a vocabulary-only file?); there is nothing to quantize`);
  }
  checkLlamaHyperparameters(where, input, header);
  if (!allowRequantize && !type.onlyCopy) {
    const quantized = header.tensors.find((tensor) => ggmlTypeInfo(tensor.type)?.quantized);
    if (quantized) {
      throw new LoraGgufError(
        "E_REQUANTIZE",
        `${where}: ${input} is already quantized (${quantized.name} is ${ggmlTypeInfo(quantized.type)?.name}); ` +
          `requantizing loses quality, so start from an f32/f16/bf16 model, or pass allowRequantize (--allow-requantize)`,
      );
    }
  }
}
