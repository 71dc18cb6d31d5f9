// SavedModel Lens: the page. Owns the worker, the open model, the URL hash (current view) and the chrome
// (tabs, status bar, error panel, theme, drag and drop). Each view renders itself from data the worker returns.

import { $, h, clear } from "./dom.js";
import { PyWorker, CancelledError } from "./worker-client.js";
import { collectDrop, filesFromInput, resolveUrl, fetchJson, DEMO_MODEL } from "./files.js";
import * as overview from "./views/overview.js";
import * as variables from "./views/variables.js";
import * as graph from "./views/graph.js";
import * as run from "./views/run.js";

const VIEWS = { overview, variables, graph, run };

const state = {
  worker: null,
  model: null,          // summary returned by "open"
  overview: null,       // promise of "describe"
  examples: null,       // demo examples.json
  source: null,         // "demo" | "files"
  generation: 0,        // bumps on every open: views drop caches from older models
  opened: 0,
  timings: {},
};

// ------------------------------------------------------------------ hash routing

function readHash() {
  return Object.fromEntries(new URLSearchParams(location.hash.replace(/^#/, "")));
}

function writeHash(params, { replace = false } = {}) {
  const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v != null && v !== ""));
  const next = "#" + new URLSearchParams(clean).toString();
  if (next === location.hash || (next === "#" && !location.hash)) return;
  if (replace) history.replaceState(null, "", next);
  else history.pushState(null, "", next);
}

/** Views call this to change what is shown; `replace` for refinements that should not add history. */
function navigate(params, options = {}) {
  const base = { src: state.source === "demo" ? "demo" : undefined };
  writeHash({ ...base, ...params }, options);
  route();
}

// ------------------------------------------------------------------ status and errors

const statusEl = () => $("#status");

function setStatus(text, fraction = null) {
  const el = statusEl();
  if (!text) { el.hidden = true; return; }
  el.hidden = false;
  $("#status-text").textContent = text;
  const bar = $("#status-progress");
  if (fraction == null) bar.removeAttribute("value");
  else bar.value = Math.max(0, Math.min(1, fraction));
}

function showError(err, title = "Error") {
  if (err instanceof CancelledError) return;
  const panel = $("#error-panel");
  $("#error-title").textContent = title;
  $("#error-message").textContent = String(err && err.message ? err.message : err);
  panel.hidden = false;
  console.warn(err);
}

function clearError() {
  $("#error-panel").hidden = true;
}

// ------------------------------------------------------------------ opening models

function modelNameFor(files) {
  const first = files[0]?.path || "";
  const top = first.includes("/") ? first.split("/")[0] : "";
  if (top && files.every((f) => f.path.startsWith(top + "/"))) return top;
  return files.length === 1 ? first : `${files.length} files`;
}

async function openFiles(files, { name, source = "files", examples = null, path = undefined, keepHash = false } = {}) {
  clearError();
  if (!files.length) { showError("no files were selected"); return; }
  setStatus(`Opening ${name || modelNameFor(files)}…`, null);
  document.body.dataset.openState = "opening";
  const t0 = performance.now();
  try {
    await state.worker.ready;
    const summary = await state.worker.open(files, { name: name || modelNameFor(files), path });
    state.timings.open_ms = performance.now() - t0;
    // Only now does the new model replace the old one (a failed open keeps the old one usable).
    state.generation += 1;
    state.model = summary;
    state.overview = null;
    state.examples = examples;
    state.source = source;
    state.remote = null;
    onModelOpened(summary, keepHash);
    document.body.dataset.openState = "open";
    state.opened += 1;
    document.body.dataset.generation = String(state.opened);   // successful opens (tests wait on it)
  } catch (err) {
    document.body.dataset.openState = "failed";
    showError(err, state.model ? "Could not open the model (the previous one stays open)" : "Could not open the model");
  } finally {
    setStatus(null);
  }
}

function showModelChrome(on) {
  $("#tabs").hidden = !on;
  $("#open-other").hidden = !on;
  $("#copy-link").hidden = !on;
  if (!on) { $("#model-name").textContent = ""; $("#candidate-select").hidden = true; }
}

function onModelOpened(summary, keepHash) {
  showModelChrome(true);
  $("#model-name").textContent = `${summary.name} · ${kindLabel(summary.kind)}`;
  document.title = `${summary.name} — SavedModel Lens`;
  const sel = $("#candidate-select");
  clear(sel);
  if (summary.candidates.length > 1) {
    for (const c of summary.candidates) sel.append(h("option", { value: c.path }, c.label));
    sel.value = summary.path;
    sel.hidden = false;
  } else sel.hidden = true;
  // A new model keeps the current view; selections (tensor, node, signature) belonged to the old one,
  // except when the page was loaded with a hash that names the model (the demo link).
  const params = readHash();
  let view = params.view in VIEWS ? params.view : "overview";
  if (!viewAvailable(view)) view = "overview";
  navigate(keepHash ? { ...params, view } : { view }, { replace: true });
}

function kindLabel(kind) {
  return { saved_model: "SavedModel", checkpoint: "checkpoint", meta_graph: "MetaGraph (.meta)",
    graph_def: "frozen GraphDef" }[kind] || kind;
}

function viewAvailable(view) {
  const m = state.model;
  if (!m) return false;
  if (view === "variables") return m.has_checkpoint;
  if (view === "graph") return m.meta_graphs.length > 0;
  if (view === "run") return m.meta_graphs.some((g) => g.signatures.length > 0);
  return true;
}

async function openDemo({ keepHash = false } = {}) {
  // The demo is a published model folder of this site: it opens like any hosted model.
  await openUrl(DEMO_MODEL, { source: "demo", keepHash, title: "Could not open the demo" });
}

// ------------------------------------------------------------------ views

function route() {
  const params = readHash();
  const view = params.view;
  const hasModel = !!state.model;
  $("#landing").hidden = hasModel && view in VIEWS;
  for (const [name, mod] of Object.entries(VIEWS)) {
    const el = $(`#view-${name}`);
    const active = hasModel && view === name;
    el.hidden = !active;
    const tab = $(`#tabs [data-view="${name}"]`);
    tab.setAttribute("aria-selected", String(active));
    tab.disabled = hasModel && !viewAvailable(name);
    if (active) {
      Promise.resolve(mod.show(el, context(), params)).catch((err) => showError(err));
    }
  }
}

function context() {
  return {
    worker: state.worker,
    model: state.model,
    generation: state.generation,
    examples: state.examples,
    describe: () => {
      state.overview ??= state.worker.call("describe");
      state.overview.catch(() => { state.overview = null; });
      return state.overview;
    },
    navigate,
    showError,
    clearError,
    setStatus,
    timings: state.timings,
  };
}

// ------------------------------------------------------------------ chrome: theme, keyboard, drop

function applyTheme(mode) {
  const root = document.documentElement;
  if (mode === "light" || mode === "dark") root.dataset.theme = mode;
  else delete root.dataset.theme;
  const btn = $("#theme-toggle");
  btn.title = `Theme: ${mode === "auto" ? "follows the system" : mode} (click to change)`;
  btn.textContent = mode === "light" ? "☀" : mode === "dark" ? "☾" : "◐";
}

function initTheme() {
  let mode = "auto";
  try { mode = localStorage.getItem("smlens-theme") || "auto"; } catch { /* storage may be blocked */ }
  applyTheme(mode);
  $("#theme-toggle").addEventListener("click", () => {
    const order = ["auto", "light", "dark"];
    const current = document.documentElement.dataset.theme || "auto";
    mode = order[(order.indexOf(current) + 1) % order.length];
    try { localStorage.setItem("smlens-theme", mode); } catch { /* ignore */ }
    applyTheme(mode);
  });
}

function initKeyboard() {
  document.addEventListener("keydown", (e) => {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    const view = document.querySelector(".view:not([hidden])");
    let box = view && view.querySelector("[data-search]");
    if (!box && state.model && viewAvailable("variables")) {
      navigate({ view: "variables" });
      box = $("#view-variables [data-search]");
    }
    if (box) { e.preventDefault(); box.focus(); box.select?.(); }
  });
}

function initDrop() {
  const overlay = $("#drop-overlay");
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragenter", (e) => { if (hasFiles(e)) { depth += 1; overlay.hidden = false; } });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  document.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
  document.addEventListener("drop", async (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    const collect = collectDrop(e.dataTransfer);   // synchronous part: entries are only readable now
    try {
      const files = await collect();
      await openFiles(files);
    } catch (err) { showError(err, "Could not read the dropped files"); }
  });
}

function initInputs() {
  for (const id of ["open-input", "open-dir-input"]) {
    const input = document.getElementById(id);
    input.addEventListener("change", async () => {
      const files = filesFromInput(input);
      input.value = "";
      if (files.length) await openFiles(files);
    });
  }
  $("#demo-button").addEventListener("click", () => openDemo());
  $("#open-other").addEventListener("click", () => navigate({ view: "" }));
  $("#home-link").addEventListener("click", (e) => { e.preventDefault(); navigate({ view: "" }); });
  $("#error-close").addEventListener("click", clearError);
  $("#candidate-select").addEventListener("change", async (e) => {
    if (state.remote) { await openUrl(state.remote.param, { ...state.remote, path: e.target.value }); return; }
    const files = state.worker.openFiles;
    if (files) await openFiles(files, { name: state.model?.name, path: e.target.value,
      source: state.source, examples: state.examples });
  });
  for (const tab of document.querySelectorAll("#tabs [data-view]")) {
    tab.addEventListener("click", () => {
      const params = readHash();
      navigate({ view: tab.dataset.view, tags: params.tags });
    });
  }
}

function initWorker() {
  const w = new PyWorker();
  state.worker = w;
  const t0 = performance.now();
  w.addEventListener("progress", (e) => {
    const { text, fraction, request, fetched } = e.detail;
    if (fetched) showFetched(fetched);
    if (request === "init") {
      $("#runtime-info").textContent = `Python runtime: ${text}`;
      if (!state.model) setStatus(text, fraction);
    } else setStatus(text, fraction);
  });
  w.addEventListener("idle", (e) => { if (!e.detail.pending && state.model) setStatus(null); });
  w.addEventListener("ready", (e) => {
    const info = e.detail;
    state.timings.ready_ms = performance.now() - t0;
    $("#runtime-info").textContent = `Python ${info.python} · numpy ${info.numpy} · smlens ${info.smlens} · `
      + `runtime ready in ${(state.timings.ready_ms / 1000).toFixed(1)} s`;
    document.body.dataset.runtime = "ready";
    if (!w.busy) setStatus(null);
    applyBackendChoice(w);
  });
  w.ready.catch((err) => {
    setStatus(null);
    document.body.dataset.runtime = "failed";
    $("#runtime-info").textContent = "Python runtime: failed to start";
    showError(err, "The Python runtime could not start");
  });
}

// ------------------------------------------------------------------ hosted models, site default, share links

/** ?model=<published folder or manifest URL> or ?url=<one .pb/.pbtxt/.meta/.index URL>, else null. */
function queryModel() {
  const q = new URLSearchParams(location.search);
  if (q.get("model")) return { param: q.get("model"), kind: "model" };
  if (q.get("url")) return { param: q.get("url"), kind: "file" };
  return null;
}

/** A site written by `smlens publish` names its model in site.json; the dev site has none. */
async function openSiteDefault() {
  let config = null;
  try { config = await fetchJson("site.json"); } catch { return; }
  if (config?.title) document.title = `${config.title} — SavedModel Lens`;
  if (config?.model && !state.model) await openUrl(config.model, { kind: "model", keepHash: true, fromSite: true });
}

async function openUrl(param, { kind = "model", source = "url", keepHash = false, path = undefined,
  title = "Could not open the hosted model", fromSite = false } = {}) {
  clearError();
  setStatus(`Opening ${param}…`, null);
  document.body.dataset.openState = "opening";
  const t0 = performance.now();
  try {
    const url = resolveUrl(param);
    await state.worker.ready;
    const summary = await state.worker.openUrl({ url, kind, path });
    state.timings.open_ms = performance.now() - t0;
    state.timings.open_bytes = summary.remote?.bytes_fetched;
    state.generation += 1;
    state.model = summary;
    state.overview = null;
    state.source = source;
    state.remote = { param, kind, source, keepHash: true, fromSite };
    state.examples = null;
    if (summary.remote?.examples) {
      try { state.examples = await fetchJson(summary.remote.examples); } catch (err) { console.warn(err); }
    }
    if (!fromSite && source !== "demo") {
      const q = new URLSearchParams(location.search);
      q.delete("model"); q.delete("url");
      q.set(kind === "model" ? "model" : "url", param);
      history.replaceState(null, "", `?${q}${location.hash}`);
    }
    showFetched({ bytes: summary.remote?.bytes_fetched ?? 0, requests: summary.remote?.requests ?? 0 });
    for (const w of summary.remote?.warnings || []) console.warn(w);
    document.body.dataset.fetchWarnings = (summary.remote?.warnings || []).join(" | ");
    onModelOpened(summary, keepHash);
    document.body.dataset.openState = "open";
    state.opened += 1;
    document.body.dataset.generation = String(state.opened);
  } catch (err) {
    document.body.dataset.openState = "failed";
    showError(err, title);
  } finally {
    setStatus(null);
  }
}

function showFetched({ bytes, requests }) {
  document.body.dataset.bytesFetched = String(bytes);
  const el = $("#fetch-info");
  if (el) el.textContent = state.remote || bytes ? ` · fetched ${(bytes / 1e6).toFixed(2)} MB in ${requests} requests` : "";
}

/** The page's URL with the current view and the Run view's inputs, so that opening it reproduces the run. */
function shareLink() {
  const params = { ...readHash(), ...run.shareParams() };
  for (const k of Object.keys(params)) if (params[k] == null || params[k] === "") delete params[k];
  return `${location.origin}${location.pathname}${location.search}#${new URLSearchParams(params)}`;
}

async function copyShareLink() {
  const link = shareLink();
  const btn = $("#copy-link");
  btn.dataset.link = link;
  try {
    await navigator.clipboard.writeText(link);
    btn.textContent = "Link copied";
  } catch {
    window.prompt("Copy this link:", link);
  }
  setTimeout(() => { btn.textContent = "Copy link"; }, 2000);
}

// Backend choice: ?backend=webgpu|wasm|numpy in the page URL (or the Run view's menu); re-applied after a
// worker restart. The result (adapter, backends in use, why) is kept on the worker for the Run view.
function applyBackendChoice(w) {
  w.backendChoice ??= new URLSearchParams(location.search).get("backend") || "auto";
  w.backendInfo = w.request("backend", { choice: w.backendChoice });
  w.backendInfo.then((sel) => {
    const gpu = sel.adapter ? `${sel.adapter.vendor} ${sel.adapter.architecture}`.trim()
      + (sel.adapter.isFallbackAdapter ? " (software)" : "") : "no WebGPU";
    $("#runtime-info").textContent += ` · GPU: ${gpu} · backends: ${sel.backends.join(", ")}`;
    document.body.dataset.backends = sel.backends.join(",");
  }, (err) => console.warn("backend choice failed:", err));
}

// ------------------------------------------------------------------ cancel from every view, memory budget
// Any request that keeps the worker busy for a moment (open, describe, graph layout data, variables, run)
// shows a bar with Cancel: it terminates the worker and starts a fresh one that re-opens the same files
// (worker-client.js cancel()). An interrupt buffer would keep the runtime, but Pyodide only supports one
// with SharedArrayBuffer, i.e. a cross-origin isolated page, which static hosts do not all provide.

const MEMORY_CHOICES = [["512M", 512 << 20], ["1G", 1 << 30], ["2G (default)", 0], ["3G", 3 * (1 << 30)]];

function initWorkChrome() {
  const w = state.worker;
  const label = h("span", { class: "status-text" }, "Working…");
  const cancel = h("button", { class: "btn", "data-testid": "global-cancel",
    title: "Stop the current work: the Python runtime restarts and re-opens the model" }, "Cancel");
  const bar = h("div", { class: "status work-bar", id: "work-bar", hidden: true, role: "status" }, label, cancel);
  $("#status").after(bar);
  let timer = null;
  const busyType = () => [...w.pending.values()].find((p) => p.type !== "init" && p.type !== "limits")?.type;
  w.addEventListener("busy", () => {
    if (timer || !busyType()) return;
    timer = setTimeout(() => { timer = null; const t = busyType(); if (t) { label.textContent = `Working (${t})…`; bar.hidden = false; } }, 400);
  });
  w.addEventListener("idle", () => { if (!busyType()) { clearTimeout(timer); timer = null; bar.hidden = true; } });
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    label.textContent = "Cancelled: restarting the Python runtime and re-opening the model…";
    try { await w.cancel(); } catch (err) { showError(err, "Restart after cancel failed"); }
    finally { cancel.disabled = false; bar.hidden = true; setStatus(null); }
  });
  const select = h("select", { class: "candidate-select", id: "memory-select", "aria-label": "Memory budget",
    title: "Largest tensor a model may make smlens allocate (hostile files are stopped with an error)" },
    ...MEMORY_CHOICES.map(([text, bytes]) => h("option", { value: String(bytes) }, `Memory ${text}`)));
  let saved = "0";
  try { saved = localStorage.getItem("smlens-max-memory") || "0"; } catch { /* storage may be blocked */ }
  select.value = MEMORY_CHOICES.some(([, b]) => String(b) === saved) ? saved : "0";
  if (select.value !== "0") w.setMaxMemory(Number(select.value)).catch(() => {});
  select.addEventListener("change", () => {
    try { localStorage.setItem("smlens-max-memory", select.value); } catch { /* ignore */ }
    w.setMaxMemory(Number(select.value)).catch((err) => showError(err, "Could not set the memory budget"));
  });
  $("#theme-toggle").before(select);
}

function main() {
  initTheme();
  initKeyboard();
  initDrop();
  initInputs();
  initWorker();
  initWorkChrome();
  window.addEventListener("popstate", route);
  window.addEventListener("hashchange", route);
  $("#copy-link").addEventListener("click", copyShareLink);
  const params = readHash();
  const hosted = queryModel();
  if (hosted) openUrl(hosted.param, { kind: hosted.kind, keepHash: true });
  else if (params.src === "demo") openDemo({ keepHash: true });
  else openSiteDefault();
  route();
}

main();
