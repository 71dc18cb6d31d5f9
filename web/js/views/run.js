// Run: pick a signature, fill one editor per input (JSON / .npy / image / tf.Example fields), run it in the
// worker, show outputs (shape, dtype, values, top-k) with downloads and timing. Cancel restarts the worker.

import { h, clear, formatShape, formatMs, download, safeFileName, charsFit } from "../dom.js";
import { decodeImageFile, toPixels, showPixels, grayToRgba, drawingPad } from "../image.js";
import { CancelledError } from "../worker-client.js";
import { servingMode } from "./serving.js";

const panels = new Map();     // `${generation}|${tags}|${sig}` -> {el, editors, outputs}
let current = null;
let running = null;
let restarting = false;
let imagePresets = [];        // describe's image_presets: pixel preprocessing choices for image inputs
const labels = { generation: -1, names: null, source: "" };   // class names for top-k (file or model asset)

export async function show(el, ctx, params) {
  // another model's form must not stay usable while this one's is prepared (tests would fill it)
  if (!current?.key.startsWith(`${ctx.generation}|`)) clear(el).append(h("p", { class: "muted" }, "Reading the model…"));
  const info = await ctx.describe();
  imagePresets = info.image_presets || [];
  if (labels.generation !== ctx.generation) {
    Object.assign(labels, { generation: ctx.generation, names: info.labels?.labels || null,
      source: info.labels ? `${info.labels.path} (shipped with the model)` : "" });
  }
  const sigs = [];
  for (const mg of info.meta_graphs) {
    for (const sig of mg.signatures) if (!sig.key.startsWith("__")) sigs.push({ tags: mg.tags.join(","), sig, mg });
  }
  if (!sigs.length) {
    clear(el).append(h("p", { class: "muted" }, "This model has no signature to run."));
    return;
  }
  let pick = sigs.find((x) => x.sig.key === params.sig && (params.tags == null || x.tags === params.tags));
  if (!pick) pick = sigs.find((x) => x.sig.key === "serving_default" && x.tags === "serve")
    || sigs.find((x) => x.sig.key === "serving_default") || sigs[0];
  const key = `${ctx.generation}|${pick.tags}|${pick.sig.key}`;
  if (current && current.key === key && el.contains(current.el)) { applyShared(ctx, params); return; }
  for (const k of panels.keys()) if (!k.startsWith(`${ctx.generation}|`)) panels.delete(k);
  if (!panels.has(key)) panels.set(key, buildPanel(ctx, pick, sigs, key));
  current = panels.get(key);
  clear(el).append(current.el);
  applyShared(ctx, params);
  el.dataset.rendered = String(ctx.generation);   // tests wait on it, never on time
}

// ------------------------------------------------------------------ share links: inputs in the URL hash
// in.<key>=<JSON> (inputs up to SHARE_INLINE_MAX characters), ex.<key>=<example index> (an example of the
// published model), run=1: the link runs the signature once opened.

const SHARE_INLINE_MAX = 4000;
let sharedApplied = "";

/** Hash parameters that reproduce the current Run view's inputs (empty when the view was never shown). */
export function shareParams() {
  if (!current) return {};
  const out = { sig: current.sig, tags: current.tags };
  let complete = true;
  for (const e of current.editors) {
    const key = e.spec.key;
    if (e.mode === "json") {
      const text = e.text.value;
      const ex = e.jsonExamples?.findIndex((x) => x.text === text) ?? -1;
      let compact = text;
      try { compact = JSON.stringify(uniformAsFill(JSON.parse(text))); } catch { /* sent as typed */ }
      if (compact.length <= SHARE_INLINE_MAX) out[`in.${key}`] = compact;
      else if (ex >= 0) out[`ex.${key}`] = String(ex);
      else complete = false;
    } else if (e.mode === "image" && e.image?.exact && e.image.index != null) out[`img.${key}`] = String(e.image.index);
    else complete = false;
  }
  if (complete) out.run = "1";
  return out;
}

/** A nested list whose elements are all the same number as {"shape", "fill"} (the JSON editor reads both). */
function uniformAsFill(v) {
  if (!Array.isArray(v)) return v;
  const shape = [];
  for (let x = v; Array.isArray(x); x = x[0]) shape.push(x.length);
  const flat = v.flat(Infinity);
  const n = shape.reduce((a, b) => a * b, 1);
  if (!flat.length || flat.length !== n || typeof flat[0] !== "number" || flat.some((x) => x !== flat[0])) return v;
  return { shape, fill: flat[0] };
}

