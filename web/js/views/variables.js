// Variables: every checkpoint tensor (name, TF2 object path, dtype, shape, bytes) with a filter; selecting one
// reads its values lazily in the worker: stats, histogram, NumPy-style preview, download as .npy.

import { h, clear, formatBytes, formatShape, formatMs, download, safeFileName, charsFit } from "../dom.js";
import { drawHistogram } from "../plot.js";

const MAX_ROWS = 1500;
const DEFAULT_SORT = { key: "name", dir: 1 };

const view = {
  generation: -1,
  list: null,
  el: null,
  tbody: null,
  count: null,
  detail: null,
  filter: "",
  sort: { ...DEFAULT_SORT },
  heads: [],
  selected: null,
  ctx: null,
  request: 0,
};

export async function show(el, ctx, params) {
  view.ctx = ctx;
  if (view.generation !== ctx.generation || !el.firstChild) {
    view.generation = ctx.generation;
    view.list = null;
    view.selected = null;
    view.filter = "";
    view.sort = { ...DEFAULT_SORT };   // a sort order belongs to the model it was chosen for
    clear(el).append(h("p", { class: "muted" }, "Listing tensors…"));
    const res = await ctx.worker.call("variables");
    view.list = res.variables;
    build(el);
    el.dataset.rendered = String(ctx.generation);   // tests wait on it, never on time
  }
  const want = params.name || null;
  if (want !== view.selected) select(want);
}

function build(el) {
  view.el = el;
  const filter = h("input", {
    type: "search", placeholder: "Filter by name or object path  ( / )", "data-search": "", size: 40,
    "aria-label": "Filter variables", value: view.filter,
  });
  filter.addEventListener("input", () => { view.filter = filter.value; renderRows(); });
  view.count = h("span", { class: "muted" });
  const head = h("tr");
  view.heads = [];
  for (const [key, label, cls] of [["name", "Name", ""], ["dtype", "dtype", ""], ["shape", "Shape", ""], ["nbytes", "Size", "num"]]) {
    const arrow = h("span", { class: "sort-arrow", "aria-hidden": "true" });
    const th = h("th", { class: `${cls} sortable`, "data-sort-key": key }, label, arrow);
    th.addEventListener("click", () => {
      view.sort = { key, dir: view.sort.key === key ? -view.sort.dir : key === "nbytes" ? -1 : 1 };
      renderRows();
    });
    view.heads.push({ key, label, th, arrow });
    head.append(th);
  }
  view.tbody = h("tbody");
  view.tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-name]");
    if (tr) view.ctx.navigate({ view: "variables", name: tr.dataset.name }, { replace: !!view.selected });
  });
  const table = h("table", { class: "data", "data-testid": "variables-table" }, h("thead", null, head), view.tbody);
  view.detail = h("div", { class: "card", "data-testid": "tensor-detail" },
    h("p", { class: "muted" }, "Select a tensor to read its values."));
  const total = view.list.reduce((a, v) => a + v.nbytes, 0);
  clear(el).append(
    h("div", { class: "toolbar" }, filter, view.count,
      h("span", { class: "grow" }), h("span", { class: "muted" }, `${view.list.length} tensors · ${formatBytes(total)}`)),
    h("div", { class: "split" }, h("div", { class: "table-scroll" }, table), view.detail));
  renderRows();
}

function sorted(list) {
  const { key, dir } = view.sort;
  const val = (v) => (key === "shape" ? (v.shape || []).reduce((a, b) => a * Math.max(b, 0), 1) : v[key]);
  return [...list].sort((a, b) => {
    const x = val(a), y = val(b);
    return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.name < b.name ? -1 : 1);
  });
}

function renderSortHeads() {
  for (const { key, label, th, arrow } of view.heads) {
    const on = view.sort.key === key;
    const dir = on ? (view.sort.dir > 0 ? "ascending" : "descending") : "none";
    th.setAttribute("aria-sort", dir);
    th.title = on ? `Sorted by ${label.toLowerCase()}, ${dir} (click to reverse)` : `Sort by ${label.toLowerCase()}`;
    arrow.textContent = on ? (view.sort.dir > 0 ? " ▲" : " ▼") : "";
  }
}

