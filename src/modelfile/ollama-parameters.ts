// The PARAMETER names `ollama create` accepts and how it parses each value: the json tags of Ollama's
// api.Options and api.Runner (api/types.go), which api.FormatParams checks, refusing an unknown name
// ("unknown parameter 'x'") or a value that does not parse ("invalid int value [x]"). Names dropped
// by later Ollama releases are kept, so a Modelfile for an older Ollama is not refused here.
import { LoraGgufError } from "../errors.js";

export type OllamaParameterType = "int" | "float" | "bool" | "strings";

export const OLLAMA_PARAMETERS: Readonly<Record<string, OllamaParameterType>> = {
  num_keep: "int",
  seed: "int",
  num_predict: "int",
  top_k: "int",
  top_p: "float",
  min_p: "float",
  typical_p: "float",
  tfs_z: "float",
  repeat_last_n: "int",
  temperature: "float",
  repeat_penalty: "float",
  presence_penalty: "float",
  frequency_penalty: "float",
  mirostat: "int",
  mirostat_tau: "float",
  mirostat_eta: "float",
  penalize_newline: "bool",
  stop: "strings",
  num_ctx: "int",
  num_batch: "int",
  num_gpu: "int",
  main_gpu: "int",
  low_vram: "bool",
  f16_kv: "bool",
  logits_all: "bool",
  vocab_only: "bool",
  use_mmap: "bool",
  use_mlock: "bool",
  numa: "bool",
  num_thread: "int",
};

/** Go's strconv.ParseBool. */
const GO_BOOLEANS = new Set(["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"]);
const GO_INTEGER = /^[+-]?\d+$/;

/**
 * Refuses a PARAMETER `ollama create` would refuse: an unknown name, or a value its type does not
 * parse (int: an integer; float: a finite number; bool: true/false, 1/0, t/f). `stop` is checked by the caller.
 */
export function checkOllamaParameter(where: string, name: string, value: number | string): void {
  const type = Object.hasOwn(OLLAMA_PARAMETERS, name) ? OLLAMA_PARAMETERS[name] : undefined;
  if (type === undefined) {
    throw new LoraGgufError(
      "E_INVALID_OPTION",
      `${where}: Ollama has no PARAMETER ${name} (ollama create refuses it as an unknown parameter); known: ${Object.keys(OLLAMA_PARAMETERS).sort().join(", ")}`,
    );
  }
  const text = String(value);
  const parses =
    type === "int"
      ? typeof value === "number"
        ? Number.isSafeInteger(value)
        : GO_INTEGER.test(text) && Number.isSafeInteger(Number(text))
      : type === "float"
        ? typeof value === "number" || (text.trim() !== "" && Number.isFinite(Number(text)))
        : type === "bool"
          ? GO_BOOLEANS.has(text)
          : true;
  if (!parses) {
    const expected = { int: "an integer", float: "a number", bool: "true or false", strings: "a string" }[type];
    throw new LoraGgufError("E_INVALID_OPTION", `${where}: PARAMETER ${name} takes ${expected} (ollama create parses it so), got ${JSON.stringify(value)}`);
  }
}