function applyShared(ctx, params) {
  const keys = Object.keys(params).filter((k) => /^(in|ex|img)\./.test(k));
  const stamp = `${ctx.generation}|${keys.map((k) => `${k}=${params[k]}`).join("&")}|${params.run}`;
  if (!keys.length || stamp === sharedApplied || !current) return;
  sharedApplied = stamp;
  for (const e of current.editors) {
    const key = e.spec.key;
    if (params[`in.${key}`] != null) { e.setMode("json"); e.text.value = params[`in.${key}`]; }
    else if (params[`ex.${key}`] != null && e.jsonExamples?.[Number(params[`ex.${key}`])]) {
      e.setMode("json");
      e.text.value = e.jsonExamples[Number(params[`ex.${key}`])].text;
    } else if (params[`img.${key}`] != null && e.pickExample) {
      e.setMode("image");
      e.pickExample(Number(params[`img.${key}`]));
    }
  }
  if (params.run === "1") current.runBtn.click();
}

/** The inputs as `smlens publish --examples` reads them: {"examples": [{"name", "inputs": {key: value}}]}. */
function exampleFile(editors, name) {
  const inputs = {};
  for (const e of editors) {
    const key = e.spec.key;
    if (e.mode === "json") {
      try { inputs[key] = JSON.parse(e.text.value); } catch { throw new Error(`input '${key}': not valid JSON`); }
    } else if (e.mode === "image" && e.image?.exact) inputs[key] = reshape(e.image.exact, e.imageOptions().shape);
    else throw new Error(`input '${key}': only JSON inputs and picked examples can be saved (switch it to JSON)`);
  }
  return { examples: [{ name, inputs }] };
}

/** Examples of a published model for one input: [{name, text}] (smlens-examples.json or the demo's). */
function jsonExamples(examples, key) {
  const items = Array.isArray(examples?.examples) ? examples.examples : [];
  const out = [];
  items.forEach((it, i) => {
    const v = it && typeof it === "object" && it.inputs && typeof it.inputs === "object" ? it.inputs[key] : undefined;
    if (v !== undefined) out.push({ name: String(it.name ?? (it.label != null ? `label ${it.label}` : `example ${i}`)), text: JSON.stringify(v) });
  });
  return out;
}

function buildPanel(ctx, pick, sigs, key) {
  const multiTags = new Set(sigs.map((x) => x.tags)).size > 1;
  const select = h("select", { "aria-label": "Signature", "data-testid": "signature-select" },
    sigs.map((x) => h("option", { value: `${x.tags}|${x.sig.key}` }, multiTags ? `[${x.tags}] ${x.sig.key}` : x.sig.key)));
  select.value = `${pick.tags}|${pick.sig.key}`;
  select.addEventListener("change", () => {
    const [tags, sig] = [select.value.slice(0, select.value.indexOf("|")), select.value.slice(select.value.indexOf("|") + 1)];
    ctx.navigate({ view: "run", tags, sig });
  });
  const sig = pick.sig;
  const editors = sig.inputs.map((spec) => inputEditor(ctx, spec, sig));
  const outputs = h("div", { class: "outputs", "data-testid": "outputs" });
  const runBtn = h("button", { class: "btn primary", "data-testid": "run-button" }, "Run");
  const cancelBtn = h("button", { class: "btn", hidden: true, "data-testid": "cancel-button",
    title: "Stops the run by restarting the Python runtime; the model is opened again (a few seconds)" }, "Cancel");
  const timing = h("span", { class: "muted", "data-testid": "run-timing" });
  const note = h("span", { class: "muted", hidden: true }, "Cancel restarts the Python runtime and re-opens the model.");
  const backend = backendControls(ctx);
  runBtn.addEventListener("click", () => doRun(ctx, pick, editors, outputs, { runBtn, cancelBtn, timing, note, backend }));
  const saveBtn = h("button", { class: "btn", "data-testid": "save-example",
    title: "Download these inputs as an examples file for `smlens publish --examples`" }, "Save as example");
  saveBtn.addEventListener("click", () => {
    try {
      download(`${safeFileName(pick.sig.key)}-example.json`, JSON.stringify(exampleFile(editors, pick.sig.key)), "application/json");
    } catch (err) { ctx.showError(err, "Could not save the example"); }
  });
  cancelBtn.addEventListener("click", async () => {
    if (!running) return;
    cancelBtn.disabled = true;
    restarting = true;        // doRun's finally leaves Run disabled until the model is back
    runBtn.disabled = true;
    const restart = ctx.worker.cancel();
    timing.textContent = "Cancelled: restarting the Python runtime and re-opening the model…";
    try {
      await restart;
      timing.textContent = "Cancelled. The runtime was restarted and the model re-opened.";
    } catch (err) {
      ctx.showError(err, "Restart after cancel failed");
    } finally {
      restarting = false;
      cancelBtn.disabled = false;
      runBtn.disabled = false;
    }
  });
  const perInput = [h("div", null, sig.inputs.length ? editors.map((e) => e.el)
    : h("p", { class: "muted" }, "This signature takes no inputs.")), h("div", { class: "run-bar" }, runBtn, cancelBtn, saveBtn, backend.el, timing, note)];
  const tfs = servingMode(ctx, pick, { perInput, outputs, showOutputs: (res) => renderOutputs(ctx, outputs, res) });
  const el = h("div", { class: "run-view", "data-panel": key },
    h("div", { class: "toolbar" }, h("label", null, "Signature ", select),
      h("span", { class: "muted" }, sig.method_name || ""), backendControl(ctx)),
    h("div", { class: "toolbar" }, h("h2", { class: "grow" }, `Inputs (${sig.inputs.length})`), tfs.tabs),
    perInput, tfs.pane,
    labelsPicker(ctx),
    h("h2", null, "Outputs"), outputs, backend.profile);
  return { key, el, editors, outputs, runBtn, sig: pick.sig.key, tags: pick.tags };
}

