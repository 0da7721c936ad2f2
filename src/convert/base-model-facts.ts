import { stat } from "node:fs/promises";

import { LoraGgufError } from "../errors.js";
import { readGgufHeader } from "../gguf/index.js";
import { familyOfGgufArchitecture, modelFamilies, findFamilyOfHfConfig, readHfConfig, type ModelFamily, type HfConfig } from "../arch/index.js";
import { openCheckpointTensors } from "./safetensors.js";

/** What an adapter is converted or exported against: the base's architecture, head counts and weight shapes. */
export interface BaseModelFacts {
  architecture: ModelFamily;
  config: Pick<HfConfig, "num_attention_heads" | "num_key_value_heads">;
  /** GGUF tensor name → ne ([in, out] for matrices). */
  shapes: Map<string, number[]>;
  /**
   * What the base calls itself: config.json's model_type and architectures for a Hugging Face
   * directory, general.basename and general.name for a GGUF. Mistral and Llama share llama.cpp's
   * llama graph, so only these tell them apart.
   */
  names: string[];
}

/** Reads a base model given as its Hugging Face directory or its GGUF, without reading weights. */
export async function readBaseModelFacts(base: string, where: string): Promise<BaseModelFacts> {
  const isDirectory = (await stat(base).catch(() => undefined))?.isDirectory();
  if (isDirectory) {
    const config = await readHfConfig(base);
    const architecture = findFamilyOfHfConfig(config, where);
    const shapes = new Map<string, number[]>();
    for (const [hfName, tensor] of await openCheckpointTensors(base)) {
      const ggufName = architecture.tensorName(hfName);
      if (ggufName) shapes.set(ggufName, [...tensor.info.shape].reverse());
    }
    const names = [config.model_type, ...(config.architectures ?? [])].filter((name): name is string => typeof name === "string");
    return { architecture, config, shapes, names };
  }
  const header = await readGgufHeader(base);
  const value = (key: string) => header.metadataByKey.get(key)?.value;
  const ggufArchitecture = value("general.architecture");
  const architecture = familyOfGgufArchitecture(ggufArchitecture);
  if (!architecture) {
    throw new LoraGgufError(
      "E_UNSUPPORTED_ARCH",
      `${where}: the base ${base} is ${String(ggufArchitecture)}; adapters are supported for ${modelFamilies.map((a) => a.ggufArchitecture).join(", ")}`,
    );
  }
  const heads = Number(value(`${ggufArchitecture}.attention.head_count`));
  const kvHeads = Number(value(`${ggufArchitecture}.attention.head_count_kv`) ?? heads);
  for (const [key, count] of [["head_count", heads], ["head_count_kv", kvHeads]] as const) {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new LoraGgufError("E_BAD_GGUF", `${where}: the base ${base} has no positive ${ggufArchitecture}.attention.${key}, which placing the adapter's rows needs`);
    }
  }
  const names = [value("general.basename"), value("general.name")].filter((name): name is string => typeof name === "string");
  return {
    architecture,
    config: { num_attention_heads: heads, num_key_value_heads: kvHeads },
    shapes: new Map(header.tensors.map((tensor) => [tensor.name, tensor.dims])),
    names,
  };
}
