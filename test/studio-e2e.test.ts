// The studio's pages in a real headless Chromium (Debian's chromium, driven by playwright-core), on
// quickstart's demo model and dataset: the Data page highlights the trained spans; a 30-step run's
// loss curve grows while it runs, stops with a checkpoint, resumes, and after a reload mid-run the
// page reattaches and the curve goes on; with the browser closed the run goes on, and a browser opened
// again finds it; Chat streams the adapter's trained answer beside the base's;
// Export writes the Modelfile. Every page is saved as a PNG in SCREENSHOT_DIR. Requests go only to
// the studio on 127.0.0.1: the page's others are refused and counted, and Chromium's flags switch off
// its own background traffic (updates, sync, safe-browsing lists).
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { packageRoot } from "../src/native.js";
import { demoDatasetPath, writeDemoBaseModel } from "../src/quickstart/quickstart.js";
import { startStudio, type Studio } from "../src/studio/server.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const CHROMIUM_PATH = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM_PATH);
if (!haveChromium) console.warn(`skipping the studio's browser test: ${CHROMIUM_PATH} is missing (Debian: apt-get install chromium)`);

/** Git-ignored (.bench/), and kept after the run, so that the pages can be looked at. */
const SCREENSHOT_DIR = path.join(packageRoot, ".bench", "studio-screenshots");

/**
 * The demo model learns the colours in 30 steps at this rate (quickstart takes 60 at 3e-3). One
 * thread: on two busy cores, two threads spin at ggml's barriers and run many times slower.
 */
const TOTAL_STEPS = 30;
const LEARNING_RATE = "1e-2";
const THREADS = "1";
/** Long enough that the run is still going while the test stops it, resumes it and reloads the page. */
const CONTEXT_LENGTH = "2048";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const temp = makeTempDir("studio-e2e");
const workspace = path.join(temp.dir, "workspace");
const logged: string[] = [];
const offLoopback: string[] = [];
const pageErrors: string[] = [];
let studio: Studio;
let context: BrowserContext;
let page: Page;
let browserLaunches = 0;

beforeAll(async () => {
  if (!haveChromium) return;
  mkdirSync(path.join(workspace, "models"), { recursive: true });
  mkdirSync(path.join(workspace, "data"));
  await writeDemoBaseModel(path.join(workspace, "models", "demo-base.gguf"));
  copyFileSync(demoDatasetPath, path.join(workspace, "data", "colours.jsonl"));
  // this run's pages only (a failure.png of an earlier run would mislead)
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  console.log(`studio screenshots: ${SCREENSHOT_DIR}`);

  studio = await startStudio({ workspace, port: 0, log: (message) => logged.push(message) });
  await openBrowser();
}, 120_000);

/** Launches Chromium on a fresh profile (the browser a user opens), with every request off loopback refused and counted. */
async function openBrowser(): Promise<void> {
  // playwright takes the profile directory as an argument of its own: a fresh one per launch, in the temp dir
  context = await chromium.launchPersistentContext(path.join(temp.dir, `chromium-profile-${++browserLaunches}`), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1" || url.protocol === "data:") return route.continue();
    offLoopback.push(url.href);
    return route.abort();
  });
  page = watchPage(context.pages()[0] ?? (await context.newPage()));
}

/** `opened`, with its console errors and uncaught exceptions collected in pageErrors. */
function watchPage(opened: Page): Page {
  // a CSP violation, a failed module or an uncaught exception shows here; the API's answered errors
  // (404 for a run not saved yet) are the pages' to show, though the console notes them as failed loads
  opened.on("console", (message) => {
    if (message.type() === "error" && !new URL(message.location().url || "about:blank").pathname.startsWith("/api/")) pageErrors.push(message.text());
  });
  opened.on("pageerror", (error) => pageErrors.push(error.message));
  return opened;
}

afterAll(async () => {
  await context?.close();
  await studio?.close();
  temp.cleanup();
});

const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
const openTab = (name: string) => page.getByRole("tab", { name }).click();
const trainPage = () => page.locator("#page-train");
const plottedSteps = async () => Number(await trainPage().locator(".loss-chart").getAttribute("data-points"));
const trainingState = () => trainPage().locator(".job-state").getAttribute("data-state");
/** The training job's last completed step, as the studio (not the page) has it. */
const serverStep = () => (studio.jobs.list().at(-1)!.progress as { step?: number } | undefined)?.step ?? 0;
const poll = <T>(read: () => Promise<T>, timeout = 30_000) => expect.poll(read, { timeout, interval: 50 });

describe.skipIf(!haveChromium)("studio pages in headless Chromium", () => {
  it("Data highlights the trained spans; a run's curve grows, stops, resumes, survives a reload and the browser's closing; Chat streams the trained answer; Export writes the Modelfile", async () => {
    const started = Date.now();
    try {
      await walkThroughPages();
    } catch (error) {
      // what the page showed when it went wrong
      await screenshot("failure").catch(() => undefined);
      throw error;
    }
    expect(offLoopback).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(logged).toEqual([]);
    console.log(`studio e2e: ${((Date.now() - started) / 1000).toFixed(1)} s in the browser`);
  }, 180_000);
});

