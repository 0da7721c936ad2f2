// The studio reads and writes only under its workspace: every path a request names is resolved here,
// and refused when it leads out, lexically (`..`, an absolute path elsewhere) or through a symbolic
// link. Outputs that do not exist yet are checked by the real path of their longest existing prefix.
import { lstat, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";

import { LoraGgufError } from "../errors.js";

export interface Workspace {
  /** The directory as given, made absolute. */
  root: string;
  /** Its real path (symbolic links resolved), which every path must stay under. */
  realRoot: string;
}

export async function openWorkspace(directory: string): Promise<Workspace> {
  const root = path.resolve(directory);
  const info = await stat(root).catch(() => undefined);
  if (info === undefined) throw new LoraGgufError("E_INPUT_NOT_FOUND", `studio: the workspace ${root} does not exist`);
  if (!info.isDirectory()) throw new LoraGgufError("E_INVALID_OPTION", `studio: the workspace ${root} is not a directory`);
  return { root, realRoot: await realpath(root) };
}

export interface ResolveOptions {
  /** An input: E_INPUT_NOT_FOUND unless it exists. */
  mustExist: boolean;
  /** What the path is, for messages ("data", "output"). */
  name: string;
}

/**
 * The absolute path of `requested` (relative to the workspace, or absolute inside it), or
 * E_INVALID_OPTION when it is outside the workspace, E_INPUT_NOT_FOUND when it must exist and does not.
 */
export async function resolveWorkspacePath(workspace: Workspace, requested: unknown, options: ResolveOptions): Promise<string> {
  if (typeof requested !== "string" || requested === "") {
    throw new LoraGgufError("E_INVALID_OPTION", `studio: ${options.name} must be a path in the workspace, got ${JSON.stringify(requested) ?? String(requested)}`);
  }
  if (requested.includes("\0")) throw new LoraGgufError("E_INVALID_OPTION", `studio: ${options.name} holds a NUL character`);
  const outside = (why: string) =>
    new LoraGgufError("E_INVALID_OPTION", `studio: ${options.name} ${JSON.stringify(requested)} is outside the studio's workspace ${workspace.root}${why}; give a path inside it`);

  // an absolute path may name the workspace as given or by its real path (/tmp and /private/tmp on macOS)
  const base = path.isAbsolute(requested) && isInside(workspace.realRoot, path.resolve(requested)) ? workspace.realRoot : workspace.root;
  const absolute = path.resolve(base, requested);
  if (!isInside(base, absolute)) throw outside("");

  const { existing, real } = await realPathOfLongestExistingPrefix(absolute);
  if (real === undefined) throw outside(` (${existing} is a symbolic link that leads nowhere)`);
  const realTarget = path.join(real, path.relative(existing, absolute));
  if (!isInside(workspace.realRoot, realTarget)) throw outside(" (a symbolic link leads out of it)");
  if (options.mustExist && existing !== absolute) {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `studio: ${options.name} ${requested} does not exist in the workspace`);
  }
  return absolute;
}

/** A text file in the workspace (a chat template). */
export async function readWorkspaceText(workspace: Workspace, requested: unknown, name: string): Promise<string> {
  const file = await resolveWorkspacePath(workspace, requested, { mustExist: true, name });
  return readFile(file, "utf8").catch((error: unknown) => {
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `studio: cannot read ${name} ${String(requested)}: ${(error as Error).message}`, { cause: error });
  });
}

/** `absolute` as the workspace-relative path the studio's responses use ("." for the workspace itself). */
export function workspacePathOf(workspace: Workspace, absolute: string): string {
  for (const base of [workspace.root, workspace.realRoot]) {
    if (isInside(base, absolute)) return path.relative(base, absolute) || ".";
  }
  return absolute;
}

/**
 * `value` (an API result) with every string that is an absolute path in the workspace replaced by its
 * workspace path, so that a page can send what it was given back as it is.
 */
export function workspacePathsIn<T>(workspace: Workspace, value: T): T {
  if (typeof value === "string") {
    return (path.isAbsolute(value) && [workspace.root, workspace.realRoot].some((base) => isInside(base, value)) ? workspacePathOf(workspace, value) : value) as T;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => workspacePathsIn(workspace, item)) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, workspacePathsIn(workspace, item)])) as T;
  }
  return value;
}

function isInside(directory: string, candidate: string): boolean {
  const relative = path.relative(directory, candidate);
  return relative === "" || (!relative.startsWith(`..${path.sep}`) && relative !== ".." && !path.isAbsolute(relative));
}

/**
 * The deepest existing entry on the way up from `absolute`, and its real path; undefined for a link to
 * nothing (writing through it would create its target, wherever that is).
 */
async function realPathOfLongestExistingPrefix(absolute: string): Promise<{ existing: string; real: string | undefined }> {
  let candidate = absolute;
  while ((await lstat(candidate).catch(() => undefined)) === undefined && path.dirname(candidate) !== candidate) candidate = path.dirname(candidate);
  return { existing: candidate, real: await realpath(candidate).catch(() => undefined) };
}
