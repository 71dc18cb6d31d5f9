// Graph: a MetaGraph's GraphDef or any library function, laid out by dagre in a worker, drawn as SVG.
// Name scopes collapse into one box (collapsed by default when the graph is large), pan/zoom, search by
// node name or op, and a side panel with the node's op, inputs, outputs and decoded attrs; function
// references in attrs are links to that function's graph.

import { h, s, clear } from "../dom.js";

const EXPAND_ALL_BELOW = 80;     // graphs up to this many nodes open fully expanded
const TARGET_UNITS = 120;        // otherwise expand scopes breadth-first while this many boxes are visible
const MAX_UNITS = 1500;          // never hand dagre more than this
const NODE_H = 34;
const TOP_LEVEL = "-";           // the URL's fn for "the MetaGraph's own graph" (no fn: the signature's function)
const READABLE_ZOOM = 0.75;      // labels stay legible at this zoom and above
const HUB_DEGREE = 16;          // boxes with more distinct neighbours than this have their edges hidden

let layoutWorker = null;
let layoutSeq = 0;
const layoutWaiters = new Map();

function layout(payload) {
  if (!layoutWorker) {
    layoutWorker = new Worker(new URL("../../layout-worker.js", import.meta.url));
    layoutWorker.onmessage = (e) => {
      const w = layoutWaiters.get(e.data.id);
      layoutWaiters.delete(e.data.id);
      if (w) (e.data.error ? w.reject(new Error(`graph layout failed: ${e.data.error}`)) : w.resolve(e.data));
    };
    layoutWorker.onerror = (e) => {
      for (const w of layoutWaiters.values()) w.reject(new Error(`graph layout failed: ${e.message || "worker error"}`));
      layoutWaiters.clear();
      layoutWorker = null;
    };
  }
  const id = ++layoutSeq;
  return new Promise((resolve, reject) => {
    layoutWaiters.set(id, { resolve, reject });
    layoutWorker.postMessage({ id, ...payload });
  });
}

const st = {
  generation: -1,
  key: null,           // "tags|fn" of the graph loaded
  data: null,          // graph JSON from the worker
  byName: null,        // node name -> node
  consumers: null,     // node name -> [{node, input, control}]
  scopes: null,        // scope -> {count, children:Set(scopes), depth}
  expanded: new Set(),
  selected: null,
  el: null, canvas: null, svg: null, viewport: null, side: null, info: null, results: null, search: null,
  transform: { x: 0, y: 0, k: 1 },
  positions: null,     // unit id -> layout box
  unitOf: null,        // node name -> unit id
  units: null,
  ctx: null,
  tags: null,
  renderSeq: 0,
};

const MAX_SCOPE_DEPTH = 32;   // as smlens.views.graph: a hostile 50,000-level name must not build 50,000 prefixes

