import { EVENT_NAMES } from "../events.js";

/** The built-in formats the form offers; any other registered format can be typed in. */
const FORMATS = ["json", "slack", "teams", "discord"] as const;

/**
 * @internal The admin page: one self-contained HTML document (inline CSS and vanilla JavaScript, no
 * CDN, no external fonts, works offline) that lists, creates, edits, deletes, tests and previews webhooks
 * and shows their recent deliveries through the REST API at `${basePath}v1/webhooks`.
 *
 * It fits the admin's Content-Security-Policy (`default-src 'none'`, inline script and style, `connect-src
 * 'self'`). It sends `Authorization: Bearer <token>` with every API call, the token typed into its "Admin
 * token" field and kept in sessionStorage (no token, no header: a proxy's or the browser's own
 * credentials still apply), and `x-context-id: <tenant>` when its "Tenant" field (kept the same way)
 * is set. It always asks for runhooks' own wire (`Accept: application/vnd.runhooks+json`), also from an
 * admin in Predator mode. Everything that comes from the API is rendered as text (`textContent`), never
 * as HTML.
 *
 * @param basePath The admin's base path as its handler sees requests; always ends with "/". When a
 * framework strips a mount prefix first, the browser's path is longer and ends with it: the page then
 * resolves the API against its own address.
 */
export function adminPage(basePath: string): string {
  const config = { base: basePath, events: EVENT_NAMES, formats: FORMATS };
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="color-scheme" content="light dark">',
    "<title>Webhooks · runhooks admin</title>",
    '<link rel="icon" href="data:,">',
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    body(),
    // JSON with "<" escaped cannot close the script element, whatever the base path holds.
    `<script>const CONFIG = ${JSON.stringify(config).replace(/</g, "\\u003c")};\n${SCRIPT}</script>`,
    "</body>",
    "</html>",
  ].join("\n");
}

