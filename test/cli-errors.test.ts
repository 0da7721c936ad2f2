// Every failure a user can provoke through the CLI, command by command, ends as "lora-gguf: ...":
// a LoraGgufError with its [E_...] code (exit 1, or 2 for E_INVALID_OPTION / E_UNKNOWN_TYPE) or a
// usage error (exit 2), never "unexpected error" with a stack, and leaves nothing behind.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { quantize, readGgufHeader, stringEntry, train, writeGgufFile, type LoraGgufErrorCode } from "../src/index.js";
import { packageRoot } from "../src/native.js";
import { writeAdapterGguf } from "../src/train/adapter-file.js";
import { writeTinyHfCheckpoint } from "../src/testing/tiny-hf-checkpoint.js";
import { tinyHfTokenizer, tinyHfTokenizerFiles } from "../src/testing/tiny-hf-tokenizer.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { writeTinyModelGguf } from "../src/testing/tiny-model.js";
import { writeTinyPeftAdapter } from "../src/testing/tiny-peft-adapter.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { makeTempDir } from "./helpers/temp-dir.js";
import { writeRandomAdapter } from "./helpers/tiny-adapter.js";
import { writeVocabOnlyGguf } from "./helpers/vocab-only-gguf.js";

const temp = makeTempDir("cli-errors");
const cli = path.join(packageRoot, "dist", "cli", "main.js");
const at = (...parts: string[]) => path.join(temp.dir, ...parts);

/** A directory no file can be created in: /proc on Linux (even for root), else a read-only one unless we are root. */
const unwritable = process.platform === "linux" ? "/proc" : process.getuid?.() !== 0 ? at("read-only") : undefined;

interface FailureCase {
  /** What is wrong, for the test name. */
  what: string;
  args: string[];
  /** The LoraGgufError code; without it, a usage error (exit 2) from commander or a command's own check. */
  code?: LoraGgufErrorCode;
  /** Matched against stderr as well. */
  message?: RegExp;
  /** Paths that must not exist afterwards (outputs the failure must not have written). */
  absent?: string[];
}

interface CliRun {
  exitCode: number | null;
  stderr: string;
}

function runCli(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: temp.dir, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (exitCode) => resolve({ exitCode, stderr }));
  });
}

