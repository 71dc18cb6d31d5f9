// TF Serving in the page: the Run view's "TF Serving request" mode (a REST body for the whole signature, the
// model's warmup requests as ready examples, the response as TF Serving returns it, "Copy response" and
// "Copy as curl for TF Serving") and the Overview's model metadata card (GET /v1/models/NAME/metadata).

import { h, clear, formatMs, copyText } from "../dom.js";
import { CancelledError } from "../worker-client.js";

const warmupByGeneration = new Map();   // generation -> Promise of the warmup listing

function warmupList(ctx) {
  if (!warmupByGeneration.has(ctx.generation)) {
    warmupByGeneration.clear();
    warmupByGeneration.set(ctx.generation, ctx.worker.call("serving_warmup", {}));
  }
  return warmupByGeneration.get(ctx.generation);
}

/** The mode switch and pane for one Run panel. `perInput`: the per-input elements this mode hides;
 *  `showOutputs(res)`: renders outputs ({outputs: [...]}) in the panel's Outputs section. */
export function servingMode(ctx, pick, { perInput, showOutputs, outputs }) {
  const tags = pick.tags.split(",").filter(Boolean);
  const text = h("textarea", { rows: 10, spellcheck: "false", "data-testid": "serving-body",
    "aria-label": "TF Serving REST request body (JSON)" });
  const runBtn = h("button", { class: "btn primary", "data-testid": "serving-run" }, "Run request");
  const timing = h("span", { class: "muted", "data-testid": "serving-timing" });
  const cancelBtn = h("button", { class: "btn", hidden: true, "data-testid": "serving-cancel",
    title: "Stops the run by restarting the Python runtime; the model is opened again (a few seconds)" }, "Cancel");
  cancelBtn.addEventListener("click", async () => {
    cancelBtn.disabled = true;
    timing.textContent = "Cancelled: restarting the Python runtime and re-opening the model…";
    try { await ctx.worker.cancel(); timing.textContent = "Cancelled. The runtime was restarted and the model re-opened."; }
    catch (err) { ctx.showError(err, "Restart after cancel failed"); }
    finally { cancelBtn.disabled = false; }
  });
  const response = h("pre", { class: "pre", id: `serving-response-${pick.sig.key}`, "data-testid": "serving-response" });
  const curl = h("pre", { class: "pre wrap", "data-testid": "serving-curl", hidden: true });
  const copyResp = h("button", { class: "btn small", "data-testid": "copy-response", disabled: true,
    "data-target": response.id }, "Copy response");
  const copyCurl = h("button", { class: "btn small", "data-testid": "copy-curl", disabled: true },
    "Copy as curl for TF Serving");
  const examples = h("div", { "data-testid": "warmup-examples" });
  let last = null;
  copyResp.addEventListener("click", () => last && copyText(last.response, copyResp));
  copyCurl.addEventListener("click", () => last && copyText(last.curl, copyCurl));

  const show = (res) => {
    last = res;
    response.textContent = res.response;
    copyResp.disabled = false;
    copyCurl.disabled = !res.curl;
    curl.hidden = !res.curl;
    curl.textContent = res.curl || "";
  };
  const fail = (err) => {
    last = null;
    response.textContent = `{ "error": ${JSON.stringify(err.message || String(err))} }`;
    copyResp.disabled = copyCurl.disabled = true;
    curl.hidden = true;
    response.dataset.state = "failed";
    ctx.showError(err, "TF Serving request failed");
  };

  runBtn.addEventListener("click", async () => {
    ctx.clearError();
    runBtn.disabled = true;
    response.dataset.state = "running";
    outputs.dataset.runState = "running";
    timing.textContent = "Running…";
    cancelBtn.hidden = false;
    const t0 = performance.now();
    try {
      const res = await ctx.worker.call("serving_run", { tags, body: text.value });
      show(res);
      showOutputs(res);
      outputs.dataset.runState = "done";
      timing.textContent = `${res.method} (${res.format}) on ${res.signature}: done in ${formatMs(performance.now() - t0)}`;
      response.dataset.state = "done";
    } catch (err) {
      if (err instanceof CancelledError) {
        outputs.dataset.runState = response.dataset.state = "cancelled";
        return;
      }
      outputs.dataset.runState = "failed";
      timing.textContent = "Failed.";
      fail(err);
    } finally {
      cancelBtn.hidden = true;
      runBtn.disabled = false;
      ctx.setStatus?.(null);
    }
  });

  const renderWarmup = (listing) => {
    clear(examples);
    if (listing.error) {
      examples.append(h("p", { class: "muted", "data-testid": "warmup-error" }, `Warmup requests unreadable: ${listing.error}`));
      return;
    }
    if (!listing.records.length) return;
    examples.append(h("div", { class: "muted" }, `Warmup requests (${listing.path}): ${listing.records.length}`));
    for (const rec of listing.records) {
      const btn = h("button", { class: "btn small", type: "button", "data-testid": `warmup-${rec.index}`,
        title: rec.body ? "Put this request in the editor" : "Replay this record (it has no REST form)" },
      rec.body ? "Use" : "Replay");
      btn.addEventListener("click", async () => {
        if (rec.body) { text.value = rec.body; return; }
        try {
          response.dataset.state = "running";
          const res = await ctx.worker.call("serving_replay", { index: rec.index });
          show({ response: res.response, curl: "" });
          response.dataset.state = "done";
        } catch (err) { fail(err); }
      });
      examples.append(h("div", { class: "warmup-item" }, btn, " ", h("span", { class: "mono" }, `#${rec.index} ${rec.summary}`)));
    }
  };

  const pane = h("div", { class: "serving-pane", hidden: true, "data-testid": "serving-pane" },
    h("div", { class: "muted" }, "A request body as TF Serving's REST API takes it: {\"instances\": [...]} (row), ",
      "{\"inputs\": ...} (columnar) or {\"examples\": [...]} (classify/regress), with \"signature_name\" and ",
      "{\"b64\": \"...\"} for binary strings."),
    text, examples,
    h("div", { class: "run-bar" }, runBtn, cancelBtn, timing),
    h("div", { class: "toolbar" }, h("h3", { class: "grow" }, "Response"), copyResp, copyCurl),
    response, curl);

  let loaded = false;
  const load = async () => {
    if (loaded) return;
    loaded = true;
    try {
      const t = await ctx.worker.call("serving_template", { tags, signature: pick.sig.key });
      if (!text.value) text.value = t.body;
      renderWarmup(await warmupList(ctx));
    } catch (err) { ctx.showError(err, "TF Serving request"); }
  };

  const perInputBtn = h("button", { type: "button", "data-mode": "inputs", "data-testid": "mode-per-input", class: "active" }, "Per input");
  const servingBtn = h("button", { type: "button", "data-mode": "serving", "data-testid": "mode-serving" }, "TF Serving request");
  const setMode = (serving) => {
    perInputBtn.classList.toggle("active", !serving);
    servingBtn.classList.toggle("active", serving);
    pane.hidden = !serving;
    for (const el of perInput) el.hidden = serving;
    if (serving) load();
  };
  perInputBtn.addEventListener("click", () => setMode(false));
  servingBtn.addEventListener("click", () => setMode(true));
  const tabs = h("div", { class: "mode-tabs", title: "Give inputs one by one, or as one TF Serving REST request" },
    perInputBtn, servingBtn);
  return { tabs, pane };
}

/** Overview card: what TF Serving's GET /v1/models/NAME/metadata returns, with a copy button. */
export function servingMetadataCard(ctx) {
  const pre = h("pre", { class: "pre", id: "serving-metadata-text", "data-testid": "serving-metadata" });
  const btn = h("button", { class: "btn small", "data-target": "serving-metadata-text", disabled: true }, "Copy");
  const title = h("h2", { class: "grow" }, "TF Serving model metadata");
  const card = h("div", { class: "card", "data-testid": "serving-metadata-card" },
    h("div", { class: "toolbar" }, title, btn), h("p", { class: "muted" }, "Loading…"));
  ctx.worker.call("serving_metadata", {}).then((res) => {
    card.lastChild.remove();
    if (res.text == null) {
      card.append(h("p", { class: "muted" }, `Not available: ${res.reason}`));
      return;
    }
    title.textContent = `TF Serving model metadata (GET /v1/models/${res.model_name}/metadata)`;
    pre.textContent = res.text;
    btn.disabled = false;
    btn.addEventListener("click", () => copyText(res.text, btn));
    card.append(pre);
  }).catch((err) => {
    card.lastChild.textContent = `Not available: ${err.message || err}`;
  });
  return card;
}
