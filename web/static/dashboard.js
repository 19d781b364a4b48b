// Dashboard charts, drawn by the vendored Chart.js from the numbers embedded in the page.
"use strict";
(function () {
  const source = document.getElementById("stats");
  if (!source || typeof Chart === "undefined") return;
  const stats = JSON.parse(source.textContent);
  const days = stats.days.map((d) => d.slice(5)); // MM-DD is enough on an axis
  const colours = { scripted: "#2f7d4f", generated: "#3b6fb6", canned: "#c9822b", silent: "#9a9a9a" };
  Chart.defaults.animation = false; // charts appear at once, and screenshots are stable
  Chart.defaults.maintainAspectRatio = false;

  new Chart(document.getElementById("chart-messages"), {
    type: "bar",
    data: { labels: days, datasets: [{ label: "messages", data: stats.messages, backgroundColor: "#3b6fb6" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
  new Chart(document.getElementById("chart-fallback"), {
    type: "line",
    data: {
      labels: days,
      datasets: [{
        label: "fallback rate",
        data: stats.fallback_rate.map((r) => (r === null ? null : Math.round(r * 1000) / 10)),
        borderColor: "#c9822b", backgroundColor: "#c9822b", spanGaps: true, pointRadius: 2,
      }],
    },
    options: {
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: (v) => v + "%" } } },
    },
  });
  const tiers = Object.keys(stats.tiers);
  new Chart(document.getElementById("chart-tiers"), {
    type: "doughnut",
    data: {
      labels: tiers,
      datasets: [{ data: tiers.map((t) => stats.tiers[t]), backgroundColor: tiers.map((t) => colours[t] || "#666") }],
    },
    options: { plugins: { legend: { position: "right" } } },
  });
  new Chart(document.getElementById("chart-intents"), {
    type: "bar",
    data: {
      labels: stats.top_intents.map((i) => i[0]),
      datasets: [{ label: "turns", data: stats.top_intents.map((i) => i[1]), backgroundColor: "#2f7d4f" }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } },
  });
  const sides = { favor: "#3b6fb6", against: "#8e3f9b", none: "#c8c8c8" };
  new Chart(document.getElementById("chart-stance"), {
    type: "bar",
    data: {
      labels: days,
      datasets: Object.keys(sides).map((side) => ({
        label: side, data: stats.stance[side] || [], backgroundColor: sides[side],
      })),
    },
    options: { plugins: { legend: { position: "bottom" } }, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
})();
