// The studio's long jobs on a tiny generated model: a training run's events replay to every page
// that connects, from the first; a second run is refused while one runs; stop saves a checkpoint,
// from which resume runs to the end; Ctrl-C on the studio process does the same as on train.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { startStudio, type Studio } from "../src/studio/server.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { instTemplate, writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { studioClient, type StudioClient, type StudioEvent } from "./helpers/studio-client.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("studio-jobs");
const workspace = temp.dir;
const logged: string[] = [];
let studio: Studio;
let client: StudioClient;

/**
 * Steps of under 10 ms: enough that the run is still going while the test looks at it (a second or
 * more of margin), few enough that it finishes in seconds. One thread: on two busy cores, two
 * threads spin at ggml's barriers and run 10 to 30 times slower.
 */
const TOTAL_STEPS = 200;
const THREADS = 1;
const trainOptions = (output: string) => ({ model: "models/base.gguf", data: "data/colours.jsonl", output, threads: THREADS, seed: 1, epochs: 1000, maxSteps: TOTAL_STEPS, checkpointInterval: 1000 });

beforeAll(async () => {
  mkdirSync(path.join(workspace, "models"));
  mkdirSync(path.join(workspace, "data"));
  for (const run of ["run", "cli-run"]) mkdirSync(path.join(workspace, run));
  await writeTinyLlamaGguf(path.join(workspace, "models", "base.gguf"), { seed: 3, nLayer: 2, nEmbd: 64, nHead: 4, nHeadKv: 2, nFf: 128, vocabSize: 1024, chatTemplate: instTemplate });
  writeMemorizationJsonl(path.join(workspace, "data", "colours.jsonl"));
  studio = await startStudio({ workspace, port: 0, log: (message) => logged.push(message) });
  client = studioClient(studio.address, studio.token);
});
afterAll(async () => {
  await studio?.close();
  temp.cleanup();
});

/** Every job of the test runs through to its end event; the studio logged no unexpected error. */
async function finished(jobId: string): Promise<StudioEvent[]> {
  const events = await collect(client.events(jobId), () => false);
  expect(events.at(-1)!.data.type).toBe("end");
  return events;
}

/** Events until `stop` says so (or the stream ends), the connection then closed. */
async function collect(events: AsyncGenerator<StudioEvent>, stop: (seen: StudioEvent[]) => boolean): Promise<StudioEvent[]> {
  const seen: StudioEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    if (stop(seen)) break;
  }
  return seen;
}

const progressSteps = (events: StudioEvent[]) => events.filter((event) => event.data.type === "progress").map((event) => (event.data.progress as { step: number }).step);

describe("studio models", () => {
  it("GET /api/models lists the workspace's GGUF with inspect's facts", async () => {
    const { models } = await client.getJson("/api/models");
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ path: "models/base.gguf", kind: "model", architecture: "llama", hasChatTemplate: true });
    expect(models[0].parameterCount).toBeGreaterThan(100_000);
    expect(models[0].fileBytes).toBeGreaterThan(0);
    expect(models[0].tensorTypes.map((entry: { type: string }) => entry.type)).toContain("f32");
  });
});

describe("studio data and plan", () => {
  it("GET /api/data: the format, and with a model the preview: an example's trained tokens and a histogram of lengths against the context", async () => {
    const data = await client.getJson("/api/data?path=data/colours.jsonl&model=models/base.gguf");
    expect(data).toMatchObject({ path: "data/colours.jsonl", format: "messages", rowCount: 16, usableRecords: 16, badRows: [] });
    const { example, stats, text } = data.preview;
    expect(example.source).toEqual({ file: "data/colours.jsonl", line: 1 });
    expect(example.tokens.some((token: { trained: boolean }) => token.trained)).toBe(true);
    expect(example.tokens.some((token: { trained: boolean }) => !token.trained)).toBe(true);
    expect(text).toMatch(/^example from data\/colours\.jsonl:1/);
    const histogram = stats.tokenLengthHistogram;
    expect(histogram.counts.reduce((sum: number, count: number) => sum + count, 0)).toBe(16);
    expect(histogram.binTokens * histogram.counts.length).toBeGreaterThanOrEqual(stats.contextLength);
    expect(stats.contextLength).toBe(256);
  });

  it("GET /api/train/flags: each train option's CLI flag and help, which the form shows as its hints", async () => {
    const { flags } = await client.getJson("/api/train/flags");
    expect(flags.rank).toEqual({ flags: "--rank <n>", description: "LoRA rank r (default 16)", boolean: false });
    expect(flags.learningRate.flags).toBe("--lr <x>");
    expect(flags.format.choices).toEqual(["auto", "text", "alpaca", "sharegpt", "messages"]);
    expect(flags.trainOnPrompt).toMatchObject({ flags: "--train-on-prompt", boolean: true });
    expect(flags.checkpointInterval.flags).toBe("--checkpoint-interval <n>");
  });

  it("POST /api/train/estimate: the memory estimate and whether it fits, with the command, before any start", async () => {
    const plan = await client.postJson("/api/train/estimate", { options: { model: "models/base.gguf", data: "data/colours.jsonl", rank: 4, threads: THREADS } });
    expect(plan.memory.fits).toBe(true);
    expect(plan.memory.totalBytes).toBeGreaterThan(0);
    expect(plan.memoryText).toMatch(/^Estimated peak memory: /);
    expect(plan).toMatchObject({ contextLength: 256, config: { model: "models/base.gguf", rank: 4, alpha: 8 } });
    expect(plan.command).toBe(`lora-gguf train --model models/base.gguf --data data/colours.jsonl --rank 4 --threads ${THREADS}`);
    expect(studio.jobs.list()).toEqual([]);
  });
});