/** Runs the cases two at a time (2-core machines: node's start-up dominates each run). */
async function runAll(cases: readonly FailureCase[]): Promise<CliRun[]> {
  const results: CliRun[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const index = next++;
      results[index] = await runCli(cases[index].args);
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

function expectFailure(failure: FailureCase, run: CliRun): void {
  const context = `lora-gguf ${failure.args.join(" ")}\n${run.stderr}`;
  expect(run.stderr, context).not.toContain("unexpected error");
  expect(run.stderr, context).not.toMatch(/^\s+at /m);
  if (failure.code) {
    expect(run.stderr, context).toMatch(new RegExp(`^lora-gguf: .*\\[${failure.code}\\]$`, "ms"));
    expect(run.exitCode, context).toBe(failure.code === "E_INVALID_OPTION" || failure.code === "E_UNKNOWN_TYPE" ? 2 : 1);
  } else {
    expect(run.stderr, context).toMatch(/^lora-gguf: error: /m);
    expect(run.stderr, context).not.toMatch(/\[E_[A-Z_]+\]/);
    expect(run.exitCode, context).toBe(2);
  }
  if (failure.message) expect(run.stderr, context).toMatch(failure.message);
  for (const file of failure.absent ?? []) expect(existsSync(file), `${file} after ${context}`).toBe(false);
}

/** One test per case; the command's cases run together, two processes at a time, before the first. */
function describeFailures(command: string, cases: () => FailureCase[]): void {
  describe(`lora-gguf ${command}`, () => {
    let list: FailureCase[] = [];
    let runs: CliRun[] = [];
    beforeAll(async () => {
      list = cases();
      runs = await runAll(list);
    });
    // the names are known before the fixtures exist: the case list is built once here for them
    for (const [index, { what }] of cases().entries()) {
      it(what, () => expectFailure(list[index], runs[index]));
    }
  });
}

// ---- fixtures: tiny, generated ----
const model = at("model.gguf");
const otherModel = at("model-seed2.gguf");
const plainModel = at("plain.gguf");
const wideModel = at("wide.gguf");
const qwenModel = at("qwen2.gguf");
const vocabOnly = at("vocab-only.gguf");
const gpt2Model = at("gpt2.gguf");
const q8Model = at("model-q8_0.gguf");
const brokenTemplateModel = at("broken-template.gguf");
const raisingTemplateModel = at("raising-template.gguf");
const staticTemplateModel = at("static-template.gguf");
const adapter = at("adapter.gguf");
const wideAdapter = at("wide-adapter.gguf");
const qwenAdapter = at("qwen2-adapter.gguf");
const rank64Adapter = at("rank64-adapter.gguf");
const mixedRankAdapter = at("mixed-rank-adapter.gguf");
const truncated = at("truncated.gguf");
const headerCut = at("header-cut.gguf");
const text = at("text.gguf");
const empty = at("empty.gguf");
const aFile = at("a-file");
const aDir = at("a-dir");
const data = at("data.jsonl");
const otherData = at("other-data.jsonl");
const run = at("run");
const checkpoint = at("run", "checkpoint.gguf");
const trainedAdapter = at("run", "adapter.gguf");
const hf = at("hf");
const peft = at("peft");
const peftQ = at("peft-q");
const threeHeadsModel = at("three-heads.gguf");
const brokenTemplate = at("broken.jinja");
const raisingTemplate = at("raising.jinja");
const staticTemplate = at("static.jinja");
const datasets = {
  empty: at("empty.jsonl"),
  columns: at("columns.jsonl"),
  malformed: at("malformed.jsonl"),
  csv: at("malformed.csv"),
  csvColumns: at("columns.csv"),
  noAssistant: at("no-assistant.jsonl"),
  notRecords: at("not-records.json"),
  truncatedJson: at("truncated.json"),
  longPrompt: at("long-prompt.jsonl"),
  one: at("one.jsonl"),
};
/** A fresh directory per case that writes, so that one case's output is not another's "exists". */
const out = (name: string) => {
  const dir = at("out", name);
  mkdirSync(dir, { recursive: true });
  return dir;
};
/** A copy of the tiny checkpoint `base` (or PEFT adapter) with `edit` applied. */
const variant = (base: string, name: string, edit: (dir: string) => void) => {
  const dir = at(name);
  cpSync(base, dir, { recursive: true });
  edit(dir);
  return dir;
};
const editJson = (file: string, edit: (value: Record<string, unknown>) => void) => {
  const value = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(value);
  writeFileSync(file, JSON.stringify(value));
};
/** Edited copies of the run's checkpoint.gguf, as a resume would meet them after a tool or a hand changed one. */
const editedCheckpoints = {
  noConfig: at("checkpoint-no-config.gguf"),
  configNotJson: at("checkpoint-config-not-json.gguf"),
  configNull: at("checkpoint-config-null.gguf"),
  noStep: at("checkpoint-no-step.gguf"),
  noTensors: at("checkpoint-no-tensors.gguf"),
  noMoments: at("checkpoint-no-moments.gguf"),
  halfPair: at("checkpoint-half-pair.gguf"),
};
let hfVariants: Record<string, string> = {};
let plainModelBytes: Buffer;
let peftVariants: Record<string, string> = {};

const small = { seed: 1, nLayer: 1, nEmbd: 64, nHead: 2, nHeadKv: 1, nFf: 128, vocabSize: 512 } as const;

beforeAll(async () => {
  await writeTinyLlamaGguf(model, { ...small, chatTemplate: instTemplate });
  // other weights, and no chat template: baseModelFingerprint hashes the header and file size only, so other weights alone pass as the same file
  await writeTinyLlamaGguf(otherModel, { ...small, seed: 2 });
  await writeTinyLlamaGguf(plainModel, small);
  plainModelBytes = readFileSync(plainModel);
  await writeTinyLlamaGguf(wideModel, { ...small, nEmbd: 128, nFf: 256, chatTemplate: instTemplate });
  await writeTinyModelGguf(qwenModel, { ...small, architecture: "qwen2", chatTemplate: instTemplate });
  await writeTinyLlamaGguf(brokenTemplateModel, { ...small, chatTemplate: "{% for message in messages %}{{ message.content " });
  await writeTinyLlamaGguf(raisingTemplateModel, { ...small, chatTemplate: "{{ raise_exception('this template refuses every conversation') }}" });
  await writeTinyLlamaGguf(staticTemplateModel, { ...small, chatTemplate: "static text" });
  await writeVocabOnlyGguf(vocabOnly, "llama", (await readGgufHeader(model)).metadata.filter((entry) => entry.key.startsWith("tokenizer.")));
  await writeGgufFile(gpt2Model, { metadata: [stringEntry("general.architecture", "gpt2")], tensors: [] });
  await quantize(model, q8Model, { type: "q8_0" });

  await writeRandomAdapter(model, adapter, { rank: 4, alpha: 8, seed: 1, bStd: 0.01 });
  await writeRandomAdapter(wideModel, wideAdapter, { rank: 4, alpha: 8, seed: 1, bStd: 0.01 });
  await writeRandomAdapter(qwenModel, qwenAdapter, { rank: 4, alpha: 8, seed: 1, bStd: 0.01 });
  await writeRandomAdapter(model, rank64Adapter, { rank: 64, alpha: 64, seed: 1, bStd: 0.01 });
  // attn_v (64 -> 32) at rank 4 and ffn_up (64 -> 128) at rank 8: PEFT has one r per adapter
  const factor = (name: string, dims: [number, number]) => ({ name, dims, data: new Float32Array(dims[0] * dims[1]).fill(0.01) });
  await writeAdapterGguf(mixedRankAdapter, {
    architecture: "llama",
    alpha: 8,
    tensors: [
      factor("blk.0.attn_v.weight.lora_a", [64, 4]),
      factor("blk.0.attn_v.weight.lora_b", [4, 32]),
      factor("blk.0.ffn_up.weight.lora_a", [64, 8]),
      factor("blk.0.ffn_up.weight.lora_b", [8, 128]),
    ],
  });

  const modelBytes = readFileSync(model);
  writeFileSync(truncated, modelBytes.subarray(0, modelBytes.length >> 1));
  writeFileSync(headerCut, modelBytes.subarray(0, 100));
  writeFileSync(text, "hello, not a GGUF\n");
  writeFileSync(empty, "");
  writeFileSync(aFile, "a plain file\n");
  mkdirSync(aDir);
  if (unwritable === at("read-only")) mkdirSync(unwritable, { mode: 0o555 });

  writeMemorizationJsonl(data, 4);
  writeMemorizationJsonl(otherData, 3);
  writeFileSync(datasets.empty, "");
  writeFileSync(datasets.columns, '{"foo": 1}\n{"foo": 2}\n');
  writeFileSync(datasets.malformed, '{"messages": [\n');
  writeFileSync(datasets.csv, 'instruction,output\n"never closed,1\n');
  writeFileSync(datasets.csvColumns, "foo,bar\n1,2\n");
  writeFileSync(datasets.noAssistant, `${JSON.stringify({ messages: [{ role: "user", content: "hi" }] })}\n`);
  writeFileSync(datasets.notRecords, "[1, 2, 3]\n");
  writeFileSync(datasets.truncatedJson, '[{"instruction": "a", "output": ');
  const longPrompt = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
  writeFileSync(datasets.longPrompt, `${JSON.stringify({ messages: [{ role: "user", content: longPrompt }, { role: "assistant", content: "ok" }] })}\n`);
  writeMemorizationJsonl(datasets.one, 1);
  writeFileSync(brokenTemplate, "{{ bos_token }}{% for message in messages %}{{ message.content ");
  writeFileSync(raisingTemplate, "{{ raise_exception('no') }}");
  writeFileSync(staticTemplate, "static text\n");

  mkdirSync(run);
  await train({ model, data, output: trainedAdapter, maxSteps: 1, threads: 2 });
  const header = await readGgufHeader(checkpoint);
  const bytes = readFileSync(checkpoint);
  const tensors = header.tensors.map((tensor) => ({
    name: tensor.name, dims: tensor.dims, type: tensor.type, data: bytes.subarray(tensor.absoluteOffset, tensor.absoluteOffset + tensor.byteSize),
  }));
  const configKey = "lora_gguf.checkpoint.config";
  const rewrite = (file: string, edit: { metadata?: (entry: (typeof header.metadata)[number]) => boolean | string; tensors?: (name: string) => boolean }) =>
    writeGgufFile(file, {
      metadata: header.metadata.flatMap((entry) => {
        const kept = edit.metadata?.(entry) ?? true;
        return kept === false ? [] : [typeof kept === "string" ? { ...entry, value: kept } : entry];
      }),
      tensors: tensors.filter((tensor) => edit.tensors?.(tensor.name) ?? true),
    });
  await rewrite(editedCheckpoints.noConfig, { metadata: (entry) => entry.key !== configKey });
  await rewrite(editedCheckpoints.configNotJson, { metadata: (entry) => (entry.key === configKey ? "{not json" : true) });
  await rewrite(editedCheckpoints.configNull, { metadata: (entry) => (entry.key === configKey ? "null" : true) });
  await rewrite(editedCheckpoints.noStep, { metadata: (entry) => entry.key !== "lora_gguf.checkpoint.step" });
  await rewrite(editedCheckpoints.noTensors, { tensors: () => false });
  await rewrite(editedCheckpoints.noMoments, { tensors: (name) => !name.includes(".adamw_") });
  await rewrite(editedCheckpoints.halfPair, { tensors: (name) => !name.startsWith("blk.0.attn_k.weight.lora_b") });

  const tokenizer = await tinyHfTokenizer({ family: "llama3", keepTokens: 600 });
  await writeTinyHfCheckpoint(hf, {
    architecture: "llama", dtype: "float32", seed: 2, nLayer: 1, hiddenSize: 64, nHead: 4, nKvHead: 2, intermediateSize: 128,
    maxPositionEmbeddings: 512, ropeTheta: 500000, rmsNormEps: 1e-5, vocabSize: tokenizer.vocabSize, tokenizerFiles: tinyHfTokenizerFiles(tokenizer),
  });
  hfVariants = {
    otherArchitecture: variant(hf, "hf-gpt-neox", (dir) => editJson(path.join(dir, "config.json"), (config) => (config.architectures = ["GPTNeoXForCausalLM"]))),
    noArchitectures: variant(hf, "hf-no-architectures", (dir) => editJson(path.join(dir, "config.json"), (config) => delete config.architectures)),
    sentencePiece: variant(hf, "hf-sentencepiece", (dir) => {
      rmSync(path.join(dir, "tokenizer.json"));
      writeFileSync(path.join(dir, "tokenizer.model"), "\x00sentencepiece");
    }),
    unigram: variant(hf, "hf-unigram", (dir) => writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "Unigram", vocab: [["<unk>", 0]] } }))),
    badTokenizer: variant(hf, "hf-bad-tokenizer", (dir) => writeFileSync(path.join(dir, "tokenizer.json"), "{ not json")),
    noTokenizer: variant(hf, "hf-no-tokenizer", (dir) => rmSync(path.join(dir, "tokenizer.json"))),
    // numbers in runs of up to 2 digits instead of Llama 3's 3: a pre-tokenizer llama.cpp has no name for
    unknownPreTokenizer: variant(hf, "hf-unknown-pre-tokenizer", (dir) => {
      const file = path.join(dir, "tokenizer.json");
      writeFileSync(file, readFileSync(file, "utf8").replace("\\\\p{N}{1,3}", "\\\\p{N}{1,2}"));
    }),
    badConfig: variant(hf, "hf-bad-config", (dir) => writeFileSync(path.join(dir, "config.json"), "{")),
    configArray: variant(hf, "hf-config-array", (dir) => writeFileSync(path.join(dir, "config.json"), "[]")),
    configType: variant(hf, "hf-config-type", (dir) => editJson(path.join(dir, "config.json"), (config) => (config.num_hidden_layers = "two"))),
    noWeights: variant(hf, "hf-no-weights", (dir) => rmSync(path.join(dir, "model.safetensors"))),
    truncatedWeights: variant(hf, "hf-truncated-weights", (dir) => writeFileSync(path.join(dir, "model.safetensors"), readFileSync(path.join(hf, "model.safetensors")).subarray(0, 5000))),
    textWeights: variant(hf, "hf-text-weights", (dir) => writeFileSync(path.join(dir, "model.safetensors"), "hello\n")),
    otherShapes: variant(hf, "hf-other-shapes", (dir) => editJson(path.join(dir, "config.json"), (config) => (config.hidden_size = 128))),
  };
  await writeTinyPeftAdapter(peft, { modules: [{ name: "self_attn.v_proj", out: 32, in: 64 }], layers: 1, rank: 4, alpha: 8, seed: 3 });
  // q_proj's rows are permuted per rotary head: 64 rows do not split into 3 heads of an even size
  await writeTinyPeftAdapter(peftQ, { modules: [{ name: "self_attn.q_proj", out: 64, in: 64 }], layers: 1, rank: 4, alpha: 8, seed: 3 });
  const modelHeader = await readGgufHeader(model);
  await writeGgufFile(threeHeadsModel, {
    metadata: modelHeader.metadata.map((entry) => (entry.key === "llama.attention.head_count" ? { ...entry, value: 3 } : entry)),
    tensors: modelHeader.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: modelBytes.subarray(t.absoluteOffset, t.absoluteOffset + t.byteSize) })),
  });
  peftVariants = {
    dora: variant(peft, "peft-dora", (dir) => editJson(path.join(dir, "adapter_config.json"), (config) => (config.use_dora = true))),
    ia3: variant(peft, "peft-ia3", (dir) => editJson(path.join(dir, "adapter_config.json"), (config) => (config.peft_type = "IA3"))),
    badConfig: variant(peft, "peft-bad-config", (dir) => writeFileSync(path.join(dir, "adapter_config.json"), "{")),
    noWeights: variant(peft, "peft-no-weights", (dir) => rmSync(path.join(dir, "adapter_model.safetensors"))),
  };
}, 120_000);
afterAll(() => temp.cleanup());

