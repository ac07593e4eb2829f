// Definitions modeler page: bpmn-js Modeler with properties panel (and the 招引智控 group for
// forms, due durations, stages, called decisions, conditions), dmn-js tables, test cases;
// save draft, validate (errors listed and highlighted), impact preview, deploy.
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "@bpmn-io/properties-panel/assets/properties-panel.css";
import spiffworkflow from "./definitions/spiffworkflow.json";
import { zhikongPropertiesModule } from "./definitions/properties.js";
import { createCasesEditor } from "./definitions/cases.js";
import { translateModule } from "./definitions/translate.js";
import { isLoopVariable, loopReferencesModule } from "./definitions/loops.js";

const KIND_ORDER = { bpmn: 0, dmn: 1, cases: 2 };

function kindOf(name) {
  if (name.endsWith(".bpmn")) return "bpmn";
  if (name.endsWith(".dmn")) return "dmn";
  return "cases";
}

// Fit the diagram when it stays readable (scale ≥ 0.6), else show its top-left at 0.6;
// either way leave room for the palette on the left.
function showFromTopLeft(canvas) {
  const { inner, outer } = canvas.viewbox();
  const palette = 110;
  const scale = Math.max(0.6, Math.min(1, (outer.width - palette) / (inner.width + 20), outer.height / (inner.height + 20)));
  canvas.viewbox({ x: inner.x - palette / scale, y: inner.y - 10 / scale, width: outer.width / scale, height: outer.height / scale });
}

async function createBpmnEditor(container, name, xml, onChange, config) {
  const canvasEl = document.createElement("div");
  canvasEl.className = "zk-canvas";
  const panelEl = document.createElement("div");
  panelEl.className = "zk-properties";
  container.append(canvasEl, panelEl);
  const modeler = new BpmnModeler({
    container: canvasEl,
    propertiesPanel: { parent: panelEl, layout: { groups: { general: { open: true }, zhikong: { open: true } } } },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, zhikongPropertiesModule(config), translateModule, loopReferencesModule],
    moddleExtensions: { spiffworkflow },
  });
  const warnings = ((await modeler.importXML(xml)).warnings || []).filter((w) => !isLoopVariable(w));
  if (warnings.length) console.warn(name, warnings.map((w) => w.message).join("; "));
  showFromTopLeft(modeler.get("canvas"));
  modeler.on("commandStack.changed", onChange);
  const registry = modeler.get("elementRegistry");
  const canvas = modeler.get("canvas");
  let marked = [];
  return {
    modeler,
    get: async () => (await modeler.saveXML({ format: true })).xml,
    mark: (problems) => {
      marked.forEach((id) => registry.get(id) && canvas.removeMarker(id, "zk-error"));
      marked = problems.map((p) => p.element).filter((id) => id && registry.get(id));
      marked.forEach((id) => canvas.addMarker(id, "zk-error"));
    },
    focus: (id) => {
      const element = registry.get(id);
      if (!element) return;
      modeler.get("selection").select(element);
      canvas.scrollToElement(element);
    },
  };
}

