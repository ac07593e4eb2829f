// dmn-js decision-table editor for the definitions modeler page (window.ZhikongDmn).
import DmnModeler from "dmn-js/lib/Modeler";
import "dmn-js/dist/assets/diagram-js.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-decision-table-controls.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-font/css/dmn-embedded.css";
import { translateModule } from "./definitions/translate.js";

// A bar above the editor with one button per view: the decision requirements diagram and each decision.
function viewBar(container, modeler) {
  const bar = document.createElement("div");
  bar.className = "zk-dmn-views";
  container.prepend(bar); // inside the pane, so it hides with it
  const draw = () => {
    bar.replaceChildren();
    const active = modeler.getActiveView();
    modeler.getViews().forEach((view) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm" + (active && active.element === view.element ? " btn-primary" : "");
      button.textContent = view.type === "drd" ? "决策需求图（DRD）" : (view.element.name || view.element.id);
      button.addEventListener("click", () => modeler.open(view));
      bar.appendChild(button);
    });
  };
  modeler.on("views.changed", draw);
  draw();
}

// Opens a DMN in its decision table (its requirements diagram when it holds several decisions); `onChange` fires on every edit.
async function createDmnEditor(container, name, xml, onChange) {
  // Each view gets the translation itself: dmn-js replaces `common.additionalModules` with the view's own list.
  const translated = { additionalModules: [translateModule] };
  const modeler = new DmnModeler({ container, drd: translated, decisionTable: translated, literalExpression: translated, boxedExpression: translated });
  await modeler.importXML(xml);
  const views = modeler.getViews();
  const decisions = views.filter((v) => v.type !== "drd");
  const first = decisions.length > 1 ? views.find((v) => v.type === "drd") : decisions[0];
  if (first) await modeler.open(first);
  viewBar(container, modeler);
  const watched = new Set();
  const watch = () => {
    const viewer = modeler.getActiveViewer();
    if (viewer && !watched.has(viewer)) {
      viewer.on("commandStack.changed", onChange);
      watched.add(viewer);
    }
  };
  modeler.on("views.changed", watch); // the DRD and each table have their own command stack
  watch();
  const cells = (id) => container.querySelectorAll(`[data-element-id="${id}"], [data-row-id="${id}"], [data-col-id="${id}"]`);
  return {
    modeler,
    get: async () => (await modeler.saveXML({ format: true })).xml,
    mark: (problems) => {
      container.querySelectorAll(".zk-error").forEach((e) => e.classList.remove("zk-error"));
      problems.forEach((p) => p.element && cells(p.element).forEach((e) => e.classList.add("zk-error")));
    },
    focus: (id) => {
      const found = cells(id)[0];
      if (found) found.scrollIntoView({ block: "center" });
    },
  };
}

window.ZhikongDmn = { createDmnEditor };
