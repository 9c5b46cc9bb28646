// Switchyard's dashboard: a single page over the admin and public APIs. The admin token is kept
// in sessionStorage for this tab only and sent as a bearer token; nothing else is stored. A
// single sign-on hands its short-lived token in the URL fragment (`#token=…`), taken from there
// at once. The page shows who is signed in and hides what the role cannot do.
"use strict";

const $ = (selector) => document.querySelector(selector);
const TOKEN_KEY = "switchyard-admin-token";
let current = "activity";
let refresher = null;
const charts = {};

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

async function api(path, options = {}) {
  const headers = Object.assign({ authorization: "Bearer " + token() }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401 && identity) logOut("Signed out: the token is no longer valid.");
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = { raw: text }; }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : response.status + " " + text;
    throw new Error(message);
  }
  return body;
}

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = value === null || value === undefined ? "–" : String(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(tableId, items, render) {
  const body = $("#" + tableId + " tbody");
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    render(row, item);
    body.appendChild(row);
  }
}

function usd(value) {
  return Number(value || 0).toFixed(9).replace(/0+$/, "").replace(/\.$/, ".0");
}

function time(ms) {
  return new Date(ms).toLocaleTimeString();
}

// ---- log in ----

// ---- identity: what the role may do ----

let identity = null;

function takeSignInToken() {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!given) return;
  sessionStorage.setItem(TOKEN_KEY, given);
  history.replaceState(null, "", location.pathname);
}

function applyRole(me) {
  identity = me;
  const owner = me.role === "owner";
  const flags = {
    operate: owner || (me.role === "operator" && !me.account),
    bill: owner || me.role === "billing",
    wide: !me.account,
  };
  for (const [flag, allowed] of Object.entries(flags)) document.body.dataset[flag] = allowed ? "yes" : "no";
  $("#identity").textContent = me.label + " · " + me.role + (me.account ? " · account " + me.account : "");
  if (me.account) {
    $("#key-account").value = me.account;
    $("#credits-account").value = me.account;
  }
  if (!flags.wide && ["activity", "endpoints", "plugins", "generations"].includes(current)) current = "keys";
}

async function logIn(event) {
  if (event) event.preventDefault();
  const given = $("#token").value.trim();
  if (given) sessionStorage.setItem(TOKEN_KEY, given);
  try {
    applyRole((await api("/admin/whoami")).data);
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#login-error").textContent = "Log in refused: " + error.message;
    return;
  }
  $("#login-error").textContent = "";
  $("#login-view").hidden = true;
  $("#tabs").hidden = false;
  show(current);
}

function logOut(why) {
  identity = null;
  $("#login-error").textContent = typeof why === "string" ? why : "";
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(refresher);
  document.querySelectorAll(".view").forEach((view) => { view.hidden = true; });
  $("#tabs").hidden = true;
  $("#login-view").hidden = false;
}

function show(tab) {
  current = tab;
  document.querySelectorAll("#tabs button[data-tab]").forEach((button) => {
    button.classList.toggle("active", button.dataset.tab === tab);
  });
  document.querySelectorAll(".view").forEach((view) => { view.hidden = view.id !== tab + "-view"; });
  clearInterval(refresher);
  const load = LOADERS[tab];
  const run = () => load().catch((error) => console.error(tab, error));
  run();
  refresher = setInterval(run, 2000);
}

// ---- activity ----

function perMinute(generations) {
  const now = Date.now();
  const start = Math.floor(now / 60000) * 60000 - 59 * 60000;
  const minutes = [];
  for (let i = 0; i < 60; i++) minutes.push((start + i * 60000) / 1000);
  const requests = new Array(60).fill(0);
  const tokens = new Array(60).fill(0);
  const spend = new Array(60).fill(0);
  for (const g of generations) {
    const index = Math.floor((g.at_ms - start) / 60000);
    if (index < 0 || index >= 60) continue;
    requests[index] += 1;
    tokens[index] += g.prompt_tokens + g.completion_tokens;
    spend[index] += Number(g.cost);
  }
  return { minutes, requests, tokens, spend };
}

function chart(id, label, xs, ys, format) {
  const data = [xs, ys];
  if (charts[id]) {
    charts[id].setData(data);
    return;
  }
  const target = $("#" + id);
  charts[id] = new uPlot({
    width: Math.max(280, Math.floor(target.parentElement.clientWidth) - 10),
    height: 160,
    legend: { show: false },
    axes: [{}, format ? { values: (u, values) => values.map(format), size: 70 } : {}],
    series: [{}, { label, stroke: "#2f6fde", fill: "rgba(47,111,222,0.15)" }],
  }, data, target);
}

