// Table editor for a decision's test cases file (*.cases.json): one row per case,
// one column per input and expected output; values are JSON (true, 20.5, "industrial", lists
// [1, 2] and contexts {"Status": "Approved"}), an expected column names an output or a decision.

function parseValue(text) {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  try {
    return JSON.parse(trimmed);
  } catch (e) {
    return trimmed;
  }
}

function show(value) {
  return value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
}

export function createCasesEditor(container, name, text, onChange) {
  const doc = JSON.parse(text);
  const cases = Array.isArray(doc.cases) ? doc.cases : [];
  const inputs = [...new Set(cases.flatMap((c) => Object.keys(c.inputs || {})))];
  const outputs = [...new Set(cases.flatMap((c) => Object.keys(c.expected || {})))];
  container.innerHTML = "";
  const intro = document.createElement("p");
  intro.className = "muted";
  intro.textContent = `决策 ${doc.decision || ""} 的测试用例：每次校验和部署都按决策表逐条运行，任何一条不通过都不能部署。` +
    "取值用 JSON 书写：数字 20.5、文本 industrial、列表 [1, 2]、上下文 {\"Status\": \"Approved\"}、空为 null；期望列可以是输出列名，也可以是本文件中任一决策的名称（其结果可为值、上下文或列表）。";
  const table = document.createElement("table");
  table.className = "list cases-table";
  const head = document.createElement("thead");
  const headRow = document.createElement("tr");
  for (const label of ["#", "用例", ...inputs, ...outputs.map((o) => `期望 ${o}`), ""]) {
    const th = document.createElement("th");
    th.textContent = label;
    headRow.appendChild(th);
  }
  head.appendChild(headRow);
  const body = document.createElement("tbody");
  table.append(head, body);

  function cell(row, value, key, group, caseObj) {
    const td = document.createElement("td");
    const input = document.createElement("input");
    input.value = show(value);
    input.dataset.key = key;
    input.dataset.group = group;
    input.setAttribute("aria-label", `${caseObj.name || ""} ${key}`);
    input.addEventListener("input", () => {
      if (group === "name") caseObj.name = input.value;
      else caseObj[group][key] = parseValue(input.value);
      onChange();
    });
    td.appendChild(input);
    row.appendChild(td);
  }

  function render() {
    body.innerHTML = "";
    cases.forEach((c, index) => {
      c.inputs = c.inputs || {};
      c.expected = c.expected || {};
      const row = document.createElement("tr");
      row.dataset.case = String(index + 1);
      const num = document.createElement("td");
      num.textContent = String(index + 1);
      row.appendChild(num);
      cell(row, c.name || "", "name", "name", c);
      inputs.forEach((k) => cell(row, c.inputs[k], k, "inputs", c));
      outputs.forEach((k) => cell(row, c.expected[k], k, "expected", c));
      const del = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "删除";
      button.addEventListener("click", () => {
        cases.splice(index, 1);
        render();
        onChange();
      });
      del.appendChild(button);
      row.appendChild(del);
      body.appendChild(row);
    });
  }

  const add = document.createElement("button");
  add.type = "button";
  add.textContent = "添加用例";
  add.addEventListener("click", () => {
    cases.push({ name: "新用例", inputs: Object.fromEntries(inputs.map((k) => [k, null])), expected: Object.fromEntries(outputs.map((k) => [k, null])) });
    render();
    onChange();
  });
  render();
  container.append(intro, table, add);
  return {
    get: () => JSON.stringify({ ...doc, cases }, null, 2) + "\n",
    mark: (problems) => {
      body.querySelectorAll("tr").forEach((tr) => tr.classList.toggle("zk-error", problems.some((p) => p.element === tr.dataset.case)));
    },
    focus: (id) => {
      const row = body.querySelector(`tr[data-case="${id}"]`);
      if (row) row.scrollIntoView({ block: "center" });
    },
  };
}