describe("studio training job", () => {
  it("streams its history to every connection, refuses a second run, stops with a checkpoint, and resumes to the end", async () => {
    const started = await client.postJson("/api/train", { options: trainOptions("run/adapter.gguf") }, 202);
    expect(started).toMatchObject({ kind: "train", state: "running", params: { output: "run/adapter.gguf" } });
    expect(started.command).toBe(
      `lora-gguf train --model models/base.gguf --data data/colours.jsonl --output run/adapter.gguf --epochs 1000 --max-steps ${TOTAL_STEPS} --seed 1 --threads ${THREADS} --checkpoint-interval 1000`,
    );

    const first = await collect(client.events(started.id), (seen) => progressSteps(seen).length >= 3);
    expect(first.map((event) => event.data.seq)).toEqual(first.map((_, index) => index));
    expect(progressSteps(first)).toEqual([1, 2, 3]);
    expect(first.at(-1)!.data.progress).toMatchObject({ step: 3, totalSteps: TOTAL_STEPS });
    for (const key of ["loss", "tokensPerSecond", "etaSeconds", "learningRate"]) expect(typeof (first.at(-1)!.data.progress as Record<string, unknown>)[key]).toBe("number");

    const refused = await client.post("/api/train", { options: trainOptions("run/other.gguf") });
    expect(refused.status).toBe(409);
    const refusal = await refused.json();
    expect(refusal.error.code).toBe("E_INVALID_OPTION");
    expect(refusal.error.message).toContain(`training job ${started.id} (run/adapter.gguf) is still running`);

    // a page that connects later (a reload) gets the same history from the first event, then live ones
    const replayed = await collect(client.events(started.id), (seen) => seen.length >= first.length + 1);
    expect(replayed.slice(0, first.length).map((event) => event.data)).toEqual(first.map((event) => event.data));

    // stop: the run ends as stopped, after the checkpoint of its last completed step
    const live = client.events(started.id, { headers: { "Last-Event-ID": String(first.length - 1) } });
    expect((await client.postJson(`/api/jobs/${started.id}/stop`, {}, 202)).id).toBe(started.id);
    const rest = await collect(live, () => false);
    expect(rest[0].data.seq).toBe(first.length);
    const end = rest.at(-1)!.data;
    expect(end).toMatchObject({ type: "end", state: "stopped" });
    const saved = rest.find((event) => event.data.type === "checkpoint")!.data as unknown as { checkpoint: string; step: number };
    const stoppedAt = Math.max(...progressSteps(rest));
    expect(saved).toMatchObject({ checkpoint: "run/checkpoint.gguf", step: stoppedAt });
    expect(stoppedAt).toBeLessThan(TOTAL_STEPS);
    expect(existsSync(path.join(workspace, "run", "checkpoint.gguf"))).toBe(true);
    expect((await client.getJson(`/api/jobs/${started.id}`)).state).toBe("stopped");

    // the run's settings, read back from beside its adapter
    const run = await client.getJson("/api/train/run?output=run/adapter.gguf");
    expect(run).toMatchObject({ source: "checkpoint", finished: false, checkpoint: { path: "run/checkpoint.gguf", step: stoppedAt } });
    expect(run.options).toMatchObject({ model: "models/base.gguf", data: "data/colours.jsonl", output: "run/adapter.gguf", maxSteps: TOTAL_STEPS, threads: THREADS, seed: 1 });
    expect(run.metrics.map((record: { step: number }) => record.step)).toEqual(Array.from({ length: stoppedAt }, (_, index) => index + 1));

    // resume: the earlier steps' metrics first, then steps from the checkpoint's to the end
    const resumed = await client.postJson("/api/train/resume", { output: "run/adapter.gguf", threads: THREADS }, 202);
    expect(resumed.command).toMatch(/ --resume run\/checkpoint\.gguf$/);
    const events = await collect(client.events(resumed.id), () => false);
    expect(events[0].data).toMatchObject({ type: "metrics" });
    expect((events[0].data.records as { step: number }[]).map((record) => record.step)).toEqual(run.metrics.map((record: { step: number }) => record.step));
    const steps = progressSteps(events);
    expect(steps[0]).toBe(stoppedAt + 1);
    expect(steps.at(-1)).toBe(TOTAL_STEPS);
    const result = events.find((event) => event.data.type === "result")!.data.result as Record<string, unknown>;
    expect(result).toMatchObject({ adapter: "run/adapter.gguf", steps: TOTAL_STEPS, checkpoint: "run/checkpoint.gguf" });
    expect(events.at(-1)!.data).toMatchObject({ type: "end", state: "done" });
    expect(existsSync(path.join(workspace, "run", "adapter.gguf"))).toBe(true);
    expect(studio.jobs.list().map((job) => job.state)).toEqual(["stopped", "done"]);
    expect(logged).toEqual([]);
  });

  it("quantize, Modelfile and chat on the trained adapter: jobs whose results name workspace paths", async () => {
    const quantized = await client.postJson("/api/quantize", { input: "models/base.gguf", output: "models/base-q8_0.gguf", type: "q8_0", threads: THREADS }, 202);
    const events = await finished(quantized.id);
    expect(events.filter((event) => event.data.type === "progress").length).toBeGreaterThan(0);
    expect(events.find((event) => event.data.type === "result")!.data.result).toMatchObject({ output: "models/base-q8_0.gguf", type: "Q8_0" });
    const listed = (await client.getJson("/api/models")).models.map((model: { path: string; kind: string }) => [model.path, model.kind]);
    expect(listed).toEqual([["models/base-q8_0.gguf", "model"], ["models/base.gguf", "model"], ["run/adapter.gguf", "adapter"], ["run/checkpoint.gguf", "checkpoint"]]);
    // the run's metrics.jsonl and training.json are not datasets to offer
    expect((await client.getJson("/api/datasets")).datasets.map((dataset: { path: string }) => dataset.path)).toEqual(["data/colours.jsonl"]);

    const modelfile = await client.postJson("/api/modelfile", { model: "models/base.gguf", adapter: "run/adapter.gguf", output: "run/Modelfile" });
    expect(modelfile.text).toMatch(/^FROM \.\.\/models\/base\.gguf$/m);
    expect(modelfile.text).toMatch(/^ADAPTER \.\/adapter\.gguf$/m);
    expect(Array.isArray(modelfile.warnings)).toBe(true);
    expect(modelfile).toMatchObject({ output: "run/Modelfile", createCommand: "ollama create base -f run/Modelfile" });
    expect(existsSync(path.join(workspace, "run", "Modelfile"))).toBe(true);

    const chat = await client.postJson("/api/chat", { model: "models/base.gguf", adapter: "run/adapter.gguf", prompt: "What colour is the lamp?", maxTokens: 4, threads: THREADS }, 202);
    const result = (await finished(chat.id)).find((event) => event.data.type === "result")!.data.result as Record<string, any>;
    expect(result.base.prompt).toMatch(/^(<s>)?\[INST\] What colour is the lamp\? \[\/INST\]$/);
    expect(result.adapted.adapter).toBe("run/adapter.gguf");
    expect(result.base.generatedTokens).toBeGreaterThan(0);
    expect(typeof result.differ).toBe("boolean");
    expect(logged).toEqual([]);
  });

  it("Ctrl-C on `lora-gguf studio` stops the training job, which saves its checkpoint, and exits 0", async () => {
    const cli = path.join(packageRoot, "dist", "cli", "main.js");
    const child = spawn(process.execPath, [cli, "studio", "--port", "0", "--no-open", "--workspace", workspace], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = await new Promise<URL>((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
        const match = /^lora-gguf studio: (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})\n/.exec(stdout);
        if (match) resolve(new URL(match[1]));
      });
      exited.then((code) => reject(new Error(`studio exited ${code}: ${stderr}`)));
    });
    const cliClient = studioClient({ address: url.hostname, port: Number(url.port) }, url.searchParams.get("token")!);
    const job = await cliClient.postJson("/api/train", { options: trainOptions("cli-run/adapter.gguf") }, 202);
    await collect(cliClient.events(job.id), (seen) => progressSteps(seen).length >= 2);
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(new RegExp(`train job ${job.id} stopped; checkpoint at step \\d+: ${path.join(workspace, "cli-run", "checkpoint.gguf").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    expect(existsSync(path.join(workspace, "cli-run", "checkpoint.gguf"))).toBe(true);
  });
});