async function loadCacheLine() {
  const c = (await api("/admin/cache")).data;
  const lookups = c.hits + c.misses;
  const ratio = lookups ? ((100 * c.hits) / lookups).toFixed(1) + " %" : "–";
  const size = c.bytes === null ? "in Redis" : (c.bytes / 1048576).toFixed(2) + " MiB in " + c.entries + " entries";
  document.getElementById("cache-line").textContent =
    "Response cache: " + c.hits + " hits of " + lookups + " lookups (" + ratio + "), " + c.bypasses +
    " bypassed, " + size + ", " + c.evictions + " evicted, " + c.errors + " store failures, $" +
    c.saved_usd.toFixed(6) + " saved.";
}

async function loadActivity() {
  loadCacheLine().catch(() => {});
  const body = await api("/admin/activity");
  const generations = body.data;
  const series = perMinute(generations);
  chart("chart-requests", "requests", series.minutes, series.requests);
  chart("chart-tokens", "tokens", series.minutes, series.tokens);
  chart("chart-spend", "USD", series.minutes, series.spend, (v) => (v === 0 ? "0" : v.toExponential(1)));
  const groups = new Map();
  for (const g of generations) {
    const name = [g.model, g.provider, g.key_id || "–"].join("\u0000");
    const group = groups.get(name) || { g, requests: 0, tokens: 0, spend: 0 };
    group.requests += 1;
    group.tokens += g.prompt_tokens + g.completion_tokens;
    group.spend += Number(g.cost);
    groups.set(name, group);
  }
  fill("breakdown-table", [...groups.values()], (row, group) => {
    cell(row, group.g.model);
    cell(row, group.g.provider);
    cell(row, group.g.key_id);
    cell(row, group.requests);
    cell(row, group.tokens);
    cell(row, usd(group.spend));
  });
  fill("activity-table", generations.slice(0, 25), (row, g) => {
    row.dataset.id = g.id;
    cell(row, time(g.at_ms));
    cell(row, g.id, "mono");
    cell(row, g.model);
    cell(row, g.provider);
    cell(row, g.key_id);
    cell(row, g.prompt_tokens + " / " + g.completion_tokens);
    cell(row, usd(g.cost), "cost");
    cell(row, g.latency_ms);
  });
}

// ---- endpoints ----

async function loadEndpoints() {
  const models = await fetch("/v1/models").then((r) => r.json());
  const rows = [];
  for (const model of models.data) {
    const answer = await fetch("/api/v1/models/" + model.id + "/endpoints").then((r) => r.json());
    for (const e of answer.data.endpoints) rows.push({ model: model.id, e });
  }
  fill("endpoints-table", rows, (row, { model, e }) => {
    cell(row, model);
    cell(row, e.provider_name);
    cell(row, e.circuit, "circuit-" + e.circuit);
    cell(row, Number(e.uptime).toFixed(1));
    cell(row, e.requests);
    cell(row, Number(e.error_rate).toFixed(3));
    cell(row, e.in_flight);
    cell(row, e.latency ? Math.round(e.latency.p50) : null);
    cell(row, e.ms_since_last_failure === null ? null : Math.round(e.ms_since_last_failure / 1000) + " s ago");
  });
}

// ---- plugins ----

function versionText(version) {
  return version ? version.version + " (" + version.digest.slice(0, 12) + ")" : null;
}

function percent(share) {
  return (share * 100).toFixed(1) + "%";
}
// A canary's share and its verdict so far: requests judged in its window and its error rate
// beside the stable version's.
function canaryText([canary, share], stable) {
  return versionText(canary) + " at " + Math.round(share * 100) + "% · " + canary.recent_requests +
    " judged, " + percent(canary.error_rate) + " errors (stable " + percent(stable.error_rate) + ")";
}
async function loadPlugins() {
  const body = await api("/admin/plugins");
  fill("plugins-table", body.plugins, (row, p) => {
    row.dataset.plugin = p.name;
    cell(row, p.name);
    cell(row, p.kind);
    cell(row, p.current.version, "version");
    cell(row, p.current.digest.slice(0, 12), "mono");
    cell(row, p.current.health);
    cell(row, versionText(p.previous));
    cell(row, p.canary ? canaryText(p.canary, p.current) : null, "canary");
    const actions = cell(row, "");
    if (p.previous || p.canary) actions.appendChild(button("Roll back", "rollback", () => pluginAction(p.name, "rollback")));
    if (p.canary) actions.appendChild(button("Promote", "promote", () => pluginAction(p.name, "promote")));
  });
  const events = await api("/admin/events");
  fill("events-table", events.events.slice(-20).reverse(), (row, e) => {
    cell(row, e.plugin);
    cell(row, e.action);
    cell(row, e.detail);
  });
}

