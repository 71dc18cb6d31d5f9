// DOM helpers. Every string from a model goes in as a text node or an attribute value: never innerHTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function applyProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = String(v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value" && "value" in el) el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function appendChildren(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** h("div", {class: "x", onclick: fn}, "text", child, [more]) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  appendChildren(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  appendChildren(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function formatBytes(n) {
  if (n == null) return "";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n, i = -1;
  do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

export function formatShape(shape) {
  if (shape == null) return "<unknown rank>";
  return "[" + shape.map((d) => (d == null || d < 0 ? "?" : String(d))).join(", ") + "]";
}

export function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

/** Save bytes or text as a file the user downloads (a blob: URL on this origin; nothing is sent anywhere). */
export function download(filename, data, type = "application/octet-stream") {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A filesystem-safe file name made from a tensor or signature name. */
export function safeFileName(name) {
  return String(name).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 120) || "tensor";
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    if (button) { const old = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = old; }, 1200); }
  } catch {
    // Clipboard can be refused (permissions, insecure context): select the text instead so Ctrl+C works.
    if (button && button.dataset.target) {
      const el = document.getElementById(button.dataset.target);
      if (el) window.getSelection().selectAllChildren(el);
    }
  }
}

/** How many characters of the monospace preview font fit across `el` (the value previews are formatted to
 * that width, so a line never runs past the right edge of its box). */
export function charsFit(el) {
  charsFit.width ??= (() => {
    const c = document.createElement("canvas").getContext("2d");
    c.font = `12.5px ${getComputedStyle(document.documentElement).getPropertyValue("--mono") || "monospace"}`;
    return c.measureText("0123456789").width / 10 || 7.6;
  })();
  const w = el?.clientWidth || 0;
  return w > 0 ? Math.max(40, Math.floor((w - 48) / charsFit.width)) : undefined;
}
