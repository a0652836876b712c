// The dashboard's only script: start a plan or an apply, and follow a job over server-sent events.
"use strict";

for (const button of document.querySelectorAll("button[data-start]")) {
  button.addEventListener("click", async () => {
    const error = document.getElementById("start-error");
    error.textContent = "";
    button.disabled = true;
    const answer = await fetch("/api/runs", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({action: button.dataset.start}),
    });
    const body = await answer.json();
    if (answer.status === 202) {
      window.location = body.url;
      return;
    }
    button.disabled = false;
    error.textContent = body.error;
    if (body.running) {
      const link = document.createElement("a");
      link.href = body.running.url;
      link.textContent = " (follow it)";
      error.append(link);
    }
  });
}

const jobElement = document.getElementById("job");
if (jobElement) follow(jobElement);

function follow(element) {
  const FINAL = ["apply:done", "plan:done"];
  const FINISHING = ["op:done", "op:error", "op:skip"];
  const MAX_LOG_ROWS = 500;
  const $ = (id) => document.getElementById(id);
  let total = null;
  let finished = 0;
  let failed = 0;
  let firstStart = null;
  let over = false;

  async function job() {
    const answer = await fetch(element.dataset.api, {headers: {Accept: "application/json"}});
    return answer.json();
  }

  function seconds(s) {
    if (!isFinite(s)) return "–";
    return s < 60 ? `${Math.round(s)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  }

  function draw() {
    if (element.dataset.action !== "apply" || total === null) return;
    const elapsed = firstStart ? (Date.now() - firstStart) / 1000 : 0;
    const rate = elapsed > 0 ? finished / elapsed : 0;
    const eta = rate > 0 ? (total - finished) / rate : Infinity;
    const share = total ? Math.min(100, (100 * finished) / total) : 100;
    $("bar").style.width = `${share}%`;
    $("counts").textContent =
      `${finished} / ${total} operations · ${failed} failed · ${rate.toFixed(1)} ops/s · ` +
      (over ? `took ${seconds(elapsed)}` : `ETA ${seconds(eta)}`);
  }

  function log(event) {
    const row = document.createElement("tr");
    row.className = event.event.replace(":", "-");
    const detail = event.event === "op:done" ? (event.id ? `id ${event.id}` : "") :
      [event.error_class, event.message].filter(Boolean).join(": ");
    for (const text of [event.ts.slice(11, 19), event.event, event.address || "", detail]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const body = $("log");
    body.prepend(row);
    while (body.rows.length > MAX_LOG_ROWS) body.deleteRow(-1);
  }

  function failure(event) {
    const list = $("failures");
    list.querySelector(".none")?.remove();
    const item = document.createElement("li");
    item.textContent = `${event.address} (${event.action}): ${event.error_class}: ${event.message}`;
    list.append(item);
  }

  async function end(event) {
    over = true;
    const state = await job();
    total = state.total ?? total;
    draw();
    $("job-status").textContent = state.status;
    $("job-status").className = `badge ${state.status}`;
    $("bar").classList.add(state.status);
    $("outcome").textContent = state.error ? `Error: ${state.error}` :
      element.dataset.action === "plan" ? planned(state.summary) : `Apply ${event.message}.`;
    for (const note of state.notes) {
      const item = document.createElement("li");
      item.textContent = note;
      $("notes").append(item);
    }
    if (state.run_id) {
      const link = document.createElement("a");
      link.href = `/runs/${state.run_id}`;
      link.textContent = `Recorded as run ${state.run_id}`;
      $("run-link").append(link);
    }
    if (element.dataset.action === "plan") $("counts").textContent = "";
  }

  function planned(summary) {
    if (!summary) return "Planned.";
    const parts = Object.entries(summary).filter(([action, n]) => n && action !== "noop");
    return parts.length ? "Plan: " + parts.map(([action, n]) => `${n} to ${action}`).join(", ") + "." : "No changes.";
  }

  const source = new EventSource(element.dataset.events);
  source.onmessage = async (message) => {
    const event = JSON.parse(message.data);
    if (FINAL.includes(event.event)) {
      source.close();
      await end(event);
      return;
    }
    if (event.event === "op:start" && firstStart === null) {
      firstStart = Date.now();
      if (total === null) total = (await job()).total;
    }
    if (FINISHING.includes(event.event) && !event.rollback) finished += 1;
    if (event.event === "op:error") {
      failed += 1;
      failure(event);
    }
    if (event.event !== "op:start") log(event);
    draw();
  };
  setInterval(() => { if (!over) draw(); }, 1000);
}
