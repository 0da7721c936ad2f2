import type { Command } from "commander";
import { type InspectResult } from "../inspect/inspect.js";
export declare function registerInspectCommand(program: Command): void;
export declare function formatInspectResult(result: InspectResult): string;