// ------------------------------------------------------------------ input editors

function modeButton(label, mode, editor, testid) {
  const b = h("button", { type: "button", "data-mode": mode, "data-testid": testid }, label);
  b.addEventListener("click", () => editor.setMode(mode));
  return b;
}

function inputEditor(ctx, spec, sig) {
  const editor = { spec, mode: "json", el: null, panes: {} };
  const modes = [["json", "JSON"], ["npy", ".npy / .npz"]];
  const geo = spec.image;
  if (geo) modes.push(["image", "Image"]);
  const isExample = spec.example_features != null
    || (spec.dtype === "string" && /classify|regress/.test(sig.method_name || ""));
  if (isExample) modes.push(["example", "tf.Example"]);
  const tabs = h("div", { class: "mode-tabs" }, modes.map(([m, label]) => modeButton(label, m, editor, `mode-${spec.key}-${m}`)));

  // JSON
  const text = h("textarea", { rows: Math.min(8, Math.max(2, Math.ceil(spec.example.length / 90))), spellcheck: "false",
    "data-testid": `input-${spec.key}`, "aria-label": `Value of ${spec.key} as JSON` });
  text.value = spec.example;
  editor.text = text;
  editor.jsonExamples = jsonExamples(ctx.examples, spec.key);
  let exampleSelect = null;
  if (editor.jsonExamples.length) {
    text.value = editor.jsonExamples[0].text;
    exampleSelect = h("select", { "aria-label": `Example for ${spec.key}`, "data-testid": `example-select-${spec.key}` },
      editor.jsonExamples.map((x, i) => h("option", { value: String(i) }, x.name)));
    exampleSelect.addEventListener("change", () => { text.value = editor.jsonExamples[Number(exampleSelect.value)].text; });
  }
  editor.panes.json = h("div", null, exampleSelect ? h("div", null, h("label", null, "Example ", exampleSelect)) : null, text,
    h("div", { class: "muted" }, "Nested lists (JSON), e.g. [[1.0, 2.0]]; for large inputs {\"shape\": [1, 224, 224, 3], \"fill\": 0.5}."));

  // .npy / .npz
  const npyInput = h("input", { type: "file", accept: ".npy,.npz", "data-testid": `npy-input-${spec.key}` });
  const npyInfo = h("span", { class: "muted" });
  npyInput.addEventListener("change", () => {
    editor.npyFile = npyInput.files[0] || null;
    npyInfo.textContent = editor.npyFile ? `${editor.npyFile.name} (${editor.npyFile.size} bytes)` : "";
  });
  editor.panes.npy = h("div", null, npyInput, " ", npyInfo,
    h("div", { class: "muted" }, `A .npy file, or a .npz holding an array named "${spec.key}" (or only one array).`));

  if (geo) editor.panes.image = imagePane(ctx, spec, editor, geo);
  if (isExample) editor.panes.example = examplePane(spec, editor);

  const body = h("div");
  editor.setMode = (mode) => {
    editor.mode = mode;
    for (const b of tabs.children) b.classList.toggle("active", b.dataset.mode === mode);
    clear(body).append(editor.panes[mode]);
  };
  editor.el = h("div", { class: "input-editor", "data-input": spec.key },
    h("div", { class: "input-head" }, h("span", { class: "name" }, spec.key),
      h("span", { class: "mono" }, `${spec.dtype ?? "?"} ${formatShape(spec.shape)}`),
      h("span", { class: "muted mono" }, spec.name), tabs, spec.optional ? optionalToggle(spec, editor) : null),
    body);
  const demoImage = geo && ctx.examples && editor.examples && editor.examples.length;
  editor.setMode(demoImage ? "image" : isExample && spec.example_features?.length ? "example" : "json");
  if (demoImage) editor.pickExample?.(0);     // the first example's exact values: Run works at once
  return editor;
}

