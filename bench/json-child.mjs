// One bench configuration in a process of its own, run asynchronously (so that the parent can poll
// its GPU memory while it runs) and failing soft: whatever goes wrong in it becomes its row's error.
import { spawn } from "node:child_process";

import { watchGpuMemory } from "./gpu-memory.mjs";

// a child's stderr kept for the error message of a crash; the rest passes through to ours
const stderrTailChars = 8192;

/**
 * Runs `command args` and resolves with `result`, the JSON object on the last line of its stdout,
 * and `gpuMemory`, watchGpuMemory's { peakGpuBytes, gpuMemorySource } ({} where `watchGpu` is off or
 * nvidia-smi could not tell). Never rejects: a child that cannot start, prints no JSON, fails or runs
 * past `timeoutSeconds` (then killed) gives { error }. One that printed its result and then exited
 * badly or hung keeps the result, with `childExit`.
 */
export async function runJsonChild(command, args, { watchGpu = false, timeoutSeconds } = {}) {
  const gpu = watchGpu ? await watchGpuMemory() : undefined;
  const result = await new Promise((resolve) => {
    let stdout = "";
    let stderrTail = "";
    let timedOut = false;
    let settled = false;
    let timer;
    const settle = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    let child;
    try {
      child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      settle({ error: `could not start ${command}: ${error.message}` });
      return;
    }
    gpu?.track(child.pid);
    if (timeoutSeconds) {
      timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeoutSeconds * 1000);
    }
    child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk).slice(-stderrTailChars);
    });
    child.on("error", (error) => settle({ error: `could not start ${command}: ${error.message}` }));
    child.on("close", (code, signal) => {
      const printed = lastJsonLine(stdout);
      const exit = timedOut ? `killed after ${timeoutSeconds} s` : signal ? `killed by ${signal}` : code !== 0 ? `exit code ${code}` : undefined;
      // a result printed before a hang or crash on the way out (a GPU runtime's teardown, say) still counts
      if (printed && (printed.error || printed.tokensPerSecond !== undefined)) {
        return settle(exit && !printed.error ? { ...printed, childExit: exit } : printed);
      }
      if (timedOut) return settle({ error: `timed out after ${timeoutSeconds} s (killed)${tellingLine(stderrTail)}` });
      settle({ error: `${exit ?? "exit code 0"}, no result printed${tellingLine(stderrTail)}` });
    });
  });
  return { result, gpuMemory: gpu ? gpu.stop() : {} };
}

function lastJsonLine(stdout) {
  const last = stdout.trim().split("\n").at(-1);
  try {
    const parsed = JSON.parse(last);
    return parsed && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The stderr line that most likely says what went wrong: ggml's assertion or CUDA error first. */
function tellingLine(stderrTail) {
  const lines = stderrTail.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("at "));
  const line =
    lines.find((l) => /GGML_ASSERT|CUDA error|out of memory/i.test(l)) ?? lines.findLast((l) => /error|abort|exception|fatal/i.test(l)) ?? lines.at(-1);
  return line ? `: ${line.slice(0, 300)}` : "";
}
