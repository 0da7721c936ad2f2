// The files the studio's pages choose from: a walk of the workspace a few directories deep, past
// hidden directories and node_modules, with symbolic links kept only where they stay inside.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

import { isLoraGgufError } from "../errors.js";
import { resolveWorkspacePath, workspacePathOf, type Workspace } from "./workspace-paths.js";

/** Directories below the workspace that are searched: files in the workspace and up to three levels down. */
export const WORKSPACE_SEARCH_DEPTH = 3;

export interface WorkspaceEntry {
  /** The workspace path. */
  path: string;
  absolute: string;
  bytes: number;
  modified: string;
}

/** Files (`kind` "file") or directories under `start` whose name `matches` accepts, in path order. */
export async function findInWorkspace(
  workspace: Workspace,
  options: { start?: string; kind: "file" | "directory"; matches(name: string, absolute: string): boolean | Promise<boolean> },
): Promise<WorkspaceEntry[]> {
  const found: WorkspaceEntry[] = [];
  const visit = async (directory: string, depth: number): Promise<void> => {
    const entries = await readdir(directory, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      const absolute = path.join(directory, entry.name);
      if (entry.isSymbolicLink() && !(await staysInside(workspace, absolute))) continue;
      const info = await stat(absolute).catch(() => undefined);
      if (info === undefined) continue;
      if (info.isDirectory() === (options.kind === "directory") && (await options.matches(entry.name, absolute))) {
        found.push({ path: workspacePathOf(workspace, absolute), absolute, bytes: info.size, modified: info.mtime.toISOString() });
      }
      // a symbolic link to a directory is not followed: it could loop
      if (info.isDirectory() && !entry.isSymbolicLink() && depth < WORKSPACE_SEARCH_DEPTH) await visit(absolute, depth + 1);
    }
  };
  await visit(options.start ?? workspace.root, 0);
  return found;
}

async function staysInside(workspace: Workspace, absolute: string): Promise<boolean> {
  try {
    await resolveWorkspacePath(workspace, absolute, { mustExist: true, name: "path" });
    return true;
  } catch (error) {
    if (isLoraGgufError(error)) return false;
    throw error;
  }
}