// An input backed by a PlaceholderWithDefault: "use the default" leaves it out of the run.
function optionalToggle(spec, editor) {
  const d = spec.default;
  const text = !d ? "computed in the graph" : d.values ? JSON.stringify(d.values.length === 1 && !d.shape.length ? d.values[0] : d.values)
    : `${d.dtype} ${formatShape(d.shape)}`;
  editor.omit = h("input", { type: "checkbox", checked: true, "data-testid": `omit-${spec.key}` });
  return h("label", { class: "muted", title: "Optional input (PlaceholderWithDefault)" }, editor.omit, ` use default: ${text}`);
}

// ---- image inputs

function parseExamples(json, n, key) {
  // examples.json is free-form: accept a list (or {examples|images|inputs|x: list}), items being a flat or nested
  // number list or an object with the values under image/pixels/input/x/values/data and a label.
  const flat = (v) => (Array.isArray(v) ? v.flat(Infinity) : null);
  let items = json;
  let labels = null;
  if (items && !Array.isArray(items) && typeof items === "object") {
    labels = items.labels || items.targets || items.y || null;
    items = items.examples || items.images || items.inputs || items.x || items.data || Object.values(items).find(Array.isArray);
  }
  if (!Array.isArray(items)) return [];
  const out = [];
  items.forEach((it, i) => {
    let values = null, label = labels ? labels[i] : null;
    if (Array.isArray(it)) values = flat(it);
    else if (it && typeof it === "object") {
      const v = it.image ?? it.pixels ?? it.input ?? it.inputs ?? it.x ?? it.values ?? it.data ?? it.array;
      values = v && !Array.isArray(v) && typeof v === "object" ? flat(v[key] ?? Object.values(v)[0]) : flat(v);
      label = it.label ?? it.target ?? it.digit ?? it.y ?? it.class ?? label;
    }
    if (values && values.length === n && values.every((x) => typeof x === "number")) out.push({ values, label });
  });
  return out;
}

