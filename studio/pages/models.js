// Models: the workspace's GGUF files with inspect's facts, and converting a Hugging Face folder
// (a model, or a PEFT adapter with its base) to GGUF, with its progress and a cancel button.
import { describeError } from "../api.js";
import { element, panel, replaceChildren } from "../elements.js";
import { field, setChoices } from "../form-fields.js";
import { formatBytes, formatCount } from "../format.js";
import { findLatestJob } from "../job-events.js";
import { createJobPanel } from "../job-panel.js";
import { listWorkspaceModels } from "../workspace-files.js";

export function createModelsPage(studio) {
  const table = element("table", { class: "models", "aria-label": "GGUF files" });
  const listError = element("p", { class: "error", hidden: true });

  const input = element("select", { name: "input" });
  const output = element("input", { name: "output", placeholder: "models/model.gguf" });
  const outType = element("select", { name: "outType" });
  setChoices(outType, studio.convertOutTypes);
  const base = element("select", { name: "base" });
  const force = element("input", { type: "checkbox", name: "force" });
  const result = element("p", { class: "result", hidden: true });
  const job = createJobPanel({
    label: "Convert",
    stopLabel: "Cancel",
    describeProgress: (progress) => ({
      fraction: progress.tensorsDone / progress.tensorsTotal,
      text: `${progress.tensorsDone} of ${progress.tensorsTotal} tensors (${progress.tensorName}), ${formatBytes(progress.bytesWritten)} written`,
    }),
    onEvent: (event) => {
      if (event.type === "result") {
        result.hidden = false;
        result.textContent = `wrote ${event.result.output ?? output.value}`;
      }
      if (event.type === "end") refresh();
    },
  });

  // the output follows the input until the user names one
  let outputNamed = false;
  output.addEventListener("input", () => (outputNamed = output.value !== ""));
  input.addEventListener("change", () => {
    if (!outputNamed && input.value) output.value = `${input.value.replace(/\/+$/, "")}.gguf`;
  });

  async function convert(event) {
    event.preventDefault();
    result.hidden = true;
    const body = { input: input.value, output: output.value, outType: outType.value, force: force.checked };
    if (base.value) body.base = base.value;
    await job.start("/api/convert", body);
  }

  const form = element(
    "form",
    { class: "form-grid", onsubmit: convert },
    field("Hugging Face folder", input, "a folder with config.json (or adapter_config.json) and *.safetensors"),
    field("Output GGUF", output),
    field("Matrix type", outType, "auto keeps the checkpoint's"),
    field("Base (PEFT adapters)", base, "the adapter's base model, as a folder or a GGUF"),
    field("Overwrite", force),
    element("div", { class: "actions" }, element("button", { type: "submit", class: "primary" }, "Convert")),
  );

  async function refresh() {
    try {
      const listed = await listWorkspaceModels();
      listError.hidden = true;
      renderTable(listed.all);
      setChoices(input, listed.checkpointDirectories);
      setChoices(base, [...listed.checkpointDirectories, ...listed.models], { none: "(none: a model folder)" });
      if (!outputNamed && input.value) output.value = `${input.value.replace(/\/+$/, "")}.gguf`;
    } catch (error) {
      listError.hidden = false;
      listError.textContent = describeError(error);
    }
  }

  function renderTable(models) {
    const header = element("tr", {}, ["File", "Kind", "Architecture", "Parameters", "Types", "Context", "Tokenizer", "Chat template", "Size"].map((name) => element("th", {}, name)));
    const rows = models.map((model) => {
      if (model.error) return element("tr", { class: "unreadable" }, element("td", {}, model.path), element("td", { colspan: 8, class: "error" }, `${model.error.code}: ${model.error.message}`));
      const adapter = model.adapter && `adapter: rank ${model.adapter.rank ?? "?"}, alpha ${model.adapter.alpha ?? "?"}, ${model.adapter.targetCount} tensors`;
      const types = model.fileType?.name ?? model.tensorTypes.map((entry) => entry.type).join(", ");
      return element(
        "tr",
        {},
        element("td", { class: "path" }, model.path),
        element("td", {}, adapter ?? model.kind),
        element("td", {}, model.architecture ?? "–", model.name && element("div", { class: "muted" }, model.name)),
        element("td", { class: "number" }, formatCount(model.parameterCount)),
        element("td", {}, types),
        element("td", { class: "number" }, model.contextLength ?? "–"),
        element("td", {}, model.tokenizer ? `${model.tokenizer.model}${model.tokenizer.pre ? ` (${model.tokenizer.pre})` : ""}, ${model.tokenizer.tokenCount ?? "?"} tokens` : "–"),
        element("td", {}, model.hasChatTemplate ? "yes" : "no"),
        element("td", { class: "number" }, formatBytes(model.fileBytes)),
      );
    });
    replaceChildren(table, element("thead", {}, header), element("tbody", {}, rows.length ? rows : element("tr", {}, element("td", { colspan: 9 }, "no GGUF files in the workspace yet"))));
  }

  const root = element(
    "div",
    {},
    panel("GGUF files in the workspace", listError, element("div", { class: "scroll" }, table)),
    panel("Convert a Hugging Face folder", form, job.element, result),
  );

  findLatestJob(["convert"], { running: true }).then((running) => running && job.attach(running));
  return { element: root, show: refresh };
}
