// Ollama's template engine for the tests: Go's text/template through test/helpers/ollama-template
// (main.go), built once per run into the build folder. Where `go` is missing the tests that need it
// are skipped with a message (.ci/run installs golang-go where apt works).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";

import { packageRoot } from "../../src/native.js";

export interface OllamaMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  thinking?: string;
  tool_calls?: { function: { name: string; arguments: Record<string, unknown> } }[];
}

export interface OllamaRenderCase {
  /** The Modelfile's TEMPLATE. */
  template: string;
  messages: OllamaMessage[];
  tools?: unknown[];
}

export type OllamaRenderResult = { text: string } | { error: string };

const sourceDir = path.join(packageRoot, "test", "helpers", "ollama-template");
const binary = path.join(packageRoot, "build", "test-helpers", "ollama-template");
let built: boolean | undefined;

/** Whether Go is here (and the helper built); the reason to skip when not. */
export function ollamaRendererAvailable(): boolean {
  if (built === undefined) {
    built = spawnSync("go", ["version"], { stdio: "ignore" }).status === 0;
    if (built) {
      mkdirSync(path.dirname(binary), { recursive: true });
      execFileSync("go", ["build", "-o", binary, "."], { cwd: sourceDir, stdio: "inherit", env: { ...process.env, GOFLAGS: "-mod=mod", GO111MODULE: "on" } });
    }
  }
  return built;
}

export const OLLAMA_RENDERER_MISSING = "Go is not installed (apt-get install golang-go): Ollama's template engine cannot run";

/** Renders each case as Ollama's server would; one Go process for all of them. */
export function renderWithOllama(cases: readonly OllamaRenderCase[]): OllamaRenderResult[] {
  if (!ollamaRendererAvailable()) throw new Error(OLLAMA_RENDERER_MISSING);
  const output = execFileSync(binary, [], { input: JSON.stringify(cases), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(output) as OllamaRenderResult[];
}
