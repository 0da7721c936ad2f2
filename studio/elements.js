// DOM elements built in code: every text goes in as text (never as HTML), since file names, dataset
// rows and model output are the workspace's, not ours.

/**
 * `element("button", { class: "primary", onclick: start }, "Start")`: attributes named on* are
 * listeners, `false`/`undefined` ones are left out; children are nodes, strings, or arrays of them.
 */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false || value === null) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Appends strings (as text) and nodes, arrays flattened. */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces the node's children. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A section of a page, with its heading. */
export function panel(title, ...children) {
  return element("section", { class: "panel" }, element("h2", {}, title), ...children);
}
