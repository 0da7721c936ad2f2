// lora-gguf studio's page app: one tab per page, the page in the address's hash (#train), so that a
// reload shows the same page. Each page is a module of pages/ that builds its own elements and
// refreshes its lists of workspace files whenever it is shown.
import { describeError, getJson } from "./api.js";
import { element } from "./elements.js";
import { createChatPage } from "./pages/chat.js";
import { createDataPage } from "./pages/data.js";
import { createExportPage } from "./pages/export.js";
import { createModelsPage } from "./pages/models.js";
import { createTrainPage } from "./pages/train.js";

const PAGES = [
  { id: "models", title: "Models", create: createModelsPage },
  { id: "data", title: "Data", create: createDataPage },
  { id: "train", title: "Train", create: createTrainPage },
  { id: "chat", title: "Chat", create: createChatPage },
  { id: "export", title: "Export", create: createExportPage },
];

async function startApp() {
  const tabs = document.getElementById("tabs");
  const container = document.getElementById("pages");
  const [studio, { flags }] = await Promise.all([getJson("/api/studio"), getJson("/api/train/flags")]);
  document.getElementById("workspace").textContent = `workspace: ${studio.workspace} · lora-gguf ${studio.version.version ?? ""}`;

  const shown = PAGES.map((page) => {
    const view = page.create(studio, { flags });
    const section = element("section", { id: `page-${page.id}`, class: "page", role: "tabpanel", "aria-labelledby": `tab-${page.id}`, hidden: true }, view.element);
    const tab = element("button", { id: `tab-${page.id}`, type: "button", role: "tab", "aria-controls": section.id, onclick: () => (location.hash = page.id) }, page.title);
    tabs.append(tab);
    container.append(section);
    return { ...page, view, section, tab };
  });

  const showPage = () => {
    const wanted = shown.find((page) => `#${page.id}` === location.hash) ?? shown[0];
    for (const page of shown) {
      const selected = page === wanted;
      page.section.hidden = !selected;
      page.tab.setAttribute("aria-selected", String(selected));
    }
    wanted.view.show().catch((error) => reportFailure(error));
  };
  addEventListener("hashchange", showPage);
  showPage();
}

function reportFailure(error) {
  const message = element("p", { class: "error app-error", role: "alert" }, describeError(error));
  document.getElementById("pages").prepend(message);
}

startApp().catch(reportFailure);
