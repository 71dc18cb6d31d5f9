// Overview: tag-sets, signatures, `saved_model_cli show --all` text, fingerprint, files, op counts.

import { h, clear, formatBytes, formatShape, copyText } from "../dom.js";
import { servingMetadataCard } from "./serving.js";

let rendered = null;   // generation of the model currently rendered

export async function show(el, ctx) {
  if (rendered === ctx.generation && el.firstChild) return;
  clear(el).append(h("p", { class: "muted" }, "Reading the model…"));
  const info = await ctx.describe();
  rendered = ctx.generation;
  clear(el);
  el.append(modelCard(info), signaturesCard(info, ctx));
  if (info.show_all != null || info.show_all_error) el.append(showAllCard(info));
  if (info.kind === "saved_model") el.append(servingMetadataCard(ctx));
  el.append(h("div", { class: "grid-2" }, opsCard(info), filesCard(info)));
  el.dataset.rendered = String(ctx.generation);   // tests wait on it, never on time
}

function modelCard(info) {
  const dl = h("dl", { class: "kv" });
  const row = (k, ...v) => dl.append(h("dt", null, k), h("dd", null, ...v));
  row("Kind", kindText(info.kind));
  row("Opened", info.path || "(top folder)");
  if (info.tag_sets.length) {
    row("Tag-sets", info.tag_sets.map((t) => h("span", { class: "tag" }, t.join(", ") || "(no tags)")));
  }
  for (const mg of info.meta_graphs) {
    const bits = [`${mg.nodes} graph nodes`, `${mg.functions.length} functions`];
    if (mg.tensorflow_version) bits.push(`TensorFlow ${mg.tensorflow_version}`);
    if (mg.producer != null) bits.push(`producer ${mg.producer}`);
    row(`Graph ${mg.tags.join(",") || ""}`.trim(), bits.join(" · "));
  }
  if (info.checkpoint) {
    const c = info.checkpoint;
    row("Checkpoint", `${c.prefix} · ${c.format} · ${c.num_tensors} tensors · ${formatBytes(c.nbytes)} · `
      + `${c.num_shards} ${c.format === "V1" ? "file" : "shard"}${c.num_shards === 1 ? "" : "s"}`);
    if (c.state) row("Latest (checkpoint file)", c.state.model_checkpoint_path);
  }
  if (info.fingerprint) {
    for (const [k, v] of Object.entries(info.fingerprint)) {
      row(`Fingerprint ${k}`, typeof v === "object" ? JSON.stringify(v) : String(v));
    }
  }
  return h("div", { class: "card" }, h("h2", null, "Model"), dl);
}

function kindText(kind) {
  return { saved_model: "SavedModel", checkpoint: "Checkpoint (tensor bundle)", meta_graph: "MetaGraphDef (.meta)",
    graph_def: "Frozen GraphDef (.pb)" }[kind] || kind;
}

function tensorLines(list) {
  if (!list.length) return h("span", { class: "muted" }, "none");
  return h("div", null, list.map((t) => h("div", { class: "mono" },
    h("b", null, t.key), `: ${t.dtype ?? "DT_INVALID"} ${formatShape(t.shape)}`,
    h("span", { class: "muted" }, `  ${t.name || t.encoding}`))));
}

function signaturesCard(info, ctx) {
  const card = h("div", { class: "card", "data-testid": "signature-list" }, h("h2", null, "Signatures"));
  let any = false;
  for (const mg of info.meta_graphs) {
    if (!mg.signatures.length) continue;
    any = true;
    const tags = mg.tags.join(",");
    if (info.meta_graphs.length > 1 || tags) card.append(h("h3", null, `Tag-set: ${tags || "(none)"}`));
    const tbody = h("tbody");
    for (const sig of mg.signatures) {
      const runnable = !sig.key.startsWith("__");
      tbody.append(h("tr", { "data-signature": sig.key, "data-tags": tags },
        h("td", { class: "sig-title" }, sig.key),
        h("td", { class: "muted" }, sig.method_name || ""),
        h("td", null, tensorLines(sig.inputs)),
        h("td", null, tensorLines(sig.outputs)),
        h("td", null, runnable ? h("button", {
          class: "btn small",
          onclick: () => ctx.navigate({ view: "run", tags, sig: sig.key }),
        }, "Run…") : "")));
    }
    card.append(h("table", { class: "data" },
      h("thead", null, h("tr", null, h("th", null, "Signature"), h("th", null, "Method"),
        h("th", null, "Inputs (dtype, shape, tensor)"), h("th", null, "Outputs"), h("th", null, ""))),
      tbody));
  }
  if (!any) {
    card.append(h("p", { class: "muted" }, info.kind === "checkpoint"
      ? "A checkpoint has no signatures: see the Variables view."
      : "This graph has no SignatureDefs: see the Graph view."));
  }
  return card;
}

function showAllCard(info) {
  const card = h("div", { class: "card" });
  const head = h("div", { class: "toolbar" }, h("h2", { class: "grow" }, "saved_model_cli show --all"));
  card.append(head);
  if (info.show_all == null) {
    card.append(h("p", { class: "muted" }, info.show_all_error || "not available"));
    return card;
  }
  const pre = h("pre", { class: "pre", id: "show-all-text", "data-testid": "show-all" }, info.show_all);
  const btn = h("button", { class: "btn small", "data-target": "show-all-text" }, "Copy");
  btn.addEventListener("click", () => copyText(info.show_all, btn));
  head.append(btn);
  card.append(pre);
  return card;
}

function opsCard(info) {
  const card = h("div", { class: "card" }, h("h2", null, "Op counts"));
  for (const mg of info.meta_graphs) {
    const { graph, functions } = mg.op_counts;
    const ops = new Set([...Object.keys(graph), ...Object.keys(functions)]);
    const rows = [...ops].map((op) => [op, graph[op] || 0, functions[op] || 0])
      .sort((a, b) => (b[1] + b[2]) - (a[1] + a[2]) || (a[0] < b[0] ? -1 : 1));
    if (info.meta_graphs.length > 1) card.append(h("h3", null, `Tag-set: ${mg.tags.join(",")}`));
    card.append(h("div", { class: "table-scroll" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, h("th", null, `Op (${rows.length} types)`), h("th", { class: "num" }, "graph"),
        h("th", { class: "num" }, "functions"))),
      h("tbody", null, rows.map(([op, g, f]) => h("tr", null, h("td", { class: "mono" }, op),
        h("td", { class: "num" }, g || ""), h("td", { class: "num" }, f || "")))))));
  }
  if (!info.meta_graphs.length) card.append(h("p", { class: "muted" }, "No graph in these files."));
  return card;
}

function filesCard(info) {
  const total = info.files.reduce((a, [, s]) => a + s, 0);
  return h("div", { class: "card" }, h("h2", null, `Files (${info.files.length}, ${formatBytes(total)})`),
    h("div", { class: "table-scroll" }, h("table", { class: "data" },
      h("thead", null, h("tr", null, h("th", null, "Path"), h("th", { class: "num" }, "Size"))),
      h("tbody", null, info.files.map(([p, s]) => h("tr", null, h("td", { class: "name-cell" }, p),
        h("td", { class: "num", title: `${s} bytes` }, formatBytes(s))))))));
}