function scopeChain(scope) {
  if (!scope) return [];
  const parts = scope.split("/", MAX_SCOPE_DEPTH);
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** The function to open: the one named in the URL; "-" for the top-level graph; by default, for TF2 models,
 * the function serving_default (else the first signature) calls: the top-level graph is only plumbing. */
function graphFunction(model, tags, fromUrl) {
  if (fromUrl === TOP_LEVEL) return "";
  if (fromUrl) return fromUrl;
  const mg = model.meta_graphs.find((g) => g.tags.join(",") === tags);
  const calls = mg?.signature_functions || {};
  return calls.serving_default || Object.values(calls)[0] || "";
}

export async function show(el, ctx, params) {
  st.ctx = ctx;
  const model = ctx.model;
  const mgs = model.meta_graphs;
  const tags = params.tags != null ? params.tags : (mgs.find((g) => g.tags.join(",") === "serve") || mgs[0]).tags.join(",");
  const fn = graphFunction(model, tags, params.fn);
  const key = `${tags}|${fn}`;
  if (st.generation !== ctx.generation || st.key !== key || !el.firstChild) {
    st.generation = ctx.generation;
    st.key = key;
    st.tags = tags;
    await load(el, ctx, tags, fn);
  }
  if (params.node && params.node !== st.selected && st.byName?.has(params.node)) await reveal(params.node, false);
}

async function load(el, ctx, tags, fn) {
  st.el = el;
  clear(el).append(h("p", { class: "muted" }, fn ? `Loading function ${fn}…` : "Loading graph…"));
  const data = await ctx.worker.call("graph", { tags: tags.split(",").filter(Boolean), function: fn || null });
  st.data = data;
  st.selected = null;
  index(data);
  build(el, ctx, tags, fn);
  defaultExpansion();
  await render({ fit: true });
}

const GROUP_DIRECT = 40;   // a scope with more direct nodes than this groups them by op...
const GROUP_OP = 4;        // ...for ops with at least this many nodes there
const GROUP_IO = 12;       // function arguments / results grouped above this count

function isSynthetic(segment) {
  return segment.startsWith("⟨");
}

/** n.group: the scope path the view collapses by. It is the name scope, plus synthetic groups so that
 * flat graphs (thousands of VarHandleOps at the top, hundreds of function arguments) still fold up. */
function assignGroups(nodes) {
  const direct = new Map();
  for (const n of nodes) {
    n.group = n.scope;
    if (!direct.has(n.scope)) direct.set(n.scope, []);
    direct.get(n.scope).push(n);
  }
  const args = nodes.filter((n) => n.op === "_Arg");
  const rets = nodes.filter((n) => n.op === "_Retval" || n.op === "_ControlRet");
  if (args.length > GROUP_IO) for (const n of args) n.group = `⟨arguments ×${args.length}⟩`;
  if (rets.length > GROUP_IO) for (const n of rets) n.group = `⟨results ×${rets.length}⟩`;
  for (const [scope, list] of direct) {
    const plain = list.filter((n) => n.group === scope);
    if (plain.length <= GROUP_DIRECT) continue;
    const byOp = new Map();
    for (const n of plain) byOp.set(n.op, (byOp.get(n.op) || 0) + 1);
    for (const n of plain) {
      const c = byOp.get(n.op);
      if (c >= GROUP_OP) n.group = `${scope ? scope + "/" : ""}⟨${n.op} ×${c}⟩`;
    }
  }
}

function index(data) {
  assignGroups(data.nodes);
  st.byName = new Map(data.nodes.map((n) => [n.name, n]));
  st.consumers = new Map();
  for (const e of data.edges) {
    if (!st.consumers.has(e.source)) st.consumers.set(e.source, []);
    st.consumers.get(e.source).push({ node: e.target, input: e.input, output: e.output, control: e.control });
  }
  const scopes = new Map();
  const ensure = (sc) => {
    if (!scopes.has(sc)) scopes.set(sc, { count: 0, children: new Set(), nodes: 0, depth: sc.split("/").length });
    return scopes.get(sc);
  };
  for (const n of data.nodes) {
    const chain = scopeChain(n.group);
    chain.forEach((sc, i) => {
      const info = ensure(sc);
      info.count += 1;
      if (i > 0) ensure(chain[i - 1]).children.add(sc);
      if (i === chain.length - 1) info.nodes += 1;
    });
  }
  st.scopes = scopes;
  st.expanded = new Set();
}

function unitFor(node) {
  for (const sc of scopeChain(node.group)) if (!st.expanded.has(sc)) return `scope:${sc}`;
  return `node:${node.name}`;
}

function countUnits() {
  const set = new Set();
  for (const n of st.data.nodes) set.add(unitFor(n));
  return set.size;
}

function defaultExpansion() {
  const n = st.data.nodes.length;
  if (n <= EXPAND_ALL_BELOW) {
    st.expanded = new Set(st.scopes.keys());
    return;
  }
  // Breadth-first: open the shallowest scopes first while the number of boxes stays readable.
  const order = [...st.scopes.keys()].sort((a, b) => st.scopes.get(a).depth - st.scopes.get(b).depth
    || st.scopes.get(b).count - st.scopes.get(a).count);
  let units = countUnits();
  for (const sc of order) {
    const parentOk = scopeChain(sc).slice(0, -1).every((p) => st.expanded.has(p));
    if (!parentOk) continue;
    const info = st.scopes.get(sc);
    const added = info.children.size + info.nodes - 1;
    if (units + added > TARGET_UNITS && units > 12) continue;
    st.expanded.add(sc);
    units += added;
  }
}

function build(el, ctx, tags, fn) {
  const data = st.data;
  const select = h("select", { "aria-label": "Graph or function", class: "graph-select" });
  for (const mg of ctx.model.meta_graphs) {
    const t = mg.tags.join(",");
    select.append(h("option", { value: `g:${t}` }, `Graph${ctx.model.meta_graphs.length > 1 || t ? ` [${t || "no tags"}]` : ""} (${mg.nodes} nodes)`));
  }
  if (data.functions.length) {
    const group = h("optgroup", { label: `Functions of [${tags}] (${data.functions.length})` });
    for (const f of data.functions) group.append(h("option", { value: `f:${f}` }, f));
    select.append(group);
  }
  select.value = fn ? `f:${fn}` : `g:${tags}`;
  select.addEventListener("change", () => {
    const v = select.value;
    if (v.startsWith("g:")) ctx.navigate({ view: "graph", tags: v.slice(2), fn: TOP_LEVEL });
    else ctx.navigate({ view: "graph", tags, fn: v.slice(2) });
  });

  st.search = h("input", { type: "search", placeholder: "Search node name or op  ( / )", "data-search": "", size: 30,
    "aria-label": "Search nodes" });
  st.results = h("div", { class: "search-results", hidden: true });
  let timer = 0;
  st.search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(runSearch, 120); });
  st.search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      const first = st.results.querySelector("button");
      if (first) first.click();
    } else if (e.key === "Escape") { st.search.value = ""; runSearch(); }
  });
  st.info = h("span", { class: "muted" });
  const fitBtn = h("button", { class: "btn small", onclick: () => fit() }, "Fit");
  const expandBtn = h("button", { class: "btn small", onclick: () => { st.expanded = new Set(st.scopes.keys()); render({ fit: true }); } }, "Expand all");
  const collapseBtn = h("button", { class: "btn small", onclick: () => { st.expanded = new Set(); render({ fit: true }); } }, "Collapse all");
  if (!st.scopes.size) { expandBtn.disabled = true; collapseBtn.disabled = true; }

  st.svg = s("svg", { role: "img", "aria-label": `Graph ${data.name}` });
  st.viewport = s("g", { class: "viewport" });
  st.svg.append(st.viewport);
  st.canvas = h("div", { class: "graph-canvas", "data-testid": "graph-canvas" }, st.svg);
  st.side = h("aside", { class: "side", "data-testid": "graph-side" });
  clear(el).append(
    h("div", { class: "toolbar" }, select, st.search, fitBtn, expandBtn, collapseBtn, st.info),
    h("div", { class: "graph-layout" },
      h("div", { class: "graph-main" }, st.results, st.canvas),
      st.side));
  initPanZoom();
  renderSide();
}