class Page {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.csrf = document.querySelector("meta[name=csrf-token]").content;
    this.editors = {};
    this.dirty = new Set();
    this.tabs = root.querySelector("#zk-tabs");
    this.panes = root.querySelector("#zk-panes");
    this.status = root.querySelector("#zk-status");
    this.problems = root.querySelector("#zk-problems");
    this.impact = root.querySelector("#zk-impact");
    root.querySelector("#zk-save").addEventListener("click", () => this.save());
    root.querySelector("#zk-validate").addEventListener("click", () => this.validate());
    root.querySelector("#zk-preview").addEventListener("click", () => this.preview());
    root.querySelector("#zk-deploy").addEventListener("click", () => this.deploy());
    root.querySelector("#zk-download").addEventListener("click", () => this.download());
  }

  async load() {
    const response = await fetch(this.config.urls.files, { headers: { Accept: "application/json" } });
    const data = await response.json();
    const rank = (n) => (n === data.main ? -1 : KIND_ORDER[kindOf(n)]);
    const names = Object.keys(data.files).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    for (const name of names) await this.addEditor(name, data.files[name]);
    if (names.length) this.show(names[0]);
    this.root.dataset.ready = "1";
  }

  async addEditor(name, text) {
    const kind = kindOf(name);
    const tab = document.createElement("button");
    tab.type = "button";
    tab.className = "zk-tab";
    tab.dataset.file = name;
    tab.textContent = { bpmn: "流程图", dmn: "决策表", cases: "决策用例" }[kind] + " · " + name;
    tab.addEventListener("click", () => this.show(name));
    this.tabs.appendChild(tab);
    const pane = document.createElement("div");
    pane.className = `zk-pane zk-pane-${kind}`;
    pane.dataset.file = name;
    this.panes.appendChild(pane);
    pane.hidden = false;
    const changed = () => {
      this.dirty.add(name);
      this.root.dataset.dirty = "1";
    };
    if (kind === "bpmn") this.editors[name] = await createBpmnEditor(pane, name, text, changed, this.config);
    else if (kind === "dmn") this.editors[name] = await window.ZhikongDmn.createDmnEditor(pane, name, text, changed);
    else this.editors[name] = createCasesEditor(pane, name, text, changed);
    pane.hidden = true;
  }

  show(name) {
    this.tabs.querySelectorAll(".zk-tab").forEach((t) => t.classList.toggle("active", t.dataset.file === name));
    this.panes.querySelectorAll(".zk-pane").forEach((p) => (p.hidden = p.dataset.file !== name));
    const editor = this.editors[name];
    if (editor && editor.modeler && editor.modeler.get) {
      try { editor.modeler.get("canvas").resized(); } catch (e) { /* dmn-js views have no canvas */ }
    }
    this.current = name;
  }

  // The open file as the editor exports it, downloaded under its bundle name (to edit in Camunda Modeler and upload again).
  async download() {
    if (!this.current) return;
    const type = kindOf(this.current) === "cases" ? "application/json" : "application/xml";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([await this.editors[this.current].get()], { type }));
    link.download = this.current;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  async changedFiles() {
    const files = {};
    for (const name of this.dirty) files[name] = await this.editors[name].get();
    return files;
  }

  async post(url, extra = {}) {
    const files = await this.changedFiles();
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf, Accept: "application/json" },
      body: JSON.stringify({ files, ...extra }),
    });
    let data;
    try {
      data = await response.json();
    } catch (e) {
      data = { ok: false, problems: [{ file: "", element: "", message: `请求失败（${response.status}），页面可能已过期，请刷新后重试` }] };
    }
    return data;
  }

  say(text, kind) {
    this.status.textContent = text;
    this.status.className = `flash ${kind}`;
    this.status.hidden = false;
  }

  showProblems(problems) {
    this.problems.innerHTML = "";
    for (const p of problems) {
      const li = document.createElement("li");
      li.dataset.file = p.file || "";
      li.dataset.element = p.element || "";
      const where = document.createElement("b");
      where.textContent = [p.file, p.element].filter(Boolean).join(" · ");
      li.append(where, document.createTextNode("：" + p.message));
      if (this.editors[p.file]) {
        li.classList.add("link");
        li.addEventListener("click", () => {
          this.show(p.file);
          this.editors[p.file].focus(p.element);
        });
      }
      this.problems.appendChild(li);
    }
    for (const [name, editor] of Object.entries(this.editors)) editor.mark(problems.filter((p) => p.file === name));
    this.tabs.querySelectorAll(".zk-tab").forEach((t) => t.classList.toggle("has-error", problems.some((p) => p.file === t.dataset.file)));
  }

  busy(on) {
    this.root.querySelectorAll(".zk-actions button").forEach((b) => (b.disabled = on));
  }

  async run(label, url, extra, done) {
    this.busy(true);
    this.say(`${label}中……`, "info");
    try {
      const data = await this.post(url, extra);
      this.showProblems(data.problems || []);
      if (!data.ok) {
        this.say(`${label}未通过：共 ${(data.problems || []).length} 个问题，请按下方列表修改`, "error");
        return data;
      }
      done(data);
      return data;
    } finally {
      this.busy(false);
    }
  }

  async save() {
    await this.run("保存草稿", this.config.urls.draft, {}, (data) => {
      this.dirty.clear();
      this.root.dataset.dirty = "";
      this.root.querySelector("#zk-draft").textContent = data.draft;
      this.say(data.message, "success");
    });
  }

  async validate() {
    await this.run("校验", this.config.urls.validate, {}, (data) => this.say(data.message, "success"));
  }

  async preview() {
    await this.run("影响预览", this.config.urls.impact, {}, (data) => {
      this.renderImpact(data);
      const count = data.rows.length;
      const cases = data.problems.length ? `；另有 ${data.problems.length} 个决策用例与新规则不符，部署前请更新用例` : "";
      this.say((data.decisions.length ? `决策 ${data.decisions.join("、")} 有变化：${count} 个运行中的项目结果将改变` : "决策表没有变化，不影响运行中的项目") + cases, count || cases ? "info" : "success");
    });
  }

  renderImpact(data) {
    this.impact.innerHTML = "";
    if (!data.rows.length) return;
    const table = document.createElement("table");
    table.className = "list impact-table";
    table.innerHTML = "<thead><tr><th>项目</th><th>版本</th><th>决策</th><th>输入</th><th>原结果 → 新结果</th><th>状态</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const r of data.rows) {
      const tr = document.createElement("tr");
      tr.dataset.project = String(r.project_id);
      const cells = [
        r.project,
        `第${r.version}版`,
        r.decision,
        Object.entries(r.inputs).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("，"),
        `${r.old} → ${r.new}`,
        r.decided ? "已按原规则决策（迁移不改变已作出的决策）" : "尚未决策",
      ];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        if (i === 0 && r.url) {
          const a = document.createElement("a");
          a.href = r.url;
          a.textContent = text;
          td.appendChild(a);
        } else {
          td.textContent = text;
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    table.appendChild(body);
    this.impact.appendChild(table);
  }

  async deploy() {
    const note = this.root.querySelector("#zk-note").value;
    await this.run("部署", this.config.urls.deploy, { note }, (data) => {
      this.dirty.clear();
      this.root.dataset.dirty = "";
      this.root.querySelector("#zk-version").textContent = `第${data.version}版`;
      this.root.querySelector("#zk-draft").textContent = "无草稿";
      this.say(data.message, "success");
    });
  }
}

// The upload's file picker is a styled label (the browser's own input would show its English "Choose File"); it names the chosen file.
function showChosenFile(root) {
  const input = root.querySelector(".file-pick input[type=file]");
  const label = root.querySelector(".file-pick .file-name");
  if (!input || !label) return;
  input.addEventListener("change", () => {
    label.textContent = input.files.length ? input.files[0].name : label.dataset.empty;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("zk-modeler");
  if (!root) return;
  showChosenFile(root);
  const page = new Page(root, JSON.parse(document.getElementById("zk-config").textContent));
  page.load().catch((error) => page.say(`无法打开流程文件：${error.message}`, "error"));
});
