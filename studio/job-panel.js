// A long job on a page: its progress bar and what it is doing, a stop button while it runs, its
// warnings, and how it ended (with the error, when it failed). The page gets every event too, for
// what only it knows how to show (a result, a loss curve).
import { describeError, postJson } from "./api.js";
import { element, replaceChildren } from "./elements.js";
import { followJobEvents } from "./job-events.js";

/**
 * `describeProgress(progress)` gives `{ fraction, text }` for a progress payload (fraction 0..1, or
 * undefined when unknown); `onEvent(event, job)` sees every event of the job followed.
 */
export function createJobPanel({ label, stopLabel = "Stop", describeProgress, onEvent = () => {} }) {
  const state = element("span", { class: "job-state", "data-state": "idle" }, "no job yet");
  const bar = element("progress", { max: 1, value: 0, "aria-label": `${label} progress` });
  const doing = element("span", { class: "job-doing" });
  const stop = element("button", { type: "button", class: "danger", hidden: true, onclick: () => stopJob() }, stopLabel);
  const warnings = element("ul", { class: "warnings" });
  const failure = element("p", { class: "error", role: "alert", hidden: true });
  const root = element("div", { class: "job", hidden: true, "aria-label": `${label} job` }, element("div", { class: "job-line" }, state, bar, doing, stop), warnings, failure);

  let job;
  let unfollow;

  async function stopJob() {
    if (!job) return;
    stop.disabled = true;
    try {
      await postJson(`/api/jobs/${job.id}/stop`);
      // unless its end came first
      if (state.dataset.state === "running") setState("stopping", "stopping…");
    } catch (error) {
      showFailure(describeError(error));
    }
  }

  function setState(name, text) {
    state.dataset.state = name;
    state.textContent = text;
  }

  function showFailure(message) {
    failure.hidden = false;
    failure.textContent = message;
  }

  function show(event) {
    if (event.type === "progress") {
      const { fraction, text } = describeProgress(event.progress);
      if (fraction === undefined) bar.removeAttribute("value");
      else bar.value = fraction;
      doing.textContent = text;
    } else if (event.type === "warning") {
      warnings.append(element("li", {}, event.message));
    } else if (event.type === "error") {
      showFailure(event.error.code ? `${event.error.code}: ${event.error.message}` : event.error.message);
    } else if (event.type === "end") {
      setState(event.state, event.state);
      stop.hidden = true;
      if (event.state === "done") bar.value = 1;
    }
  }

  return {
    element: root,
    /** The job followed, as its summary said when it was attached. */
    get job() {
      return job;
    },
    /** Follows the job `summary` describes, from its first event; the panel forgets the one before. */
    attach(summary) {
      unfollow?.();
      job = summary;
      root.hidden = false;
      replaceChildren(warnings);
      failure.hidden = true;
      bar.value = 0;
      doing.textContent = "";
      setState("running", "running");
      stop.hidden = summary.state !== "running";
      stop.disabled = false;
      unfollow = followJobEvents(summary.id, (event) => {
        show(event);
        onEvent(event, summary);
      });
    },
    /**
     * Starts a job with a POST of `body` to `path` and follows it (through `onStarted`, when the page
     * does more on a start); a refusal (400, 409, ...) is shown in the panel instead.
     */
    async start(path, body, onStarted = (summary) => this.attach(summary)) {
      try {
        onStarted(await postJson(path, body));
      } catch (error) {
        this.showRefusal(error);
      }
    },
    /** A request that failed before any job started (refused options, ...). */
    showRefusal(error) {
      root.hidden = false;
      setState("refused", "refused");
      stop.hidden = true;
      showFailure(describeError(error));
    },
  };
}