// ------------------------------------------------------------------ layout + drawing

function labelWidth(text, px = 6.6) {
  return Math.min(260, Math.max(70, Math.round(text.length * px) + 20));
}

function shortName(name) {
  const i = name.lastIndexOf("/");
  return i >= 0 ? name.slice(i + 1) : name;
}

async function render({ fit: doFit = false, center = null } = {}) {
  const seq = ++st.renderSeq;
  const data = st.data;
  const units = new Map();
  st.unitOf = new Map();
  for (const n of data.nodes) {
    const u = unitFor(n);
    st.unitOf.set(n.name, u);
    if (!units.has(u)) {
      if (u.startsWith("scope:")) {
        const sc = u.slice(6);
        const short = shortName(sc);
        units.set(u, { id: u, kind: "scope", scope: sc, label: isSynthetic(short) ? short : `${short}/`, sub: `${st.scopes.get(sc).count} nodes`,
          parentScope: sc.includes("/") ? sc.slice(0, sc.lastIndexOf("/")) : "" });
      } else {
        units.set(u, { id: u, kind: n.kind, node: n, label: shortName(n.name), sub: n.op, parentScope: n.group });
      }
    }
  }
  let unitList = [...units.values()];
  let truncated = 0;
  if (unitList.length > MAX_UNITS) {
    truncated = unitList.length - MAX_UNITS;
    unitList = unitList.slice(0, MAX_UNITS);
  }
  const shown = new Set(unitList.map((u) => u.id));
  const edgeMap = new Map();
  for (const e of data.edges) {
    const a = st.unitOf.get(e.source), b = st.unitOf.get(e.target);
    if (!a || !b || a === b || !shown.has(a) || !shown.has(b)) continue;
    const k = `${a}\u0000${b}`;
    const cur = edgeMap.get(k);
    if (cur) { cur.count += 1; cur.control = cur.control && e.control; } else edgeMap.set(k, { v: a, w: b, count: 1, control: e.control });
  }
  // Hubs (a box feeding or fed by many others: captured-variable arguments, init NoOps, save/restore) would
  // drag long edges across the whole layout and make dagre very slow: their edges are left out.
  const hubs = new Set();
  if (unitList.length > 40) {
    const outs = new Map(), ins = new Map();
    for (const e of edgeMap.values()) {
      outs.set(e.v, (outs.get(e.v) || 0) + 1);
      ins.set(e.w, (ins.get(e.w) || 0) + 1);
    }
    for (const [u, c] of outs) if (c > HUB_DEGREE) hubs.add(u);
    for (const [u, c] of ins) if (c > HUB_DEGREE) hubs.add(u);
    for (const u of hubs) {
      const unit = units.get(u);
      unit.hub = `${outs.get(u) || 0} out / ${ins.get(u) || 0} in edges not drawn`;
    }
    for (const [k, e] of edgeMap) if (hubs.has(e.v) || hubs.has(e.w)) edgeMap.delete(k);
  }
  // Expanded scopes holding visible boxes become dagre clusters.
  const clusters = new Map();
  const addCluster = (sc) => {
    if (!sc || clusters.has(`cluster:${sc}`)) return;
    const parent = sc.includes("/") ? sc.slice(0, sc.lastIndexOf("/")) : "";
    clusters.set(`cluster:${sc}`, { id: `cluster:${sc}`, scope: sc, label: shortName(sc) + (isSynthetic(shortName(sc)) ? "" : "/"), parent: parent ? `cluster:${parent}` : null });
    addCluster(parent);
  };
  const useClusters = unitList.length <= 300;
  if (useClusters) for (const u of unitList) if (u.parentScope) addCluster(u.parentScope);
  const nodes = unitList.map((u) => ({
    id: u.id, height: NODE_H,
    width: Math.max(labelWidth(u.label), labelWidth(u.sub, 5.8)),
    parent: useClusters && u.parentScope ? `cluster:${u.parentScope}` : null,
  }));
  st.info.textContent = `${data.nodes.length} nodes · ${unitList.length} boxes${truncated ? ` (${truncated} more not drawn)` : ""} · laying out…`;
  st.canvas.querySelector(".graph-busy")?.remove();
  st.canvas.append(h("div", { class: "graph-busy" }, "Laying out…"));
  let res;
  try {
    res = await layout({ nodes, edges: [...edgeMap.values()].map((e) => ({ v: e.v, w: e.w, weight: e.control ? 1 : 2 })),
      clusters: [...clusters.values()] });
  } catch (err) {
    if (seq === st.renderSeq) {
      st.canvas.querySelector(".graph-busy")?.remove();
      st.ctx.showError(err);
    }
    return;
  }
  if (seq !== st.renderSeq) return;
  st.canvas.querySelector(".graph-busy")?.remove();
  st.positions = res.nodes;
  st.units = units;
  draw(unitList, edgeMap, res, clusters);
  st.info.textContent = `${data.nodes.length} nodes · ${unitList.length} boxes${truncated ? ` (${truncated} more not drawn)` : ""} · layout ${Math.round(res.ms)} ms`;
  if (doFit) fit(res, true);
  if (center) centerOn(center);
  highlightMatches();
}

