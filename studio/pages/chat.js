// Chat: the base model and the base with an adapter, side by side on the same prompt
// (compareGenerations), the prompt framed by the model's chat template, each answer streamed as it is
// generated; the rendered prompt is shown, so that what the model saw is plain.
import { element, panel, replaceChildren } from "../elements.js";
import { field, numberOrText, setChoices } from "../form-fields.js";
import { findLatestJob } from "../job-events.js";
import { createJobPanel } from "../job-panel.js";
import { listWorkspaceModels, newestOf } from "../workspace-files.js";

export function createChatPage() {
  const model = element("select", { name: "model" });
  const adapter = element("select", { name: "adapter" });
  const system = element("input", { name: "system", placeholder: "none" });
  const prompt = element("textarea", { name: "prompt", rows: 3, required: true, placeholder: "Ask something the adapter was trained on" });
  const maxTokens = element("input", { name: "maxTokens", inputmode: "numeric", placeholder: "256" });
  const temperature = element("input", { name: "temperature", inputmode: "decimal", placeholder: "0 (greedy)" });
  const seed = element("input", { name: "seed", inputmode: "numeric", placeholder: "the time" });
  const threads = element("input", { name: "threads", inputmode: "numeric", placeholder: "all CPUs" });
  const useTemplate = element("input", { type: "checkbox", name: "chat", checked: true });

  const answers = element("div", { class: "answers" });
  const renderedPrompt = element("pre", { class: "rendered-prompt" });
  // the answers as they are generated (the job's text events), then each one's figures from the result
  let columns = {};
  const job = createJobPanel({
    label: "Generation",
    describeProgress: () => ({ fraction: undefined, text: "" }),
    onEvent: (event, summary) => {
      if (event.seq === 0) startColumns(summary.params.adapter);
      if (event.type === "text") columns[event.generation]?.append(event.chunk);
      else if (event.type === "result") showResult(event.result);
    },
  });

  function startColumns(adapterPath) {
    const column = (title) => {
      const text = element("p", { class: "answer-text", "data-chunks": "0" });
      const figures = element("p", { class: "muted" });
      const warnings = element("div", {});
      const article = element("article", { class: "answer", "aria-label": title }, element("h3", {}, title), text, figures, warnings);
      return {
        article,
        append(chunk) {
          text.textContent += chunk;
          text.dataset.chunks = String(Number(text.dataset.chunks) + 1);
        },
        finish(result) {
          // the result's text is the whole answer; the streamed one is the same unless events were lost
          text.textContent = result.text;
          figures.textContent = `${result.generatedTokens} tokens, ${result.stopReason}, ${result.tokensPerSecond.toFixed(1)} tokens/s`;
          replaceChildren(warnings, result.warnings.map((warning) => element("p", { class: "warning" }, warning)));
        },
      };
    };
    columns = { base: column("Base model") };
    if (adapterPath) columns.adapted = column(`With ${adapterPath}`);
    replaceChildren(answers, columns.base.article, columns.adapted?.article);
    renderedPrompt.textContent = "";
  }

  function showResult({ base, adapted, differ }) {
    columns.base.finish(base);
    if (adapted) {
      columns.adapted.finish(adapted);
      answers.append(element("p", { class: differ ? "ok" : "muted" }, differ ? "the adapter changes the answer" : "the same answer with and without the adapter"));
    }
    renderedPrompt.textContent = base.prompt;
  }

  async function send(event) {
    event.preventDefault();
    const body = { model: model.value, prompt: prompt.value, chat: useTemplate.checked };
    if (adapter.value) body.adapter = adapter.value;
    if (system.value) body.system = system.value;
    for (const [name, control] of [["maxTokens", maxTokens], ["temperature", temperature], ["seed", seed], ["threads", threads]]) {
      const text = control.value.trim();
      if (text !== "") body[name] = numberOrText(text);
    }
    replaceChildren(answers);
    renderedPrompt.textContent = "";
    await job.start("/api/chat", body);
  }

  const form = element(
    "form",
    { class: "form-grid", onsubmit: send },
    field("Model", model),
    field("Adapter", adapter, "compared with the model alone"),
    field("System message", system),
    field("Use the chat template", useTemplate, "the model's tokenizer.chat_template, as training used it"),
    field("Max tokens", maxTokens),
    field("Temperature", temperature),
    field("Seed", seed),
    field("Threads", threads),
    wide(field("Prompt", prompt)),
    element("div", { class: "actions" }, element("button", { type: "submit", class: "primary" }, "Send")),
  );

  const root = element("div", {}, panel("Prompt", form, job.element), panel("Answers", answers, element("details", {}, element("summary", {}, "the prompt as the model saw it"), renderedPrompt)));

  findLatestJob(["generate"], { running: true }).then((running) => running && job.attach(running));

  async function show() {
    const listed = await listWorkspaceModels();
    setChoices(model, listed.models);
    setChoices(adapter, listed.adapters, { none: "(none: the model alone)", preferred: newestOf(listed, listed.adapters) });
  }
  return { element: root, show };
}

function wide(node) {
  node.classList.add("wide");
  return node;
}