const unwritableCase = (what: string, args: (dir: string) => string[], extra: Partial<FailureCase> = {}): FailureCase[] =>
  unwritable === undefined ? [] : [{ what: `${what} (${unwritable})`, args: args(unwritable), code: "E_OUTPUT_DIR", ...extra }];

describeFailures("(no command)", () => [
  { what: "no command", args: [] },
  { what: "an unknown command", args: ["fine-tune"] },
  { what: "an unknown option", args: ["--bogus"] },
]);

describeFailures("inspect", () => [
  { what: "a missing file", args: ["inspect", at("missing.gguf")], code: "E_INPUT_NOT_FOUND", message: /GGUF file not found/ },
  { what: "a directory", args: ["inspect", aDir], code: "E_INPUT_NOT_FOUND", message: /is not a regular file/ },
  { what: "a path under a file", args: ["inspect", path.join(aFile, "x.gguf")], code: "E_INPUT_NOT_FOUND" },
  { what: "a text file", args: ["inspect", text], code: "E_BAD_GGUF", message: /not a GGUF file/ },
  { what: "an empty file", args: ["inspect", empty], code: "E_BAD_GGUF", message: /the file is empty/ },
  { what: "a dataset", args: ["inspect", data], code: "E_BAD_GGUF" },
  { what: "a GGUF cut in its tensor data", args: ["inspect", truncated], code: "E_BAD_GGUF", message: /truncated GGUF/ },
  { what: "a GGUF cut in its header", args: ["inspect", headerCut], code: "E_BAD_GGUF" },
  { what: "no file", args: ["inspect"], message: /missing required argument 'file'/ },
  { what: "two files", args: ["inspect", model, model], message: /too many arguments/ },
  { what: "an unknown option", args: ["inspect", model, "--bogus"], message: /unknown option '--bogus'/ },
]);

