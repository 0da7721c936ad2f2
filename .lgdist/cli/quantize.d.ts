import type { Command } from "commander";
export declare function registerQuantizeCommand(program: Command): void;
