// 驾驶舱: draws the dashboard charts with ECharts from the figures embedded in the page; every bar and stage links to its projects.
import * as echarts from "echarts";

const data = JSON.parse(document.getElementById("dashboard-data").textContent);
const big = window.matchMedia("(min-width: 1600px)").matches;
const font = big ? 18 : 13;
const charts = [];

function draw(id, option) {
  const el = document.getElementById(id);
  if (!el) return;
  const chart = echarts.init(el);
  chart.setOption({ textStyle: { fontSize: font }, title: { textStyle: { fontSize: font + 3 } }, ...option });
  chart.on("click", (params) => {
    const link = params.data && params.data.link;
    if (link) window.location.href = link;
  });
  charts.push(chart);
}

const label = { show: true, fontSize: font };
draw("chart-funnel", {
  title: { text: "项目阶段漏斗" },
  tooltip: { trigger: "item", formatter: "{b}：{c}个" },
  series: [{ type: "funnel", sort: "none", top: 40, bottom: 10, left: "5%", width: "60%", minSize: "12%", label: { ...label, formatter: "{b} {c}" }, data: data.funnel }],
});
draw("chart-money", {
  title: { text: "各阶段总投资（亿元）" },
  tooltip: { trigger: "axis" },
  grid: { left: 110, right: 30, top: 40, bottom: 20 },
  xAxis: { type: "value" },
  yAxis: { type: "category", inverse: true, data: data.money.map((d) => d.name) },
  series: [{ type: "bar", label: { ...label, position: "right" }, data: data.money, itemStyle: { color: "#1f6fb2" } }],
});
draw("chart-lights", {
  title: { text: "各单位预警灯" },
  tooltip: { trigger: "axis" },
  legend: { bottom: 0 },
  grid: { left: 120, right: 30, top: 40, bottom: 40 },
  xAxis: { type: "value", minInterval: 1 },
  yAxis: { type: "category", inverse: true, data: data.lights.units },
  series: [
    { name: "红灯", type: "bar", stack: "l", label, data: data.lights.red, itemStyle: { color: "#d9362b" } },
    { name: "黄灯", type: "bar", stack: "l", label, data: data.lights.yellow, itemStyle: { color: "#f0b400" } },
  ],
});
draw("chart-ranking", {
  title: { text: `第${data.quarter}季度赛拼得分` },
  tooltip: { trigger: "axis" },
  grid: { left: 120, right: 40, top: 40, bottom: 20 },
  xAxis: { type: "value" },
  yAxis: { type: "category", inverse: true, data: data.ranking.map((d) => d.name) },
  series: [{ type: "bar", label: { ...label, position: "right" }, data: data.ranking, itemStyle: { color: "#2e8b57" } }],
});
draw("chart-trend", {
  title: { text: "逐月签约、落地、开工" },
  tooltip: { trigger: "axis" },
  legend: { bottom: 0 },
  grid: { left: 40, right: 20, top: 40, bottom: 56 },
  xAxis: { type: "category", data: data.months },
  yAxis: { type: "value", minInterval: 1 },
  series: Object.entries(data.trend).map(([name, values]) => ({ name, type: "line", label, data: values })),
});
window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
window.zhikongCharts = charts;