function body(): string {
  const eventBoxes = EVENT_NAMES.map(
    (name) =>
      `<label class="check"><input type="checkbox" name="events" value="${name}"> <span>${name}</span></label>`,
  ).join("");
  const formatOptions = [
    ...FORMATS.map((name) => `<option value="${name}">${name}</option>`),
    '<option value="other">other…</option>',
  ].join("");
  const eventOptions = EVENT_NAMES.map((name) => `<option value="${name}">${name}</option>`).join("");
  return `<a class="skip" href="#webhooks-title">Skip to the webhooks</a>
<header class="top">
  <h1>runhooks <span class="muted">webhooks admin</span></h1>
  <div class="top-forms">
    <form id="token-form" autocomplete="off">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" aria-describedby="token-hint">
      <span class="buttons"><button type="submit">Use token</button> <button type="button" id="token-forget">Forget</button></span>
      <span id="token-hint" class="vh">Sent as a bearer token with every request; kept in this tab only.</span>
    </form>
    <form id="tenant-form" autocomplete="off">
      <label for="tenant">Tenant (x-context-id)</label>
      <input id="tenant" name="tenant" type="text" autocomplete="off" spellcheck="false" aria-describedby="tenant-hint">
      <span class="buttons"><button type="submit">Use<span class="vh"> tenant</span></button></span>
      <span id="tenant-hint" class="hint">Empty: every tenant's webhooks. Set: only that tenant's, and new webhooks are created in it.</span>
    </form>
  </div>
</header>
<p id="status" class="status" role="status" aria-live="polite" aria-atomic="true"></p>
<noscript><p class="status error">This page needs JavaScript.</p></noscript>
<main>
  <section class="list" aria-labelledby="webhooks-title">
    <div class="section-head">
      <h2 id="webhooks-title" tabindex="-1">Webhooks</h2>
      <div class="buttons">
        <button type="button" id="refresh">Refresh</button>
        <button type="button" id="new">New webhook</button>
      </div>
    </div>
    <div class="table-wrap">
      <table id="webhooks" class="grid">
        <caption class="vh">Webhooks. URLs show the scheme and host only.</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Format</th>
            <th scope="col">Events</th>
            <th scope="col">Scope</th>
            <th scope="col">Enabled</th>
            <th scope="col">URL (host only)</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody id="rows"><tr><td colspan="7" class="empty">Loading…</td></tr></tbody>
      </table>
    </div>
  </section>
  <div class="columns">
    <section class="card" aria-labelledby="form-title">
      <h2 id="form-title" tabindex="-1">New webhook</h2>
      <form id="hook-form" novalidate>
        <div class="field">
          <label for="f-name">Name</label>
          <input id="f-name" name="name" type="text" autocomplete="off" required>
        </div>
        <div class="field">
          <label for="f-url">URL</label>
          <input id="f-url" name="url" type="url" inputmode="url" autocomplete="off" spellcheck="false" aria-describedby="f-url-hint">
          <p id="f-url-hint" class="hint">Where to send. Never shown again once saved: the list shows the host only.</p>
        </div>
        <div class="row2">
          <div class="field">
            <label for="f-format">Format</label>
            <select id="f-format" name="format">${formatOptions}</select>
          </div>
          <div class="field" id="f-format-other-field" hidden>
            <label for="f-format-other">Format name</label>
            <input id="f-format-other" name="format_other" type="text" autocomplete="off" spellcheck="false" aria-describedby="f-format-other-hint">
            <p id="f-format-other-hint" class="hint">A format registered with the notifier.</p>
          </div>
        </div>
        <fieldset id="f-events" class="events">
          <legend>Events</legend>
          <div class="checks">${eventBoxes}</div>
        </fieldset>
        <div class="flags">
          <label class="check"><input id="f-global" name="global" type="checkbox"> <span>Global: fires for every run (otherwise ad hoc: only for runs that name it)</span></label>
          <label class="check"><input id="f-enabled" name="enabled" type="checkbox" checked> <span>Enabled</span></label>
        </div>
        <div class="field">
          <label for="f-secret">Signing secret</label>
          <input id="f-secret" name="secret" type="password" autocomplete="new-password" spellcheck="false" placeholder="whsec_…" aria-describedby="f-secret-hint">
          <p id="f-secret-hint" class="hint">Optional. Signs deliveries (Standard Webhooks).</p>
          <label class="check" id="f-secret-clear-label" hidden><input id="f-secret-clear" type="checkbox"> <span>Remove the secret</span></label>
        </div>
        <div class="field">
          <label for="f-headers">Headers</label>
          <textarea id="f-headers" name="headers" rows="2" spellcheck="false" placeholder="Authorization: Bearer …" aria-describedby="f-headers-hint"></textarea>
          <p id="f-headers-hint" class="hint">Optional. One "Name: value" per line; values are kept secret.</p>
          <label class="check" id="f-headers-clear-label" hidden><input id="f-headers-clear" type="checkbox"> <span>Remove all headers</span></label>
        </div>
        <div id="form-errors" class="errors" aria-live="assertive" aria-atomic="true"></div>
        <div class="buttons">
          <button type="submit" id="save" class="primary">Create webhook</button>
          <button type="button" id="send-test" aria-describedby="test-result">Send test</button>
          <button type="button" id="cancel" hidden>Cancel edit</button>
        </div>
        <p id="test-result" class="result" role="status" aria-live="polite" aria-atomic="true"></p>
      </form>
    </section>
    <section class="card" id="details" aria-labelledby="details-title">
      <h2 id="details-title" tabindex="-1">Preview and deliveries</h2>
      <p id="details-hint" class="muted">Choose Preview or Deliveries on a webhook to see the payload it would get or what happened to its recent deliveries.</p>
      <div id="preview" hidden>
        <form id="preview-form" class="inline">
          <label for="preview-event">Event</label>
          <select id="preview-event">${eventOptions}</select>
          <button type="submit">Show preview</button>
        </form>
        <div id="preview-out">
          <p id="preview-meta" class="muted" aria-live="polite"></p>
          <ul id="preview-warnings" class="warnings"></ul>
          <pre id="preview-body" tabindex="0" aria-label="Payload"></pre>
        </div>
      </div>
      <div id="deliveries" hidden>
        <div class="buttons"><button type="button" id="deliveries-refresh">Refresh deliveries</button></div>
        <div class="table-wrap">
          <table class="grid small">
            <caption class="vh">Recent deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Run</th>
                <th scope="col">Attempt</th>
                <th scope="col">Outcome</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody id="delivery-rows"></tbody>
          </table>
        </div>
      </div>
    </section>
  </div>
</main>
<footer class="muted"><a id="openapi-link" href="#">OpenAPI document</a> of this API.</footer>`;
}

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --fg: #1d2330; --muted: #5b6474; --card: #fff; --line: #d8dde5; --head: #eef1f5;
  --accent: #0b5cad; --accent-fg: #fff; --focus: #f0a000; --ok: #146c2e; --ok-bg: #e3f4e8;
  --bad: #b3261e; --bad-bg: #fce8e6; --warn: #7a5200; --warn-bg: #fff4d6; --code: #f0f2f5; --sel: #eaf2fc;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181d; --fg: #e6e9ee; --muted: #a3acba; --card: #1e2229; --line: #363c46; --head: #262b33;
    --accent: #5aa2f0; --accent-fg: #0b1320; --focus: #ffc233; --ok: #7fd699; --ok-bg: #19321f;
    --bad: #ff8a80; --bad-bg: #3b1a18; --warn: #ffd27a; --warn-bg: #3a2e12; --code: #161a20; --sel: #1d2a3a;
  }
}
* { box-sizing: border-box; }
html { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif; }
body { margin: 0 auto; max-width: 1280px; padding: 0 20px 24px; background: var(--bg); color: var(--fg); }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 10px; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 0.86rem; }
.muted { color: var(--muted); font-weight: normal; }
.vh { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 12px; top: 8px; background: var(--card); padding: 6px 10px; z-index: 1; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
[hidden] { display: none !important; }
.top { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 12px; padding: 16px 0 10px; border-bottom: 1px solid var(--line); }
/* The token and tenant forms share one grid (label, input, buttons), so their fields line up. */
.top-forms { display: grid; grid-template-columns: auto minmax(8rem, 16rem) auto; align-items: center; gap: 6px 8px; }
.top-forms form { display: contents; }
.top-forms label { font-weight: 600; justify-self: end; }
.top-forms .hint { grid-column: 1 / -1; justify-self: end; margin-top: -3px; }
input, select, textarea, button { font: inherit; color: inherit; }
input[type=text], input[type=url], input[type=password], select, textarea {
  background: var(--card); border: 1px solid #8c95a3; border-radius: 6px; padding: 5px 8px; min-height: 2rem;
}
textarea { resize: vertical; font-family: ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.86rem; }
[aria-invalid=true] { border-color: var(--bad) !important; box-shadow: 0 0 0 1px var(--bad); }
button { background: var(--card); border: 1px solid #8c95a3; border-radius: 6px; padding: 4px 11px; cursor: pointer; min-height: 2rem; }
button:hover { background: var(--head); }
button:disabled { opacity: 0.6; cursor: progress; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); font-weight: 600; }
button.primary:hover { filter: brightness(1.1); }
button.danger { color: var(--bad); }
.status { margin: 10px 0 0; min-height: 1.5em; }
.status:empty { display: none; }
.status.error, .result.error { color: var(--bad); font-weight: 600; }
.status.ok, .result.ok { color: var(--ok); font-weight: 600; }
main { margin-top: 14px; }
.section-head { display: flex; align-items: center; justify-content: space-between; gap: 12px; margin-bottom: 8px; }
.section-head h2 { margin: 0; }
.buttons { display: flex; flex-wrap: wrap; gap: 6px; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table.grid { border-collapse: collapse; width: 100%; }
.grid th, .grid td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
.grid thead th { background: var(--head); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.03em; color: var(--muted); white-space: nowrap; }
.grid tbody tr:last-child > * { border-bottom: 0; }
.grid tbody tr.selected > * { background: var(--sel); }
.grid tbody th { font-weight: 600; }
.grid.small th, .grid.small td { padding: 5px 6px; font-size: 0.88rem; }
.grid.small thead th { font-size: 0.72rem; letter-spacing: 0; }
.grid.small td code { white-space: nowrap; }
.grid.small td.time { white-space: nowrap; }
.grid td.empty { color: var(--muted); padding: 14px 10px; }
.grid .sub { display: block; font-size: 0.8rem; font-weight: normal; color: var(--muted); }
.grid td.events { max-width: 12rem; font-size: 0.88rem; }
.grid td.url { min-width: 9rem; }
.grid td.url code { font-size: 0.8rem; }
.grid td.actions { white-space: nowrap; }
.grid td.actions .buttons { flex-wrap: nowrap; gap: 4px; }
.grid td.actions button { padding: 2px 8px; min-height: 1.8rem; font-size: 0.88rem; }
.badge { display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 0.8rem; font-weight: 600; white-space: nowrap; }
.badge.on, .badge.delivered { background: var(--ok-bg); color: var(--ok); }
.badge.off { background: var(--head); color: var(--muted); }
.badge.failed, .badge.format_failed, .badge.dropped, .badge.abandoned { background: var(--bad-bg); color: var(--bad); }
.badge.retrying { background: var(--warn-bg); color: var(--warn); }
.columns { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 6fr); gap: 20px; margin-top: 20px; align-items: start; }
@media (max-width: 820px) { .columns { grid-template-columns: minmax(0, 1fr); } .top { align-items: flex-start; } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px 16px; }
.field { display: flex; flex-direction: column; gap: 3px; margin-bottom: 10px; }
.field > label { font-weight: 600; }
.field > label.check { font-weight: normal; }
.row2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; }
.hint { margin: 0; font-size: 0.82rem; color: var(--muted); }
fieldset.events { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 10px; padding: 6px 10px 8px; }
fieldset.events legend { font-weight: 600; padding: 0 4px; }
fieldset.events.invalid { border-color: var(--bad); }
.checks { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 2px 12px; }
label.check { display: flex; align-items: flex-start; gap: 6px; padding: 2px 0; cursor: pointer; }
label.check input { margin: 0.25em 0 0; width: 1rem; height: 1rem; flex: none; }
.flags { margin-bottom: 10px; }
.errors:empty { display: none; }
.errors { border: 1px solid var(--bad); background: var(--bad-bg); color: var(--bad); border-radius: 6px; padding: 8px 12px; margin-bottom: 10px; }
.errors p { margin: 0; font-weight: 600; }
.errors ul { margin: 4px 0 0; padding-left: 1.2em; }
.result { margin: 8px 0 0; min-height: 1.4em; }
form.inline { display: flex; align-items: center; flex-wrap: wrap; gap: 8px; margin-bottom: 8px; }
form.inline label { font-weight: 600; }
form.inline select { max-width: 17rem; }
.warnings { margin: 0 0 8px; padding: 0; list-style: none; }
.warnings li { background: var(--warn-bg); color: var(--warn); border-radius: 6px; padding: 4px 10px; margin-bottom: 4px; font-size: 0.9rem; }
#preview-meta { margin: 0 0 6px; }
pre { margin: 0; background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; max-height: 30rem; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
#preview-body:empty { display: none; }
#deliveries .buttons { margin-bottom: 8px; }
footer { margin-top: 22px; font-size: 0.85rem; }
`;

// Plain JavaScript for the browser: no template literals (this file is one), nothing from the API
// ever goes through innerHTML.
const SCRIPT = String.raw`
"use strict";
(() => {
  // The admin serves this page at its basePath, so the API is at basePath + "v1/webhooks". A framework
  // that strips a mount prefix before the admin sees the request (Express's app.use("/ops", …), Hono's
  // mount) shows the browser a longer path ending in basePath: resolve against that.
  const here = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const BASE = here.endsWith(CONFIG.base) ? here : CONFIG.base;
  const API = BASE + "v1/webhooks";
  const TOKEN_KEY = "runhooks-admin-token";
  const TENANT_KEY = "runhooks-admin-tenant";
  const $ = (id) => document.getElementById(id);
  const form = $("hook-form");
  const f = {
    name: $("f-name"), url: $("f-url"), format: $("f-format"), formatOther: $("f-format-other"),
    global: $("f-global"), enabled: $("f-enabled"), secret: $("f-secret"), secretClear: $("f-secret-clear"),
    headers: $("f-headers"), headersClear: $("f-headers-clear"),
  };
  const eventBoxes = Array.from(form.querySelectorAll("input[name=events]"));
  let token = "";
  let tenant = "";
  let hooks = [];
  let loaded = false;
  let editing = null;
  let details = null; // { id, mode: "preview" | "deliveries" }

  try { token = sessionStorage.getItem(TOKEN_KEY) || ""; } catch (_) { token = ""; }
  try { tenant = sessionStorage.getItem(TENANT_KEY) || ""; } catch (_) { tenant = ""; }
  $("token").value = token;
  $("tenant").value = tenant;
  $("openapi-link").href = BASE + "openapi.json";

  // ----- helpers -------------------------------------------------------------------------------
  function el(tag, options, children) {
    const node = document.createElement(tag);
    const o = options || {};
    if (o.text !== undefined) node.textContent = String(o.text);
    if (o.className) node.className = o.className;
    if (o.attrs) for (const name of Object.keys(o.attrs)) node.setAttribute(name, o.attrs[name]);
    for (const child of children || []) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function setStatus(message, kind) {
    const status = $("status");
    status.textContent = message || "";
    status.className = "status" + (kind ? " " + kind : "");
    status.dataset.kind = kind || "";
  }

  function setResult(message, kind) {
    const result = $("test-result");
    result.textContent = message || "";
    result.className = "result" + (kind ? " " + kind : "");
  }

  class NotAuthorized extends Error {}

  async function api(method, path, body) {
    // runhooks' own wire, also from an admin in Predator mode (which answers plain JSON requests in Predator's).
    const headers = { accept: "application/vnd.runhooks+json, application/json" };
    if (token) headers.authorization = "Bearer " + token;
    if (tenant) headers["x-context-id"] = tenant;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch (_) {
      setStatus("Could not reach the admin API. Is the server running?", "error");
      throw new Error("network");
    }
    if (response.status === 401) {
      setStatus("Not authorized: check the token", "error");
      throw new NotAuthorized("401");
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (response.status === 403) {
      const message = data && typeof data.message === "string" && data.message;
      setStatus(message || "Forbidden: this token may not use the admin", "error");
      throw new NotAuthorized("403");
    }
    // The server answered: an earlier "not authorized" or "unreachable" no longer holds.
    if ($("status").dataset.kind === "error") setStatus("");
    return { status: response.status, ok: response.ok, data };
  }

  function problem(response) {
    const data = response.data;
    if (data && Array.isArray(data.validation_errors)) return data.validation_errors.map(String);
    if (data && typeof data.message === "string") return [data.message + " (HTTP " + response.status + ")"];
    return ["HTTP " + response.status];
  }

  function quiet(error) {
    // Not-authorized and network problems are already shown in the status line.
    if (error instanceof NotAuthorized || (error && error.message === "network")) return;
    setStatus("Something went wrong: " + (error && error.message ? error.message : String(error)), "error");
  }

  const byId = (id) => hooks.find((h) => h.id === id);
  const path = (id, rest) => "/" + encodeURIComponent(id) + (rest || "");

  // ----- list ----------------------------------------------------------------------------------
  async function load() {
    let response;
    try {
      response = await api("GET", "");
    } catch (error) {
      quiet(error);
      hooks = [];
      loaded = false;
      $("rows").replaceChildren(emptyRow(error instanceof NotAuthorized && error.message === "403"
        ? "Not allowed: see the message above."
        : "Enter the admin token above to see the webhooks."));
      return;
    }
    if (!response.ok || !Array.isArray(response.data)) {
      setStatus("Could not list the webhooks: " + problem(response).join("; "), "error");
      return;
    }
    hooks = response.data;
    loaded = true;
    renderRows();
  }

  // A URL as text with break opportunities after "//", after the dots of a host name and before "/***".
  function breakable(url) {
    const nodes = [];
    for (const part of String(url).split(/(?<=\/\/|[a-z-]\.)|(?=\/\*\*\*$)/i)) {
      if (nodes.length) nodes.push(document.createElement("wbr"));
      nodes.push(part);
    }
    return nodes;
  }

  function emptyRow(message) {
    return el("tr", {}, [el("td", { text: message, className: "empty", attrs: { colspan: "7" } })]);
  }

  function actionButton(action, label, hook, extraClass) {
    return el("button", { className: extraClass || "", attrs: { type: "button", "data-action": action, "data-id": hook.id } }, [
      label,
      el("span", { className: "vh", text: " " + hook.name }),
    ]);
  }

  function renderRows() {
    const rows = $("rows");
    if (hooks.length === 0) {
      rows.replaceChildren(emptyRow(tenant
        ? "No webhooks of tenant \u201c" + tenant + "\u201d yet. Create one with the form below."
        : "No webhooks yet. Create one with the form below."));
      return;
    }
    rows.replaceChildren(...hooks.map((h) => {
      const extras = [];
      if (h.has_secret) extras.push("signed");
      if (h.headers) extras.push("headers: " + Object.keys(h.headers).join(", "));
      const selected = (editing && editing.id === h.id) || (details && details.id === h.id);
      return el("tr", { className: selected ? "selected" : "", attrs: { "data-id": h.id } }, [
        el("th", { attrs: { scope: "row" } }, [
          el("span", { text: h.name }),
          extras.length ? el("span", { className: "sub", text: extras.join(" · ") }) : null,
        ]),
        el("td", {}, [el("code", { text: h.format_type })]),
        el("td", { className: "events", text: h.events.length === CONFIG.events.length ? "all " + h.events.length : h.events.join(", ") }),
        el("td", {}, [
          el("span", { text: h.global ? "global" : "ad hoc" }),
          h.context_id !== undefined ? el("span", { className: "sub", text: "tenant: " + h.context_id }) : null,
        ]),
        el("td", {}, [el("span", { className: "badge " + (h.enabled ? "on" : "off"), text: h.enabled ? "yes" : "no" })]),
        el("td", { className: "url" }, [el("code", {}, breakable(h.url))]),
        el("td", { className: "actions" }, [
          el("div", { className: "buttons" }, [
            actionButton("edit", "Edit", h),
            actionButton("test", "Test", h),
            actionButton("preview", "Preview", h),
            actionButton("deliveries", "Deliveries", h),
            actionButton("delete", "Delete", h, "danger"),
          ]),
        ]),
      ]);
    }));
  }

  $("rows").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const hook = byId(button.dataset.id);
    if (!hook) return;
    const action = button.dataset.action;
    if (action === "edit") startEdit(hook, f.name);
    else if (action === "test") startTest(hook);
    else if (action === "preview") openPreview(hook);
    else if (action === "deliveries") openDeliveries(hook);
    else if (action === "delete") remove(hook).catch(quiet);
  });

  $("refresh").addEventListener("click", () => { load().catch(quiet); });
  $("new").addEventListener("click", () => { resetForm(); f.name.focus(); });

  async function remove(hook) {
    if (!window.confirm("Delete the webhook \u201c" + hook.name + "\u201d? This cannot be undone.")) return;
    const response = await api("DELETE", path(hook.id));
    if (response.status === 204 || response.status === 404) {
      setStatus("Deleted \u201c" + hook.name + "\u201d.", "ok");
      if (editing && editing.id === hook.id) resetForm();
      if (details && details.id === hook.id) closeDetails();
      await load();
      $("webhooks-title").focus();
    } else {
      setStatus("Could not delete \u201c" + hook.name + "\u201d: " + problem(response).join("; "), "error");
    }
  }

  // ----- create / edit form --------------------------------------------------------------------
  function formatValue() {
    return f.format.value === "other" ? f.formatOther.value.trim() : f.format.value;
  }

  function setFormat(value) {
    const known = CONFIG.formats.includes(value);
    f.format.value = known ? value : "other";
    f.formatOther.value = known ? "" : value;
    $("f-format-other-field").hidden = known;
  }

  f.format.addEventListener("change", () => {
    const other = f.format.value === "other";
    $("f-format-other-field").hidden = !other;
    if (other) f.formatOther.focus();
  });

  function clearErrors() {
    $("form-errors").replaceChildren();
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    $("f-events").classList.remove("invalid");
  }

  const FIELD_OF = {
    name: "f-name", url: "f-url", format_type: "f-format", secret: "f-secret", headers: "f-headers",
  };

  function showErrors(messages, heading) {
    clearErrors();
    const list = el("ul", {}, messages.map((m) => el("li", { text: m })));
    $("form-errors").replaceChildren(el("p", { text: heading || "Input validation error" }), list);
    for (const message of messages) {
      const match = /^body\.([a-z_]+)/.exec(message);
      if (!match) continue;
      if (match[1] === "events") {
        $("f-events").classList.add("invalid");
        for (const box of eventBoxes) box.setAttribute("aria-invalid", "true");
      } else if (FIELD_OF[match[1]]) {
        const input = $(FIELD_OF[match[1]]);
        input.setAttribute("aria-invalid", "true");
        if (match[1] === "format_type" && f.format.value === "other") f.formatOther.setAttribute("aria-invalid", "true");
      }
    }
  }

  function resetForm() {
    editing = null;
    form.reset();
    setFormat("json");
    f.enabled.checked = true;
    clearErrors();
    setResult("");
    $("form-title").textContent = "New webhook";
    $("save").textContent = "Create webhook";
    $("cancel").hidden = true;
    f.url.placeholder = "https://hooks.slack.com/services/…";
    $("f-url-hint").textContent = "Where to send. Never shown again once saved: the list shows the host only.";
    $("f-secret-hint").textContent = "Optional. Signs deliveries (Standard Webhooks).";
    $("f-headers-hint").textContent = "Optional. One \u201cName: value\u201d per line; values are kept secret.";
    $("f-secret-clear-label").hidden = true;
    $("f-headers-clear-label").hidden = true;
    if (loaded) renderRows();
  }

  function startEdit(hook, focusOn) {
    resetForm();
    editing = hook;
    $("form-title").textContent = "Edit \u201c" + hook.name + "\u201d";
    $("save").textContent = "Save changes";
    $("cancel").hidden = false;
    f.name.value = hook.name;
    f.url.value = "";
    f.url.placeholder = "leave empty to keep the current URL";
    $("f-url-hint").textContent = "Leave empty to keep the current URL (" + hook.url + "). It is never shown in full.";
    setFormat(hook.format_type);
    for (const box of eventBoxes) box.checked = hook.events.includes(box.value);
    f.global.checked = hook.global;
    f.enabled.checked = hook.enabled;
    if (hook.has_secret) {
      $("f-secret-hint").textContent = "Has a secret. Leave empty to keep it, or type a new one to replace it.";
      $("f-secret-clear-label").hidden = false;
    }
    if (hook.headers) {
      $("f-headers-hint").textContent = "Has headers " + Object.keys(hook.headers).join(", ") +
        " (values hidden). Leave empty to keep them; lines typed here replace them all.";
      $("f-headers-clear-label").hidden = false;
    }
    renderRows();
    focusOn.focus();
  }

  function startTest(hook) {
    startEdit(hook, f.url);
    setResult("Type the URL of \u201c" + hook.name + "\u201d above and press Send test: saved URLs are never shown.", "");
  }

  $("cancel").addEventListener("click", () => { resetForm(); $("webhooks-title").focus(); });

  function parseHeaders(text) {
    const headers = {};
    const errors = [];
    text.split(/\r?\n/).forEach((line, index) => {
      if (!line.trim()) return;
      const colon = line.indexOf(":");
      if (colon <= 0) {
        errors.push("Headers line " + (index + 1) + ": write \u201cName: value\u201d");
        return;
      }
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    });
    return { headers, errors };
  }

  function sameEvents(a, b) {
    return a.length === b.length && a.every((e) => b.includes(e));
  }

  function collect() {
    const events = eventBoxes.filter((box) => box.checked).map((box) => box.value);
    const parsed = parseHeaders(f.headers.value);
    if (parsed.errors.length) return { errors: parsed.errors };
    const hasHeaders = Object.keys(parsed.headers).length > 0;
    const name = f.name.value.trim();
    const url = f.url.value.trim();
    const format = formatValue();
    const secret = f.secret.value.trim();
    if (!editing) {
      const body = { name, url, format_type: format, events, global: f.global.checked, enabled: f.enabled.checked };
      if (secret) body.secret = secret;
      if (hasHeaders) body.headers = parsed.headers;
      return { body };
    }
    // PATCH: only what changed or was typed.
    const h = editing;
    const body = {};
    if (name !== h.name) body.name = name;
    if (url) body.url = url;
    if (format !== h.format_type) body.format_type = format;
    if (!sameEvents(events, h.events)) body.events = events;
    if (f.global.checked !== h.global) body.global = f.global.checked;
    if (f.enabled.checked !== h.enabled) body.enabled = f.enabled.checked;
    if (secret) body.secret = secret;
    else if (f.secretClear.checked) body.secret = null;
    if (hasHeaders) body.headers = parsed.headers;
    else if (f.headersClear.checked) body.headers = null;
    return { body };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save().catch(quiet);
  });

  async function save() {
    clearErrors();
    const collected = collect();
    if (collected.errors) {
      showErrors(collected.errors, "Check the form");
      return;
    }
    const body = collected.body;
    const wasEditing = editing;
    if (wasEditing && Object.keys(body).length === 0) {
      setResult("Nothing changed.", "");
      return;
    }
    $("save").disabled = true;
    let response;
    try {
      response = wasEditing ? await api("PATCH", path(wasEditing.id), body) : await api("POST", "", body);
    } finally {
      $("save").disabled = false;
    }
    if (response.status === 200 || response.status === 201) {
      const saved = response.data;
      resetForm();
      setStatus((wasEditing ? "Saved \u201c" : "Created \u201c") + saved.name + "\u201d.", "ok");
      await load();
      if (details && details.id === saved.id) refreshDetails(saved);
      return;
    }
    if (response.status === 404 && wasEditing) {
      resetForm();
      setStatus("\u201c" + wasEditing.name + "\u201d no longer exists.", "error");
      await load();
      return;
    }
    showErrors(problem(response), response.status === 400 ? "Input validation error" : "Not saved");
  }

  // ----- send test -----------------------------------------------------------------------------
  $("send-test").addEventListener("click", () => { sendTest().catch(quiet); });

  async function sendTest() {
    const url = f.url.value.trim();
    if (!url) {
      setResult("Type the URL to test in the URL field: saved URLs are never shown.", "error");
      f.url.focus();
      return;
    }
    const button = $("send-test");
    button.disabled = true;
    setResult("Sending a test message\u2026", "");
    let response;
    try {
      response = await api("POST", "/test", { url, format_type: formatValue() });
    } catch (error) {
      setResult("failed: " + (error instanceof NotAuthorized ? "not authorized" : "could not reach the admin API"), "error");
      throw error;
    } finally {
      button.disabled = false;
    }
    const data = response.data;
    if (response.status !== 200 || !data) {
      setResult("failed: " + problem(response).join("; "), "error");
      return;
    }
    if (data.is_successful) {
      setResult("delivered (HTTP " + data.webhook_status_code + ")", "ok");
      return;
    }
    const parts = [];
    if (data.webhook_status_code !== null && data.webhook_status_code !== undefined) parts.push("HTTP " + data.webhook_status_code);
    if (data.error) parts.push(String(data.error));
    setResult("failed: " + (parts.join(", ") || "no answer"), "error");
  }

  // ----- preview and deliveries ----------------------------------------------------------------
  function showDetails(hook, mode) {
    details = { id: hook.id, mode };
    $("details-hint").hidden = true;
    $("preview").hidden = mode !== "preview";
    $("deliveries").hidden = mode !== "deliveries";
    $("details-title").textContent = (mode === "preview" ? "Preview: " : "Deliveries: ") + hook.name;
    renderRows();
    $("details-title").focus();
  }

  function closeDetails() {
    details = null;
    $("details-hint").hidden = false;
    $("preview").hidden = true;
    $("deliveries").hidden = true;
    $("details-title").textContent = "Preview and deliveries";
  }

  function refreshDetails(hook) {
    if (details.mode === "preview") openPreview(hook);
    else openDeliveries(hook);
  }

  function openPreview(hook) {
    const select = $("preview-event");
    for (const option of select.options) {
      option.textContent = option.value + (hook.events.includes(option.value) ? "" : " (not subscribed)");
    }
    if (!(details && details.id === hook.id && details.mode === "preview")) select.value = hook.events[0] || "started";
    showDetails(hook, "preview");
    preview().catch(quiet);
  }

  $("preview-form").addEventListener("submit", (event) => {
    event.preventDefault();
    preview().catch(quiet);
  });

  async function preview() {
    if (!details) return;
    const hook = byId(details.id);
    const event = $("preview-event").value;
    $("preview-meta").textContent = "Rendering " + event + "\u2026";
    $("preview-warnings").replaceChildren();
    $("preview-body").textContent = "";
    const response = await api("POST", path(details.id, "/preview"), { event });
    if (response.status !== 200 || !response.data) {
      $("preview-meta").textContent = "No preview: " + problem(response).join("; ");
      return;
    }
    const data = response.data;
    const bodyText = typeof data.body === "string" ? data.body : JSON.stringify(data.body, null, 2);
    $("preview-meta").textContent = "\u201c" + event + "\u201d as " + data.format_type + " for " +
      (hook ? hook.name : "this webhook") + ": " + Number(data.size).toLocaleString("en-US") + " bytes" +
      (data.warnings.length ? "" : ", no warnings") + ".";
    $("preview-warnings").replaceChildren(...data.warnings.map((w) => el("li", { text: "Warning: " + w })));
    $("preview-body").textContent = bodyText;
  }

  function openDeliveries(hook) {
    showDetails(hook, "deliveries");
    deliveries().catch(quiet);
  }

  $("deliveries-refresh").addEventListener("click", () => { deliveries().catch(quiet); });

  // "retries_exhausted", "benchmark_failed" may wrap after their underscores (and nowhere else inside a word).
  function wrapAtUnderscores(text) {
    const nodes = [];
    for (const part of String(text).split(/(?<=_)/)) {
      if (nodes.length) nodes.push(document.createElement("wbr"));
      nodes.push(part);
    }
    return nodes;
  }

  // "14:03:07" today, "Mar 4, 14:03" before.
  function shortTime(when, fallback) {
    if (isNaN(when)) return fallback;
    const today = new Date().toDateString() === when.toDateString();
    return today
      ? when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
      : when.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function deliveryEmpty(message) {
    return el("tr", {}, [el("td", { text: message, className: "empty", attrs: { colspan: "7" } })]);
  }

  async function deliveries() {
    if (!details) return;
    const rows = $("delivery-rows");
    rows.replaceChildren(deliveryEmpty("Loading\u2026"));
    const response = await api("GET", path(details.id, "/deliveries"));
    if (response.status !== 200 || !Array.isArray(response.data)) {
      rows.replaceChildren(deliveryEmpty("Could not load the deliveries: " + problem(response).join("; ")));
      return;
    }
    if (response.data.length === 0) {
      rows.replaceChildren(deliveryEmpty("No deliveries yet. The admin keeps the latest ones since it started."));
      return;
    }
    rows.replaceChildren(...response.data.map((d) => {
      const when = new Date(d.at);
      return el("tr", {}, [
        el("td", { className: "time" }, [el("time", { text: shortTime(when, d.at), attrs: { datetime: d.at, title: d.at } })]),
        el("td", {}, wrapAtUnderscores(d.event)),
        el("td", {}, [el("code", { text: d.run_id })]),
        el("td", { text: String(d.attempt) + (d.final ? "" : " (more to come)") }),
        el("td", {}, [el("span", { className: "badge " + d.outcome, text: d.outcome })]),
        el("td", { text: d.status === undefined ? "\u2014" : String(d.status) }),
        el("td", {}, wrapAtUnderscores(d.reason || d.error || "")),
      ]);
    }));
  }

  // ----- token ---------------------------------------------------------------------------------
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { /* storage disabled: the token lasts until the page reloads */ }
    setStatus("");
    load().catch(quiet);
  });

  // The tenant is the request's, never a body's: changing it shows another list, so nothing of the old
  // one stays open.
  $("tenant-form").addEventListener("submit", (event) => {
    event.preventDefault();
    tenant = $("tenant").value.trim();
    $("tenant").value = tenant;
    try {
      if (tenant) sessionStorage.setItem(TENANT_KEY, tenant);
      else sessionStorage.removeItem(TENANT_KEY);
    } catch (_) { /* storage disabled: the tenant lasts until the page reloads */ }
    if (editing) resetForm();
    if (details) closeDetails();
    setStatus("");
    load().catch(quiet);
  });

  $("token-forget").addEventListener("click", () => {
    token = "";
    $("token").value = "";
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (_) { /* nothing kept */ }
    hooks = [];
    loaded = false;
    setStatus("Token forgotten.", "");
    $("rows").replaceChildren(emptyRow("Enter the admin token above to see the webhooks."));
    $("token").focus();
  });

  resetForm();
  load().catch(quiet);
})();
`;