function imagePane(ctx, spec, editor, geo) {
  const H = geo.height > 0 ? geo.height : 0, W = geo.width > 0 ? geo.width : 0;
  const C = geo.channels > 0 ? geo.channels : geo.layout === "NHW" ? 1 : 3;
  const n = H * W * (geo.layout === "NHW" ? 1 : C);
  editor.examples = ctx.examples && n ? parseExamples(ctx.examples, n, spec.key) : [];
  // Value range: the examples' range when there are examples (e.g. 0..16 for the digits demo), else 0..1.
  let lo = 0, hi = 1;
  if (editor.examples.length) {
    // a loop, not Math.min(...values): a 224×224×3 example is more arguments than a call may take
    let vmin = Infinity, vmax = -Infinity;
    for (const e of editor.examples) for (const v of e.values) { if (v < vmin) vmin = v; if (v > vmax) vmax = v; }
    lo = Math.min(0, vmin);
    hi = vmax > 1.5 ? vmax : 1;
    if (hi > 1.5 && hi <= 16) hi = 16;
    else if (hi > 16) hi = 255;
  }
  const minIn = h("input", { type: "number", step: "any", value: String(lo), size: 5, "aria-label": "Value of black" });
  const maxIn = h("input", { type: "number", step: "any", value: String(hi), size: 5, "aria-label": "Value of white" });
  const invert = h("input", { type: "checkbox", "aria-label": "Invert (dark ink on light paper)" });
  const preset = presetPicker(spec, minIn, maxIn, editor.examples.length ? "custom" : "unit");
  const preview = h("canvas", { class: "preview", "data-testid": `image-preview-${spec.key}`, width: W || 1, height: H || 1 });
  const status = h("div", { class: "muted" }, "No image yet.");
  const fileIn = h("input", { type: "file", accept: "image/*", "data-testid": `image-input-${spec.key}` });
  editor.image = null;   // {rgba, w, h} or {exact: values}
  const setPixels = (rgba, w, hh, what) => {
    editor.image = { rgba, w, h: hh };
    showPixels(preview, rgba, w, hh);
    status.textContent = `${what} → ${w}×${hh}${C === 1 ? " grayscale" : ` × ${C} channels`}`;
    preview.dataset.ready = "1";
  };
  fileIn.addEventListener("change", async () => {
    const f = fileIn.files[0];
    if (!f) return;
    try {
      const bmp = await decodeImageFile(f);
      const w = W || bmp.width, hh = H || bmp.height;
      setPixels(toPixels(bmp, w, hh), w, hh, `${f.name} (${bmp.width}×${bmp.height})`);
      bmp.close?.();
    } catch (err) { ctx.showError(err, "Could not read the image"); }
  });
  const parts = [h("div", null, fileIn), h("div", { class: "image-row" },
    h("div", null, h("div", { class: "muted" }, "Model input"), preview, status))];
  if (W && H && W <= 64 && H <= 64) {
    const pad = h("canvas", { class: "draw", "aria-label": "Draw here", "data-testid": `draw-${spec.key}` });
    const ctl = drawingPad(pad, () => setPixels(toPixels(pad, W, H), W, H, "drawing"));
    parts[1].prepend(h("div", null, h("div", { class: "muted" }, "Draw"), pad,
      h("div", null, h("button", { class: "btn small", type: "button", onclick: () => ctl.clear() }, "Clear"))));
  }
  if (editor.examples.length) {
    const box = h("div", { class: "examples", "data-testid": `examples-${spec.key}` });
    editor.examples.slice(0, 30).forEach((ex, i) => {
      const cv = h("canvas", { width: W, height: H });
      const gray = C === 1 || geo.layout === "NHW" ? ex.values : ex.values.filter((_, j) => j % C === 0);
      showPixels(cv, grayToRgba(gray, lo, hi), W, H);
      const b = h("button", { type: "button", title: `Example ${i}${ex.label != null ? `, label ${ex.label}` : ""}`,
        "data-testid": `example-${i}` }, cv, ex.label != null ? String(ex.label) : `#${i}`);
      b.addEventListener("click", () => {
        editor.image = { exact: ex.values, label: ex.label, index: i };
        showPixels(preview, grayToRgba(gray, lo, hi), W, H);
        preview.dataset.ready = "1";
        status.textContent = `example ${i}${ex.label != null ? ` (label ${ex.label})` : ""}: exact values`;
      });
      box.append(b);
    });
    editor.pickExample = (i) => box.children[i]?.click();
    parts.push(h("div", null, h("div", { class: "muted" }, "Examples from the demo"), box));
  }
  parts.push(h("div", { class: "toolbar" }, preset.el, h("label", null, "black = ", minIn), h("label", null, "white = ", maxIn),
    h("label", null, invert, " invert (dark ink on light paper)")), preset.formula);
  editor.imageOptions = () => ({ min: Number(minIn.value), max: Number(maxIn.value), invert: invert.checked, channels: C,
    shape: [1, H, W, ...(geo.layout === "NHW" ? [] : [C])], ...preset.normalisation() });
  return h("div", null, parts);
}

/** The pixel preprocessing choice (describe's image_presets), always visible with its formula; picking a
 * range preset fills black/white, editing them makes it "custom". */
