// Train: the options form (each field's placeholder is the value train() would use, from the plan the
// studio makes of the options as they stand; each hint is the CLI flag's --help), the live memory
// estimate with its refusal before any start, the equivalent `lora-gguf train` command, start / stop
// (with a checkpoint) / resume, a live loss curve with tokens/s and ETA, and the settings saved beside
// the run. A running job is found again after a reload, and its replayed events redraw the curve.
import { describeError, getJson, postJson, StudioApiError } from "../api.js";
import { element, panel, replaceChildren } from "../elements.js";
import { createCommandBox, field, numberOrText, setChoices } from "../form-fields.js";
import { formatBytes, formatLoss, formatSeconds } from "../format.js";
import { findLatestJob } from "../job-events.js";
import { createJobPanel } from "../job-panel.js";
import { createLossChart } from "../loss-chart.js";
import { listWorkspaceDatasets, listWorkspaceModels } from "../workspace-files.js";

/** The options the form offers, by train()'s names; `kind` says how a field's text becomes a value. */
const MAIN_FIELDS = [
  { option: "rank", label: "Rank", kind: "number" },
  { option: "alpha", label: "Alpha", kind: "number" },
  { option: "learningRate", label: "Learning rate", kind: "number" },
  { option: "epochs", label: "Epochs", kind: "number" },
  { option: "maxSteps", label: "Max steps", kind: "number" },
  { option: "contextLength", label: "Context length", kind: "number" },
  { option: "validationSplit", label: "Validation split", kind: "number" },
  { option: "evalInterval", label: "Eval interval", kind: "number" },
  { option: "threads", label: "Threads", kind: "number" },
];
const MORE_FIELDS = [
  { option: "targets", label: "Target modules", kind: "text" },
  { option: "scheduler", label: "Scheduler", kind: "choice" },
  { option: "warmupSteps", label: "Warmup steps", kind: "number" },
  { option: "batchSize", label: "Batch size", kind: "number" },
  { option: "gradientAccumulation", label: "Gradient accumulation", kind: "number" },
  { option: "weightDecay", label: "Weight decay", kind: "number" },
  { option: "seed", label: "Seed", kind: "number" },
  { option: "format", label: "Format", kind: "choice" },
  { option: "recompute", label: "Recompute", kind: "choice" },
  { option: "thinking", label: "Thinking", kind: "choice" },
  { option: "gpuLayers", label: "GPU layers", kind: "number-or-text" },
  { option: "checkpointInterval", label: "Checkpoint interval", kind: "number" },
  { option: "trainOnPrompt", label: "Train on prompts too", kind: "boolean" },
  { option: "ignoreMemoryEstimate", label: "Ignore the memory estimate", kind: "boolean" },
  { option: "force", label: "Overwrite an earlier run", kind: "boolean" },
];
const FIELDS = [...MAIN_FIELDS, ...MORE_FIELDS];

/** The form as it was, kept in the browser so that a reload shows the same options. */
const FORM_STORAGE_KEY = "lora-gguf-studio/train-form";
const ESTIMATE_DELAY_MS = 400;

