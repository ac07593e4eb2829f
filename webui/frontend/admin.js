// Admin diagrams: token overlays on an instance (active, completed, errored) and the heat view of a definition.
import "./admin.css";

const STATE_TITLES = { active: "当前环节", completed: "已完成", errored: "出错" };

function badge(className, text, title) {
  const element = document.createElement("div");
  element.className = `zk-badge ${className}`;
  element.textContent = text;
  element.title = title;
  return element;
}

function hours(value) {
  return value === null || value === undefined ? "—" : `${value} 小时`;
}

// Mark each element with its token state; an errored element also gets a "!" badge.
function drawTokens(viewer, tokens) {
  const canvas = viewer.get("canvas");
  const overlays = viewer.get("overlays");
  const registry = viewer.get("elementRegistry");
  Object.entries(tokens).forEach(([id, state]) => {
    if (!registry.get(id)) return;
    canvas.addMarker(id, `zk-token-${state}`);
    if (state === "errored") {
      overlays.add(id, { position: { top: -10, right: 10 }, html: badge("errored", "!", STATE_TITLES.errored) });
    }
  });
}

// Shade each activity by how many instances wait there and badge it with the count and times.
function drawHeat(viewer, heat) {
  const canvas = viewer.get("canvas");
  const overlays = viewer.get("overlays");
  const registry = viewer.get("elementRegistry");
  const most = Math.max(1, ...Object.values(heat).map((cell) => cell.running));
  Object.entries(heat).forEach(([id, cell]) => {
    if (!registry.get(id)) return;
    if (cell.running > 0) canvas.addMarker(id, `zk-heat-${Math.max(1, Math.ceil((cell.running / most) * 4))}`);
    const title = `在办 ${cell.running}，平均已等待 ${hours(cell.avg_wait_hours)}；已办 ${cell.done} 次，平均办理 ${hours(cell.avg_done_hours)}` +
      (cell.errored ? `；出错 ${cell.errored}` : "");
    const text = `${cell.running}` + (cell.avg_done_hours !== null && cell.avg_done_hours !== undefined ? ` · ${cell.avg_done_hours}小时` : "");
    overlays.add(id, { position: { top: -12, right: 20 }, html: badge("zk-heat-badge", text, title) });
  });
}

// Centre on the live tokens at a readable zoom; the whole diagram when there are none.
function focus(viewer, ids) {
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const shapes = ids.map((id) => registry.get(id)).filter(Boolean);
  if (!shapes.length) {
    canvas.zoom("fit-viewport", "auto");
    return;
  }
  canvas.zoom(0.9);
  const box = canvas.viewbox();
  const x = Math.min(...shapes.map((s) => s.x));
  const y = Math.min(...shapes.map((s) => s.y));
  canvas.viewbox({ x: x - box.width / 3, y: y - box.height / 3, width: box.width, height: box.height });
}

async function render(element) {
  const data = JSON.parse(document.getElementById(element.dataset.source).textContent);
  const viewer = new window.ZhikongViewer({ container: element });
  await viewer.importXML(data.xml);
  if (data.tokens) drawTokens(viewer, data.tokens);
  if (data.heat) drawHeat(viewer, data.heat);
  focus(viewer, Object.keys(data.tokens || {}).filter((id) => data.tokens[id] !== "completed"));
  element.dataset.rendered = "true";
  window.ZhikongAdminViewer = viewer;
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".zk-admin-diagram[data-source]").forEach((element) => {
    render(element).catch((error) => {
      const message = document.createElement("p");
      message.className = "diagram-error";
      message.textContent = `${element.dataset.error || "Error"}: ${error.message}`;
      element.appendChild(message);
      element.dataset.rendered = "error";
    });
  });
});
