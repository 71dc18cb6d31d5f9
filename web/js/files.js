// Getting the user's files as [{path, file}] without reading them: dropped folders (webkitGetAsEntry),
// dropped files and the two file pickers; hosted models (and the demo) are opened by URL instead.

function cleanPath(p) {
  return String(p).replace(/\\/g, "/").replace(/^\/+/, "");
}

function entryFile(entry) {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readAllEntries(dirEntry) {
  // readEntries returns at most ~100 entries per call: call until it returns none.
  const reader = dirEntry.createReader();
  const all = [];
  return new Promise((resolve, reject) => {
    const next = () => reader.readEntries((batch) => {
      if (!batch.length) { resolve(all); return; }
      all.push(...batch);
      next();
    }, reject);
    next();
  });
}

async function walk(entry, out) {
  if (entry.isFile) {
    out.push({ path: cleanPath(entry.fullPath || entry.name), file: await entryFile(entry) });
  } else if (entry.isDirectory) {
    for (const child of await readAllEntries(entry)) await walk(child, out);
  }
}

/** Must be called synchronously in the drop handler (items are only readable during the event). */
export function collectDrop(dataTransfer) {
  const entries = [];
  const plain = [];
  for (const item of dataTransfer.items || []) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else { const f = item.getAsFile(); if (f) plain.push(f); }
  }
  if (!entries.length && !plain.length) for (const f of dataTransfer.files || []) plain.push(f);
  return async () => {
    const out = plain.map((f) => ({ path: cleanPath(f.name), file: f }));
    for (const e of entries) await walk(e, out);
    return out;
  };
}

export function filesFromInput(input) {
  return [...(input.files || [])].map((f) => ({ path: cleanPath(f.webkitRelativePath || f.name), file: f }));
}

/** The built-in demo: a published model folder of the dev site, opened by URL like any hosted model. */
export const DEMO_MODEL = "demo/digits/";

/** An absolute URL for a ?model= / ?url= value (relative ones are relative to the page). */
export function resolveUrl(param) {
  const u = new URL(String(param), document.baseURI);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`not an http(s) URL: ${param}`);
  return u.href;
}

export async function fetchJson(url) {
  const resp = await fetch(resolveUrl(url));
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}
