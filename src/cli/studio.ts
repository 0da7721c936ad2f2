import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import type { Command } from "commander";

import { DEFAULT_STUDIO_PORT, startStudio, type Studio } from "../studio/server.js";
import { runAction } from "./output.js";
import { integerValue } from "./option-values.js";
import { abortOnInterrupt } from "./progress.js";

interface StudioFlags {
  port: number;
  workspace: string;
  open: boolean;
}

export function registerStudioCommand(program: Command): void {
  program
    .command("studio")
    .description("serve the lora-gguf studio, a web app for the whole path (models, data, training, chat, export), on 127.0.0.1")
    .option("--port <n>", `port on 127.0.0.1 (0: any free one)`, integerValue(0), DEFAULT_STUDIO_PORT)
    .option("--workspace <dir>", "the directory the studio reads and writes in; paths outside it are refused", ".")
    .option("--no-open", "print the address without opening a browser")
    .addHelpText(
      "after",
      "\nThe address carries a random access token: every request needs it, so other users of this machine\n" +
        "and other web pages cannot drive the studio. Jobs keep running when the page is closed.\n" +
        "Ctrl-C stops running jobs (a training run saves its checkpoint.gguf, as train does) and exits;\n" +
        "a second Ctrl-C exits at once.",
    )
    .action((flags: StudioFlags) =>
      runAction(async () => {
        const studio = await startStudio({ workspace: flags.workspace, port: flags.port });
        process.stdout.write(`lora-gguf studio: ${studio.url}\n`);
        process.stderr.write(`lora-gguf studio: serving ${studio.workspace}; Ctrl-C stops it\n`);
        const opened = flags.open ? await openInBrowser(studio.url) : undefined;

        const interrupt = abortOnInterrupt({
          message: "stopping: running jobs are cancelled, a training run saves its checkpoint (Ctrl-C again to quit at once)",
        });
        let onTerminate: (() => void) | undefined;
        try {
          // Ctrl-C, or a SIGTERM from a service manager: the same clean stop
          await new Promise<void>((resolve) => {
            onTerminate = resolve;
            process.once("SIGTERM", onTerminate);
            interrupt.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          const running = new Set(studio.jobs.list().filter((job) => job.state === "running").map((job) => job.id));
          await studio.close();
          for (const job of studio.jobs.list().filter((entry) => running.has(entry.id))) {
            process.stderr.write(`lora-gguf studio: ${job.kind} job ${job.id} ${job.state}${describeCheckpoint(studio, job.id)}\n`);
          }
        } finally {
          interrupt.dispose();
          if (onTerminate) process.off("SIGTERM", onTerminate);
          await opened?.cleanup();
        }
        // a model loaded for chat keeps node-llama-cpp's handles open; everything of ours is closed
        process.exit(0);
      }),
    );
}

function describeCheckpoint(studio: Studio, id: string): string {
  const saved = [...studio.jobs.get(id).events].reverse().find((event) => event.type === "checkpoint");
  return saved?.type === "checkpoint" ? `; checkpoint at step ${saved.step}: ${path.join(studio.workspace, saved.checkpoint)}` : "";
}

/**
 * Opens the address through a page in a private temporary directory that goes on to it, as Jupyter
 * does: a browser started with the address itself would show the token to every user of the machine
 * in its command line (ps). Failing to open is a note, never an error.
 */
async function openInBrowser(url: string): Promise<{ cleanup(): Promise<void> } | undefined> {
  const directory = await mkdtemp(path.join(tmpdir(), "lora-gguf-studio-"));
  const cleanup = () => rm(directory, { recursive: true, force: true });
  const page = path.join(directory, "open.html");
  await writeFile(page, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><a href="${url}">Open lora-gguf studio</a>\n`, { mode: 0o600 });
  // explorer exits 1 even when it opened the page, so only open's and xdg-open's exit codes tell
  const [command, exitCodeTells] = process.platform === "darwin" ? ["open", true] : process.platform === "win32" ? ["explorer", false] : ["xdg-open", true];
  const note = (why: string) => process.stderr.write(`lora-gguf studio: could not open a browser (${command}: ${why}); open the address above\n`);
  const spawned = await new Promise<boolean>((resolve) => {
    const child = spawn(command, [page], { stdio: "ignore", detached: true });
    child.once("error", (error) => {
      note(error.message);
      resolve(false);
    });
    child.once("spawn", () => {
      child.once("exit", (code) => {
        if (exitCodeTells && code !== 0) note(`exit code ${code}`);
      });
      child.unref();
      resolve(true);
    });
  });
  if (!spawned) {
    await cleanup();
    return undefined;
  }
  return { cleanup };
}
