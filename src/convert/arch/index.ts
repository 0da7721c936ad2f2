import { LoraGgufError } from "../../errors.js";
import type { ConvertArchitecture } from "./architecture.js";
import type { HfConfig } from "./hf-config.js";
import { llamaArchitecture } from "./llama.js";
import { qwen2Architecture } from "./qwen2.js";
import { qwen3Architecture } from "./qwen3.js";

export type { ConvertArchitecture, GeneratedTensor } from "./architecture.js";
export { headDimension, readHfConfig, type HfConfig } from "./hf-config.js";

/** Every architecture convert knows; add a module and list it here. */
export const convertArchitectures: readonly ConvertArchitecture[] = [llamaArchitecture, qwen2Architecture, qwen3Architecture];

const supportedRopeTypes = new Set([undefined, "default", "linear", "llama3"]);

export function findConvertArchitecture(config: HfConfig, where: string): ConvertArchitecture {
  const names = config.architectures ?? [];
  const found = convertArchitectures.find((architecture) => names.some((name) => architecture.hfArchitectures.includes(name)));
  if (!found) {
    const supported = convertArchitectures.flatMap((architecture) => architecture.hfArchitectures).join(", ");
    throw new LoraGgufError(
      "E_UNSUPPORTED_ARCH",
      `${where}: the checkpoint is ${names.join(", ") || `model_type ${String(config.model_type)}`}; convert supports ${supported}`,
    );
  }
  const ropeType = config.rope_scaling?.rope_type ?? config.rope_scaling?.type;
  if (!supportedRopeTypes.has(ropeType?.toLowerCase())) {
    throw new LoraGgufError("E_UNSUPPORTED_ARCH", `${where}: rope scaling "${ropeType}" is not supported yet (supported: linear, llama3)`);
  }
  return found;
}