async function walkThroughPages(): Promise<void> {
  await page.goto(studio.url);
  // the token page goes on to / without the token, which is then in a cookie
  await page.waitForURL(`${new URL(studio.url).origin}/`);
  await poll(() => page.getByRole("cell", { name: "models/demo-base.gguf" }).count()).toBe(1);
  expect(await page.getByRole("row", { name: /models\/demo-base\.gguf/ }).textContent()).toMatch(/llama.*yes/);
  await screenshot("1-models");

  await openTab("Data");
  const dataPage = page.locator("#page-data");
  await poll(() => dataPage.locator(".tokens .token.trained").count()).toBeGreaterThan(0);
  expect(await dataPage.locator(".summary").textContent()).toBe("data/colours.jsonl: messages records, 20 rows, 20 usable");
  const trained = (await dataPage.locator(".tokens .token.trained").allTextContents()).join("");
  const untrained = (await dataPage.locator(".tokens .token:not(.trained)").allTextContents()).join("");
  expect(trained).toContain("The lamp is red.");
  expect(untrained).toContain("What colour is the lamp?");
  expect(untrained).not.toContain("red");
  const highlight = await dataPage.locator(".tokens .token.trained").first().evaluate((node) => getComputedStyle(node).backgroundColor);
  const plain = await dataPage.locator(".tokens .token:not(.trained)").first().evaluate((node) => getComputedStyle(node).backgroundColor);
  expect(highlight).not.toBe(plain);
  expect(await dataPage.locator(".histogram .bar").count()).toBeGreaterThan(1);
  await screenshot("2-data");

  await openTab("Train");
  const fill = (label: string, value: string) => trainPage().getByLabel(label, { exact: true }).fill(value);
  await fill("Max steps", String(TOTAL_STEPS));
  await fill("Epochs", "1000");
  await fill("Learning rate", LEARNING_RATE);
  await fill("Context length", CONTEXT_LENGTH);
  await fill("Threads", THREADS);
  // the estimate and the command follow the form before anything starts
  const command = trainPage().locator('[aria-label="Equivalent command"] code');
  await poll(() => command.textContent()).toBe(
    `lora-gguf train --model models/demo-base.gguf --data data/colours.jsonl --output adapters/colours/adapter.gguf --lr ${Number(LEARNING_RATE)} --epochs 1000 --max-steps ${TOTAL_STEPS} --ctx ${CONTEXT_LENGTH} --threads ${THREADS}`,
  );
  expect(await trainPage().locator(".verdict").textContent()).toMatch(/^fits: about /);
  expect(await trainPage().getByLabel("Rank", { exact: true }).getAttribute("placeholder")).toBe("16");
  expect(studio.jobs.list()).toEqual([]);

  await trainPage().getByRole("button", { name: "Start" }).click();
  await poll(() => plottedSteps()).toBeGreaterThanOrEqual(2);
  const early = await plottedSteps();
  await poll(() => plottedSteps()).toBeGreaterThan(early);
  expect(await trainingState()).toBe("running");
  await poll(() => plottedSteps()).toBeGreaterThanOrEqual(6);
  expect(await trainPage().locator('[data-stat="tokens/s"]').textContent()).toMatch(/^\d+$/);
  expect(await trainPage().locator('[data-stat="ETA"]').textContent()).toMatch(/\d+ s$/);
  await screenshot("3-train-live");

  // stop: the checkpoint of the last completed step, which resume goes on from
  await trainPage().getByRole("button", { name: "Stop (save a checkpoint)" }).click();
  await poll(() => trainingState()).toBe("stopped");
  const note = await trainPage().locator(".note").textContent();
  const stoppedAt = Number(/^stopped after step (\d+); checkpoint saved: adapters\/colours\/checkpoint\.gguf/.exec(note ?? "")?.[1]);
  expect(stoppedAt).toBeGreaterThanOrEqual(6);
  expect(stoppedAt).toBeLessThan(TOTAL_STEPS);
  expect(await plottedSteps()).toBe(stoppedAt);
  await poll(() => trainPage().locator(".saved-run").textContent()).toContain(`checkpoint at step ${stoppedAt}`);
  const resume = trainPage().getByRole("button", { name: "Resume" });
  await poll(() => resume.isEnabled()).toBe(true);
  await resume.click();
  await poll(() => plottedSteps()).toBeGreaterThan(stoppedAt + 2);
  expect(await trainingState()).toBe("running");

  // a reload mid-run: the page finds the job again, and its replayed history redraws the curve
  const beforeReload = await plottedSteps();
  expect(studio.jobs.list().at(-1)!.state).toBe("running");
  await page.reload();
  await poll(() => plottedSteps()).toBeGreaterThanOrEqual(beforeReload);
  const afterReload = await plottedSteps();
  expect(afterReload, "the run ended before the page reattached").toBeLessThan(TOTAL_STEPS);
  expect(await trainingState()).toBe("running");

  // closing the browser leaves the job running: it goes on with no page open, and a browser opened
  // again on the printed address finds it and draws the whole curve
  await context.close();
  const closedAt = serverStep();
  await poll(async () => serverStep()).toBeGreaterThanOrEqual(closedAt + 2);
  expect(studio.jobs.list().at(-1)!.state, "the run ended while the browser was closed").toBe("running");
  await openBrowser();
  await page.goto(studio.url);
  await page.waitForURL(`${new URL(studio.url).origin}/`);
  await openTab("Train");
  const stepWhenReopened = serverStep();
  await poll(() => plottedSteps()).toBeGreaterThanOrEqual(stepWhenReopened);
  expect(stepWhenReopened, "the run ended before the browser was opened again").toBeLessThan(TOTAL_STEPS);
  expect(await trainingState()).toBe("running");
  console.log(`studio e2e: reloaded at step ${beforeReload}, browser closed at ${closedAt}, opened again at ${stepWhenReopened}`);

  await poll(() => trainingState(), 60_000).toBe("done");
  expect(await plottedSteps()).toBe(TOTAL_STEPS);
  expect(await trainPage().locator(".note").textContent()).toMatch(/^done: 30 steps, loss /);
  await poll(() => trainPage().locator(".saved-run").textContent()).toMatch(/: finished, /);
  expect(existsSync(path.join(workspace, "adapters", "colours", "training.json"))).toBe(true);
  await screenshot("4-train-done");

  await openTab("Chat");
  const chatPage = page.locator("#page-chat");
  await poll(() => chatPage.getByLabel("Adapter", { exact: true }).inputValue()).toBe("adapters/colours/adapter.gguf");
  await chatPage.getByLabel("Prompt", { exact: true }).fill("What colour is the lamp?");
  await chatPage.getByLabel("Max tokens", { exact: true }).fill("24");
  await chatPage.getByLabel("Threads", { exact: true }).fill(THREADS);
  // every text the adapter's answer shows as the page renders it (a MutationObserver sees the DOM after each event's task)
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { adaptedTexts: string[] }).adaptedTexts = seen;
    new MutationObserver(() => {
      const text = document.querySelector('#page-chat article[aria-label^="With "] .answer-text')?.textContent ?? "";
      if (text !== "" && text !== seen.at(-1)) seen.push(text);
    }).observe(document.querySelector("#page-chat")!, { subtree: true, childList: true, characterData: true });
  });
  await chatPage.getByRole("button", { name: "Send" }).click();
  await poll(() => chatPage.locator(".job-state").getAttribute("data-state"), 60_000).toBe("done");
  const adapted = chatPage.getByRole("article", { name: "With adapters/colours/adapter.gguf" }).locator(".answer-text");
  expect((await adapted.textContent())!.trim()).toBe("The lamp is red.");
  // streamed: the answer came as several text events, each shown as it came, growing to the result's text
  expect(Number(await adapted.getAttribute("data-chunks"))).toBeGreaterThan(1);
  const shown = await page.evaluate(() => (window as unknown as { adaptedTexts: string[] }).adaptedTexts);
  expect(shown.length).toBeGreaterThan(1);
  shown.slice(1).forEach((text, index) => expect(text.startsWith(shown[index]), `${JSON.stringify(shown[index])} then ${JSON.stringify(text)}`).toBe(true));
  expect(shown.at(-1)!.trim()).toBe("The lamp is red.");
  expect((await chatPage.getByRole("article", { name: "Base model" }).locator(".answer-text").textContent())!.trim()).not.toBe("The lamp is red.");
  expect(await chatPage.locator(".rendered-prompt").textContent()).toMatch(/\[INST\] What colour is the lamp\? \[\/INST\]$/);
  await screenshot("5-chat");

  await openTab("Export");
  const exportPage = page.locator("#page-export");
  const modelfileForm = exportPage.getByRole("form", { name: "Modelfile" });
  await poll(() => modelfileForm.getByLabel("Adapter (ADAPTER)").inputValue()).toBe("adapters/colours/adapter.gguf");
  await modelfileForm.getByRole("button", { name: "Write" }).click();
  await poll(() => exportPage.locator('[aria-label="ollama create"] code').textContent()).toBe("ollama create demo-base -f adapters/colours/Modelfile");
  const written = readFileSync(path.join(workspace, "adapters", "colours", "Modelfile"), "utf8");
  expect(await exportPage.locator('[aria-label="Modelfile text"]').textContent()).toBe(written);
  expect(written).toMatch(/^FROM \.\.\/\.\.\/models\/demo-base\.gguf$/m);
  expect(written).toMatch(/^ADAPTER \.\/adapter\.gguf$/m);
  await screenshot("6-export");
}