function edgePath(points) {
  if (!points || !points.length) return "";
  let d = `M${points[0].x.toFixed(1)},${points[0].y.toFixed(1)}`;
  if (points.length === 2) return d + `L${points[1].x.toFixed(1)},${points[1].y.toFixed(1)}`;
  // Quadratic segments through midpoints: smooth and cheap.
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i], q = points[i + 1];
    const mx = i === points.length - 2 ? q.x : (p.x + q.x) / 2;
    const my = i === points.length - 2 ? q.y : (p.y + q.y) / 2;
    d += `Q${p.x.toFixed(1)},${p.y.toFixed(1)} ${mx.toFixed(1)},${my.toFixed(1)}`;
  }
  return d;
}

function draw(unitList, edgeMap, res, clusters) {
  clear(st.viewport);
  const defs = s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7",
    markerHeight: "7", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" })));
  const gClusters = s("g", { class: "clusters" });
  for (const c of clusters.values()) {
    const p = res.clusters[c.id];
    if (!p) continue;
    const g = s("g", { class: "gcluster", "data-scope": c.scope },
      s("rect", { x: (p.x - p.width / 2).toFixed(1), y: (p.y - p.height / 2).toFixed(1), width: p.width.toFixed(1),
        height: p.height.toFixed(1), rx: "6" }),
      s("text", { x: (p.x - p.width / 2 + 8).toFixed(1), y: (p.y - p.height / 2 + 14).toFixed(1) }, `▾ ${c.label}`));
    g.lastChild.append(s("title", null, `${c.scope} (click to collapse)`));
    gClusters.append(g);
  }
  const gEdges = s("g", { class: "edges" });
  const edgeEls = [];
  for (const e of res.edges) {
    const info = edgeMap.get(`${e.v}\u0000${e.w}`);
    const path = s("path", { class: `gedge${info && info.control ? " control" : ""}`, d: edgePath(e.points), "marker-end": "url(#arrow)",
      "data-v": e.v, "data-w": e.w });
    if (info && info.count > 1) path.append(s("title", null, `${info.count} edges`));
    edgeEls.push(path);
  }
  gEdges.append(...edgeEls);
  const gNodes = s("g", { class: "nodes" });
  for (const u of unitList) {
    const p = res.nodes[u.id];
    if (!p) continue;
    const x = p.x - p.width / 2, y = p.y - p.height / 2;
    const cls = `gnode ${u.kind === "scope" ? "scope" : u.kind === "input" || u.kind === "output" ? "io" : ""}${st.selected && st.unitOf.get(st.selected) === u.id ? " selected" : ""}`;
    const g = s("g", { class: cls, transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`, "data-unit": u.id },
      s("rect", { width: p.width.toFixed(1), height: p.height.toFixed(1), rx: u.kind === "scope" ? "8" : "4" }),
      s("text", { x: "8", y: "14" }, truncate(u.label, Math.floor((p.width - 14) / 6.6))),
      s("text", { x: "8", y: "27", class: "op" }, truncate(u.sub, Math.floor((p.width - 14) / 5.8))),
      s("title", null, (u.kind === "scope" ? `${u.scope}: ${u.sub} (click to expand)` : `${u.node.name}\n${u.node.op}`)
        + (u.hub ? `\n${u.hub}` : "")));
    if (u.hub) g.classList.add("hub");
    gNodes.append(g);
  }
  st.viewport.append(defs, gClusters, gEdges, gNodes);
}

function truncate(text, n) {
  return text.length > n ? text.slice(0, Math.max(1, n - 1)) + "…" : text;
}

// ------------------------------------------------------------------ pan / zoom

function applyTransform() {
  const { x, y, k } = st.transform;
  st.viewport.setAttribute("transform", `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
}

/** Whole graph in view; with `readable`, never below a zoom where labels can be read: a graph too big for
 * that opens at its top, centred on its inputs (arguments, placeholders), and Fit shows everything. */
function fit(res, readable = false) {
  const bbox = res ? { width: res.width, height: res.height } : graphSize();
  const r = st.svg.getBoundingClientRect();
  const W = r.width || 800, H = r.height || 500;
  let k = Math.min(1.2, Math.max(0.03, Math.min(W / (bbox.width + 20), H / (bbox.height + 20))));
  if (readable) k = Math.max(k, READABLE_ZOOM);
  st.transform = { k, x: (W - bbox.width * k) / 2, y: Math.max(8, (H - bbox.height * k) / 2) };
  if (bbox.height * k > H) st.transform.y = 8;
  if (readable && bbox.width * k > W) {
    const cx = inputsCentre();
    if (cx != null) st.transform.x = Math.min(8, Math.max(W - bbox.width * k - 8, W / 2 - cx * k));
  }
  applyTransform();
  st.svg.dataset.zoom = k.toFixed(3);   // tests read the zoom the view opened at
}

/** x of the inputs' boxes (graph units), their mean; null when none is drawn. */
function inputsCentre() {
  const xs = [];
  for (const n of st.data?.nodes || []) {
    if (n.op !== "_Arg" && n.op !== "Placeholder" && n.op !== "PlaceholderWithDefault") continue;
    const p = st.positions?.[st.unitOf?.get(n.name)];
    if (p) xs.push(p.x);
  }
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function graphSize() {
  let w = 0, hgt = 0;
  for (const p of Object.values(st.positions || {})) {
    w = Math.max(w, p.x + p.width / 2);
    hgt = Math.max(hgt, p.y + p.height / 2);
  }
  return { width: w + 20, height: hgt + 20 };
}

function centerOn(unitId) {
  const p = st.positions?.[unitId];
  if (!p) return;
  const r = st.svg.getBoundingClientRect();
  const k = Math.max(st.transform.k, 0.8);
  st.transform = { k, x: r.width / 2 - p.x * k, y: r.height / 2 - p.y * k };
  applyTransform();
}

function initPanZoom() {
  const svg = st.svg;
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    drag = { x: e.clientX, y: e.clientY, tx: st.transform.x, ty: st.transform.y, moved: false, target: e.target };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    svg.classList.add("dragging");
    st.transform.x = drag.tx + dx;
    st.transform.y = drag.ty + dy;
    applyTransform();
  });
  const end = (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    svg.classList.remove("dragging");
    if (!d.moved) onClick(d.target);
    if (e.pointerId != null && svg.hasPointerCapture(e.pointerId)) svg.releasePointerCapture(e.pointerId);
  };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", () => { drag = null; svg.classList.remove("dragging"); });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
    const k = Math.min(4, Math.max(0.03, st.transform.k * factor));
    const ratio = k / st.transform.k;
    st.transform = { k, x: px - (px - st.transform.x) * ratio, y: py - (py - st.transform.y) * ratio };
    applyTransform();
  }, { passive: false });
}