function presetPicker(spec, minIn, maxIn, initial) {
  const select = h("select", { "aria-label": "Pixel preprocessing", "data-testid": `preset-${spec.key}` },
    imagePresets.map((p) => h("option", { value: p.id }, p.label)), h("option", { value: "custom" }, "custom range"));
  const formula = h("div", { class: "muted", "data-testid": `preset-formula-${spec.key}` });
  const current = () => imagePresets.find((p) => p.id === select.value);
  const describe = () => {
    const p = current();
    const ranged = !p?.mean;
    minIn.disabled = maxIn.disabled = !ranged;
    formula.textContent = ranged
      ? `input = ${minIn.value} + pixel / 255 × (${maxIn.value} − ${minIn.value})  (pixel 0..255)`
      : `input = (pixel / 255 − mean) / std per channel; mean ${JSON.stringify(p.mean)}, std ${JSON.stringify(p.std)}`;
  };
  select.addEventListener("change", () => {
    const p = current();
    if (p && !p.mean) { minIn.value = String(p.min); maxIn.value = String(p.max); }
    describe();
  });
  const typed = () => {
    const p = imagePresets.find((q) => !q.mean && q.min === Number(minIn.value) && q.max === Number(maxIn.value));
    select.value = p ? p.id : "custom";
    describe();
  };
  minIn.addEventListener("input", typed);
  maxIn.addEventListener("input", typed);
  select.value = initial;
  if (initial !== "custom") select.dispatchEvent(new Event("change"));
  else typed();
  return { el: h("label", null, "Preprocessing ", select), formula,
    normalisation: () => (current()?.mean ? { mean: current().mean, std: current().std } : {}) };
}

// ---- tf.Example inputs

function examplePane(spec, editor) {
  const rows = h("div");
  const addRow = (f = { name: "", type: "float", values: "" }) => {
    const name = h("input", { type: "text", placeholder: "feature name", value: f.name, "aria-label": "Feature name" });
    const type = h("select", { "aria-label": "Feature type" },
      ["float", "int64", "bytes"].map((t) => h("option", { value: t }, t)));
    type.value = f.type;
    const values = h("input", { type: "text", placeholder: "comma-separated values", value: f.values || "", "aria-label": "Values" });
    const del = h("button", { class: "btn small", type: "button", title: "Remove" }, "✕");
    const row = h("div", { class: "feature-row" }, name, type, values, del);
    del.addEventListener("click", () => row.remove());
    row.read = () => ({ name: name.value, type: type.value, values: values.value });
    rows.append(row);
  };
  for (const f of spec.example_features || []) addRow({ name: f.name, type: f.type, values: "" });
  if (!rows.children.length) addRow();
  editor.readFeatures = () => [...rows.children].map((r) => r.read());
  return h("div", null,
    h("div", { class: "muted" }, "One serialized tf.train.Example built from these features (values comma-separated)."),
    rows, h("button", { class: "btn small", type: "button", onclick: () => addRow() }, "Add feature"));
}

// ------------------------------------------------------------------ running

async function collectInputs(editors) {
  const inputs = {};
  const buffers = [];
  for (const e of editors) {
    const key = e.spec.key;
    if (e.omit && e.omit.checked) continue;   // optional input left out: its default is used
    if (e.mode === "json") inputs[key] = { mode: "json", text: e.text.value };
    else if (e.mode === "npy") {
      if (!e.npyFile) throw new Error(`input '${key}': choose a .npy or .npz file`);
      buffers.push(new Uint8Array(await e.npyFile.arrayBuffer()));
      inputs[key] = { mode: "npy", buffer: buffers.length - 1, filename: e.npyFile.name };
    } else if (e.mode === "image") {
      if (!e.image) throw new Error(`input '${key}': choose an image file${e.examples?.length ? ", draw, or pick an example" : ""}`);
      const opt = e.imageOptions();
      if (e.image.exact) {
        inputs[key] = { mode: "json", text: JSON.stringify(reshape(e.image.exact, opt.shape)) };
      } else {
        buffers.push(new Uint8Array(e.image.rgba.buffer.slice(0)));
        inputs[key] = { mode: "image", buffer: buffers.length - 1, width: e.image.w, height: e.image.h,
          channels: opt.channels, min: opt.min, max: opt.max, invert: opt.invert, mean: opt.mean, std: opt.std };
      }
    } else if (e.mode === "example") inputs[key] = { mode: "example", features: e.readFeatures() };
  }
  return { inputs, buffers };
}

function reshape(values, shape) {
  let out = values.slice();
  for (let d = shape.length - 1; d > 0; d--) {
    const size = shape[d];
    const next = [];
    for (let i = 0; i < out.length; i += size) next.push(out.slice(i, i + size));
    out = next;
  }
  return out;
}