function renderRows() {
  renderSortHeads();
  const q = view.filter.trim().toLowerCase();
  const match = q ? view.list.filter((v) => v.name.toLowerCase().includes(q)
    || (v.object_path || "").toLowerCase().includes(q)) : view.list;
  const rows = sorted(match).slice(0, MAX_ROWS);
  clear(view.tbody);
  const frag = document.createDocumentFragment();
  for (const v of rows) {
    frag.append(h("tr", { class: `clickable${v.name === view.selected ? " selected" : ""}`, "data-name": v.name },
      h("td", null, h("div", { class: "name-cell" }, v.name),
        v.object_path ? h("div", { class: "path-cell" }, v.object_path) : null),
      h("td", { class: "mono" }, v.dtype),
      h("td", { class: "mono" }, formatShape(v.shape)),
      h("td", { class: "num", title: `${v.nbytes} bytes` }, formatBytes(v.nbytes))));
  }
  view.tbody.append(frag);
  view.count.textContent = match.length > rows.length
    ? `showing ${rows.length} of ${match.length} matches: refine the filter`
    : q ? `${match.length} match${match.length === 1 ? "" : "es"}` : "";
}

async function select(name) {
  view.selected = name;
  for (const tr of view.tbody.querySelectorAll("tr.selected")) tr.classList.remove("selected");
  if (!name) {
    clear(view.detail).append(h("p", { class: "muted" }, "Select a tensor to read its values."));
    return;
  }
  const row = [...view.tbody.querySelectorAll("tr[data-name]")].find((tr) => tr.dataset.name === name);
  row?.classList.add("selected");
  const meta = view.list.find((v) => v.name === name);
  const req = ++view.request;
  clear(view.detail).append(h("h3", null, name),
    h("p", { class: "muted" }, `Reading ${meta ? formatBytes(meta.nbytes) : "values"}…`));
  try {
    const t = await view.ctx.worker.call("tensor", { name, linewidth: charsFit(view.detail) });
    if (req !== view.request) return;
    renderDetail(t);
  } catch (err) {
    if (req !== view.request) return;
    clear(view.detail).append(h("h3", null, name));
    view.ctx.showError(err, `Could not read ${name}`);
  }
}

function statBox(k, v) {
  return h("div", { class: "stat" }, h("div", { class: "k" }, k), h("div", { class: "v" }, v == null ? "–" : String(v)));
}

function fmt(x) {
  if (x == null) return "–";
  if (typeof x === "string") return x;
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-4 || a >= 1e6) ? x.toExponential(6) : String(Number(x.toPrecision(8)));
}

function renderDetail(t) {
  const s = t.stats;
  const d = clear(view.detail);
  d.append(h("h3", null, t.name));
  if (t.object_path) d.append(h("div", { class: "path-cell" }, `object path: ${t.object_path}`));
  d.append(h("div", { class: "muted" },
    `${t.dtype} ${formatShape(t.shape)} · ${s.count} values · ${formatBytes(t.nbytes)} · read in ${formatMs(t.read_ms)}`));
  const grid = h("div", { class: "stats" });
  if (s.kind === "numeric") {
    grid.append(statBox("min", fmt(s.min)), statBox("max", fmt(s.max)), statBox("mean", fmt(s.mean)),
      statBox("std", fmt(s.std)), statBox("zeros", s.zeros), statBox("NaN", s.nan),
      statBox("+Inf", s.posinf), statBox("−Inf", s.neginf));
  } else if (s.kind === "string") {
    grid.append(statBox("strings", s.count), statBox("empty", s.empty), statBox("longest (bytes)", s.max_length));
  }
  d.append(grid);
  if (s.note) d.append(h("div", { class: "muted" }, s.note));
  if (s.kind === "numeric" && s.finite > 0) {
    const canvas = h("canvas", { class: "hist", "aria-label": "Histogram of the finite values" });
    d.append(h("h3", null, "Histogram (finite values)"), canvas);
    requestAnimationFrame(() => drawHistogram(canvas, s.histogram.counts, s.histogram.edges));
  }
  const dl = h("button", { class: "btn small" }, "Download .npy");
  dl.addEventListener("click", async () => {
    try {
      const { blobs } = await view.ctx.worker.call("tensor_npy", { name: t.name }, { withBlobs: true });
      download(`${safeFileName(t.name)}.npy`, blobs.npy);
    } catch (err) { view.ctx.showError(err, "Download failed"); }
  });
  d.append(h("div", { class: "toolbar" }, h("h3", { class: "grow" }, "Values"), dl),
    h("pre", { class: "pre", "data-testid": "tensor-preview" }, t.preview));
}
