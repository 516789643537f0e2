// lockgate dashboard: talks to /api/migrations with the token kept in sessionStorage (this tab only).
// Everything is rendered with textContent / createElement, never innerHTML, so no data from the database
// (migration names, error messages) can inject markup. No inline script: the CSP forbids it.
"use strict";

const TOKEN_KEY = "lockgate.token";
const PAGE_SIZE = 20;
const state = { offset: 0, nextOffset: null, status: null, busy: false };

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

function formatMs(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

function formatWhen(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

// -- talking to the API ------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message, document) {
    super(message);
    this.status = status;
    this.document = document;
  }
}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
  if (options.body) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { ...options, headers, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, `cannot reach the lockgate server (${error.message})`, null);
  }
  let document = null;
  try {
    document = await response.json();
  } catch (error) {
    throw new ApiError(response.status, `unexpected answer from the server (HTTP ${response.status})`, null);
  }
  if (response.status === 401) {
    signOut(`Sign-in refused: ${document.message}`);
    throw new ApiError(401, document.message, document);
  }
  if (!response.ok && response.status !== 422) {
    throw new ApiError(response.status, document.message || `HTTP ${response.status}`, document);
  }
  return { status: response.status, document };
}

// -- sign-in --------------------------------------------------------------------------------------------
function showBanner(message) {
  $("banner").textContent = message;
  $("banner").hidden = !message;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  $("retry").hidden = true;
  $("login").hidden = false;
  $("target").textContent = "";
  showBanner(message || "");
  $("token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  await openDashboard();
}

async function openDashboard() {
  $("login").hidden = true;
  showBanner("");
  // Visible before rendering, so the chart can be drawn at the width it will really have.
  $("dashboard").hidden = false;
  try {
    await refresh();
  } catch (error) {
    $("dashboard").hidden = true;
    if (error.status === 403) signOut(`This user is not an admin: ${error.message}`);
    else if (error.status !== 401) {
      showBanner(error.message);
      $("retry").hidden = false;
      $("sign-out").hidden = false;
    }
    return;
  }
  $("retry").hidden = true;
  $("sign-out").hidden = false;
}

async function refresh() {
  const [status, page, recent] = await Promise.all([
    api("/api/migrations"),
    api(`/api/migrations/history?limit=${PAGE_SIZE}&offset=${state.offset}`),
    api("/api/migrations/history?limit=200"),
  ]);
  state.status = status.document;
  renderStatus(status.document);
  renderHistory(page.document);
  renderChart(recent.document.entries);
  await Promise.all([loadFleet(), loadDrift()]);
}

// -- drift ---------------------------------------------------------------------------------------------
// GET /api/drift only reads the last check (cheap, on every refresh); the button asks for a new one.
async function loadDrift() {
  try {
    renderDrift((await api("/api/drift")).document);
  } catch (error) {
    $("drift-text").textContent = `Drift: ${error.message}`;
  }
}

async function checkDrift() {
  const button = $("check-drift");
  button.disabled = true;
  $("drift-text").textContent = "Checking: building a shadow database from the applied migrations…";
  try {
    renderDrift((await api("/api/drift", { method: "POST" })).document);
  } catch (error) {
    $("drift-text").textContent = `Drift: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

function renderDrift(document) {
  const drift = document.drift;
  const table = $("drift");
  if (!drift) {
    table.hidden = true;
    return; // never checked by this server: the card keeps its explanation
  }
  const when = formatWhen(document.checked_at);
  const differences = drift.differences || [];
  let text;
  if (drift.error) text = `Drift not checked (${when}): ${drift.error}`;
  else if (!differences.length)
    text = `No drift (${when}): the database has the schema its ${drift.replayed} applied migration(s) build.`;
  else
    text = `${differences.length} difference(s) (${when}) between the database and the schema its ${drift.replayed} applied migration(s) build — changed by hand?`;
  $("drift-text").textContent = text;
  $("drift-text").className = drift.error || differences.length ? "error" : "ok";
  table.querySelector("tbody").replaceChildren(
    ...differences.map((item) =>
      el(
        "tr",
        {},
        el("td", { class: item.kind === "added" ? "" : "error", "data-label": "Kind", text: item.kind }),
        el("td", { "data-label": "Object", text: item.object }),
        el("td", { "data-label": "Detail", text: item.detail }),
      ),
    ),
  );
  table.hidden = !differences.length;
}

// -- fleet ---------------------------------------------------------------------------------------------
// Shown only when the config has [tool.lockgate.targets]: /api/fleet answers 404 otherwise.
async function loadFleet() {
  let answer;
  try {
    answer = await api("/api/fleet");
  } catch (error) {
    $("fleet-card").hidden = error.status === 404;
    if (error.status !== 404) {
      $("fleet-groups").replaceChildren(el("li", { class: "error", text: `Fleet: ${error.message}` }));
      $("fleet").hidden = true;
    }
    return;
  }
  renderFleet(answer.document);
}

function renderFleet(document) {
  const groups = new Map();
  for (const target of document.targets) {
    const key = target.state === "pending" ? `pending from ${target.pending[0]}` : target.state.replace("-", " ");
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(target.name);
  }
  const lines = [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([key, names]) => {
      const shown = names.slice(0, 5).join(", ") + (names.length > 5 ? `, +${names.length - 5} more` : "");
      return el("li", { text: `${names.length} target(s) ${key} (${shown})` });
    });
  const rows = document.targets.map((target) =>
    el(
      "tr",
      {},
      el("td", { "data-label": "Target", text: target.name }),
      el("td", { class: "num", "data-label": "Wave", text: String(target.wave) }),
      el("td", { class: outcomeClass(target.state), "data-label": "State", text: target.state }),
      el("td", { class: "num", "data-label": "Applied", text: String(target.applied) }),
      el("td", { class: "num", "data-label": "Pending", text: String(target.pending.length) }),
      el("td", { "data-label": "Latest", text: target.latest === null ? "" : String(target.latest) }),
      el("td", { class: "error", "data-label": "Problem", text: target.message }),
    ),
  );
  $("fleet-groups").replaceChildren(...lines);
  $("fleet").querySelector("tbody").replaceChildren(...rows);
  $("fleet").hidden = false;
  $("fleet-card").hidden = false;
}

// -- status --------------------------------------------------------------------------------------------
const DRIFT_CODES = new Set(["checksum-mismatch", "renamed-migration", "missing-file"]);

function health(document) {
  const counts = document.counts;
  if (document.applied.length + document.pending.length + document.failed.length + document.problems.length === 0) {
    return ["healthy", "Empty", "No migration files yet: add one (lockgate create \"...\") and it shows up here."];
  }
  if (counts.failed + counts.running > 0) return ["failed", "Failed", "A migration failed: see the error below and in the history."];
  if (counts.modified > 0 || document.problems.some((p) => DRIFT_CODES.has(p.code))) {
    return ["drift", "Checksum drift", "Files changed or disappeared after they ran: runs are blocked until it is resolved."];
  }
  if (counts.pending > 0) return ["pending", "Pending", `${counts.pending} migration(s) waiting to run.`];
  if (!document.valid) return ["failed", "Invalid", "Validation found errors."];
  return ["healthy", "Healthy", "Every migration file is applied and matches what ran."];
}

function renderStatus(document) {
  $("target").textContent = `${document.database} · ${document.table} · ${document.migrations_dir}`;
  const [kind, label, text] = health(document);
  const badge = $("health");
  badge.className = `badge ${kind}`;
  badge.textContent = label;
  badge.dataset.state = kind;
  $("health-text").textContent = text;

  const counts = document.counts;
  const shown = [
    ["Applied", counts.applied + counts.baselined],
    ["Pending", counts.pending],
    ["Failed", counts.failed + counts.running],
    ["Modified", counts.modified],
    ["Missing", counts.missing],
  ];
  $("counts").replaceChildren(...shown.map(([name, value]) => el("div", {}, el("dt", { text: name }), el("dd", { text: String(value) }))));

  $("problems").replaceChildren(
    ...document.problems.map((problem) => el("li", { class: problem.severity, text: `[${problem.code}] ${problem.message}` })),
  );

  const pending = document.pending;
  const list = $("pending");
  const files = document.applied.length + pending.length + document.failed.length;
  if (files === 0 && document.problems.length === 0) {
    list.replaceChildren(el("li", { class: "empty", text: `No migration files in ${document.migrations_dir} yet.` }));
  } else if (pending.length === 0) {
    list.replaceChildren(el("li", { class: "empty", text: "Nothing pending: every migration file has been applied." }));
  } else {
    list.replaceChildren(
      ...pending.map((entry) =>
        el(
          "li",
          { "data-id": entry.id },
          el("span", { class: "version", text: String(entry.version) }),
          entry.name,
          ...((entry.locks || []).length ? [el("div", { class: "locks", text: `locks: ${entry.locks.join(", ")}` })] : []),
          ...((entry.lint || []).length
            ? [el("ul", { class: "findings" }, ...entry.lint.map((finding) => el("li", { class: finding.severity, text: `line ${finding.line}: [${finding.rule}] ${finding.message}` })))]
            : []),
        ),
      ),
    );
  }
  $("run").disabled = pending.length === 0 || state.busy;
  $("dry-run").disabled = pending.length === 0 || state.busy;
}

// -- actions -------------------------------------------------------------------------------------------
function confirmAction(title, text) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function showResult(kind, message, details) {
  const box = $("result");
  box.className = `result ${kind}`;
  box.replaceChildren(el("strong", { text: message }));
  if (details) box.append(el("pre", { text: details }));
  box.hidden = false;
}

// The message already names file:line, the error and its SQLSTATE; PostgreSQL's detail and hint come below.
function failureDetails(document) {
  const failed = (document.results || []).find((r) => r.outcome === "failed");
  if (!failed || !failed.error) return "";
  const lines = [];
  if (failed.error.detail) lines.push(`detail: ${failed.error.detail}`);
  if (failed.error.hint) lines.push(`hint: ${failed.error.hint}`);
  return lines.join("\n");
}

async function act(action) {
  const pending = state.status ? state.status.pending.length : 0;
  if (action !== "validate") {
    const verb = action === "run" ? "Apply" : "Dry-run";
    const database = state.status ? state.status.database : "the database";
    const note = action === "run" ? "Each runs in its own transaction with its tracking row." : "Everything is rolled back afterwards.";
    if (!(await confirmAction(`${verb} ${pending} migration(s)?`, `${verb} ${pending} pending migration(s) on ${database}. ${note}`))) return;
  }
  state.busy = true;
  for (const id of ["run", "dry-run", "validate"]) $(id).disabled = true;
  showResult("busy", action === "validate" ? "Validating…" : action === "run" ? "Running migrations…" : "Dry run in progress…");
  try {
    const { document } = await api("/api/migrations", { method: "POST", body: JSON.stringify({ action }) });
    if (action === "validate") {
      const problems = document.problems.map((p) => `[${p.code}] ${p.message}`).join("\n");
      showResult(document.valid ? "ok" : "bad", document.message, problems);
    } else {
      showResult(document.ok ? "ok" : "bad", document.message, failureDetails(document));
    }
  } catch (error) {
    if (error.status === 409) showResult("busy", "Another run is in progress", error.message);
    else if (error.status !== 401) showResult("bad", `${action} failed`, error.message);
  } finally {
    state.busy = false;
    $("validate").disabled = false;
  }
  state.offset = 0;
  try {
    await refresh();
  } catch (error) {
    if (error.status !== 401) showBanner(error.message);
  }
}

// -- history -------------------------------------------------------------------------------------------
function outcomeClass(outcome) {
  if (outcome.startsWith("refused") || outcome === "failed" || outcome === "error") return "outcome-failed";
  if (outcome === "applied") return "outcome-applied";
  return "";
}

// Who and from where: the user (or token) and the client address the request came from.
function who(entry) {
  const metadata = entry.metadata || {};
  const user = metadata.actor || entry.executed_by || (metadata.via === "api" ? "anonymous" : "");
  return metadata.client ? `${user} from ${metadata.client}` : user;
}

// Refusals are audited in batches: one row stands for `count` identical ones.
function outcomeText(entry) {
  const count = (entry.metadata || {}).count;
  return typeof count === "number" && count > 1 ? `${entry.outcome} ×${count}` : entry.outcome;
}

function renderHistory(page) {
  state.nextOffset = page.next_offset;
  const rows = page.entries.map((entry) =>
    el(
      "tr",
      {},
      el("td", { class: "when", "data-label": "When", text: formatWhen(entry.logged_at) }),
      el("td", { "data-label": "Action", text: entry.action }),
      el("td", { "data-label": "Migration", text: entry.migration_id || "" }),
      el("td", { class: outcomeClass(entry.outcome), "data-label": "Outcome", text: outcomeText(entry) }),
      el("td", { class: "num", "data-label": "Time", text: formatMs(entry.execution_time_ms) }),
      el("td", { "data-label": "Who", text: who(entry) }),
      el("td", { class: "error", "data-label": "Error", text: entry.error_message || "" }),
    ),
  );
  $("history").querySelector("tbody").replaceChildren(...rows);
  $("history").hidden = rows.length === 0;
  $("history-empty").hidden = rows.length !== 0;
  $("older").disabled = page.next_offset === null;
  $("newer").disabled = state.offset === 0;
}

async function page(direction) {
  state.offset = direction === "older" ? state.nextOffset || 0 : Math.max(0, state.offset - PAGE_SIZE);
  try {
    const { document } = await api(`/api/migrations/history?limit=${PAGE_SIZE}&offset=${state.offset}`);
    renderHistory(document);
  } catch (error) {
    if (error.status !== 401) showBanner(error.message);
  }
}

// -- chart: one bar per migration execution, oldest left, height = duration --------------------------
function renderChart(entries) {
  const runs = entries
    .filter((e) => e.action === "run" && e.execution_time_ms !== null && (e.outcome === "applied" || e.outcome === "failed"))
    .reverse();
  const box = $("chart");
  if (runs.length === 0) {
    box.replaceChildren(el("p", { class: "empty", text: "No migration has run yet: the chart fills in as migrations are applied." }));
    return;
  }
  // Drawn at the box's own width so that labels keep their size on a phone instead of shrinking with it.
  const width = Math.max(300, Math.round(box.clientWidth || 720));
  const height = 220;
  const left = 56;
  const bottom = 34;
  const top = 12;
  const max = Math.max(1, ...runs.map((r) => r.execution_time_ms));
  const slot = (width - left - 8) / runs.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Execution time per migration run, oldest first" });
  chart.append(svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom }));
  for (const fraction of [0, 0.5, 1]) {
    const y = height - bottom - fraction * (height - bottom - top);
    chart.append(svg("line", { class: "axis", x1: left - 4, y1: y, x2: width, y2: y }));
    const label = svg("text", { x: left - 8, y: y + 4, "text-anchor": "end" });
    label.textContent = formatMs(Math.round(max * fraction));
    chart.append(label);
  }
  runs.forEach((run, index) => {
    const barHeight = Math.max(2, (run.execution_time_ms / max) * (height - bottom - top));
    const x = left + index * slot + slot * 0.15;
    const bar = svg("rect", {
      class: run.outcome === "failed" ? "bar-failed" : "bar-applied",
      x,
      y: height - bottom - barHeight,
      width: Math.max(2, slot * 0.7),
      height: barHeight,
    });
    const title = svg("title");
    title.textContent = `${run.migration_id} — ${run.outcome} in ${formatMs(run.execution_time_ms)} (${formatWhen(run.logged_at)})`;
    bar.append(title);
    chart.append(bar);
  });
  const every = Math.max(1, Math.ceil(runs.length / Math.max(2, Math.floor(width / 110))));
  runs.forEach((run, index) => {
    if (index % every !== 0) return;
    const label = svg("text", { x: left + index * slot + slot / 2, y: height - bottom + 16, "text-anchor": "middle" });
    const name = run.name || run.migration_id || "";
    label.textContent = name.length > 16 ? `${name.slice(0, 15)}…` : name;
    chart.append(label);
  });
  box.replaceChildren(chart);
}

// -- start ---------------------------------------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut(""));
  $("retry").addEventListener("click", () => openDashboard());
  $("run").addEventListener("click", () => act("run"));
  $("dry-run").addEventListener("click", () => act("dry-run"));
  $("validate").addEventListener("click", () => act("validate"));
  $("check-drift").addEventListener("click", () => checkDrift());
  $("older").addEventListener("click", () => page("older"));
  $("newer").addEventListener("click", () => page("newer"));
  if (sessionStorage.getItem(TOKEN_KEY)) openDashboard();
  else signOut("");
});
