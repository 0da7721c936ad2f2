// Form controls the pages share: a labelled field, selects of workspace paths that keep the user's
// choice across refreshes, and a command line with a copy button.
import { element, replaceChildren } from "./elements.js";

let fieldCount = 0;

/** A field's text as a number when it reads as one, else as it is (for the API's own message about it). */
export function numberOrText(text) {
  const number = Number(text);
  return Number.isFinite(number) ? number : text;
}

/**
 * `control` under its label, and `hint` in small print below it: the hint describes the control
 * (aria-describedby) without being part of its name.
 */
export function field(labelText, control, hint) {
  if (!control.id) control.id = `field-${++fieldCount}`;
  const hintNode = hint && element("small", { id: `${control.id}-hint` }, hint);
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return element("div", { class: "field" }, element("label", { for: control.id, class: "field-label" }, labelText), control, hintNode);
}

/**
 * Replaces a select's options with `choices` (strings, or { value, label }), keeping its value when it
 * is still offered, else taking `preferred`, else the first. `none` adds a first, empty choice.
 */
export function setChoices(select, choices, { none, preferred } = {}) {
  const current = select.value;
  const options = choices.map((choice) => (typeof choice === "string" ? { value: choice, label: choice } : choice));
  replaceChildren(select, none !== undefined && element("option", { value: "" }, none), options.map(({ value, label }) => element("option", { value }, label)));
  const offered = new Set([...(none !== undefined ? [""] : []), ...options.map((option) => option.value)]);
  if (offered.has(current) && current !== "") select.value = current;
  else if (preferred !== undefined && offered.has(preferred)) select.value = preferred;
}

/** A command line to copy, hidden until `set(text)` shows it. */
export function createCommandBox(label) {
  const code = element("code", {});
  const copied = element("span", { class: "copied", "aria-live": "polite" });
  const copy = element("button", {
    type: "button",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(code.textContent);
        copied.textContent = "copied";
      } catch {
        // no clipboard (an insecure context, a refused permission): select it for Ctrl-C instead
        getSelection().selectAllChildren(code);
        copied.textContent = "selected: press Ctrl-C";
      }
      setTimeout(() => (copied.textContent = ""), 2000);
    },
  }, "Copy");
  const root = element("div", { class: "command", "aria-label": label, hidden: true }, element("pre", {}, code), copy, copied);
  return {
    element: root,
    set(text) {
      code.textContent = text ?? "";
      root.hidden = !text;
    },
  };
}
