// Export: merge adapters into the base (each with its scale), quantize a model, write an Ollama
// Modelfile (shown with its warnings and the `ollama create` line), and export an adapter as PEFT
// safetensors, checked against Cloudflare Workers AI's limits when asked.
import { describeError, postJson } from "../api.js";
import { element, panel, replaceChildren } from "../elements.js";
import { createCommandBox, field, numberOrText, setChoices } from "../form-fields.js";
import { formatBytes } from "../format.js";
import { findLatestJob } from "../job-events.js";
import { createJobPanel } from "../job-panel.js";
import { listWorkspaceModels, newestOf } from "../workspace-files.js";

const tensorProgress = (progress) => ({ fraction: progress.tensorsDone / progress.tensorsTotal, text: `${progress.tensorsDone} of ${progress.tensorsTotal} tensors (${progress.tensorName})` });

export function createExportPage(studio) {
  const typeNames = studio.quantizationTypes.map((type) => ({ value: type.name.toLowerCase(), label: `${type.name}: ${type.description}` }));
  const modelSelects = [];
  const adapterSelects = [];
  const modelSelect = (name, none) => {
    const select = element("select", { name });
    modelSelects.push({ select, none });
    return select;
  };
  const adapterSelect = (name, none) => {
    const select = element("select", { name });
    adapterSelects.push({ select, none });
    return select;
  };
  const checkbox = (name) => element("input", { type: "checkbox", name });
  const text = (name, placeholder) => element("input", { name, placeholder });
  const resultLine = () => element("p", { class: "result", hidden: true });
  const showResult = (line, message) => {
    line.hidden = false;
    line.textContent = message;
  };

  // merge: adapter rows, each with its scale
  const mergeModel = modelSelect("model");
  const adapterRows = element("div", { class: "adapter-rows" });
  const addAdapterRow = () => {
    const select = adapterSelect("adapter");
    select.setAttribute("aria-label", "adapter");
    const row = element("div", { class: "adapter-row" }, select, element("input", { name: "scale", inputmode: "decimal", placeholder: "1", "aria-label": "scale", size: 5 }));
    const forget = () => {
      row.remove();
      adapterSelects.splice(adapterSelects.findIndex((entry) => entry.select === select), 1);
    };
    row.append(element("button", { type: "button", onclick: forget, "aria-label": "remove this adapter" }, "×"));
    adapterRows.append(row);
    fillChoices();
  };
  const mergeOutput = text("output", "models/merged.gguf");
  const mergeType = element("select", { name: "type" });
  setChoices(mergeType, typeNames, { none: "keep the base's types" });
  const mergeForce = checkbox("force");
  const mergeResult = resultLine();
  const mergeJob = createJobPanel({
    label: "Merge",
    describeProgress: tensorProgress,
    onEvent: (event) => {
      if (event.type === "result") showResult(mergeResult, `wrote ${event.result.output} (${formatBytes(event.result.outputBytes)}, ${event.result.mergedTensorCount} tensors merged)${event.result.warnings.length ? `; ${event.result.warnings.join("; ")}` : ""}`);
      if (event.type === "end") refresh();
    },
  });
  const merge = async (event) => {
    event.preventDefault();
    mergeResult.hidden = true;
    const adapters = [...adapterRows.children].map((row) => {
      const scale = row.querySelector("[name=scale]").value.trim();
      return { path: row.querySelector("select").value, ...(scale === "" ? {} : { scale: numberOrText(scale) }) };
    });
    const body = { model: mergeModel.value, adapters, output: mergeOutput.value.trim() || mergeOutput.placeholder, force: mergeForce.checked };
    if (mergeType.value) body.type = mergeType.value;
    await mergeJob.start("/api/merge", body);
  };

  // quantize
  const quantizeInput = modelSelect("input");
  const quantizeOutput = text("output", "beside the model: <name>-<type>.gguf");
  const quantizeType = element("select", { name: "type" });
  setChoices(quantizeType, typeNames, { preferred: "q4_k_m" });
  const quantizeForce = checkbox("force");
  const quantizeResult = resultLine();
  const quantizeJob = createJobPanel({
    label: "Quantize",
    describeProgress: tensorProgress,
    onEvent: (event) => {
      if (event.type === "result") showResult(quantizeResult, `wrote ${event.result.output}: ${event.result.type}, ${formatBytes(event.result.inputBytes)} → ${formatBytes(event.result.outputBytes)}`);
      if (event.type === "end") refresh();
    },
  });
  const quantize = async (event) => {
    event.preventDefault();
    quantizeResult.hidden = true;
    const output = quantizeOutput.value.trim() || quantizeInput.value.replace(/(\.gguf)?$/, `-${quantizeType.value}.gguf`);
    await quantizeJob.start("/api/quantize", { input: quantizeInput.value, output, type: quantizeType.value, force: quantizeForce.checked, allowRequantize: true });
  };

  // Modelfile: shown, or written (FROM and ADAPTER then relative to it)
  const modelfileModel = modelSelect("model");
  const modelfileAdapter = adapterSelect("adapter", "(none: a merged model)");
  const modelfileSystem = text("system", "none");
  const modelfileOutput = text("output", "beside the adapter: Modelfile");
  const modelfileForce = checkbox("force");
  const modelfileText = element("pre", { class: "modelfile", "aria-label": "Modelfile text" });
  const modelfileWarnings = element("ul", { class: "warnings" });
  const modelfileNote = element("p", { class: "note", "aria-live": "polite" });
  const modelfileFailure = element("p", { class: "error", role: "alert", hidden: true });
  const createCommand = createCommandBox("ollama create");
  const modelfile = async (write) => {
    modelfileFailure.hidden = true;
    const body = { model: modelfileModel.value };
    if (modelfileAdapter.value) body.adapter = modelfileAdapter.value;
    if (modelfileSystem.value) body.system = modelfileSystem.value;
    if (write) {
      body.output = modelfileOutput.value.trim() || suggestedModelfile();
      body.force = modelfileForce.checked;
    }
    try {
      const answer = await postJson("/api/modelfile", body);
      modelfileText.textContent = answer.text;
      replaceChildren(modelfileWarnings, answer.warnings.map((warning) => element("li", {}, warning)));
      modelfileNote.textContent = answer.output ? `wrote ${answer.output}` : "not written yet: Write saves it";
      createCommand.set(answer.createCommand);
    } catch (error) {
      modelfileFailure.hidden = false;
      modelfileFailure.textContent = describeError(error);
    }
  };
  const suggestedModelfile = () => `${(modelfileAdapter.value || modelfileModel.value).replace(/[^/]*$/, "")}Modelfile`;

  // PEFT export, with the Cloudflare Workers AI check
  const peftAdapter = adapterSelect("adapter");
  const peftOutput = text("output", "beside the adapter: peft/");
  const peftTarget = element("select", { name: "target" });
  setChoices(peftTarget, studio.exportPeftTargets, { none: "(none: plain PEFT)" });
  const peftBase = modelSelect("base", "(none)");
  const peftBaseName = text("baseModelName", "e.g. meta-llama/Llama-3.2-1B-Instruct");
  const peftForce = checkbox("force");
  const peftResult = resultLine();
  const peftJob = createJobPanel({
    label: "PEFT export",
    describeProgress: () => ({ fraction: undefined, text: "" }),
    onEvent: (event) => {
      if (event.type === "result") {
        const result = event.result;
        showResult(peftResult, `wrote ${result.files.join(", ")} (${formatBytes(result.bytes)}): rank ${result.rank}, alpha ${result.alpha}, ${result.targetModules.join(", ")}${peftTarget.value ? `; meets ${peftTarget.value}'s limits` : ""}`);
      }
    },
  });
  const exportPeft = async (event) => {
    event.preventDefault();
    peftResult.hidden = true;
    const body = { adapter: peftAdapter.value, output: peftOutput.value.trim() || `${peftAdapter.value.replace(/[^/]*$/, "")}peft`, force: peftForce.checked };
    if (peftTarget.value) body.target = peftTarget.value;
    if (peftBase.value) body.base = peftBase.value;
    if (peftBaseName.value.trim()) body.baseModelName = peftBaseName.value.trim();
    await peftJob.start("/api/export-peft", body);
  };

  const actions = (...buttons) => element("div", { class: "actions" }, buttons);
  const submit = (label) => element("button", { type: "submit", class: "primary" }, label);
  const root = element(
    "div",
    { class: "export-page" },
    panel(
      "Merge adapters into the model",
      element(
        "form",
        { class: "form-grid", onsubmit: merge, "aria-label": "Merge" },
        field("Model", mergeModel),
        element("fieldset", { class: "field wide" }, element("legend", { class: "field-label" }, "Adapters and scales"), adapterRows, element("button", { type: "button", onclick: addAdapterRow }, "Add an adapter")),
        field("Output GGUF", mergeOutput),
        field("Type", mergeType),
        field("Overwrite", mergeForce),
        actions(submit("Merge")),
      ),
      mergeJob.element,
      mergeResult,
    ),
    panel(
      "Quantize",
      element("form", { class: "form-grid", onsubmit: quantize, "aria-label": "Quantize" }, field("Model", quantizeInput), field("Output GGUF", quantizeOutput), field("Type", quantizeType), field("Overwrite", quantizeForce), actions(submit("Quantize"))),
      quantizeJob.element,
      quantizeResult,
    ),
    panel(
      "Ollama Modelfile",
      element(
        "form",
        { class: "form-grid", onsubmit: (event) => (event.preventDefault(), modelfile(true)), "aria-label": "Modelfile" },
        field("Model (FROM)", modelfileModel),
        field("Adapter (ADAPTER)", modelfileAdapter),
        field("System message", modelfileSystem),
        field("Write to", modelfileOutput),
        field("Overwrite", modelfileForce),
        actions(element("button", { type: "button", onclick: () => modelfile(false) }, "Show"), submit("Write")),
      ),
      modelfileFailure,
      modelfileText,
      modelfileWarnings,
      modelfileNote,
      createCommand.element,
    ),
    panel(
      "PEFT safetensors",
      element(
        "form",
        { class: "form-grid", onsubmit: exportPeft, "aria-label": "PEFT export" },
        field("Adapter", peftAdapter),
        field("Output folder", peftOutput),
        field("Check against", peftTarget, "cloudflare: Workers AI's rank, size and architecture limits"),
        field("Base model", peftBase, "the adapter's base GGUF: its head counts restore Hugging Face's q/k row order, which llama.cpp changes"),
        field("Base model name", peftBaseName, "base_model_name_or_path in adapter_config.json"),
        field("Overwrite", peftForce),
        actions(submit("Export")),
      ),
      peftJob.element,
      peftResult,
    ),
  );

  let listed;
  async function refresh() {
    listed = await listWorkspaceModels();
    fillChoices();
  }
  function fillChoices() {
    if (listed === undefined) return;
    for (const { select, none } of modelSelects) setChoices(select, listed.models, { none });
    const preferred = newestOf(listed, listed.adapters);
    for (const { select, none } of adapterSelects) setChoices(select, listed.adapters, { none, preferred });
    if (mergeModel.value) mergeOutput.placeholder = mergeModel.value.replace(/(\.gguf)?$/, "-merged.gguf");
  }

  for (const [kinds, panelOf] of [[["merge"], mergeJob], [["quantize"], quantizeJob], [["export-peft"], peftJob]]) {
    findLatestJob(kinds, { running: true }).then((running) => running && panelOf.attach(running));
  }
  addAdapterRow();
  return { element: root, show: refresh };
}
