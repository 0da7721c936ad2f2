import { inspect } from "../inspect/inspect.js";
import { formatBytes, formatCount, printJson, runAction } from "./output.js";
export function registerInspectCommand(program) {
    program
        .command("inspect")
        .description("describe a GGUF model or LoRA adapter: architecture, parameters, file type, tokenizer, tensor types")
        .argument("<file>", "GGUF file")
        .option("--tensors", "list every tensor")
        .option("--json", "print the result as JSON")
        .action((file, flags) => runAction(async () => {
        const result = await inspect(file, { tensors: flags.tensors === true });
        if (flags.json)
            printJson(result);
        else
            process.stdout.write(formatInspectResult(result));
    }));
}
export function formatInspectResult(result) {
    const lines = [];
    const row = (label, value) => lines.push(`${label.padEnd(16)}${value}`);
    row("file", `${result.path} (${formatBytes(result.fileBytes)}, GGUF v${result.ggufVersion})`);
    row("kind", result.kind);
    row("architecture", result.architecture ?? "-");
    if (result.name)
        row("name", result.name);
    row("parameters", `${formatCount(result.parameterCount)} (${result.parameterCount})`);
    row("file type", result.fileType ? `${result.fileType.name} (${result.fileType.id})` : "-");
    row("context length", result.contextLength === undefined ? "-" : String(result.contextLength));
    row("tokenizer", result.tokenizer
        ? `${result.tokenizer.model}${result.tokenizer.pre ? ` (pre: ${result.tokenizer.pre})` : ""}, ${result.tokenizer.tokenCount ?? "?"} tokens`
        : "-");
    row("chat template", result.hasChatTemplate ? "yes" : "no");
    if (result.adapter) {
        row("adapter", `${result.adapter.adapterType}, rank ${result.adapter.rank ?? "mixed"}, alpha ${result.adapter.alpha ?? "-"}, ${result.adapter.targetCount} target tensors`);
    }
    lines.push("", `tensors: ${result.tensorCount}`);
    lines.push(`  ${"type".padEnd(8)}${"count".padStart(7)}${"parameters".padStart(14)}${"size".padStart(12)}`);
    for (const summary of result.tensorTypes) {
        lines.push(`  ${summary.type.padEnd(8)}${String(summary.tensorCount).padStart(7)}${formatCount(summary.parameterCount).padStart(14)}${formatBytes(summary.bytes).padStart(12)}`);
    }
    if (result.tensors) {
        lines.push("");
        const width = Math.max(4, ...result.tensors.map((tensor) => tensor.name.length));
        for (const tensor of result.tensors) {
            lines.push(`  ${tensor.name.padEnd(width)}  ${tensor.type.padEnd(6)}  [${tensor.dims.join(", ")}]  ${formatBytes(tensor.bytes)}`);
        }
    }
    return `${lines.join("\n")}\n`;
}
//# sourceMappingURL=inspect.js.map