async function doRun(ctx, pick, editors, outputs, ui) {
  if (running) return;
  ctx.clearError();
  // Mark the run as started before inputs are read (files are read asynchronously), so nothing
  // watching data-run-state can mistake the previous run's "done" for this one.
  outputs.dataset.runState = "preparing";
  let inputs, buffers;
  try {
    ({ inputs, buffers } = await collectInputs(editors));
  } catch (err) {
    outputs.dataset.runState = "failed";
    ctx.showError(err, "Input error");
    return;
  }
  running = { start: performance.now() };
  outputs.dataset.runState = "running";
  ui.runBtn.disabled = true;
  ui.cancelBtn.hidden = false;
  ui.note.hidden = false;
  ui.timing.textContent = "Running…";
  const tick = setInterval(() => {
    if (running) ui.timing.textContent = `Running… ${formatMs(performance.now() - running.start)}`;
  }, 200);
  const t0 = performance.now();
  try {
    const res = await ctx.worker.call("run", { tags: pick.tags.split(",").filter(Boolean), signature: pick.sig.key, inputs,
      linewidth: charsFit(outputs), ...ui.backend.args() },
      { buffers });
    const wall = performance.now() - t0;
    ctx.timings.last_run_ms = wall;
    renderOutputs(ctx, outputs, res);
    ui.timing.textContent = `Done in ${formatMs(wall)} (graph preparation ${formatMs(res.plan_ms)}, execution ${formatMs(res.run_ms)})`
      + backendSummary(res);
    ui.backend.show(res);
    ui.timing.dataset.wallMs = String(Math.round(wall));
    outputs.dataset.runState = "done";
  } catch (err) {
    outputs.dataset.runState = err instanceof CancelledError ? "cancelled" : "failed";
    if (!(err instanceof CancelledError)) {
      ui.timing.textContent = "Failed.";
      ctx.showError(err, "Run failed");
    }
  } finally {
    clearInterval(tick);
    running = null;
    ui.runBtn.disabled = restarting;
    ui.cancelBtn.hidden = true;
    ui.note.hidden = true;
    ctx.setStatus(null);
  }
}

function renderOutputs(ctx, container, res) {
  clear(container);
  for (const o of res.outputs) {
    const npyBtn = h("button", { class: "btn small" }, "Download .npy");
    const jsonBtn = h("button", { class: "btn small" }, "JSON");
    const fetchBlob = async (format) => {
      const { blobs } = await ctx.worker.call("output", { key: o.key, format }, { withBlobs: true });
      return format === "json" ? blobs.json : blobs.npy;
    };
    npyBtn.addEventListener("click", async () => {
      try { download(`${safeFileName(o.key)}.npy`, await fetchBlob("npy")); } catch (err) { ctx.showError(err, "Download failed"); }
    });
    jsonBtn.addEventListener("click", async () => {
      try { download(`${safeFileName(o.key)}.json`, await fetchBlob("json"), "application/json"); } catch (err) { ctx.showError(err, "Download failed"); }
    });
    const box = h("div", { class: "output", "data-testid": `output-${o.key}`, "data-dtype": o.dtype, "data-shape": JSON.stringify(o.shape) },
      h("div", { class: "output-head" }, h("span", { class: "name" }, o.key),
        h("span", { class: "mono" }, `${o.dtype} ${formatShape(o.shape)}`), h("span", { class: "grow" }), npyBtn, jsonBtn));
    if (o.topk) box.append(topkTable(o.topk));
    box.append(h("pre", { class: "pre", "data-testid": `output-value-${o.key}` }, o.preview));
    container.append(box);
  }
}

function labelsPicker(ctx) {
  const status = h("span", { class: "muted", "data-testid": "labels-status" });
  const show = () => {
    status.textContent = labels.names ? `${labels.names.length} class names from ${labels.source}` : "top-k shows class indices";
  };
  const input = h("input", { type: "file", accept: ".txt,text/plain", "data-testid": "labels-input",
    "aria-label": "Labels file: one class name per line, for top-k" });
  input.addEventListener("change", async () => {
    const f = input.files[0];
    if (!f) return;
    try {
      const names = (await f.text()).split(/\r?\n/);
      while (names.length && !names[names.length - 1].trim()) names.pop();
      Object.assign(labels, { names, source: f.name });
      show();
    } catch (err) { ctx.showError(err, "Could not read the labels file"); }
  });
  show();
  return h("div", { class: "toolbar" }, h("label", null, "Labels file (one per line) ", input), status);
}