function onClick(target) {
  const cluster = target.closest?.(".gcluster");
  if (cluster && target.tagName === "text") {
    collapse(cluster.dataset.scope);
    return;
  }
  const g = target.closest?.(".gnode");
  if (!g) return;
  const unit = st.units.get(g.dataset.unit);
  if (!unit) return;
  if (unit.kind === "scope") {
    st.expanded.add(unit.scope);
    render({ center: null });
    return;
  }
  st.ctx.navigate({ view: "graph", tags: st.tags, fn: st.data.kind === "function" ? st.data.name : TOP_LEVEL, node: unit.node.name }, { replace: true });
}

function collapse(scope) {
  for (const sc of [...st.expanded]) if (sc === scope || sc.startsWith(scope + "/")) st.expanded.delete(sc);
  render({ center: `scope:${scope}` });
}

// ------------------------------------------------------------------ selection + side panel

async function reveal(name, navigateTo = true) {
  const node = st.byName.get(name);
  if (!node) return;
  if (navigateTo) {
    st.ctx.navigate({ view: "graph", tags: st.tags, fn: st.data.kind === "function" ? st.data.name : TOP_LEVEL, node: name }, { replace: true });
    return;
  }
  st.selected = name;
  const chain = scopeChain(node.group);
  const hidden = chain.some((sc) => !st.expanded.has(sc));
  if (hidden) {
    for (const sc of chain) st.expanded.add(sc);
    await render({ center: `node:${name}` });
  } else {
    for (const g of st.viewport.querySelectorAll(".gnode.selected")) g.classList.remove("selected");
    const el = [...st.viewport.querySelectorAll(".gnode")].find((g) => g.dataset.unit === `node:${name}`);
    el?.classList.add("selected");
    centerOn(`node:${name}`);
  }
  highlightEdges(name);
  renderSide();
}

