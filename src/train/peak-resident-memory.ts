import { readFileSync } from "node:fs";

/**
 * This process's peak resident memory. Linux's VmHWM where there is /proc: ru_maxrss (what
 * process.resourceUsage().maxRSS reports) survives fork and exec, so a child would report its
 * parent's peak.
 */
export function peakResidentBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