function topkTable(topk) {
  const wrap = h("div", { class: "topk" });
  for (const row of topk) {
    const vals = row.top.map((t) => (typeof t.value === "number" ? t.value : 0));
    const max = Math.max(...vals.map(Math.abs), 1e-12);
    const line = h("div", null, h("span", { class: "muted" }, topk.length > 1 ? `row ${row.row}: ` : "top: "));
    row.top.forEach((t) => {
      const bar = h("span", { class: "bar" });
      bar.style.width = `${Math.max(2, Math.round((Math.abs(typeof t.value === "number" ? t.value : 0) / max) * 40))}px`;
      const name = labels.names?.[t.index];
      line.append(h("span", { "data-index": t.index, "data-label": name ?? "" },
        ` [${t.index}]${name != null ? ` ${name}` : ""} ${typeof t.value === "number" ? t.value.toPrecision(5) : t.value}`), bar, " ");
    });
    wrap.append(line);
  }
  return h("div", null, h("div", { class: "muted" }, `Top-k ([index]${labels.names ? " name" : ""} value) per row`), wrap);
}

// ------------------------------------------------------------------ backend choice (webgpu / wasm / numpy)

function backendControl(ctx) {
  const w = ctx.worker;
  const select = h("select", { "aria-label": "Backend", "data-testid": "backend-select" },
    ["auto", "webgpu", "wasm", "numpy"].map((b) => h("option", { value: b }, BACKEND_LABELS[b] || b)));
  const info = h("span", { class: "muted", "data-testid": "adapter-info" });
  const show = (sel) => {
    const a = sel.adapter;
    info.textContent = (a ? `GPU adapter: ${a.vendor} ${a.architecture} ${a.description}`.trim()
      + (a.isFallbackAdapter ? " (software fallback)" : "") : "no WebGPU adapter")
      + ` · running on ${sel.backends.join(" → ")} (${sel.reason})`;
  };
  select.value = w.backendChoice || "auto";
  w.backendInfo?.then(show, () => {});
  select.addEventListener("change", () => {
    w.backendChoice = select.value;
    w.backendInfo = w.request("backend", { choice: select.value });
    w.backendInfo.then(show, (err) => ctx.showError(err, "Backend choice failed"));
  });
  return h("label", null, " Backend ", select, " ", info);
}

// ------------------------------------------------------------------ profile

// The per-step profile (smlens run --profile) of a run, shown under the outputs; the backend it runs on is
// the toolbar's choice (auto = the registry's preference: WebGPU on a real GPU, else the WASM kernels).
function backendControls(ctx) {
  const profileBox = h("input", { type: "checkbox", "data-testid": "profile-toggle" });
  const profile = h("div", { class: "profile", "data-testid": "profile", hidden: true });
  return {
    el: h("label", { class: "backend-controls", title: "Time every step of the run (runs the model twice more)" },
      profileBox, " Profile"),
    profile,
    args: () => ({ backend: ctx.worker.backendChoice || "auto", profile: profileBox.checked }),
    show: (res) => renderProfile(profile, res.profile),
  };
}

const BACKEND_LABELS = { numpy: "NumPy", wasm: "WASM (SIMD)", webgpu: "WebGPU" };

function backendSummary(res) {
  const counts = Object.entries(res.backends || {}).sort((a, b) => b[1] - a[1]);
  if (!counts.length) return "";
  return ` · steps: ${counts.map(([name, n]) => `${BACKEND_LABELS[name] || name} ${n}`).join(", ")}`;
}

function renderProfile(container, report) {
  clear(container);
  container.hidden = !report;
  if (!report) return;
  const rows = report.steps.map((r) => h("tr", null,
    h("td", { class: "num" }, r.ms.toFixed(3)), h("td", null, r.op), h("td", null, BACKEND_LABELS[r.backend] || r.backend),
    h("td", { class: "mono" }, `${(r.in || []).map(shapeText).join(" ")} → ${shapeText(r.out)}`),
    h("td", { class: "mono muted" }, r.name)));
  container.append(
    h("h2", null, "Profile"),
    h("p", { class: "muted" }, `Median run ${formatMs(report.total_ms)}; ${report.steps.length} steps, slowest first.`),
    h("table", { class: "table", "data-testid": "profile-table" },
      h("thead", null, h("tr", null, ["ms", "op", "backend", "inputs → output", "step"].map((t) => h("th", null, t)))),
      h("tbody", null, rows)));
}

function shapeText(shape) {
  if (shape == null) return "?";
  if (shape.length && Array.isArray(shape[0])) return shape.map(shapeText).join(",");
  return shape.length ? shape.join("×") : "scalar";
}
