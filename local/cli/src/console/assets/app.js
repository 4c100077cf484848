// The copyflow console page. Plain JavaScript, no framework, no build step.
// Every piece of data (keys, errors, causes, documents) is inserted as text nodes, never as
// markup: a key such as <img src=x onerror=alert(1)> shows as those characters.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const view = document.getElementById("view");
let machine = null;
let timers = [];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path, options) {
  const init = Object.assign({}, options);
  if (init.method === "POST") init.headers = { "X-Copyflow-Console": "1" };
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || response.statusText);
    error.code = body.code || String(response.status);
    throw error;
  }
  return body;
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : 1)) + " " + units[i];
}

function seconds(s) {
  if (s === null || s === undefined) return "";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 90) return s.toFixed(1) + " s";
  return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
}

function when(epoch) {
  if (!epoch) return "";
  return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function duration(row) {
  const end = row.stop || Date.now() / 1000;
  return seconds(end - row.start);
}

function pretty(text) {
  if (text === null || text === undefined) return "";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
}

function clearTimers() {
  for (const t of timers) clearInterval(t);
  timers = [];
}

// ---- live feed ----------------------------------------------------------------------------
const liveListeners = new Set();
(function openLive() {
  const badge = document.getElementById("live");
  const source = new EventSource("/api/live");
  source.addEventListener("open", () => badge.classList.add("on"));
  source.addEventListener("error", () => badge.classList.remove("on"));
  source.addEventListener("row", (e) => {
    const row = JSON.parse(e.data);
    for (const listener of liveListeners) listener(row);
  });
})();

// ---- executions page ----------------------------------------------------------------------
function outcomes() {
  if (!machine) return [];
  return machine.graph.nodes.filter((n) => n.kind === "Succeed" || n.kind === "Fail").map((n) => n.id);
}

function rowElement(row) {
  return el("tr", {
    class: "exec", "data-testid": "exec-row", "data-arn": row.arn, "data-status": row.status,
    "data-outcome": row.outcome || "", onclick: () => { location.hash = "#/execution/" + encodeURIComponent(row.arn); },
  },
  el("td", { class: "status " + row.status }, row.status),
  el("td", { "data-testid": "outcome" }, row.outcome || (row.status === "RUNNING" ? "…" : "")),
  el("td", { class: "key", "data-testid": "key" }, row.key === null ? "(no key)" : row.key),
  el("td", {}, bytes(row.size)),
  el("td", {}, duration(row)),
  el("td", { class: "muted" }, when(row.start)));
}

function renderExecutions(params) {
  clearTimers();
  liveListeners.clear();
  const query = new URLSearchParams(params);
  const status = el("select", { "data-testid": "filter-status" },
    el("option", { value: "" }, "any status"),
    ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"].map((s) => el("option", { value: s, selected: query.get("status") === s }, s)));
  const outcome = el("select", { "data-testid": "filter-outcome" },
    el("option", { value: "" }, "any outcome"),
    outcomes().map((o) => el("option", { value: o, selected: query.get("outcome") === o }, o)));
  const mode = el("select", { "data-testid": "filter-mode" },
    el("option", { value: "keyContains", selected: !query.get("keyPrefix") }, "key contains"),
    el("option", { value: "keyPrefix", selected: !!query.get("keyPrefix") }, "key starts with"));
  const search = el("input", { type: "search", placeholder: "object key", "data-testid": "filter-key",
    value: query.get("keyPrefix") || query.get("keyContains") || "" });
  const apply = () => {
    const q = new URLSearchParams();
    if (status.value) q.set("status", status.value);
    if (outcome.value) q.set("outcome", outcome.value);
    if (search.value) q.set(mode.value, search.value);
    location.hash = "#/?" + q.toString();
  };
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") apply(); });
  for (const s of [status, outcome, mode]) s.addEventListener("change", apply);
  const body = el("tbody", { "data-testid": "exec-rows" });
  const note = el("p", { class: "muted" });
  const older = el("button", { "data-testid": "older", disabled: true }, "Older →");
  const newer = el("button", { "data-testid": "newer", disabled: !query.get("next") }, "← Newest");
  newer.addEventListener("click", () => { query.delete("next"); location.hash = "#/?" + query.toString(); });
  const figures = el("p", { class: "muted", "data-testid": "stats" }, "…");
  view.replaceChildren(
    el("section", { class: "panel" }, el("h2", {}, "Newest 1,000 executions"), figures),
    el("section", { class: "panel" },
      el("h2", {}, "Executions"),
      el("div", { class: "filters" }, status, outcome, mode, search, el("button", { onclick: apply }, "Search")),
      el("table", {}, el("thead", {}, el("tr", {}, ["Status", "Outcome", "Object key", "Size", "Duration", "Started"].map((h) => el("th", {}, h)))), body),
      note,
      el("div", { class: "pager" }, newer, older)));
  if (machine && machine.note) {
    view.firstChild.remove();
    view.prepend(el("div", { class: "notice", "data-testid": "express-note" }, machine.note));
    return;
  }
  // The figures of `copyflow stats` (and of the deployed dashboard), read again (at most once
  // a second) while live rows come in.
  const refreshStats = () => api("/api/stats?limit=1000").then((st) => {
    figures.replaceChildren(statsLine(st));
    figures.classList.remove("muted");
  }).catch((e) => figures.replaceChildren(el("span", { class: "notice error" }, e.code + ": " + e.message)));
  refreshStats();
  let statsDue = null;
  liveListeners.add(() => {
    if (!statsDue) statsDue = setTimeout(() => { statsDue = null; refreshStats(); }, 1000);
  });
  const started = performance.now();
  api("/api/executions?" + query.toString()).then((page) => {
    body.replaceChildren(...page.rows.map(rowElement));
    if (!page.rows.length) body.appendChild(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No executions match.")));
    note.textContent = (page.note ? page.note + " · " : "") + "loaded in " + Math.round(performance.now() - started) + " ms";
    if (page.next) {
      older.disabled = false;
      older.addEventListener("click", () => { query.set("next", page.next); location.hash = "#/?" + query.toString(); });
    }
    document.body.dataset.loaded = "executions";
  }).catch((e) => note.replaceChildren(el("span", { class: "notice error" }, e.code + ": " + e.message)));
  // New and changed executions, live, on the first page.
  if (!query.get("next")) {
    liveListeners.add((row) => {
      const matches = (!query.get("status") || query.get("status") === row.status)
        && (!query.get("outcome") || query.get("outcome") === row.outcome)
        && (!query.get("keyPrefix") || (row.key || "").startsWith(query.get("keyPrefix")))
        && (!query.get("keyContains") || (row.key || "").includes(query.get("keyContains")));
      const existing = [...body.children].find((tr) => tr.dataset.arn === row.arn);
      const fresh = rowElement(row);
      fresh.classList.add("fresh");
      if (existing) existing.replaceWith(fresh);
      else if (matches) body.prepend(fresh);
    });
  }
}

function counts(map) {
  const entries = Object.entries(map || {});
  return entries.length ? entries.map(([k, n]) => k + " " + n).join(", ") : "none";
}

function statsLine(st) {
  const parts = [
    st.executions + " executions (" + counts(st.byOutcome) + ")",
    st.copiesPerMinute.toFixed(1) + " copies/min",
    bytes(st.bytesCopied) + " copied",
    "failures by error: " + counts(st.failuresByError),
    st.latency
      ? "S3 event → verified p50 " + seconds(st.latency.p50) + ", p99 " + seconds(st.latency.p99) + ", max " + seconds(st.latency.max)
      : "no copies to measure",
  ];
  return el("span", {}, parts.join(" · "));
}

// ---- execution page -----------------------------------------------------------------------
function drawGraph(detail, onSelect) {
  const g = machine.graph;
  const runs = new Map(detail.states.map((s) => [s.name, s]));
  const taken = new Set();
  for (let i = 1; i < detail.path.length; i++) taken.add(detail.path[i - 1] + "\u0000" + detail.path[i]);
  const order = new Map();
  detail.path.forEach((name, i) => { if (!order.has(name)) order.set(name, i); });
  const root = svg("svg", { class: "graph", viewBox: "0 0 " + g.width + " " + g.height, "data-testid": "graph" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M0 0 L10 5 L0 10 z", fill: "#879596" }))));
  root.style.maxWidth = g.width + "px";
  for (const e of g.edges) {
    const isTaken = taken.has(e.from + "\u0000" + e.to);
    root.appendChild(svg("path", { class: "edge " + e.kind + (isTaken ? " taken" : ""), d: e.path, "marker-end": "url(#arrow)",
      "data-from": e.from, "data-to": e.to },
      svg("title", {}, e.kind === "catch" ? "Catch: " + e.errors.join(", ") : e.kind)));
  }
  for (const n of g.nodes) {
    const run = runs.get(n.id);
    const node = svg("g", { class: "node" + (run ? " visited" : ""), "data-state": n.id, "data-status": run ? run.status : "not-reached",
      "data-order": order.has(n.id) ? order.get(n.id) : null, "data-testid": "state", tabindex: 0,
      onclick: () => onSelect(n.id, node) },
    svg("rect", { x: n.x, y: n.y, width: n.width, height: n.height, rx: n.kind === "Choice" ? 18 : 6 }),
    svg("text", { x: n.x + n.width / 2, y: n.y + n.height / 2 }, n.id),
    svg("title", {}, n.kind + (run ? " · " + run.status : " · not reached")));
    root.appendChild(node);
  }
  return root;
}

function stateDetail(name, detail) {
  const run = detail.states.find((s) => s.name === name);
  const node = machine.graph.nodes.find((n) => n.id === name);
  if (!run) {
    return el("div", { "data-testid": "state-detail", "data-state": name },
      el("h2", {}, name), el("p", { class: "muted" }, (node ? node.kind : "State") + " · not reached in this execution"));
  }
  return el("div", { "data-testid": "state-detail", "data-state": name },
    el("h2", {}, name),
    el("dl", { class: "facts" },
      el("dt", {}, "type"), el("dd", {}, run.kind),
      el("dt", {}, "status"), el("dd", { "data-testid": "state-status" }, run.status),
      el("dt", {}, "entered"), el("dd", {}, run.entered + (run.entered === 1 ? " time" : " times")),
      el("dt", {}, "duration"), el("dd", {}, seconds(run.seconds)),
      el("dt", {}, "failed attempts"), el("dd", {}, String(run.failedAttempts.length))),
    run.error ? el("div", {}, el("h3", {}, "Error"), el("pre", { "data-testid": "state-error" }, run.error), el("pre", {}, pretty(run.cause))) : null,
    run.failedAttempts.length ? el("details", {}, el("summary", {}, "Retried or caught attempts"),
      run.failedAttempts.map((a) => el("pre", {}, (a.error || "") + "\n" + pretty(a.cause)))) : null,
    el("h3", {}, "Input"), el("pre", { "data-testid": "state-input" }, pretty(run.input)),
    el("h3", {}, "Output"), el("pre", { "data-testid": "state-output" }, run.output === null ? "(none)" : pretty(run.output)));
}

function copyCard(card) {
  if (!card) return el("p", { class: "muted" }, "No copy: the execution ended before a copy job existed.");
  const method = card.method === "multipart"
    ? "multipart, " + card.partsTotal + " parts" + (card.partSizeBytes ? " of " + bytes(card.partSizeBytes) : "")
    : card.method === "none" ? "none (the destination already held it)"
    : card.method === "copy-object" ? "CopyObject" : card.method || "";
  const side = (label, s) => [el("dt", {}, label), el("dd", { class: "mono" },
    "s3://" + (s.bucket || "?") + "/" + (s.key || "?") + (s.versionId ? "  (version " + s.versionId + ")" : ""))];
  return el("dl", { class: "facts", "data-testid": "copy-card" },
    el("dt", {}, "bytes"), el("dd", {}, card.bytes === null ? "" : card.bytes + " (" + bytes(card.bytes) + ")"),
    el("dt", {}, "method"), el("dd", { "data-testid": "copy-method" }, method),
    el("dt", {}, "copy"), el("dd", {}, card.copyStatus || ""),
    side("source", card.source), side("destination", card.destination),
    el("dt", {}, "checksum"), el("dd", {}, card.algorithm || ""),
    el("dt", {}, "source value"), el("dd", { class: "mono" }, card.source.checksum || ""),
    el("dt", {}, "destination value"), el("dd", { class: "mono" }, card.destination.checksum || ""),
    el("dt", {}, "verified by"), el("dd", {}, (card.verifyMethod || "") + (card.verdict ? " · " + card.verdict : "")),
    el("dt", {}, "bytes read to verify"), el("dd", { "data-testid": "bytes-read" }, card.bytesRead === null ? "" : bytes(card.bytesRead)),
    el("dt", {}, "also compared"), el("dd", {}, card.compared.join(", ")),
    el("dt", {}, "S3 requests"), el("dd", {}, card.requests === null ? "" : String(card.requests)));
}

function eventsTable(events) {
  const filter = el("input", { type: "search", placeholder: "filter events (type, state, text)", "data-testid": "events-filter" });
  const body = el("tbody", {});
  const start = events.length ? events[0].timestamp : 0;
  const render = () => {
    const f = filter.value.toLowerCase();
    body.replaceChildren(...events.filter((e) => !f || JSON.stringify(e).toLowerCase().includes(f)).map((e) => {
      const details = Object.entries(e).find(([k]) => k.endsWith("EventDetails"));
      const name = details && details[1].name;
      return el("tr", { "data-testid": "event" },
        el("td", {}, String(e.id)), el("td", {}, e.type), el("td", {}, name || ""),
        el("td", { class: "muted" }, "+" + seconds(e.timestamp - start)),
        el("td", {}, details ? el("details", {}, el("summary", {}, details[0]), el("pre", {}, JSON.stringify(details[1], null, 2))) : ""));
    }));
  };
  filter.addEventListener("input", render);
  render();
  return el("div", {}, filter,
    el("table", { "data-testid": "events" }, el("thead", {}, el("tr", {}, ["Id", "Type", "State", "Elapsed", "Details"].map((h) => el("th", {}, h)))), body));
}

function progressBox(p) {
  if (!p) return el("p", { class: "muted", "data-testid": "progress", "data-parts-done": "" }, "No multipart upload in flight.");
  const pct = p.bytesTotal ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : 0;
  const bar = el("div", { class: "bar" }, el("div", {}));
  bar.firstChild.style.width = pct.toFixed(1) + "%";
  return el("div", { "data-testid": "progress", "data-parts-done": p.partsDone, "data-parts-total": p.partsTotal === null ? "" : p.partsTotal },
    bar,
    el("p", {}, p.partsDone + " of " + (p.partsTotal === null ? "?" : p.partsTotal) + " parts · " + bytes(p.bytesDone) + " of " + bytes(p.bytesTotal)
      + (p.bytesPerSecond ? " · " + bytes(p.bytesPerSecond) + "/s" : "") + (p.etaSeconds !== null ? " · ETA " + seconds(p.etaSeconds) : "")));
}

async function renderExecution(arn) {
  clearTimers();
  liveListeners.clear();
  let selected = null;
  let progressTimer = null;
  let watchTimer = null;
  const message = el("div", {});
  const load = async () => {
    const detail = await api("/api/execution?arn=" + encodeURIComponent(arn));
    const row = detail.row;
    const side = el("div", { class: "panel", "data-testid": "side" });
    const showState = (name, node) => {
      selected = name;
      for (const n of view.querySelectorAll("g.node.selected")) n.classList.remove("selected");
      if (node) node.classList.add("selected");
      side.replaceChildren(stateDetail(name, detail));
    };
    const graph = drawGraph(detail, showState);
    const redrive = el("button", { "data-testid": "redrive", disabled: !["FAILED", "TIMED_OUT", "ABORTED"].includes(row.status) }, "Redrive");
    const again = el("button", { "data-testid": "copy-again", disabled: row.status === "RUNNING" || !row.key }, "Copy again");
    const doRedrive = async () => {
      redrive.disabled = true;
      try {
        await api("/api/redrive?arn=" + encodeURIComponent(arn), { method: "POST" });
        message.replaceChildren(el("div", { class: "notice", "data-testid": "action-result" }, "Redriven: it runs again from the state it stopped in."));
        watch();
      } catch (e) {
        message.replaceChildren(el("div", { class: "notice error", "data-testid": "action-result" }, e.code + ": " + e.message));
        redrive.disabled = false;
      }
    };
    const endNode = machine.graph.nodes.find((n) => n.id === row.outcome);
    redrive.addEventListener("click", () => {
      // A redrive resumes in the state the execution stopped in; for a Fail state that
      // means failing again (as on AWS). Say so before doing it.
      if (endNode && endNode.kind === "Fail") {
        message.replaceChildren(el("div", { class: "notice", "data-testid": "action-result" },
          "This execution ended in the Fail state " + row.outcome + ": a redrive re-enters it and fails again, as on AWS. "
          + "Fix the cause, then use Copy again (a new execution with the same event). ",
          el("button", { "data-testid": "redrive-anyway", onclick: doRedrive }, "Redrive anyway")));
        return;
      }
      doRedrive();
    });
    again.addEventListener("click", async () => {
      again.disabled = true;
      try {
        const started = await api("/api/copy-again?arn=" + encodeURIComponent(arn), { method: "POST" });
        location.hash = "#/execution/" + encodeURIComponent(started.executionArn);
      } catch (e) {
        message.replaceChildren(el("div", { class: "notice error", "data-testid": "action-result" }, e.code + ": " + e.message));
        again.disabled = false;
      }
    });
    const progress = el("div", {});
    view.replaceChildren(
      el("section", { class: "panel" },
        el("h2", { class: "mono", "data-testid": "exec-key" }, row.key === null ? "(no key)" : row.key),
        el("dl", { class: "facts" },
          el("dt", {}, "status"), el("dd", { class: "status " + row.status, "data-testid": "exec-status" }, row.status),
          el("dt", {}, "outcome"), el("dd", { "data-testid": "exec-outcome" }, row.outcome || ""),
          el("dt", {}, "size"), el("dd", {}, bytes(row.size)),
          el("dt", {}, "started"), el("dd", {}, when(row.start)),
          el("dt", {}, "duration"), el("dd", {}, duration(row)),
          el("dt", {}, "name"), el("dd", { class: "mono" }, row.name),
          el("dt", {}, "path"), el("dd", { "data-testid": "exec-path" }, detail.path.join(" → ")),
          detail.redriveCount ? [el("dt", {}, "redriven"), el("dd", {}, detail.redriveCount + " time(s)")] : null,
          detail.error ? [el("dt", {}, "error"), el("dd", { class: "mono", "data-testid": "exec-error" }, detail.error)] : null,
          detail.cause ? [el("dt", {}, "cause"), el("dd", {}, el("pre", {}, pretty(detail.cause)))] : null),
        el("div", { class: "actions" }, redrive, again), message),
      el("div", { class: "grid" },
        el("section", { class: "panel wide" }, el("h2", {}, "State machine"), graph,
          el("div", { class: "legend" }, ["succeeded", "retried", "caught", "failed", "in-progress", "unreached"].map((s) => el("span", { class: s }, s.replace("-", " "))))),
        side,
        el("section", { class: "panel" }, el("h2", {}, "Copy"), copyCard(detail.card), progress)),
      el("section", { class: "panel" }, el("h2", {}, "Events"), eventsTable(detail.events)));
    const last = selected || detail.path[detail.path.length - 1] || machine.graph.start;
    showState(last, view.querySelector('g.node[data-state="' + CSS.escape(last) + '"]'));
    if (progressTimer) { clearInterval(progressTimer); progressTimer = null; }
    if (row.status === "RUNNING") {
      const poll = async () => {
        try {
          const p = await api("/api/progress?arn=" + encodeURIComponent(arn));
          progress.replaceChildren(el("h3", {}, "Progress"), progressBox(p.progress));
        } catch (e) { progress.replaceChildren(el("p", { class: "notice error" }, e.message)); }
      };
      poll();
      progressTimer = setInterval(poll, 1000);
      timers.push(progressTimer);
    }
    document.body.dataset.loaded = "execution";
    return row.status;
  };
  const watch = () => {
    if (watchTimer) return;
    watchTimer = setInterval(async () => {
      try {
        const status = await load();
        if (status !== "RUNNING") { clearInterval(watchTimer); watchTimer = null; }
      } catch (e) { /* keep the page; try again next tick */ }
    }, 2000);
    timers.push(watchTimer);
  };
  try {
    const status = await load();
    if (status === "RUNNING") watch();
  } catch (e) {
    view.replaceChildren(el("div", { class: "notice error" }, e.code + ": " + e.message));
  }
}

// ---- routing ------------------------------------------------------------------------------
function route() {
  document.body.dataset.loaded = "";
  const hash = location.hash || "#/";
  if (hash.startsWith("#/execution/")) {
    renderExecution(decodeURIComponent(hash.slice("#/execution/".length)));
  } else {
    const q = hash.indexOf("?");
    renderExecutions(q >= 0 ? hash.slice(q + 1) : "");
  }
}

api("/api/machine").then((m) => {
  machine = m;
  document.getElementById("machine").textContent = m.name + " · " + m.kind;
  document.getElementById("origin").textContent = m.origin === "aws" ? "AWS" : "local";
  window.addEventListener("hashchange", route);
  route();
}).catch((e) => view.replaceChildren(el("div", { class: "notice error" }, "Cannot read the state machine: " + e.code + ": " + e.message)));
