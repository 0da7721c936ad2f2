// NVIDIA GPUs as nvidia-smi reports them, for the benches: their names, and a child process's peak
// GPU memory, polled while it runs. Everything here fails soft: without nvidia-smi, or where it
// fails or hangs, the answers are undefined and the bench goes on.
import { execFile, spawnSync } from "node:child_process";

// nvidia-smi can hang on a wedged driver; a poll that takes longer than this is given up
const queryTimeoutMs = 5000;
const MiB = 2 ** 20;

/** "NVIDIA H200, 143771 MiB" for each GPU, or undefined where nvidia-smi is missing or fails. */
export function gpuNames() {
  const probe = spawnSync("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader"], { encoding: "utf8", timeout: queryTimeoutMs });
  if (probe.status !== 0 || !probe.stdout) return undefined;
  const names = probe.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  return names.length ? names : undefined;
}

function query(args) {
  return new Promise((resolve) => {
    execFile("nvidia-smi", args, { encoding: "utf8", timeout: queryTimeoutMs }, (error, stdout) => resolve(error ? undefined : stdout));
  });
}

/** MiB in use per process id (summed over GPUs), or undefined. Values nvidia-smi cannot read ("[N/A]") are left out. */
async function processMemoryMiB() {
  const output = await query(["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]);
  if (output === undefined) return undefined;
  const byPid = new Map();
  for (const line of output.split("\n")) {
    const [pid, used] = line.split(",").map((field) => Number(field.trim()));
    if (Number.isInteger(pid) && Number.isFinite(used)) byPid.set(pid, (byPid.get(pid) ?? 0) + used);
  }
  return byPid;
}

/** MiB in use on all GPUs together, or undefined. */
async function deviceMemoryMiB() {
  const output = await query(["--query-gpu=memory.used", "--format=csv,noheader,nounits"]);
  if (output === undefined) return undefined;
  const values = output.split("\n").map((line) => line.trim()).filter(Boolean).map(Number).filter(Number.isFinite);
  return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
}

/**
 * Starts watching GPU memory for one child: call before spawning it (it reads the devices' idle
 * level first), then `track(pid)` once spawned, and `stop()` when it has exited. The peak is the
 * child's own row of --query-compute-apps (its CUDA context included); where nvidia-smi never lists
 * that pid (a container's PID namespace differs from the driver's), the devices' used memory over
 * their idle level instead, which is the child's as long as nothing else runs on them.
 */
export async function watchGpuMemory({ intervalMs = 200 } = {}) {
  const idleDeviceMiB = await deviceMemoryMiB();
  let pid;
  let stopped = false;
  let peakProcessMiB;
  let peakDeviceMiB;
  let timer;
  async function poll() {
    // the devices' total is only the fallback: once the child's own row has been seen, nvidia-smi runs once a poll
    const [byPid, deviceMiB] = await Promise.all([processMemoryMiB(), peakProcessMiB === undefined ? deviceMemoryMiB() : undefined]);
    const own = byPid?.get(pid);
    if (own !== undefined) peakProcessMiB = Math.max(peakProcessMiB ?? 0, own);
    if (deviceMiB !== undefined) peakDeviceMiB = Math.max(peakDeviceMiB ?? 0, deviceMiB);
    if (!stopped) timer = setTimeout(poll, intervalMs);
  }
  return {
    track(childPid) {
      if (pid !== undefined || childPid === undefined) return;
      pid = childPid;
      timer = setTimeout(poll, 0);
    },
    /** { peakGpuBytes, gpuMemorySource: "process" | "device" }, or {} where nothing could be read. */
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (peakProcessMiB !== undefined) return { peakGpuBytes: peakProcessMiB * MiB, gpuMemorySource: "process" };
      if (peakDeviceMiB !== undefined && idleDeviceMiB !== undefined) {
        return { peakGpuBytes: Math.max(0, peakDeviceMiB - idleDeviceMiB) * MiB, gpuMemorySource: "device" };
      }
      return {};
    },
  };
}