function highlightEdges(name) {
  const unit = st.unitOf?.get(name);
  for (const p of st.viewport.querySelectorAll(".gedge.hl")) p.classList.remove("hl");
  if (!unit) return;
  for (const p of st.viewport.querySelectorAll(".gedge")) {
    if (p.dataset.v === unit || p.dataset.w === unit) p.classList.add("hl");
  }
}

function nodeLink(name, suffix = "") {
  if (!st.byName.has(name)) return h("span", { class: "mono" }, name + suffix);
  return h("button", { class: "linkish mono", onclick: () => reveal(name) }, name + suffix);
}

function functionLink(fname) {
  const known = st.data.functions.includes(fname);
  if (!known) return h("span", { class: "mono" }, fname);
  return h("button", { class: "linkish mono", title: "Open this function's graph",
    onclick: () => st.ctx.navigate({ view: "graph", tags: st.tags, fn: fname }) }, `ƒ ${fname}`);
}

function renderSide() {
  const side = clear(st.side);
  const data = st.data;
  if (!st.selected) {
    side.append(h("h3", null, data.kind === "function" ? `Function ${data.name}` : `Graph [${data.name}]`));
    side.append(h("p", { class: "muted" }, `${data.nodes.length} nodes, ${data.edges.length} edges. Click a node for details; `
      + "click a dashed box to open a name scope, its label to close it. Drag to pan, wheel to zoom."));
    if (data.signature) {
      const list = (items, link) => h("ul", { class: "attr-list" },
        items.slice(0, 40).map((a) => h("li", null, link ? nodeLink(a.name) : a.name, h("span", { class: "k" }, `: ${a.type}`))),
        items.length > 40 ? h("li", { class: "muted" }, `… ${items.length - 40} more`) : null);
      side.append(h("h3", null, `Arguments (${data.signature.inputs.length})`), list(data.signature.inputs, true));
      side.append(h("h3", null, `Results (${data.signature.outputs.length})`), list(data.signature.outputs, false));
      if (data.signature.attrs.length) side.append(h("h3", null, "Function attrs"), attrList(data.signature.attrs));
    }
    if (data.called_functions.length) {
      side.append(h("h3", null, "Calls"), h("ul", { class: "attr-list" },
        data.called_functions.map((f) => h("li", null, functionLink(f)))));
    }
    return;
  }
  const n = st.byName.get(st.selected);
  side.append(h("h3", null, n.name));
  const dl = h("dl", { class: "kv" });
  dl.append(h("dt", null, "op"), h("dd", { class: "mono" }, n.op));
  const summary = (data.op_summaries || {})[n.op];
  if (summary) dl.append(h("dt", null, "summary"), h("dd", null, summary));
  if (n.device) dl.append(h("dt", null, "device"), h("dd", { class: "mono" }, n.device));
  if (n.scope) dl.append(h("dt", null, "scope"), h("dd", { class: "mono" }, n.scope));
  side.append(dl);
  side.append(h("h3", null, `Inputs (${n.inputs.length})`));
  side.append(n.inputs.length ? h("ul", { class: "attr-list" }, n.inputs.map((inp, i) => h("li", null,
    h("span", { class: "k" }, `${i}${inp.control ? " ^" : ""} `), nodeLink(inp.node, inp.output && inp.output !== "0" ? `:${inp.output}` : "")))) : h("p", { class: "muted" }, "none"));
  const outs = st.consumers.get(n.name) || [];
  side.append(h("h3", null, `Outputs: used by (${outs.length})`));
  side.append(outs.length ? h("ul", { class: "attr-list" }, outs.map((o) => h("li", null,
    h("span", { class: "k" }, o.control ? "^ " : `${o.output || "0"} → `), nodeLink(o.node), h("span", { class: "k" }, ` [${o.input}]`)))) : h("p", { class: "muted" }, "none"));
  // attrs equal to TensorFlow's OpDef default are hidden behind a toggle
  const shown = st.showDefaults ? n.attrs : n.attrs.filter((a) => !a.default);
  const hidden = n.attrs.length - shown.length;
  side.append(h("h3", null, `Attributes (${n.attrs.length})`));
  side.append(shown.length ? attrList(shown) : h("p", { class: "muted" }, "none"));
  if (hidden || st.showDefaults) side.append(h("p", null, h("button", { class: "btn small", onclick: () => {
    st.showDefaults = !st.showDefaults; renderSide();
  } }, st.showDefaults ? "Hide default attrs" : `Show ${hidden} default attr${hidden === 1 ? "" : "s"}`)));
  side.append(h("p", null, h("button", { class: "btn small", onclick: () => {
    st.selected = null;
    st.ctx.navigate({ view: "graph", tags: st.tags, fn: data.kind === "function" ? data.name : TOP_LEVEL }, { replace: true });
    for (const g of st.viewport.querySelectorAll(".gnode.selected")) g.classList.remove("selected");
    highlightEdges(null);
    renderSide();
  } }, "Close")));
}

