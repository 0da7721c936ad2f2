// Data: a dataset file of the workspace, its detected format and bad rows (file:line), and with a
// model, what training would see: an example token by token with the trained spans highlighted (train
// --preview), the token statistics, and a histogram of sample lengths against the context.
import { describeError, getJson } from "../api.js";
import { element, panel, replaceChildren } from "../elements.js";
import { field, setChoices } from "../form-fields.js";
import { listWorkspaceDatasets, listWorkspaceModels } from "../workspace-files.js";

export function createDataPage(studio) {
  const data = element("select", { name: "data" });
  const model = element("select", { name: "model" });
  const format = element("select", { name: "format" });
  setChoices(format, ["auto", ...studio.datasetFormats]);
  const contextLength = element("input", { name: "contextLength", inputmode: "numeric", placeholder: "auto" });
  const trainOnPrompt = element("input", { type: "checkbox", name: "trainOnPrompt" });
  const thinking = element("select", { name: "thinking" });
  setChoices(thinking, ["auto", "on", "off"]);

  const summary = element("p", { class: "summary", "aria-live": "polite" });
  const failure = element("p", { class: "error", role: "alert", hidden: true });
  const badRows = element("div", { class: "bad-rows" });
  const example = element("div", { class: "example" });
  const stats = element("div", { class: "stats" });
  const histogram = element("div", { class: "histogram-panel" });

  let opened = 0;
  async function open(event) {
    event?.preventDefault();
    if (!data.value) return;
    // a later open wins over an earlier one that answers after it
    const attempt = ++opened;
    summary.textContent = `opening ${data.value}…`;
    failure.hidden = true;
    try {
      const answer = await getJson("/api/data", {
        path: data.value,
        model: model.value,
        format: format.value === "auto" ? "" : format.value,
        contextLength: contextLength.value.trim(),
        trainOnPrompt: trainOnPrompt.checked ? "true" : "",
        thinking: thinking.value === "auto" ? "" : thinking.value,
      });
      if (attempt === opened) render(answer);
    } catch (error) {
      if (attempt !== opened) return;
      summary.textContent = "";
      failure.hidden = false;
      failure.textContent = describeError(error);
    }
  }

  function render(answer) {
    summary.textContent = `${answer.path}: ${answer.format} records, ${answer.rowCount} rows, ${answer.usableRecords} usable`;
    replaceChildren(
      badRows,
      answer.badRows.length === 0
        ? element("p", { class: "muted" }, "no bad rows")
        : element(
            "table",
            { class: "bad-rows-table", "aria-label": "Bad rows" },
            element("thead", {}, element("tr", {}, element("th", {}, "where"), element("th", {}, "problem"))),
            element("tbody", {}, answer.badRows.map((row) => element("tr", {}, element("td", { class: "path" }, `${row.file}:${row.line}${row.index === undefined ? "" : ` (element ${row.index})`}`), element("td", {}, row.message)))),
          ),
    );
    if (answer.preview) {
      renderExample(answer.preview.example);
      renderStats(answer.preview.stats);
      renderHistogram(answer.preview.stats);
    } else {
      replaceChildren(example, element("p", { class: answer.previewError ? "error" : "muted" }, answer.previewError ? `${answer.previewError.code}: ${answer.previewError.message}` : "choose a model to see what training would see"));
      replaceChildren(stats);
      replaceChildren(histogram);
    }
  }

  function renderExample({ source, tokens }) {
    const text = element("div", { class: "tokens", "aria-label": "Example tokens" }, tokens.map((token) => element("span", { class: token.trained ? "token trained" : "token", title: token.trained ? "trained" : "not trained" }, token.text)));
    replaceChildren(example, element("p", { class: "muted" }, `example from ${source.file}:${source.line}; `, element("span", { class: "token trained" }, "highlighted"), " tokens are the ones the loss trains on"), text);
  }

  function renderStats(lengths) {
    const rows = [
      ["samples", lengths.samples],
      ["tokens per sample (min / median / p95 / max)", `${lengths.minTokens} / ${lengths.medianTokens} / ${lengths.p95Tokens} / ${lengths.maxTokens}`],
      ["context length", lengths.contextLength],
      ["samples cut at the context", lengths.truncatedAtContext],
      ["trained tokens", `${(lengths.trainedTokenFraction * 100).toFixed(1)} %`],
    ];
    replaceChildren(stats, element("dl", {}, rows.map(([name, value]) => [element("dt", {}, name), element("dd", {}, value)])));
  }

  function renderHistogram({ tokenLengthHistogram: { binTokens, counts }, contextLength: context }) {
    const most = Math.max(1, ...counts);
    const spanTokens = binTokens * counts.length;
    const bars = counts.map((count, index) => {
      const from = binTokens * index;
      const cut = from >= context;
      return element("div", {
        class: cut ? "bar cut" : "bar",
        style: `height: ${(count / most) * 100}%`,
        title: `${from + 1}–${from + binTokens} tokens: ${count} sample${count === 1 ? "" : "s"}${cut ? " (cut at the context)" : ""}`,
      });
    });
    const markerPercent = (context / spanTokens) * 100;
    // the label on the side with room for it
    const marker = element("div", { class: markerPercent > 60 ? "context-marker label-left" : "context-marker", style: `left: ${markerPercent}%`, title: `context: ${context} tokens` }, element("span", {}, `context ${context}`));
    replaceChildren(
      histogram,
      element("div", { class: "histogram", role: "img", "aria-label": `Token lengths: ${counts.join(", ")} samples in bins of ${binTokens} tokens; context ${context}` }, bars, marker),
      element("div", { class: "histogram-axis" }, element("span", {}, "0"), element("span", {}, `${spanTokens} tokens`)),
      element("p", { class: "muted" }, `samples per ${binTokens}-token bin; bins past the context line hold samples training cuts`),
    );
  }

  const form = element(
    "form",
    { class: "form-grid", onsubmit: open },
    field("Dataset", data, `${studio.datasetFormats.join(", ")} records in .jsonl, .json or .csv`),
    field("Model (for the preview)", model),
    field("Format", format),
    field("Context length", contextLength, "a multiple of 256; auto: the longest sample, at most the model's"),
    field("Train on prompts too", trainOnPrompt),
    field("Thinking", thinking, "the chat template's enable_thinking"),
    element("div", { class: "actions" }, element("button", { type: "submit", class: "primary" }, "Open")),
  );
  for (const control of [data, model, format, contextLength, trainOnPrompt, thinking]) control.addEventListener("change", () => open());

  const root = element(
    "div",
    {},
    panel("Dataset", form, summary, failure),
    panel("Bad rows", badRows),
    panel("What training sees", example),
    element("div", { class: "columns" }, panel("Token lengths", histogram), panel("Statistics", stats)),
  );

  async function show() {
    try {
      const [datasets, models] = await Promise.all([listWorkspaceDatasets(), listWorkspaceModels()]);
      const before = `${data.value}|${model.value}`;
      setChoices(data, datasets);
      setChoices(model, models.models, { none: "(none: rows only)", preferred: models.models[0] });
      if (`${data.value}|${model.value}` !== before || summary.textContent === "") await open();
    } catch (error) {
      failure.hidden = false;
      failure.textContent = describeError(error);
    }
  }
  return { element: root, show };
}