describeFailures("quantize", () => {
  const output = (name: string) => path.join(out(`quantize-${name}`), "out.gguf");
  return [
    { what: "a missing input", args: ["quantize", at("missing.gguf"), output("missing"), "--type", "q8_0"], code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as input", args: ["quantize", aDir, output("dir"), "--type", "q8_0"], code: "E_INPUT_NOT_FOUND" },
    { what: "a text file as input", args: ["quantize", text, output("text"), "--type", "q8_0"], code: "E_BAD_GGUF" },
    { what: "a dataset as input", args: ["quantize", data, output("data"), "--type", "q8_0"], code: "E_BAD_GGUF" },
    { what: "a truncated GGUF", args: ["quantize", truncated, output("truncated"), "--type", "q8_0"], code: "E_BAD_GGUF" },
    { what: "an adapter as the model", args: ["quantize", adapter, output("adapter"), "--type", "q8_0"], code: "E_WRONG_KIND", message: /merge it into its base model first/ },
    { what: "a vocabulary-only GGUF", args: ["quantize", vocabOnly, output("vocab"), "--type", "q8_0"], code: "E_WRONG_KIND", message: /no tensors/ },
    { what: "an already quantized input", args: ["quantize", q8Model, output("requantize"), "--type", "q4_0"], code: "E_REQUANTIZE", absent: [output("requantize")] },
    { what: "an unknown type", args: ["quantize", model, output("type"), "--type", "q9_9"], code: "E_UNKNOWN_TYPE", message: /unknown quantization type "q9_9"/ },
    { what: "a type that needs an importance matrix", args: ["quantize", model, output("imatrix"), "--type", "iq2_xxs"], code: "E_NEEDS_IMATRIX" },
    { what: "--threads -1", args: ["quantize", model, output("threads-negative"), "--type", "q8_0", "--threads", "-1"], message: /--threads <n>' argument '-1' is invalid/ },
    { what: "--threads abc", args: ["quantize", model, output("threads-text"), "--type", "q8_0", "--threads", "abc"], message: /--threads <n>' argument 'abc' is invalid/ },
    { what: "--threads 0", args: ["quantize", model, output("threads-zero"), "--type", "q8_0", "--threads", "0"], message: /argument '0' is invalid/ },
    { what: "--threads 5000", args: ["quantize", model, output("threads-many"), "--type", "q8_0", "--threads", "5000"], code: "E_INVALID_OPTION", message: /threads must be an integer from 1 to 1024/ },
    { what: "the output is the input", args: ["quantize", model, model, "--type", "q8_0", "--force"], code: "E_INVALID_OPTION", message: /is also an input/ },
    { what: "the output exists", args: ["quantize", model, plainModel, "--type", "q8_0"], code: "E_OUTPUT_EXISTS", message: /--force/ },
    { what: "the output is a directory", args: ["quantize", model, aDir, "--type", "q8_0", "--force"], code: "E_OUTPUT_EXISTS", message: /is a directory/ },
    { what: "the output's directory is a file", args: ["quantize", model, path.join(aFile, "out.gguf"), "--type", "q8_0"], code: "E_OUTPUT_DIR" },
    { what: "the output's directory is missing", args: ["quantize", model, at("no-such-dir", "out.gguf"), "--type", "q8_0"], code: "E_OUTPUT_DIR", message: /does not exist/ },
    ...unwritableCase("the output's directory is not writable", (dir) => ["quantize", model, path.join(dir, "out.gguf"), "--type", "q8_0"]),
    { what: "no output", args: ["quantize", model, "--type", "q8_0"], message: /needs <input> and <output>/ },
    { what: "no --type", args: ["quantize", model, output("no-type")], message: /required option '-t, --type <type>'/ },
  ];
});

describeFailures("convert", () => {
  const output = (name: string) => path.join(out(`convert-${name}`), "out.gguf");
  const convert = (dir: string, name: string, ...flags: string[]): string[] => ["convert", dir, "-o", output(name), ...flags];
  return [
    { what: "a missing directory", args: convert(at("no-such-checkpoint"), "missing"), code: "E_INPUT_NOT_FOUND", message: /has no config\.json/ },
    { what: "a GGUF instead of a checkpoint directory", args: convert(model, "gguf"), code: "E_INPUT_NOT_FOUND", message: /give the directory of a Hugging Face checkpoint/ },
    { what: "a plain file", args: convert(aFile, "file"), code: "E_INPUT_NOT_FOUND" },
    { what: "an architecture it does not convert", args: convert(hfVariants.otherArchitecture, "arch"), code: "E_UNSUPPORTED_ARCH", message: /GPTNeoXForCausalLM.*LlamaForCausalLM/ },
    { what: "config.json without architectures", args: convert(hfVariants.noArchitectures, "no-arch"), code: "E_UNSUPPORTED_ARCH" },
    { what: "a tokenizer.model that is not a SentencePiece ModelProto", args: convert(hfVariants.sentencePiece, "spm"), code: "E_BAD_TOKENIZER", message: /tokenizer\.model: ModelProto has a field key 0/ },
    { what: "a Unigram tokenizer", args: convert(hfVariants.unigram, "unigram"), code: "E_UNSUPPORTED_TOKENIZER" },
    { what: "tokenizer.json that is not JSON", args: convert(hfVariants.badTokenizer, "bad-tokenizer"), code: "E_BAD_TOKENIZER" },
    { what: "no tokenizer.json", args: convert(hfVariants.noTokenizer, "no-tokenizer"), code: "E_INPUT_NOT_FOUND", message: /has no tokenizer\.json/ },
    { what: "a pre-tokenizer llama.cpp does not know", args: convert(hfVariants.unknownPreTokenizer, "pre"), code: "E_UNKNOWN_PRE_TOKENIZER", message: /--pre-tokenizer/ },
    { what: "an unknown --pre-tokenizer", args: convert(hf, "pre-name", "--pre-tokenizer", "llama4-ish"), code: "E_INVALID_OPTION" },
    { what: "config.json that is not JSON", args: convert(hfVariants.badConfig, "bad-config"), code: "E_BAD_CHECKPOINT_DIR" },
    { what: "config.json that is not an object", args: convert(hfVariants.configArray, "config-array"), code: "E_BAD_CHECKPOINT_DIR" },
    { what: "config.json with a value of the wrong type", args: convert(hfVariants.configType, "config-type"), code: "E_BAD_CHECKPOINT_DIR", message: /num_hidden_layers/ },
    { what: "no safetensors", args: convert(hfVariants.noWeights, "no-weights"), code: "E_INPUT_NOT_FOUND" },
    { what: "a truncated safetensors file", args: convert(hfVariants.truncatedWeights, "truncated"), code: "E_BAD_SAFETENSORS", absent: [output("truncated")] },
    { what: "a text file as safetensors", args: convert(hfVariants.textWeights, "text-weights"), code: "E_BAD_SAFETENSORS" },
    { what: "weights of other shapes than config.json says", args: convert(hfVariants.otherShapes, "shapes"), code: "E_BAD_CHECKPOINT_DIR" },
    { what: "an unknown --outtype", args: convert(hf, "outtype", "--outtype", "q4_k"), message: /--outtype must be one of/ },
    { what: "the output exists", args: ["convert", hf, "-o", plainModel], code: "E_OUTPUT_EXISTS" },
    { what: "the output is the checkpoint directory", args: ["convert", hf, "-o", hf, "--force"], code: "E_INVALID_OPTION" },
    { what: "the output is a directory", args: ["convert", hf, "-o", aDir, "--force"], code: "E_OUTPUT_EXISTS" },
    { what: "the output's directory is a file", args: ["convert", hf, "-o", path.join(aFile, "out.gguf")], code: "E_OUTPUT_DIR" },
    { what: "the output's directory is missing", args: ["convert", hf, "-o", at("no-such-dir", "out.gguf")], code: "E_OUTPUT_DIR" },
    ...unwritableCase("the output's directory is not writable", (dir) => ["convert", hf, "-o", path.join(dir, "out.gguf")]),
    { what: "a PEFT adapter without --base", args: convert(peft, "peft-no-base"), code: "E_INVALID_OPTION", message: /--base/ },
    { what: "a PEFT adapter with a missing --base", args: convert(peft, "peft-missing-base", "--base", at("missing.gguf")), code: "E_INPUT_NOT_FOUND" },
    { what: "a PEFT adapter with a --base of other shapes", args: convert(peft, "peft-wide", "--base", wideModel), code: "E_ADAPTER_MISMATCH", absent: [output("peft-wide")] },
    { what: "a PEFT q_proj adapter with a --base whose heads do not split its rows", args: convert(peftQ, "peft-three-heads", "--base", threeHeadsModel), code: "E_ADAPTER_MISMATCH", message: /rotary heads of an even size/, absent: [output("peft-three-heads")] },
    { what: "a PEFT adapter with a text file as --base", args: convert(peft, "peft-text-base", "--base", text), code: "E_BAD_GGUF" },
    { what: "a PEFT adapter with a truncated --base", args: convert(peft, "peft-truncated-base", "--base", truncated), code: "E_BAD_GGUF" },
    { what: "a PEFT adapter with a --base of an unsupported architecture", args: convert(peft, "peft-arch-base", "--base", hfVariants.otherArchitecture), code: "E_UNSUPPORTED_ARCH" },
    { what: "a PEFT adapter with an unsupported GGUF --base", args: convert(peft, "peft-gpt2-base", "--base", gpt2Model), code: "E_UNSUPPORTED_ARCH" },
    { what: "a DoRA adapter", args: convert(peftVariants.dora, "dora", "--base", model), code: "E_UNSUPPORTED_ADAPTER", message: /DoRA/ },
    { what: "an IA3 adapter", args: convert(peftVariants.ia3, "ia3", "--base", model), code: "E_UNSUPPORTED_ADAPTER" },
    { what: "adapter_config.json that is not JSON", args: convert(peftVariants.badConfig, "peft-bad-config", "--base", model), code: "E_BAD_CHECKPOINT_DIR" },
    { what: "a PEFT adapter without its safetensors", args: convert(peftVariants.noWeights, "peft-no-weights", "--base", model), code: "E_INPUT_NOT_FOUND" },
    { what: "no directory", args: ["convert"], message: /missing required argument 'dir'/ },
  ];
});

describeFailures("merge", () => {
  const output = (name: string) => path.join(out(`merge-${name}`), "merged.gguf");
  const merge = (base: string, lora: string, name: string, ...flags: string[]): string[] => ["merge", "--model", base, "--lora", lora, "-o", output(name), ...flags];
  return [
    { what: "a missing model", args: merge(at("missing.gguf"), adapter, "missing-model"), code: "E_INPUT_NOT_FOUND" },
    { what: "a missing adapter", args: merge(model, at("missing.gguf"), "missing-adapter"), code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as the model", args: merge(aDir, adapter, "dir-model"), code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as the adapter", args: merge(model, aDir, "dir-adapter"), code: "E_INPUT_NOT_FOUND" },
    { what: "an adapter as the model", args: merge(adapter, adapter, "adapter-model"), code: "E_WRONG_KIND" },
    { what: "a model as the adapter", args: merge(model, plainModel, "model-adapter"), code: "E_WRONG_KIND" },
    { what: "a dataset as the model", args: merge(data, adapter, "data-model"), code: "E_BAD_GGUF" },
    { what: "a text file as the adapter", args: merge(model, text, "text-adapter"), code: "E_BAD_GGUF" },
    { what: "a truncated model", args: merge(truncated, adapter, "truncated-model"), code: "E_BAD_GGUF" },
    { what: "a truncated adapter", args: merge(model, truncated, "truncated-adapter"), code: "E_BAD_GGUF" },
    { what: "an adapter for another architecture", args: merge(model, qwenAdapter, "qwen"), code: "E_ADAPTER_MISMATCH", message: /is for qwen2/ },
    { what: "an adapter of other shapes", args: merge(model, wideAdapter, "wide"), code: "E_ADAPTER_MISMATCH", absent: [output("wide")] },
    { what: "an adapter of other shapes with --allow-other-base", args: merge(model, wideAdapter, "wide-allowed", "--allow-other-base"), code: "E_ADAPTER_MISMATCH" },
    { what: "a second adapter that does not fit", args: [...merge(model, adapter, "second"), "--lora", wideAdapter], code: "E_ADAPTER_MISMATCH" },
    { what: "an adapter trained on another model of the same shapes", args: merge(otherModel, trainedAdapter, "other-base"), code: "E_ADAPTER_MISMATCH", message: /--allow-other-base/ },
    { what: "a scale that is not a number", args: merge(model, `${adapter}:abc`, "scale-text"), message: /the scale after ':' must be a number/ },
    { what: "an empty scale", args: merge(model, `${adapter}:`, "scale-empty"), message: /the scale after ':' must be a number/ },
    { what: "an infinite scale", args: merge(model, `${adapter}:1e400`, "scale-infinite"), message: /the scale after ':' must be a number/ },
    { what: "a scale without a path", args: merge(model, ":0.5", "scale-only"), message: /give the adapter's path before ':'/ },
    { what: "an unknown --type", args: merge(model, adapter, "type", "--type", "q9"), code: "E_UNKNOWN_TYPE" },
    { what: "a --type that needs an importance matrix", args: merge(model, adapter, "imatrix", "--type", "iq2_xxs"), code: "E_NEEDS_IMATRIX" },
    { what: "--threads 0", args: merge(model, adapter, "threads-zero", "--threads", "0"), message: /--threads <n>' argument '0' is invalid/ },
    { what: "--threads 99999", args: merge(model, adapter, "threads-many", "--threads", "99999"), code: "E_INVALID_OPTION" },
    { what: "the output is the model", args: ["merge", "--model", model, "--lora", adapter, "-o", model, "--force"], code: "E_INVALID_OPTION", message: /is also an input/ },
    { what: "the output is the adapter", args: ["merge", "--model", model, "--lora", adapter, "-o", adapter, "--force"], code: "E_INVALID_OPTION" },
    { what: "the output exists", args: ["merge", "--model", model, "--lora", adapter, "-o", plainModel], code: "E_OUTPUT_EXISTS" },
    { what: "the output is a directory", args: ["merge", "--model", model, "--lora", adapter, "-o", aDir, "--force"], code: "E_OUTPUT_EXISTS" },
    { what: "the output's directory is a file", args: ["merge", "--model", model, "--lora", adapter, "-o", path.join(aFile, "m.gguf")], code: "E_OUTPUT_DIR" },
    { what: "the output's directory is missing", args: ["merge", "--model", model, "--lora", adapter, "-o", at("no-such-dir", "m.gguf")], code: "E_OUTPUT_DIR" },
    ...unwritableCase("the output's directory is not writable", (dir) => ["merge", "--model", model, "--lora", adapter, "-o", path.join(dir, "m.gguf")]),
    { what: "no --lora", args: ["merge", "--model", model, "-o", output("no-lora")], message: /required option '--lora/ },
    { what: "no --output", args: ["merge", "--model", model, "--lora", adapter], message: /required option '-o, --output/ },
  ];
});

describeFailures("export-peft", () => {
  const output = (name: string) => at("out", `peft-${name}`);
  const exportPeft = (file: string, name: string, ...flags: string[]): string[] => ["export-peft", file, "-o", output(name), ...flags];
  return [
    { what: "a missing adapter", args: exportPeft(at("missing.gguf"), "missing"), code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as the adapter", args: exportPeft(aDir, "dir"), code: "E_INPUT_NOT_FOUND" },
    { what: "a model as the adapter", args: exportPeft(model, "model"), code: "E_WRONG_KIND", message: /not a LoRA adapter/ },
    { what: "a text file as the adapter", args: exportPeft(text, "text"), code: "E_BAD_GGUF" },
    { what: "a truncated adapter", args: exportPeft(truncated, "truncated"), code: "E_BAD_GGUF" },
    { what: "q/k adapters without --base", args: exportPeft(adapter, "no-base"), code: "E_INVALID_OPTION", message: /--base/ },
    { what: "a missing --base", args: exportPeft(adapter, "missing-base", "--base", at("missing.gguf")), code: "E_INPUT_NOT_FOUND" },
    { what: "a --base of other shapes", args: exportPeft(adapter, "wide-base", "--base", wideModel), code: "E_ADAPTER_MISMATCH", absent: [output("wide-base")] },
    { what: "a --base of another architecture", args: exportPeft(adapter, "qwen-base", "--base", qwenModel), code: "E_ADAPTER_MISMATCH" },
    { what: "an adapter of another architecture than --base", args: exportPeft(qwenAdapter, "qwen-adapter", "--base", model), code: "E_ADAPTER_MISMATCH" },
    { what: "a text file as --base", args: exportPeft(adapter, "text-base", "--base", text), code: "E_BAD_GGUF" },
    { what: "a PEFT directory as --base", args: exportPeft(adapter, "peft-base", "--base", peft), code: "E_INPUT_NOT_FOUND" },
    { what: "a --base of an unsupported architecture", args: exportPeft(adapter, "gpt2-base", "--base", gpt2Model), code: "E_UNSUPPORTED_ARCH" },
    { what: "an adapter that mixes ranks", args: exportPeft(mixedRankAdapter, "mixed"), code: "E_UNSUPPORTED_ADAPTER", message: /mixes ranks/ },
    { what: "an unknown --target", args: exportPeft(adapter, "target", "--base", model, "--target", "azure"), message: /--target must be one of/ },
    { what: "--target cloudflare with a qwen2 adapter", args: exportPeft(qwenAdapter, "cloudflare-qwen", "--target", "cloudflare", "--base", qwenModel), code: "E_TARGET_UNSUPPORTED" },
    { what: "--target cloudflare with rank 64", args: exportPeft(rank64Adapter, "cloudflare-rank", "--target", "cloudflare", "--base", model), code: "E_TARGET_UNSUPPORTED", message: /rank 64/, absent: [output("cloudflare-rank")] },
    { what: "an empty --base-model-name", args: exportPeft(adapter, "empty-name", "--base", model, "--base-model-name", ""), code: "E_INVALID_OPTION" },
    { what: "the output is a file", args: ["export-peft", adapter, "-o", aFile, "--base", model], code: "E_OUTPUT_EXISTS", message: /is a file/ },
    { what: "the output's parent is a file", args: ["export-peft", adapter, "-o", path.join(aFile, "peft"), "--base", model], code: "E_OUTPUT_DIR" },
    { what: "the output's parent is missing", args: ["export-peft", adapter, "-o", at("no-such-dir", "peft"), "--base", model], code: "E_OUTPUT_DIR" },
    { what: "the output is a directory with files", args: ["export-peft", adapter, "-o", peft, "--base", model], code: "E_OUTPUT_EXISTS", message: /--force/ },
    ...unwritableCase("the output's parent is not writable", (dir) => ["export-peft", adapter, "-o", path.join(dir, "peft"), "--base", model]),
    { what: "no --output", args: ["export-peft", adapter], message: /required option '-o, --output/ },
  ];
});

describeFailures("modelfile", () => {
  const output = (name: string) => path.join(out(`modelfile-${name}`), "Modelfile");
  return [
    { what: "a missing model", args: ["modelfile", "--model", at("missing.gguf")], code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as the model", args: ["modelfile", "--model", aDir], code: "E_INPUT_NOT_FOUND" },
    { what: "a text file as the model", args: ["modelfile", "--model", text], code: "E_BAD_GGUF" },
    { what: "a truncated model", args: ["modelfile", "--model", truncated], code: "E_BAD_GGUF" },
    { what: "a dataset as the model", args: ["modelfile", "--model", data], code: "E_BAD_GGUF" },
    { what: "an adapter as the model", args: ["modelfile", "--model", adapter], code: "E_WRONG_KIND" },
    { what: "a missing --lora", args: ["modelfile", "--model", model, "--lora", at("missing.gguf")], code: "E_INPUT_NOT_FOUND" },
    { what: "a model as --lora", args: ["modelfile", "--model", model, "--lora", plainModel], code: "E_WRONG_KIND" },
    { what: "a text file as --lora", args: ["modelfile", "--model", model, "--lora", text], code: "E_BAD_GGUF" },
    { what: "an adapter for another architecture", args: ["modelfile", "--model", model, "--lora", qwenAdapter], code: "E_ADAPTER_MISMATCH" },
    { what: "an adapter of other shapes", args: ["modelfile", "--model", model, "--lora", wideAdapter, "-o", output("wide")], code: "E_ADAPTER_MISMATCH", message: /do not fit/, absent: [output("wide")] },
    { what: "--parameter without '='", args: ["modelfile", "--model", model, "--parameter", "temperature"], message: /expected name=value/ },
    { what: "--parameter with a name Ollama does not know", args: ["modelfile", "--model", model, "--parameter", "temprature=0.2"], code: "E_INVALID_OPTION", message: /Ollama has no PARAMETER temprature/ },
    { what: "--parameter with a name that is not one", args: ["modelfile", "--model", model, "--parameter", "top-k=3"], code: "E_INVALID_OPTION" },
    { what: "--parameter with a word for a number", args: ["modelfile", "--model", model, "--parameter", "temperature=hot"], code: "E_INVALID_OPTION", message: /takes a number/ },
    { what: "--parameter with a fraction for an integer", args: ["modelfile", "--model", model, "--parameter", "num_ctx=1.5"], code: "E_INVALID_OPTION", message: /takes an integer/ },
    { what: "--parameter with a word for a boolean", args: ["modelfile", "--model", model, "--parameter", "use_mmap=maybe"], code: "E_INVALID_OPTION", message: /takes true or false/ },
    { what: "an empty stop", args: ["modelfile", "--model", model, "--parameter", "stop="], code: "E_INVALID_OPTION" },
    { what: "an unknown --thinking", args: ["modelfile", "--model", model, "--thinking", "maybe"], message: /--thinking <mode>' argument 'maybe' is invalid/ },
    { what: 'a --system line ending in """', args: ["modelfile", "--model", model, "--system", 'ends a line with """\nthen more'], code: "E_BAD_MODELFILE" },
    { what: "a --system with a character Ollama drops", args: ["modelfile", "--model", model, "--system", "zero\u200bwidth"], code: "E_BAD_MODELFILE" },
    { what: "the output exists", args: ["modelfile", "--model", model, "-o", aFile], code: "E_OUTPUT_EXISTS" },
    { what: "the output is the model", args: ["modelfile", "--model", model, "-o", model, "--force"], code: "E_INVALID_OPTION" },
    { what: "the output is a directory", args: ["modelfile", "--model", model, "-o", aDir, "--force"], code: "E_OUTPUT_EXISTS" },
    { what: "the output's directory is a file", args: ["modelfile", "--model", model, "-o", path.join(aFile, "Modelfile")], code: "E_OUTPUT_DIR" },
    { what: "the output's directory is missing", args: ["modelfile", "--model", model, "-o", at("no-such-dir", "Modelfile")], code: "E_OUTPUT_DIR" },
    ...unwritableCase("the output's directory is not writable", (dir) => ["modelfile", "--model", model, "-o", path.join(dir, "Modelfile")]),
    { what: "--verify with a chat template that does not parse", args: ["modelfile", "--model", brokenTemplateModel, "--verify", "-o", output("verify-broken")], code: "E_CHAT_TEMPLATE", message: /modelfile --verify: .*does not parse.* was not written/, absent: [output("verify-broken")] },
    { what: "--verify with a chat template that raises", args: ["modelfile", "--model", raisingTemplateModel, "--verify"], code: "E_CHAT_TEMPLATE", message: /refuses every conversation/ },
    { what: "--verify with a TEMPLATE whose render cannot be checked", args: ["modelfile", "--model", staticTemplateModel, "--verify", "-o", output("verify-static")], code: "E_CHAT_TEMPLATE", message: /cannot be checked/, absent: [output("verify-static")] },
    { what: "--verify --json with a TEMPLATE that cannot be checked", args: ["modelfile", "--model", staticTemplateModel, "--verify", "--json"], code: "E_CHAT_TEMPLATE" },
    { what: "no --model", args: ["modelfile"], message: /required option '--model/ },
  ];
});

describeFailures("generate", () => [
  { what: "a missing model", args: ["generate", "--model", at("missing.gguf"), "hi"], code: "E_INPUT_NOT_FOUND" },
  { what: "a directory as the model", args: ["generate", "--model", aDir, "hi"], code: "E_INPUT_NOT_FOUND" },
  { what: "a text file as the model", args: ["generate", "--model", text, "hi"], code: "E_BAD_GGUF" },
  { what: "a truncated model", args: ["generate", "--model", truncated, "hi"], code: "E_BAD_GGUF" },
  { what: "a GGUF cut in its header", args: ["generate", "--model", headerCut, "hi"], code: "E_BAD_GGUF" },
  { what: "an adapter as the model", args: ["generate", "--model", adapter, "hi"], code: "E_WRONG_KIND" },
  { what: "a model llama.cpp cannot load (no tensors)", args: ["generate", "--model", vocabOnly, "--max-tokens", "1", "hi"], code: "E_NATIVE", message: /could not load/ },
  { what: "a model as --lora", args: ["generate", "--model", model, "--lora", plainModel, "hi"], code: "E_WRONG_KIND" },
  { what: "a truncated --lora", args: ["generate", "--model", model, "--lora", truncated, "hi"], code: "E_BAD_GGUF" },
  { what: "an adapter for another architecture", args: ["generate", "--model", model, "--lora", qwenAdapter, "hi"], code: "E_ADAPTER_MISMATCH" },
  { what: "an adapter of other shapes", args: ["generate", "--model", model, "--lora", wideAdapter, "--max-tokens", "1", "hi"], code: "E_ADAPTER_MISMATCH", message: /do not fit/ },
  { what: "--max-tokens -1", args: ["generate", "--model", model, "--max-tokens", "-1", "hi"], message: /--max-tokens <n>' argument '-1' is invalid/ },
  { what: "--max-tokens abc", args: ["generate", "--model", model, "--max-tokens", "abc", "hi"], message: /argument 'abc' is invalid/ },
  { what: "--max-tokens past the limit", args: ["generate", "--model", model, "--max-tokens", "100000000", "hi"], code: "E_INVALID_OPTION" },
  { what: "--temperature -1", args: ["generate", "--model", model, "--temperature", "-1", "hi"], message: /--temperature <x>' argument '-1' is invalid/ },
  { what: "--temperature 1000", args: ["generate", "--model", model, "--temperature", "1000", "hi"], code: "E_INVALID_OPTION" },
  { what: "--seed -1", args: ["generate", "--model", model, "--seed", "-1", "hi"], message: /--seed <n>' argument '-1' is invalid/ },
  { what: "--threads 0", args: ["generate", "--model", model, "--threads", "0", "hi"], message: /--threads <n>' argument '0' is invalid/ },
  { what: "--threads 100000", args: ["generate", "--model", model, "--threads", "100000", "hi"], code: "E_INVALID_OPTION" },
  { what: "--system without --chat", args: ["generate", "--model", model, "--system", "be brief", "hi"], message: /--system needs --chat/ },
  { what: "--compare without --lora", args: ["generate", "--model", model, "--compare", "hi"], message: /--compare needs --lora/ },
  { what: "--chat with a model without a chat template", args: ["generate", "--model", plainModel, "--chat", "hi"], code: "E_CHAT_TEMPLATE", message: /has no chat template/ },
  { what: "--chat with a chat template that does not parse", args: ["generate", "--model", brokenTemplateModel, "--chat", "hi"], code: "E_CHAT_TEMPLATE", message: /does not parse/ },
  { what: "--chat with a chat template that raises", args: ["generate", "--model", raisingTemplateModel, "--chat", "hi"], code: "E_CHAT_TEMPLATE", message: /refuses every conversation/ },
  { what: "a prompt longer than the model's context", args: ["generate", "--model", model, "--max-tokens", "1", Array.from({ length: 600 }, () => "word").join(" ")], code: "E_INVALID_OPTION", message: /shorten it/ },
  { what: "no prompt", args: ["generate", "--model", model], message: /missing required argument 'prompt'/ },
  { what: "no --model", args: ["generate", "hi"], message: /required option '--model/ },
]);

describeFailures("train", () => {
  const output = (name: string) => path.join(out(`train-${name}`), "adapter.gguf");
  const train = (name: string, ...flags: string[]): string[] => ["train", "--model", model, "--data", data, "-o", output(name), ...flags];
  const withData = (dataset: string, name: string, ...flags: string[]): string[] => ["train", "--model", model, "--data", dataset, "-o", output(name), ...flags];
  const withModel = (base: string, name: string, ...flags: string[]): string[] => ["train", "--model", base, "--data", data, "-o", output(name), ...flags];
  const brokenDatasets: [string, string, RegExp][] = [
    ["an empty dataset", datasets.empty, /the file is empty/],
    ["records with no known columns", datasets.columns, /no known dataset format/],
    ["malformed JSONL", datasets.malformed, /malformed\.jsonl:1:/],
    ["malformed CSV", datasets.csv, /malformed CSV/],
    ["CSV with no known columns", datasets.csvColumns, /no known dataset format/],
    ["a record with no assistant turn", datasets.noAssistant, /no-assistant\.jsonl:1: the conversation has no assistant turn/],
    ["a JSON array of numbers", datasets.notRecords, /a record must be a JSON object/],
    ["truncated JSON", datasets.truncatedJson, /truncated\.json/],
  ];
  return [
    { what: "a missing model", args: withModel(at("missing.gguf"), "missing-model"), code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as the model", args: withModel(aDir, "dir-model"), code: "E_INPUT_NOT_FOUND" },
    { what: "an adapter as the model", args: withModel(adapter, "adapter-model"), code: "E_WRONG_KIND" },
    { what: "a text file as the model", args: withModel(text, "text-model"), code: "E_BAD_GGUF" },
    { what: "a truncated model", args: withModel(truncated, "truncated-model"), code: "E_BAD_GGUF" },
    { what: "a dataset as the model", args: withModel(data, "data-model"), code: "E_BAD_GGUF" },
    { what: "a model of an architecture it does not train", args: withModel(gpt2Model, "gpt2"), code: "E_UNSUPPORTED_ARCH" },
    { what: "a model without weights", args: withModel(vocabOnly, "vocab-only"), code: "E_WRONG_KIND", message: /cannot be a LoRA target/ },
    { what: "a missing dataset", args: withData(at("missing.jsonl"), "missing-data"), code: "E_INPUT_NOT_FOUND", message: /dataset file not found/ },
    { what: "a directory as the dataset", args: withData(aDir, "dir-data"), code: "E_INPUT_NOT_FOUND" },
    { what: "a model as the dataset", args: withData(model, "model-data"), code: "E_BAD_DATASET" },
    ...brokenDatasets.flatMap(([what, file, message], index): FailureCase[] => [
      { what, args: withData(file, `dataset-${index}`), code: "E_BAD_DATASET", message, absent: [output(`dataset-${index}`)] },
      { what: `${what}, --dry-run`, args: withData(file, `dataset-dry-${index}`, "--dry-run"), code: "E_BAD_DATASET", message },
    ]),
    { what: "a record with no assistant turn, --preview", args: ["train", "--model", model, "--data", datasets.noAssistant, "--preview"], code: "E_BAD_DATASET" },
    { what: "--skip-bad-rows with every row bad", args: withData(datasets.noAssistant, "skip-all", "--skip-bad-rows", "--dry-run"), code: "E_BAD_DATASET", message: /no usable records/ },
    { what: "--format alpaca on messages records", args: train("alpaca", "--format", "alpaca"), code: "E_BAD_DATASET", message: /missing "instruction"/ },
    { what: "--format text on messages records", args: train("text-format", "--format", "text", "--dry-run"), code: "E_BAD_DATASET" },
    { what: "a prompt that fills the context", args: withData(datasets.longPrompt, "long", "--ctx", "256"), code: "E_BAD_DATASET", message: /nothing to learn within 256 tokens/ },
    { what: "a prompt that fills the context, --dry-run", args: withData(datasets.longPrompt, "long-dry", "--ctx", "256", "--dry-run"), code: "E_BAD_DATASET" },
    { what: "a prompt that fills the context, skipped: nothing left", args: withData(datasets.longPrompt, "long-skip", "--ctx", "256", "--skip-bad-rows"), code: "E_BAD_DATASET" },
    { what: "a validation split that leaves no training sample", args: withData(datasets.one, "split", "--val-split", "0.5", "--dry-run"), code: "E_BAD_DATASET" },
    { what: "--ctx not a multiple of 256", args: train("ctx-300", "--ctx", "300"), code: "E_INVALID_OPTION", message: /multiple of 256/ },
    { what: "--ctx too large to fit in memory", args: train("ctx-huge", "--ctx", "1048576"), code: "E_OOM_ESTIMATE", absent: [output("ctx-huge")] },
    { what: "--rank 100000", args: train("rank-huge", "--rank", "100000", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--rank -4", args: train("rank-negative", "--rank", "-4"), message: /--rank <n>' argument '-4' is invalid/ },
    { what: "--rank abc", args: train("rank-text", "--rank", "abc"), message: /--rank <n>' argument 'abc' is invalid/ },
    { what: "--lr 1e-3x", args: train("lr-text", "--lr", "1e-3x"), message: /--lr <x>' argument '1e-3x' is invalid/ },
    { what: "--lr 5", args: train("lr-large", "--lr", "5", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--alpha 0", args: train("alpha-zero", "--alpha", "0", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--epochs 0", args: train("epochs-zero", "--epochs", "0"), message: /--epochs <n>' argument '0' is invalid/ },
    { what: "--warmup -1", args: train("warmup", "--warmup", "-1"), message: /--warmup <n>' argument '-1' is invalid/ },
    { what: "--seed past 2^31", args: train("seed", "--seed", "99999999999", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--layers that run backwards", args: train("layers-backwards", "--layers", "3-1"), message: /--layers <list>' argument '3-1' is invalid/ },
    { what: "--layers past the model's blocks", args: train("layers-past", "--layers", "5", "--dry-run"), code: "E_INVALID_OPTION", message: /layer 5 does not exist/ },
    { what: "--targets with an unknown module", args: train("targets", "--targets", "q,nope"), code: "E_INVALID_OPTION", message: /unknown LoRA target "nope"/ },
    { what: "--targets empty", args: train("targets-empty", "--targets", ",,"), code: "E_INVALID_OPTION" },
    { what: "--format yaml", args: train("format", "--format", "yaml"), message: /--format <format>' argument 'yaml' is invalid/ },
    { what: "--scheduler step", args: train("scheduler", "--scheduler", "step"), message: /--scheduler <name>' argument 'step' is invalid/ },
    { what: "--thinking maybe", args: train("thinking", "--thinking", "maybe"), message: /--thinking <mode>' argument 'maybe' is invalid/ },
    { what: "--recompute yes", args: train("recompute", "--recompute", "yes"), message: /--recompute <mode>' argument 'yes' is invalid/ },
    { what: "--val-split 0.95", args: train("split-large", "--val-split", "0.95", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--threads 100000", args: train("threads", "--threads", "100000", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--batch 100000", args: train("batch", "--batch", "100000", "--dry-run"), code: "E_INVALID_OPTION" },
    { what: "--checkpoint-interval 0", args: train("interval", "--checkpoint-interval", "0"), message: /--checkpoint-interval <n>' argument '0' is invalid/ },
    { what: "--preview with --dry-run", args: train("preview-dry", "--preview", "--dry-run"), message: /--preview or --dry-run, not both/ },
    { what: "a missing --chat-template file", args: train("template-missing", "--chat-template", at("missing.jinja"), "--dry-run"), code: "E_INPUT_NOT_FOUND" },
    { what: "a directory as --chat-template", args: train("template-dir", "--chat-template", aDir, "--dry-run"), code: "E_INPUT_NOT_FOUND" },
    { what: "a --chat-template that does not parse", args: train("template-broken", "--chat-template", brokenTemplate, "--dry-run"), code: "E_CHAT_TEMPLATE" },
    { what: "a --chat-template that raises", args: train("template-raises", "--chat-template", raisingTemplate), code: "E_CHAT_TEMPLATE" },
    { what: "a --chat-template that does not write the messages", args: train("template-static", "--chat-template", staticTemplate, "--dry-run"), code: "E_CHAT_TEMPLATE" },
    { what: "chat records for a model without a chat template", args: withModel(plainModel, "no-template", "--dry-run"), code: "E_CHAT_TEMPLATE" },
    { what: "chat records with --no-chat-template", args: train("no-chat-template", "--no-chat-template"), code: "E_CHAT_TEMPLATE" },
    { what: "a model whose chat template does not parse", args: withModel(brokenTemplateModel, "model-template", "--preview"), code: "E_CHAT_TEMPLATE" },
    { what: "the output exists", args: ["train", "--model", model, "--data", data, "-o", plainModel], code: "E_OUTPUT_EXISTS" },
    { what: "the output is the model", args: ["train", "--model", model, "--data", data, "-o", model, "--force"], code: "E_INVALID_OPTION" },
    { what: "the output is a directory", args: ["train", "--model", model, "--data", data, "-o", aDir, "--force"], code: "E_OUTPUT_EXISTS" },
    { what: "the output is named as a file the run writes beside it", args: ["train", "--model", model, "--data", data, "-o", path.join(out("train-named"), "metrics.jsonl")], code: "E_INVALID_OPTION" },
    { what: "a file the run writes beside the output exists", args: ["train", "--model", model, "--data", data, "-o", path.join(run, "another-adapter.gguf")], code: "E_OUTPUT_EXISTS", message: /written beside the adapter/ },
    { what: "the output's directory is a file", args: ["train", "--model", model, "--data", data, "-o", path.join(aFile, "adapter.gguf")], code: "E_OUTPUT_DIR" },
    { what: "the output's directory is missing", args: ["train", "--model", model, "--data", data, "-o", at("no-such-dir", "adapter.gguf")], code: "E_OUTPUT_DIR" },
    ...unwritableCase("the output's directory is not writable", (dir) => ["train", "--model", model, "--data", data, "-o", path.join(dir, "adapter.gguf")]),
    { what: "--resume from a missing file", args: train("resume-missing", "--resume", at("missing.gguf")), code: "E_INPUT_NOT_FOUND" },
    { what: "--resume from a directory", args: train("resume-dir", "--resume", aDir), code: "E_INPUT_NOT_FOUND" },
    { what: "--resume from an adapter", args: train("resume-adapter", "--resume", adapter), code: "E_BAD_CHECKPOINT", message: /not a lora-gguf training checkpoint/ },
    { what: "--resume from a model", args: train("resume-model", "--resume", model), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a text file", args: train("resume-text", "--resume", text), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a truncated checkpoint", args: train("resume-truncated", "--resume", truncated), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a checkpoint without its configuration", args: train("resume-no-config", "--resume", editedCheckpoints.noConfig, "--max-steps", "1"), code: "E_BAD_CHECKPOINT", message: /config is missing/ },
    { what: "--resume from a checkpoint whose configuration is not JSON", args: train("resume-config-text", "--resume", editedCheckpoints.configNotJson, "--max-steps", "1"), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a checkpoint whose configuration is null", args: train("resume-config-null", "--resume", editedCheckpoints.configNull, "--max-steps", "1"), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a checkpoint without its step", args: train("resume-no-step", "--resume", editedCheckpoints.noStep, "--max-steps", "1"), code: "E_BAD_CHECKPOINT", absent: [output("resume-no-step")] },
    { what: "--resume from a checkpoint without adapter tensors", args: train("resume-no-tensors", "--resume", editedCheckpoints.noTensors, "--max-steps", "1"), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a checkpoint without optimizer moments", args: train("resume-no-moments", "--resume", editedCheckpoints.noMoments, "--max-steps", "1"), code: "E_BAD_CHECKPOINT" },
    { what: "--resume from a checkpoint with half a LoRA pair", args: train("resume-half-pair", "--resume", editedCheckpoints.halfPair, "--max-steps", "1"), code: "E_BAD_CHECKPOINT" },
    { what: "--resume with other options", args: train("resume-rank", "--resume", checkpoint, "--max-steps", "1", "--rank", "8"), code: "E_BAD_CHECKPOINT", message: /other options \(rank/ },
    { what: "--resume with other data", args: withData(otherData, "resume-data", "--resume", checkpoint, "--max-steps", "1"), code: "E_BAD_CHECKPOINT", message: /different training data/ },
    { what: "--resume with another base model", args: withModel(wideModel, "resume-model-other", "--resume", checkpoint, "--max-steps", "1"), code: "E_BAD_CHECKPOINT", message: /different base model/ },
    { what: "no --output", args: ["train", "--model", model, "--data", data], message: /--output/ },
    { what: "no --model", args: ["train", "--data", data, "-o", output("no-model")], message: /required option '--model/ },
    { what: "no --data", args: ["train", "--model", model, "-o", output("no-data")], message: /required option '--data/ },
  ];
});

describeFailures("quickstart", () => [
  { what: "a file as the directory", args: ["quickstart", aFile], code: "E_OUTPUT_EXISTS", message: /is a file/ },
  { what: "a directory under a file", args: ["quickstart", path.join(aFile, "qs")], code: "E_OUTPUT_DIR" },
  ...unwritableCase("a directory that cannot be created", (dir) => ["quickstart", path.join(dir, "qs")]),
  ...unwritableCase("a directory that cannot be written", (dir) => ["quickstart", dir]),
  { what: "a missing --model", args: ["quickstart", at("out", "qs-missing"), "--model", at("missing.gguf")], code: "E_INPUT_NOT_FOUND", absent: [at("out", "qs-missing")] },
  { what: "a directory as --model", args: ["quickstart", at("out", "qs-dir"), "--model", aDir], code: "E_INPUT_NOT_FOUND" },
  { what: "an adapter as --model", args: ["quickstart", at("out", "qs-adapter"), "--model", adapter], code: "E_WRONG_KIND", absent: [at("out", "qs-adapter")] },
  { what: "a text file as --model", args: ["quickstart", at("out", "qs-text"), "--model", text], code: "E_BAD_GGUF" },
  { what: "a --model without a chat template", args: ["quickstart", at("out", "qs-plain"), "--model", plainModel], code: "E_CHAT_TEMPLATE", absent: [at("out", "qs-plain")] },
  { what: "a --model whose chat template does not parse", args: ["quickstart", at("out", "qs-broken"), "--model", brokenTemplateModel], code: "E_CHAT_TEMPLATE" },
  { what: "a --model llama.cpp cannot load (no tensors)", args: ["quickstart", at("out", "qs-vocab"), "--model", vocabOnly], code: "E_NATIVE", message: /could not load/ },
  { what: "--epochs 0", args: ["quickstart", at("out", "qs-epochs"), "--epochs", "0"], message: /--epochs <n>' argument '0' is invalid/, absent: [at("out", "qs-epochs")] },
  { what: "--epochs abc", args: ["quickstart", at("out", "qs-epochs-text"), "--epochs", "abc"], message: /argument 'abc' is invalid/ },
  { what: "--threads -1", args: ["quickstart", at("out", "qs-threads"), "--threads", "-1"], message: /--threads <n>' argument '-1' is invalid/ },
]);

describe("a reader that stops reading (| head -1)", () => {
  it.each([[["quantize", "--type", "list"]], [["--help"]], [["inspect", "--json", "--tensors", "MODEL"]]])("lora-gguf %j exits 0 without a stack", async (args) => {
    const child = spawn(process.execPath, [cli, ...args.map((arg) => (arg === "MODEL" ? model : arg))], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
  });
});

describe("what the failures leave", () => {
  it("no temporary files anywhere, and the files given as outputs that exist are unchanged", () => {
    const leftovers = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? leftovers(path.join(dir, entry.name)) : /\.tmp-|\.lora-gguf-probe-/.test(entry.name) ? [path.join(dir, entry.name)] : [],
      );
    expect(leftovers(temp.dir)).toEqual([]);
    expect(readFileSync(aFile, "utf8")).toBe("a plain file\n");
    expect(readFileSync(plainModel).equals(plainModelBytes)).toBe(true);
    expect(readdirSync(aDir)).toEqual([]);
  });
});
