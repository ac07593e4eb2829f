// Read-only BPMN diagram: highlights the current task and marks the completed path; zoom and pan.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";

// Centre the view on the current tasks at a readable zoom (or fit the whole diagram).
function focusCurrent(viewer, current) {
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const shapes = current.map((id) => registry.get(id)).filter(Boolean);
  if (!shapes.length) {
    canvas.zoom("fit-viewport", "auto");
    return;
  }
  canvas.zoom(Math.max(0.5, Math.min(1, canvas.getContainer().clientWidth / 1100)));
  const box = canvas.viewbox();
  const x = Math.min(...shapes.map((s) => s.x));
  const y = Math.min(...shapes.map((s) => s.y));
  canvas.viewbox({ x: x - box.width / 3, y: y - box.height / 3, width: box.width, height: box.height });
}

// Load the diagram JSON of a project into `element` and wire the zoom buttons of its card.
async function show(element) {
  const response = await fetch(element.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  const viewer = new NavigatedViewer({ container: element });
  await viewer.importXML(data.xml);
  const canvas = viewer.get("canvas");
  data.completed.forEach((id) => canvas.addMarker(id, "zk-done"));
  data.flows.forEach((id) => canvas.addMarker(id, "zk-done"));
  data.current.forEach((id) => canvas.addMarker(id, "zk-current"));
  focusCurrent(viewer, data.current);
  const card = element.closest(".diagram-card") || document;
  card.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const action = button.dataset.zoom;
      if (action === "in") canvas.zoom(canvas.zoom() * 1.25);
      else if (action === "out") canvas.zoom(canvas.zoom() / 1.25);
      else if (action === "fit") canvas.zoom("fit-viewport", "auto");
      else focusCurrent(viewer, data.current);
    });
  });
  element.dataset.rendered = "true";
  window.ZhikongDiagram.viewer = viewer;
  return viewer;
}

window.ZhikongViewer = NavigatedViewer;
window.ZhikongDiagram = { show };

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".diagram[data-url]").forEach((element) => {
    show(element).catch((error) => {
      const message = document.createElement("p");
      message.className = "diagram-error";
      message.textContent = `${element.dataset.error || "Error"}: ${error.message}`;
      element.appendChild(message);
      element.dataset.rendered = "error";
    });
  });
});
