// Ollama Modelfiles from GGUF headers: TEMPLATE from the model's own chat template (the real
// templates llama.cpp keeps in models/templates/, on the real vocabularies they belong with),
// stops from its end-of-turn tokens, and a file that Ollama's parser reads back to the same values.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildModelfile, isLoraGgufError, modelfileDefaultParameters, parseModelfile, readGgufHeader, type GgufHeader } from "../src/index.js";
import { trainingTemplateVariables } from "../src/lora/model-and-adapter.js";
import { packageRoot } from "../src/native.js";
import { writeTinyModelGguf } from "../src/testing/tiny-model.js";
import { llamaSourceDir } from "../src/testing/tiny-llama.js";
import { truncatedTokenizerEntries } from "../src/testing/truncated-vocab.js";
import { instTemplate } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";
import { writeVocabOnlyGguf } from "./helpers/vocab-only-gguf.js";

const temp = makeTempDir("modelfile");
const cli = path.join(packageRoot, "dist", "cli", "main.js");
const file = (name: string) => path.join(temp.dir, name);
const chatTemplate = (name: string) => readFileSync(path.join(llamaSourceDir(), "models", "templates", `${name}.jinja`), "utf8");

/** A GGUF with the whole of one of llama.cpp's vocabularies (so <|im_end|>, <|eot_id|> are there as control tokens) and a chat template. */
async function vocabOnlyModel(name: string, vocabName: "qwen2" | "llama-bpe", template: string | undefined): Promise<string> {
  const vocabPath = path.join(llamaSourceDir(), "models", `ggml-vocab-${vocabName}.gguf`);
  const vocab = await readGgufHeader(vocabPath);
  const tokenCount = (vocab.metadataByKey.get("tokenizer.ggml.tokens")!.value as string[]).length;
  await writeVocabOnlyGguf(file(name), vocabName === "qwen2" ? "qwen2" : "llama", truncatedTokenizerEntries(vocab, vocabPath, tokenCount, template));
  return file(name);
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isLoraGgufError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a rejection");
}

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const defaultParameters: [string, number][] = [
  ["temperature", 0.7],
  ["top_p", 0.9],
  ["repeat_penalty", 1],
];

let qwen: string;
let llama3: string;
let mistral: string;
let mistralAdapter: string;

beforeAll(async () => {
  qwen = await vocabOnlyModel("qwen2.5.gguf", "qwen2", chatTemplate("Qwen-Qwen2.5-7B-Instruct"));
  llama3 = await vocabOnlyModel("llama3.1.gguf", "llama-bpe", chatTemplate("meta-llama-Llama-3.1-8B-Instruct"));
  mistral = file("mistral.gguf");
  mistralAdapter = file("mistral-adapter.gguf");
  // llama.cpp's SentencePiece vocabulary (Llama 2 / Mistral 7B): <s> and </s> are control tokens
  await writeTinyModelGguf(mistral, { architecture: "llama", seed: 2, nEmbd: 64, nFf: 128, vocabSize: 512, chatTemplate: chatTemplate("mistralai-Mistral-Nemo-Instruct-2407") });
  await writeRandomAdapter(mistral, mistralAdapter, { rank: 4, alpha: 8, seed: 1, bStd: 0.01 });
});
afterAll(() => temp.cleanup());