export function createTrainPage(studio, { flags }) {
  const model = element("select", { name: "model" });
  const data = element("select", { name: "data" });
  const output = element("input", { name: "output", placeholder: "adapters/name/adapter.gguf" });
  const controls = new Map(FIELDS.map((spec) => [spec.option, controlFor(spec, flags[spec.option])]));

  const plan = element("p", { class: "plan", "aria-live": "polite" });
  const memory = element("pre", { class: "memory" });
  const verdict = element("p", { class: "verdict", "aria-live": "polite" });
  const command = createCommandBox("Equivalent command");

  const start = element("button", { type: "submit", class: "primary" }, "Start");
  const resume = element("button", { type: "button", disabled: true, onclick: () => resumeRun() }, "Resume");
  const live = element("p", { class: "live-stats", "aria-label": "Training progress" });
  const note = element("p", { class: "note", "aria-live": "polite" });
  const runCommand = createCommandBox("This run's command");
  const chart = createLossChart("Loss per step");
  // shown with the first run
  chart.element.hidden = true;
  const saved = element("div", { class: "saved-run" });

  let estimate;
  let training = false;
  let savedRun;
  const job = createJobPanel({
    label: "Training",
    stopLabel: "Stop (save a checkpoint)",
    describeProgress: (progress) => ({ fraction: progress.step / progress.totalSteps, text: `step ${progress.step} of ${progress.totalSteps}` }),
    onEvent: showEvent,
  });

  function showEvent(event) {
    if (event.type === "metrics") {
      // a resumed run's earlier steps, from metrics.jsonl
      for (const record of event.records) chart.add(record);
      note.textContent = `resumed: ${event.records.length} earlier steps`;
    } else if (event.type === "progress") {
      const progress = event.progress;
      chart.add(progress);
      replaceChildren(
        live,
        stat("step", `${progress.step} / ${progress.totalSteps}`),
        stat("epoch", progress.epoch),
        stat("loss", formatLoss(progress.loss)),
        progress.validationLoss !== undefined && stat("validation", formatLoss(progress.validationLoss)),
        stat("tokens/s", Math.round(progress.tokensPerSecond)),
        stat("elapsed", formatSeconds(progress.elapsedSeconds)),
        stat("ETA", formatSeconds(progress.etaSeconds)),
      );
    } else if (event.type === "checkpoint") {
      note.textContent = `stopped after step ${event.step}; checkpoint saved: ${event.checkpoint}. Resume continues from it.`;
    } else if (event.type === "result") {
      const result = event.result;
      note.textContent = `done: ${result.steps} steps, loss ${formatLoss(result.firstLoss)} → ${formatLoss(result.finalLoss)}; adapter ${result.adapter}, settings ${result.trainingConfig}, metrics ${result.metrics}, plot ${result.lossPlot}`;
    } else if (event.type === "end") {
      training = false;
      updateButtons();
      loadSavedRun();
    }
  }

  function attach(summary) {
    chart.element.hidden = false;
    chart.clear();
    replaceChildren(live);
    note.textContent = "";
    training = summary.state === "running";
    runCommand.set(summary.params.command ?? summary.command);
    job.attach(summary);
    updateButtons();
  }

  function updateButtons() {
    const refused = estimate !== undefined && !estimate.memory.fits && !controls.get("ignoreMemoryEstimate").checked;
    start.disabled = training || refused;
    // a finished run's last checkpoint has nothing left to train
    resume.disabled = training || savedRun?.checkpoint === undefined || savedRun.finished;
  }

  function readOptions() {
    const options = { model: model.value, data: data.value };
    if (output.value.trim()) options.output = output.value.trim();
    for (const spec of FIELDS) {
      const value = readValue(spec, controls.get(spec.option));
      if (value !== undefined) options[spec.option] = value;
    }
    return options;
  }

  async function startRun(event) {
    event.preventDefault();
    await job.start("/api/train", { options: readOptions() }, attach);
  }

  async function resumeRun() {
    const body = { output: output.value.trim() };
    for (const option of ["threads", "gpuLayers", "checkpointInterval", "ignoreMemoryEstimate"]) {
      const spec = FIELDS.find((entry) => entry.option === option);
      const value = readValue(spec, controls.get(option));
      if (value !== undefined) body[option] = value;
    }
    await job.start("/api/train/resume", body, attach);
  }

  // the estimate, the placeholders and the command follow the form, a moment after the last change
  let estimateTimer;
  let estimateCount = 0;
  function scheduleEstimate() {
    clearTimeout(estimateTimer);
    estimateTimer = setTimeout(refreshEstimate, ESTIMATE_DELAY_MS);
    saveForm();
  }

  async function refreshEstimate() {
    if (!model.value || !data.value) return;
    const attempt = ++estimateCount;
    try {
      const answer = await postJson("/api/train/estimate", { options: readOptions() });
      if (attempt !== estimateCount) return;
      estimate = answer;
      showEstimate(answer);
    } catch (error) {
      if (attempt !== estimateCount) return;
      estimate = undefined;
      plan.textContent = "";
      memory.textContent = "";
      verdict.className = "verdict error";
      verdict.textContent = describeError(error);
    }
    updateButtons();
    loadSavedRun();
  }

  function showEstimate(answer) {
    for (const spec of FIELDS) {
      const resolved = spec.option === "contextLength" ? answer.contextLength : answer.config[spec.option];
      const control = controls.get(spec.option);
      if (spec.kind === "boolean") continue;
      const shown = resolved === undefined ? "" : Array.isArray(resolved) ? resolved.join(",") : String(resolved);
      if (spec.kind === "choice") control.options[0].textContent = shown ? `default (${shown})` : "default";
      else control.placeholder = shown;
    }
    plan.textContent =
      `${answer.totalSteps} step${answer.totalSteps === 1 ? "" : "s"} of ${answer.windowsPerStep} window${answer.windowsPerStep === 1 ? "" : "s"} of ${answer.contextLength} tokens; ` +
      `${answer.trainingSamples} training and ${answer.validationSamples} validation samples, ${answer.trainedTokensPerEpoch} trained tokens per epoch` +
      (answer.truncatedSamples ? `; ${answer.truncatedSamples} samples cut at the context` : "") +
      (answer.skippedSamples.length ? `; ${answer.skippedSamples.length} samples skipped` : "");
    memory.textContent = answer.memoryText;
    if (answer.memory.fits) {
      verdict.className = "verdict ok";
      verdict.textContent = `fits: about ${formatBytes(answer.memory.totalBytes)} of ${formatBytes(answer.memory.availableBytes)} available`;
    } else {
      verdict.className = "verdict refused";
      verdict.textContent =
        `train() would refuse this run: it needs about ${formatBytes(answer.memory.totalBytes)}, more than the ${formatBytes(answer.memory.availableBytes)} available. ` +
        (answer.memory.suggestions.length ? `To fit: ${answer.memory.suggestions.join("; ")}. ` : "") +
        "Tick \"Ignore the memory estimate\" to start anyway.";
    }
    command.set(answer.command);
  }

  async function loadSavedRun() {
    const wanted = output.value.trim();
    if (!wanted) return;
    try {
      savedRun = await getJson("/api/train/run", { output: wanted });
      showSavedRun(savedRun);
    } catch (error) {
      savedRun = undefined;
      if (error instanceof StudioApiError && error.code === "E_INPUT_NOT_FOUND") replaceChildren(saved, element("p", { class: "muted" }, `no run saved beside ${wanted} yet`));
      else replaceChildren(saved, element("p", { class: "error" }, describeError(error)));
    }
    updateButtons();
  }

  function showSavedRun(run) {
    const file = run.source === "checkpoint" ? "checkpoint.gguf" : "training.json";
    const state = run.checkpoint ? `checkpoint at step ${run.checkpoint.step} (${run.checkpoint.path})` : "no checkpoint";
    const savedCommand = createCommandBox("The saved run's command");
    savedCommand.set(run.command);
    const settings = Object.entries(run.options).filter(([, value]) => value !== undefined && typeof value !== "object");
    replaceChildren(
      saved,
      element("p", {}, `read from ${file}: ${run.finished ? "finished" : "not finished"}, ${state}, ${run.metrics.length} steps in metrics.jsonl`),
      savedCommand.element,
      element("details", {}, element("summary", {}, "settings"), element("dl", { class: "settings" }, settings.map(([name, value]) => [element("dt", {}, name), element("dd", {}, String(value))]))),
      element("button", { type: "button", onclick: () => useSettings(run.options) }, "Use these settings"),
    );
  }

  function useSettings(options) {
    if (options.model) model.value = options.model;
    if (options.data) data.value = options.data;
    for (const spec of FIELDS) {
      const control = controls.get(spec.option);
      const value = options[spec.option];
      if (spec.kind === "boolean") control.checked = value === true;
      else if (value !== undefined) control.value = Array.isArray(value) ? value.join(",") : String(value);
    }
    scheduleEstimate();
  }

  function saveForm() {
    const values = { model: model.value, data: data.value, output: output.value, outputNamed: output.dataset.named === "true" };
    for (const [option, control] of controls) values[option] = control.type === "checkbox" ? control.checked : control.value;
    localStorage.setItem(FORM_STORAGE_KEY, JSON.stringify(values));
  }

  function restoreForm() {
    const values = JSON.parse(localStorage.getItem(FORM_STORAGE_KEY) ?? "{}");
    for (const [option, control] of controls) {
      if (values[option] === undefined) continue;
      if (control.type === "checkbox") control.checked = values[option] === true;
      else control.value = values[option];
    }
    if (values.output) output.value = values.output;
    output.dataset.named = String(values.outputNamed === true);
    return values;
  }

  // the output follows the dataset until the user names one
  const suggestOutput = () => {
    if (output.dataset.named !== "true" && data.value) output.value = `adapters/${data.value.replace(/^.*\//, "").replace(/\.[^.]*$/, "")}/adapter.gguf`;
  };
  output.addEventListener("input", () => (output.dataset.named = String(output.value !== "")));
  data.addEventListener("change", suggestOutput);

  const more = element("details", { class: "more-options" }, element("summary", {}, "More options"), element("div", { class: "form-grid" }, MORE_FIELDS.map((spec) => labelled(spec))));
  const form = element(
    "form",
    { class: "train-form", onsubmit: startRun, oninput: scheduleEstimate, onchange: scheduleEstimate },
    element("div", { class: "form-grid" }, field("Model", model), field("Dataset", data), field("Output adapter", output, flags.output?.description), MAIN_FIELDS.map((spec) => labelled(spec))),
    more,
    element("div", { class: "actions" }, start, resume),
  );

  function labelled(spec) {
    return field(spec.label, controls.get(spec.option), flags[spec.option] && `${flags[spec.option].flags}: ${flags[spec.option].description}`);
  }

  const root = element(
    "div",
    {},
    panel("Options", form),
    element("div", { class: "columns" }, panel("Memory estimate", verdict, plan, memory), panel("Command line", element("p", { class: "muted" }, "the same run from a shell in the workspace:"), command.element)),
    panel("Run", job.element, runCommand.element, live, chart.element, note),
    panel("Saved beside the run", saved),
  );

  const restored = restoreForm();
  let shownOnce = false;
  async function show() {
    try {
      const [models, datasets] = await Promise.all([listWorkspaceModels(), listWorkspaceDatasets()]);
      setChoices(model, models.models, { preferred: restored.model });
      setChoices(data, datasets, { preferred: restored.data });
      suggestOutput();
      if (!shownOnce) {
        shownOnce = true;
        // the newest run, still going or not: its replayed events redraw its curve
        const latest = await findLatestJob(["train"]);
        if (latest) {
          if (latest.state === "running") output.value = latest.params.output;
          attach(latest);
        }
      }
      await refreshEstimate();
    } catch (error) {
      verdict.className = "verdict error";
      verdict.textContent = describeError(error);
    }
  }
  return { element: root, show };
}

function controlFor(spec, flag) {
  if (spec.kind === "boolean") return element("input", { type: "checkbox", name: spec.option });
  if (spec.kind === "choice") {
    const select = element("select", { name: spec.option });
    setChoices(select, flag?.choices ?? [], { none: "default" });
    return select;
  }
  return element("input", { name: spec.option, inputmode: spec.kind === "number" ? "decimal" : undefined, autocomplete: "off" });
}

/** A field's value for train(), or undefined to leave the option to its default. Text that is not a number goes as it is, for train()'s own message. */
function readValue(spec, control) {
  if (spec.kind === "boolean") return control.checked ? true : undefined;
  const text = control.value.trim();
  if (text === "") return undefined;
  return spec.kind === "number" || spec.kind === "number-or-text" ? numberOrText(text) : text;
}

function stat(name, value) {
  return element("span", { class: "stat" }, element("span", { class: "stat-name" }, name), " ", element("span", { class: "stat-value", "data-stat": name }, String(value)));
}
