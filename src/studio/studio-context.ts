import type { Log } from "./error-responses.js";
import type { JobRegistry } from "./jobs.js";
import type { Workspace } from "./workspace-paths.js";

/** What every API route works with. */
export interface StudioContext {
  workspace: Workspace;
  jobs: JobRegistry;
  log: Log;
}