describe("buildModelfile: TEMPLATE and stops from the GGUF", () => {
  it("ChatML (Qwen2.5): a multi-turn TEMPLATE derived from the chat template, with its default system prompt (Ollama's library one has none); stops <|endoftext|> (EOS) and <|im_end|>", async () => {
    const result = await buildModelfile({ model: qwen, system: 'You are terse.\nAnswer with "yes" or "no".' });
    expect(result.templateSource).toBe("derived-messages");
    // ollama-utils still matched the text, so the library entry's parameters and stops come along
    expect(result.ollamaModel).toBe("library/qwen2.5-coder:1.5b");
    expect(result.template).toContain(
      "{{ if $.System }}<|im_start|>system\n{{ $.System }}<|im_end|>\n<|im_start|>user\n{{ else }}" +
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n{{ end }}",
    );
    expect(result.stops).toEqual(["<|endoftext|>", "<|im_end|>"]);
    expect(result.parameters).toEqual(defaultParameters);
    expect(result.warnings).toEqual([]);

    const parsed = parseModelfile(result.text);
    expect(parsed.from).toBe(path.resolve(qwen));
    expect(parsed.adapters).toEqual([]);
    expect(parsed.template).toBe(result.template);
    expect(parsed.system).toBe('You are terse.\nAnswer with "yes" or "no".');
    expect(parsed.parameters).toEqual([
      ["stop", "<|endoftext|>"],
      ["stop", "<|im_end|>"],
      ["temperature", "0.7"],
      ["top_p", "0.9"],
      ["repeat_penalty", "1"],
    ]);
    expect(result.text).toContain('\nSYSTEM """You are terse.\nAnswer with "yes" or "no"."""\n');
    expect(result.text).toContain('\nPARAMETER stop "<|im_end|>"\n');
  });

  it("Llama 3.1: a derived TEMPLATE with the chat template's date header (the fixed date training renders); stops <|end_of_text|> (EOS), <|eot_id|> and the header tokens Ollama's library adds", async () => {
    const result = await buildModelfile({ model: llama3 });
    expect(result.templateSource).toBe("derived-messages");
    expect(result.ollamaModel).toBe("library/llama3.1:8b");
    expect(result.template).toContain("<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{{ $.System }}<|eot_id|>");
    expect(result.stops).toEqual(["<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]);
    expect(result.warnings).toEqual([]);
    const parsed = parseModelfile(result.text);
    expect(parsed.template).toBe(result.template);
    expect(parsed.system).toBeUndefined();
    expect(parsed.parameters.filter(([name]) => name === "stop").map(([, value]) => value)).toEqual(result.stops);
  });

  it("Qwen3: the sampling parameters of Ollama's library entry replace the defaults", async () => {
    const model = await vocabOnlyModel("qwen3.gguf", "qwen2", chatTemplate("Qwen-Qwen3-0.6B"));
    const result = await buildModelfile({ model, parameters: { temperature: 0.2, num_ctx: 4096 } });
    expect(result.ollamaModel).toBe("library/qwen3-next:80b");
    expect(result.stops).toEqual(["<|endoftext|>", "<|im_end|>", "<|im_start|>"]);
    expect(result.parameters).toEqual([
      ["temperature", 0.2],
      ["top_p", 0.95],
      ["repeat_penalty", 1],
      ["top_k", 20],
      ["num_ctx", 4096],
    ]);
  });

  it("Mistral (Nemo): a derived multi-turn TEMPLATE that puts the system prompt into the last user message, as Nemo's template does; the whole file, with ADAPTER", async () => {
    const result = await buildModelfile({ model: mistral, adapter: mistralAdapter, system: "Reply in French.", relativeTo: temp.dir });
    expect(result.templateSource).toBe("derived-messages");
    expect(result.template).toBe(NEMO_TEMPLATE);
    expect(result.stops).toEqual(["</s>"]);
    expect(result.warnings).toEqual([]);
    expect(result.text).toBe(
      [
        "# Ollama Modelfile written by lora-gguf for mistral.gguf",
        "# TEMPLATE: derived from the GGUF's chat template by rendering it: multi-turn (.Messages), checked to give the chat template's own text for one to three turns with and without a system message",
        "",
        "FROM ./mistral.gguf",
        "ADAPTER ./mistral-adapter.gguf",
        "",
        `TEMPLATE """${NEMO_TEMPLATE}"""`,
        "",
        'SYSTEM """Reply in French."""',
        "",
        'PARAMETER stop "</s>"',
        "PARAMETER temperature 0.7",
        "PARAMETER top_p 0.9",
        "PARAMETER repeat_penalty 1",
        "",
      ].join("\n"),
    );
    const parsed = parseModelfile(result.text);
    expect(parsed).toMatchObject({ from: "./mistral.gguf", adapters: ["./mistral-adapter.gguf"], template: result.template, system: "Reply in French." });
  });

  it("the memorization task's [INST] template: derived, the space before a reply only in history", async () => {
    const model = file("inst.gguf");
    await writeTinyModelGguf(model, { architecture: "llama", seed: 2, nEmbd: 64, nFf: 128, vocabSize: 512, chatTemplate: instTemplate });
    const result = await buildModelfile({ model });
    expect(result.templateSource).toBe("derived-messages");
    expect(result.template).toContain('{{ if $last }} [/INST]{{ else }} [/INST] {{ end }}');
    expect(result.warnings).toEqual([]);
  });
});

describe("buildModelfile: thinking", () => {
  it("Qwen3 with thinking off: the generation prompt holds the empty think block training put in the prompt; on and auto leave it out", async () => {
    const model = await vocabOnlyModel("qwen3-thinking.gguf", "qwen2", chatTemplate("Qwen-Qwen3-0.6B"));
    const off = await buildModelfile({ model, thinking: "off" });
    const on = await buildModelfile({ model, thinking: "on" });
    const auto = await buildModelfile({ model });
    expect(off.template).toContain("{{ if $last }}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n{{ else }}");
    expect(on.template).toBe(auto.template);
    expect(on.template).not.toContain("<think>");
    expect(off.verification?.same).toBe(true);
    expect(off.verification?.trainingPrompt.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(true);
    expect((await rejection(buildModelfile({ model, thinking: "maybe" as never }))).code).toBe("E_INVALID_OPTION");
  });

  it("an adapter's recorded thinking mode is what the TEMPLATE is derived with", () => {
    const header = (config: unknown) => ({ metadataByKey: new Map([["adapter.lora.training_config", { key: "adapter.lora.training_config", value: JSON.stringify(config) }]]) }) as unknown as GgufHeader;
    expect(trainingTemplateVariables(header({ thinking: "off" }))).toEqual({ enable_thinking: false });
    expect(trainingTemplateVariables(header({ thinking: "on" }))).toEqual({ enable_thinking: true });
    expect(trainingTemplateVariables(header({ thinking: "auto" }))).toEqual({});
    expect(trainingTemplateVariables(undefined)).toEqual({});
  });
});

describe("buildModelfile: stops", () => {
  it("the end-of-turn text training taught the model is a stop even when the vocabulary does not mark it end-of-generation (Reka's <sep>)", async () => {
    const model = await vocabOnlyModel("reka.gguf", "qwen2", chatTemplate("Reka-Edge"));
    const result = await buildModelfile({ model });
    expect(result.templateSource).toBe("derived-messages");
    expect(result.stops).toEqual(["<|endoftext|>", "<|im_end|>", "<sep>"]);
  });
});

describe("buildModelfile: fallbacks", () => {
  it("Qwen3.5, which ollama-utils cannot map: derived, with history turns as the chat template writes them (no think blocks) and <think> opening the answer", async () => {
    const model = await vocabOnlyModel("qwen3.5.gguf", "qwen2", chatTemplate("Qwen3.5-4B"));
    const result = await buildModelfile({ model });
    expect(result.templateSource).toBe("derived-messages");
    expect(result.template).toContain("{{ if $last }}<|im_end|>\n<|im_start|>assistant\n<think>\n{{ else }}<|im_end|>\n<|im_start|>assistant\n{{ end }}");
    expect(result.stops).toEqual(["<|endoftext|>", "<|im_end|>"]);
    expect(result.warnings).toEqual([]);
    expect(parseModelfile(result.text).template).toBe(result.template);
  });

  it("a template neither ollama-utils nor @huggingface/jinja can handle (ByteDance Seed-OSS): no TEMPLATE, with the reason", async () => {
    const model = await vocabOnlyModel("seed-oss.gguf", "qwen2", chatTemplate("ByteDance-Seed-OSS"));
    const result = await buildModelfile({ model, system: "Be brief." });
    expect(result.templateSource).toBe("none");
    expect(result.template).toBeUndefined();
    expect(result.warnings).toEqual([
      "ollama-utils could not map the chat template, and deriving one from its renders failed (the chat template failed while deriving an Ollama template: " +
        "Object keys must be strings: got IntegerValue); no TEMPLATE is written, so Ollama passes prompts through unchanged: " +
        "write a TEMPLATE by hand (https://github.com/ollama/ollama/blob/main/docs/template.md)",
      "SYSTEM has no effect without a TEMPLATE",
    ]);
    const parsed = parseModelfile(result.text);
    expect(parsed.template).toBeUndefined();
    expect(parsed.system).toBe("Be brief.");
    expect(result.text).not.toMatch(/^TEMPLATE/m);
  });

  it("a model without a chat template: no TEMPLATE, EOS as the stop", async () => {
    const model = file("base-no-template.gguf");
    await writeTinyModelGguf(model, { architecture: "llama", seed: 2, nEmbd: 64, nFf: 128, vocabSize: 512 });
    const result = await buildModelfile({ model });
    expect(result.templateSource).toBe("none");
    expect(result.stops).toEqual(["</s>"]);
    expect(result.warnings).toEqual([
      "the model has no chat template (tokenizer.chat_template), so no TEMPLATE is written and Ollama passes prompts through unchanged; " +
        "fine for a base model, not for a chat fine-tune",
    ]);
  });
});

describe("buildModelfile: quoting, parameters, bad input", () => {
  it("values that need quoting read back unchanged; parameters override the defaults; stop adds to the end-of-turn tokens", async () => {
    const systems = ['  leading and trailing spaces  ', 'ends with a quote"', '""starts with two quotes', 'a line\n"""inside""" but not at a line end\nmore', "", "tab\there"];
    for (const system of systems) {
      const result = await buildModelfile({ model: qwen, system, parameters: { stop: ["User:", ' "quoted" '], temperature: 0, min_p: 0.05, seed: 7 } });
      const parsed = parseModelfile(result.text);
      expect(parsed.system, JSON.stringify(system)).toBe(system);
      expect(parsed.parameters).toEqual([
        ["stop", "<|endoftext|>"],
        ["stop", "<|im_end|>"],
        ["stop", "User:"],
        ["stop", ' "quoted" '],
        ["temperature", "0"],
        ["top_p", "0.9"],
        ["repeat_penalty", "1"],
        ["min_p", "0.05"],
        ["seed", "7"],
      ]);
    }
    expect(Object.keys(modelfileDefaultParameters)).toEqual(["temperature", "top_p", "repeat_penalty"]);
  });

  it("refuses what a Modelfile cannot carry, and bad parameters", async () => {
    expect(await rejection(buildModelfile({ model: qwen, system: 'ends a line with """\nthen more' }))).toEqual({
      code: "E_BAD_MODELFILE",
      message: 'the system prompt has a line ending in """, which would close its """ quotes early',
    });
    expect(await rejection(buildModelfile({ model: qwen, system: "zero\u200bwidth" }))).toEqual({
      code: "E_BAD_MODELFILE",
      message: "the system prompt holds the character U+200B, which Ollama's Modelfile parser drops",
    });
    expect(await rejection(buildModelfile({ model: qwen, parameters: { "top-k": 5 } }))).toEqual({
      code: "E_INVALID_OPTION",
      message: 'buildModelfile: parameter names are letters, digits and _, got "top-k"',
    });
    expect(await rejection(buildModelfile({ model: qwen, parameters: { temperature: Number.NaN } }))).toEqual({
      code: "E_INVALID_OPTION",
      message: "buildModelfile: parameters.temperature must be a finite number or a non-empty string, got number NaN",
    });
    expect((await rejection(buildModelfile({ model: qwen, adaptor: "x" } as never))).code).toBe("E_INVALID_OPTION");
  });

  it("checks the files: missing, an adapter given as the model, a model as the adapter, an adapter for another architecture", async () => {
    expect((await rejection(buildModelfile({ model: file("missing.gguf") }))).code).toBe("E_INPUT_NOT_FOUND");
    expect(await rejection(buildModelfile({ model: mistralAdapter }))).toMatchObject({ code: "E_WRONG_KIND" });
    expect(await rejection(buildModelfile({ model: mistral, adapter: qwen }))).toMatchObject({ code: "E_WRONG_KIND" });
    const qwenModel = file("tiny-qwen2.gguf");
    const qwenAdapter = file("tiny-qwen2-adapter.gguf");
    await writeTinyModelGguf(qwenModel, { architecture: "qwen2", seed: 2, nEmbd: 64, nFf: 128, vocabSize: 512 });
    await writeRandomAdapter(qwenModel, qwenAdapter, { rank: 4, alpha: 8, seed: 1, bStd: 0.01 });
    expect(await rejection(buildModelfile({ model: mistral, adapter: qwenAdapter }))).toEqual({
      code: "E_ADAPTER_MISMATCH",
      message: `buildModelfile: ${qwenAdapter} is an adapter for qwen2, but ${mistral} is llama`,
    });
  });
});

describe("parseModelfile (Ollama's parser rules)", () => {
  it("reads comments, bare values with spaces, quoted and multi-line values, MESSAGE, case-insensitive commands", () => {
    const parsed = parseModelfile(
      [
        "# a comment",
        "from /models/my model.gguf",
        "ADAPTER ./a.gguf",
        'TEMPLATE """{{ .System }}',
        '  "quoted" {{ .Prompt }}"""',
        'SYSTEM "one line"',
        "PARAMETER stop <|im_end|>",
        'PARAMETER stop "  spaced  "',
        "PARAMETER num_ctx 4096",
        'MESSAGE user "hi there"',
        "",
      ].join("\n"),
    );
    expect(parsed).toMatchObject({
      from: "/models/my model.gguf",
      adapters: ["./a.gguf"],
      template: '{{ .System }}\n  "quoted" {{ .Prompt }}',
      system: "one line",
      parameters: [
        ["stop", "<|im_end|>"],
        ["stop", "  spaced  "],
        ["num_ctx", "4096"],
      ],
      messages: [["user", "hi there"]],
    });
  });

  it("rejects what Ollama rejects, with the line", () => {
    const failure = (text: string) => {
      try {
        parseModelfile(text);
      } catch (error) {
        if (isLoraGgufError(error)) return `${error.code}: ${error.message}`;
        throw error;
      }
      return "parsed";
    };
    expect(failure("FROM a.gguf\nWHATEVER x\n")).toBe(
      'E_BAD_MODELFILE: parseModelfile: line 2: command must be one of "from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", "requires"',
    );
    expect(failure('FROM a.gguf\nTEMPLATE """never closed\n')).toBe("E_BAD_MODELFILE: parseModelfile: line 3: unexpected end of file inside a quoted value");
    expect(failure("SYSTEM hi\n")).toBe("E_BAD_MODELFILE: parseModelfile: no FROM line");
    expect(failure("FROM a.gguf\nMESSAGE robot hi\n")).toBe('E_BAD_MODELFILE: parseModelfile: line 2: message role must be one of "system", "user", or "assistant"');
  });
});

describe("lora-gguf modelfile", () => {
  it("--help lists every flag", () => {
    const help = run("modelfile", "--help");
    expect(help.code).toBe(0);
    for (const flag of ["--model", "--lora", "--system", "--parameter", "--output", "--force", "--json", "--thinking", "--verify"]) expect(help.stdout).toContain(flag);
  });

  it("writes the Modelfile with paths relative to it, and prints the ollama create command", () => {
    const dir = file("cli-out");
    mkdirSync(dir);
    const output = path.join(dir, "Modelfile");
    const result = run("modelfile", "--model", mistral, "--lora", mistralAdapter, "--system", "Reply in French.", "--parameter", "num_ctx=2048", "-o", output);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`wrote ${output} (TEMPLATE: derived from the chat template, multi-turn; 1 stop sequences)\nnext: ollama create mistral -f ${output}\n`);
    // the derived TEMPLATE is exact, so there is nothing to warn about
    expect(result.stderr).not.toContain("warning");
    const parsed = parseModelfile(readFileSync(output, "utf8"));
    expect(parsed).toMatchObject({ from: "../mistral.gguf", adapters: ["../mistral-adapter.gguf"], system: "Reply in French." });
    expect(parsed.parameters.at(-1)).toEqual(["num_ctx", "2048"]);

    const again = run("modelfile", "--model", mistral, "-o", output);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`lora-gguf: modelfile: ${output} already exists; pass force (--force) to overwrite it [E_OUTPUT_EXISTS]\n`);
    expect(run("modelfile", "--model", mistral, "-o", output, "--force").code).toBe(0);
    expect(parseModelfile(readFileSync(output, "utf8")).adapters).toEqual([]);
  });

  it("--verify prints a sample prompt as training renders it and says whether Ollama's is the same", () => {
    const verified = run("modelfile", "--model", qwen, "--verify");
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain("verify: Ollama's prompt is the one training renders\n--- prompt as training renders it ---\n<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
    expect(verified.stderr).toContain("<|im_start|>user\nAnd of Italy?<|im_end|>\n<|im_start|>assistant\n\n---\n");
  });

  it("prints the Modelfile without -o; --json gives the result", async () => {
    const printed = run("modelfile", "--model", qwen);
    expect(printed.code, printed.stderr).toBe(0);
    expect(parseModelfile(printed.stdout).template).toBe((await buildModelfile({ model: qwen })).template);
    expect(printed.stderr).toBe("save it as Modelfile, then run: ollama create qwen2.5 -f Modelfile\n");

    const json = run("modelfile", "--model", llama3, "--json");
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ templateSource: "derived-messages", ollamaModel: "library/llama3.1:8b", stops: ["<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"], warnings: [] });
    expect(parseModelfile(result.text).template).toBe(result.template);
  });

  it("exit codes: a missing model is 1 with [E_INPUT_NOT_FOUND]; usage errors are 2", () => {
    const missing = run("modelfile", "--model", file("missing.gguf"), "-o", file("never-written"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`lora-gguf: GGUF file not found: ${file("missing.gguf")} [E_INPUT_NOT_FOUND]\n`);
    expect(existsSync(file("never-written"))).toBe(false);
    expect(run("modelfile").code).toBe(2);
    expect(run("modelfile", "--model", qwen, "--parameter", "temperature").code).toBe(2);
    expect(run("modelfile", "--model", qwen, "--parameter", "top-k=3").code).toBe(2);
  });
});

/** Ollama's library template for qwen2.5 (ollama-utils' table, entry library/qwen2.5-coder:1.5b). */

const NEMO_TEMPLATE =
  "{{- $first := true }}{{- range $i, $_ := .Messages }}{{- $last := eq (len (slice $.Messages $i)) 1 }}" +
  '{{- if eq .Role "user" }}{{ if $first }}[INST]{{ $first = false }}{{ end }}{{ if and $last $.System }}{{ $.System }}\n\n{{ end }}{{ .Content }}' +
  "{{ if $last }}[/INST]{{ else }}[/INST]{{ end }}" +
  '{{- else if eq .Role "assistant" }}{{ .Content }}{{ if not $last }}</s>[INST]{{ end }}{{- end }}{{- end }}';