function attrList(attrs) {
  return h("ul", { class: "attr-list" }, attrs.map((a) => h("li", null, h("span", { class: "k" }, `${a.key}: `),
    a.text, a.funcs.length ? h("div", null, a.funcs.map((f) => functionLink(f))) : null)));
}

// ------------------------------------------------------------------ search

function runSearch() {
  const q = st.search.value.trim().toLowerCase();
  clear(st.results);
  if (!q) { st.results.hidden = true; highlightMatches(); return; }
  const hits = [];
  for (const n of st.data.nodes) {
    if (n.name.toLowerCase().includes(q) || n.op.toLowerCase().includes(q)) {
      hits.push(n);
      if (hits.length >= 200) break;
    }
  }
  st.results.hidden = false;
  if (!hits.length) st.results.append(h("div", { class: "muted" }, " no node matches"));
  for (const n of hits.slice(0, 60)) {
    st.results.append(h("button", { onclick: () => reveal(n.name) }, `${n.name}  (${n.op})`));
  }
  if (hits.length > 60) st.results.append(h("div", { class: "muted" }, ` …${hits.length >= 200 ? "200+" : hits.length} matches`));
  highlightMatches();
}

function highlightMatches() {
  if (!st.viewport) return;
  const q = (st.search?.value || "").trim().toLowerCase();
  const units = new Set();
  if (q) for (const n of st.data.nodes) if (n.name.toLowerCase().includes(q) || n.op.toLowerCase().includes(q)) units.add(st.unitOf.get(n.name));
  for (const g of st.viewport.querySelectorAll(".gnode")) g.classList.toggle("match", units.has(g.dataset.unit));
}