function button(label, className, onClick) {
  const b = document.createElement("button");
  b.textContent = label;
  b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

async function pluginAction(name, action) {
  try {
    const info = await api("/admin/plugins/" + name + "/" + action, { method: "POST" });
    $("#plugins-message").textContent = name + ": " + action + " done, now " + info.current.version;
  } catch (error) {
    $("#plugins-message").textContent = name + ": " + error.message;
  }
  await loadPlugins();
}

async function upload(event) {
  event.preventDefault();
  const file = $("#upload-file").files[0];
  if (!file) return;
  const share = $("#upload-canary").value;
  const path = "/admin/plugins" + (share ? "?canary=" + encodeURIComponent(share) : "");
  try {
    const info = await api(path, { method: "POST", body: await file.arrayBuffer() });
    $("#plugins-message").textContent = "installed " + info.name + " " + (info.canary ? "as a canary" : info.current.version);
  } catch (error) {
    $("#plugins-message").textContent = "upload refused: " + error.message;
  }
  await loadPlugins();
}

// ---- keys and credits ----

async function loadKeys() {
  let body;
  try {
    body = await api("/admin/keys");
  } catch (error) {
    $("#keys-message").textContent = error.message;
    return;
  }
  fill("keys-table", body.data, (row, k) => {
    row.dataset.key = k.id;
    cell(row, k.id, "mono");
    cell(row, k.label);
    cell(row, k.account);
    cell(row, k.usage);
    cell(row, k.limit);
    cell(row, k.limit_remaining);
    cell(row, k.disabled ? "disabled" : "active");
    const actions = cell(row, "");
    actions.appendChild(button(k.disabled ? "Enable" : "Disable", "toggle", () => updateKey(k.id, { disabled: !k.disabled })));
  });
}

async function updateKey(id, change) {
  try {
    await api("/admin/keys/" + id, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(change),
    });
  } catch (error) {
    $("#keys-message").textContent = error.message;
  }
  await loadKeys();
}

async function createKey(event) {
  event.preventDefault();
  const request = { label: $("#key-label").value, account: $("#key-account").value || "default" };
  const limit = $("#key-limit").value;
  if (limit) request.limit = limit;
  try {
    const created = await api("/admin/keys", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request),
    });
    const secret = $("#key-secret");
    secret.textContent = "New key " + created.data.id + ", shown this once: " + created.data.key;
    secret.hidden = false;
    $("#keys-message").textContent = "";
  } catch (error) {
    $("#keys-message").textContent = error.message;
  }
  await loadKeys();
}

async function addCredits(event) {
  event.preventDefault();
  const account = $("#credits-account").value || "default";
  try {
    const answer = await api("/admin/accounts/" + encodeURIComponent(account) + "/credits", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ amount: $("#credits-amount").value }),
    });
    $("#keys-message").textContent = account + " now has " + answer.data.total_credits + " USD of credits";
  } catch (error) {
    $("#keys-message").textContent = error.message;
  }
}

// ---- generations ----

async function loadGenerations() {
  const query = new URLSearchParams();
  for (const [field, id] of [["id", "#search-id"], ["key", "#search-key"], ["team", "#search-team"], ["user", "#search-user"], ["model", "#search-model"], ["status", "#search-status"]]) {
    const value = $(id).value.trim();
    if (value) query.set(field, value);
  }
  const body = await api("/admin/activity?" + query);
  fill("generations-table", body.data.slice(0, 100), (row, g) => {
    cell(row, time(g.at_ms));
    const id = cell(row, g.id, "mono link");
    id.addEventListener("click", () => { $("#generation-detail").textContent = JSON.stringify(g, null, 2); });
    cell(row, g.model);
    cell(row, g.provider);
    cell(row, g.key_id);
    cell(row, g.team);
    cell(row, g.user);
    cell(row, g.cancelled ? "cancelled" : g.finish_reason);
    cell(row, usd(g.cost));
  });
}

// ---- audit log ----

async function loadAudit() {
  const body = await api("/admin/audit?limit=100");
  fill("audit-table", body.data, (row, entry) => {
    cell(row, new Date(entry.at * 1000).toLocaleString());
    cell(row, entry.actor, "mono");
    cell(row, entry.action);
    cell(row, entry.target, "mono");
    cell(row, entry.account);
    cell(row, JSON.stringify(entry.after === null ? entry.before : entry.after), "mono");
  });
}

const LOADERS = {
  audit: loadAudit,
  activity: loadActivity,
  endpoints: loadEndpoints,
  plugins: loadPlugins,
  keys: loadKeys,
  generations: loadGenerations,
};

document.querySelectorAll("#tabs button[data-tab]").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
$("#logout").addEventListener("click", logOut);
$("#login-form").addEventListener("submit", logIn);
$("#upload-form").addEventListener("submit", upload);
$("#key-form").addEventListener("submit", createKey);
$("#credits-form").addEventListener("submit", addCredits);
$("#search-form").addEventListener("submit", (event) => { event.preventDefault(); loadGenerations(); });
takeSignInToken();
if (token()) logIn();
