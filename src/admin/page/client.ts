// The admin page's script, for the browser (DOM types; tsconfig.json here). scripts/build-admin-page.ts
// bundles it into one classic inline script after the CONFIG constant adminPage() writes, under the
// admin's CSP (no other origin, nothing loaded). Nothing from the API ever goes through innerHTML: it is
// rendered with textContent and text nodes only.
import type { PageConfig, PageDelivery, PagePreview, PageTestResult, PageWebhook } from "./types.js";

/** Written by adminPage() in the same script element, before this code. */
declare const CONFIG: PageConfig;

type Kind = "" | "ok" | "error";
type Method = "GET" | "POST" | "PATCH" | "DELETE";
type DetailsMode = "preview" | "deliveries";

interface ApiResponse {
  status: number;
  ok: boolean;
  data: unknown;
}

interface CreateBody {
  name: string;
  url: string;
  format_type: string;
  events: string[];
  global: boolean;
  enabled: boolean;
  secret?: string;
  headers?: Record<string, string>;
}

/** PATCH: only what changed or was typed; null removes. */
interface PatchBody {
  name?: string;
  url?: string;
  format_type?: string;
  events?: string[];
  global?: boolean;
  enabled?: boolean;
  secret?: string | null;
  headers?: Record<string, string> | null;
}

// The admin serves this page at its basePath, so the API is at basePath + "v1/webhooks". A framework
// that strips a mount prefix before the admin sees the request (Express's app.use("/ops", …), Hono's
// mount) shows the browser a longer path ending in basePath: resolve against that.
const here = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const BASE = here.endsWith(CONFIG.base) ? here : CONFIG.base;
const API = BASE + "v1/webhooks";
const TOKEN_KEY = "runhooks-admin-token";
const TENANT_KEY = "runhooks-admin-tenant";

// ----- helpers -------------------------------------------------------------------------------------

/** The element with that id, of that type: the markup is ours, so a missing one is a bug. */
function $(id: string): HTMLElement;
function $<T extends HTMLElement>(id: string, type: new () => T): T;
function $(id: string, type: new () => HTMLElement = HTMLElement): HTMLElement {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`the admin page has no ${type.name} #${id}`);
  return node;
}

const form = $("hook-form", HTMLFormElement);
const f = {
  name: $("f-name", HTMLInputElement),
  url: $("f-url", HTMLInputElement),
  format: $("f-format", HTMLSelectElement),
  formatOther: $("f-format-other", HTMLInputElement),
  global: $("f-global", HTMLInputElement),
  enabled: $("f-enabled", HTMLInputElement),
  secret: $("f-secret", HTMLInputElement),
  secretClear: $("f-secret-clear", HTMLInputElement),
  headers: $("f-headers", HTMLTextAreaElement),
  headersClear: $("f-headers-clear", HTMLInputElement),
};
const eventBoxes = Array.from(form.querySelectorAll<HTMLInputElement>("input[name=events]"));
let token = "";
let tenant = "";
let hooks: PageWebhook[] = [];
let loaded = false;
let editing: PageWebhook | null = null;
let details: { id: string; mode: DetailsMode } | null = null;

try {
  token = sessionStorage.getItem(TOKEN_KEY) || "";
} catch {
  token = "";
}
try {
  tenant = sessionStorage.getItem(TENANT_KEY) || "";
} catch {
  tenant = "";
}
$("token", HTMLInputElement).value = token;
$("tenant", HTMLInputElement).value = tenant;
$("openapi-link", HTMLAnchorElement).href = BASE + "openapi.json";

interface ElOptions {
  text?: string;
  className?: string;
  attrs?: Record<string, string>;
}

type Child = Node | string | null;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElOptions = {},
  children: readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.text !== undefined) node.textContent = options.text;
  if (options.className) node.className = options.className;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) {
    if (child === null) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function setStatus(message: string, kind: Kind = ""): void {
  const status = $("status");
  status.textContent = message;
  status.className = "status" + (kind ? " " + kind : "");
  status.dataset["kind"] = kind;
}

function setResult(message: string, kind: Kind = ""): void {
  const result = $("test-result");
  result.textContent = message;
  result.className = "result" + (kind ? " " + kind : "");
}

/** A property of a JSON value, when it is an object. */
function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

class NotAuthorized extends Error {}

async function api(method: Method, path: string, body?: unknown): Promise<ApiResponse> {
  // runhooks' own wire, also from an admin in Predator mode (which answers plain JSON requests in Predator's).
  const headers: Record<string, string> = { accept: "application/vnd.runhooks+json, application/json" };
  if (token) headers["authorization"] = "Bearer " + token;
  if (tenant) headers["x-context-id"] = tenant;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      ...(body !== undefined && { body: JSON.stringify(body) }),
      cache: "no-store",
      credentials: "same-origin",
    });
  } catch {
    setStatus("Could not reach the admin API. Is the server running?", "error");
    throw new Error("network");
  }
  if (response.status === 401) {
    setStatus("Not authorized: check the token", "error");
    throw new NotAuthorized("401");
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 403) {
    const message = field(data, "message");
    setStatus(
      (typeof message === "string" && message) || "Forbidden: this token may not use the admin",
      "error",
    );
    throw new NotAuthorized("403");
  }
  // The server answered: an earlier "not authorized" or "unreachable" no longer holds.
  if ($("status").dataset["kind"] === "error") setStatus("");
  return { status: response.status, ok: response.ok, data };
}

function problem(response: ApiResponse): string[] {
  const errors = field(response.data, "validation_errors");
  if (Array.isArray(errors)) return errors.map(String);
  const message = field(response.data, "message");
  if (typeof message === "string") return [`${message} (HTTP ${response.status})`];
  return [`HTTP ${response.status}`];
}

function quiet(error: unknown): void {
  // Not-authorized and network problems are already shown in the status line.
  const message = field(error, "message");
  if (error instanceof NotAuthorized || message === "network") return;
  setStatus("Something went wrong: " + String(message || error), "error");
}

const byId = (id: string): PageWebhook | undefined => hooks.find((h) => h.id === id);
const path = (id: string, rest = ""): string => "/" + encodeURIComponent(id) + rest;

// ----- list ----------------------------------------------------------------------------------------
async function load(): Promise<void> {
  let response: ApiResponse;
  try {
    response = await api("GET", "");
  } catch (error) {
    quiet(error);
    hooks = [];
    loaded = false;
    $("rows").replaceChildren(
      emptyRow(
        error instanceof NotAuthorized && error.message === "403"
          ? "Not allowed: see the message above."
          : "Enter the admin token above to see the webhooks.",
      ),
    );
    return;
  }
  if (!response.ok || !Array.isArray(response.data)) {
    setStatus("Could not list the webhooks: " + problem(response).join("; "), "error");
    return;
  }
  // The admin's own wire (asked for in api()); test/admin/page.test.ts pins its type to PageWebhook.
  hooks = response.data as PageWebhook[];
  loaded = true;
  renderRows();
}

// A URL as text with break opportunities after "//", after the dots of a host name and before "/***".
function breakable(url: string): Child[] {
  const nodes: Child[] = [];
  for (const part of url.split(/(?<=\/\/|[a-z-]\.)|(?=\/\*\*\*$)/i)) {
    if (nodes.length) nodes.push(document.createElement("wbr"));
    nodes.push(part);
  }
  return nodes;
}

function emptyRow(message: string): HTMLTableRowElement {
  return el("tr", {}, [el("td", { text: message, className: "empty", attrs: { colspan: "7" } })]);
}

function actionButton(action: string, label: string, hook: PageWebhook, extraClass = ""): HTMLButtonElement {
  return el(
    "button",
    { className: extraClass, attrs: { type: "button", "data-action": action, "data-id": hook.id } },
    [label, el("span", { className: "vh", text: " " + hook.name })],
  );
}

function hookRow(h: PageWebhook): HTMLTableRowElement {
  const extras: string[] = [];
  if (h.has_secret) extras.push("signed");
  if (h.headers) extras.push("headers: " + Object.keys(h.headers).join(", "));
  const selected = editing?.id === h.id || details?.id === h.id;
  const events = h.events.length === CONFIG.events.length ? `all ${h.events.length}` : h.events.join(", ");
  return el("tr", { className: selected ? "selected" : "", attrs: { "data-id": h.id } }, [
    el("th", { attrs: { scope: "row" } }, [
      el("span", { text: h.name }),
      extras.length ? el("span", { className: "sub", text: extras.join(" · ") }) : null,
    ]),
    el("td", {}, [el("code", { text: h.format_type })]),
    el("td", { className: "events", text: events }),
    el("td", {}, [
      el("span", { text: h.global ? "global" : "ad hoc" }),
      h.context_id !== undefined ? el("span", { className: "sub", text: "tenant: " + h.context_id }) : null,
    ]),
    el("td", {}, [
      el("span", { className: "badge " + (h.enabled ? "on" : "off"), text: h.enabled ? "yes" : "no" }),
      h.circuit
        ? el("span", {
            className: "badge circuit",
            text: h.circuit.state === "probing" ? "circuit open: probing" : "circuit open",
            attrs: {
              title: `${h.circuit.failures} failed attempts in a row since ${h.circuit.opened_at}; next probe ${h.circuit.probe_at}`,
            },
          })
        : null,
    ]),
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
}

function renderRows(): void {
  const rows = $("rows");
  if (hooks.length === 0) {
    rows.replaceChildren(
      emptyRow(
        tenant
          ? `No webhooks of tenant “${tenant}” yet. Create one with the form below.`
          : "No webhooks yet. Create one with the form below.",
      ),
    );
    return;
  }
  rows.replaceChildren(...hooks.map(hookRow));
}

$("rows").addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
  if (!(button instanceof HTMLButtonElement)) return;
  const hook = byId(button.dataset["id"] ?? "");
  if (!hook) return;
  const action = button.dataset["action"];
  if (action === "edit") startEdit(hook, f.name);
  else if (action === "test") startTest(hook);
  else if (action === "preview") openPreview(hook);
  else if (action === "deliveries") openDeliveries(hook);
  else if (action === "delete") remove(hook).catch(quiet);
});

$("refresh").addEventListener("click", () => {
  load().catch(quiet);
});
$("new").addEventListener("click", () => {
  resetForm();
  f.name.focus();
});

async function remove(hook: PageWebhook): Promise<void> {
  if (!window.confirm(`Delete the webhook “${hook.name}”? This cannot be undone.`)) return;
  const response = await api("DELETE", path(hook.id));
  if (response.status === 204 || response.status === 404) {
    setStatus(`Deleted “${hook.name}”.`, "ok");
    if (editing?.id === hook.id) resetForm();
    if (details?.id === hook.id) closeDetails();
    await load();
    $("webhooks-title").focus();
  } else {
    setStatus(`Could not delete “${hook.name}”: ` + problem(response).join("; "), "error");
  }
}

// ----- create / edit form --------------------------------------------------------------------------
function formatValue(): string {
  return f.format.value === "other" ? f.formatOther.value.trim() : f.format.value;
}

function setFormat(value: string): void {
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

function clearErrors(): void {
  $("form-errors").replaceChildren();
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  $("f-events").classList.remove("invalid");
}

/** The input each wire field's validation messages (`body.<field> …`) point at. */
const FIELD_OF = new Map([
  ["name", "f-name"],
  ["url", "f-url"],
  ["format_type", "f-format"],
  ["secret", "f-secret"],
  ["headers", "f-headers"],
]);

function showErrors(messages: readonly string[], heading: string): void {
  clearErrors();
  const list = el(
    "ul",
    {},
    messages.map((m) => el("li", { text: m })),
  );
  $("form-errors").replaceChildren(el("p", { text: heading }), list);
  for (const message of messages) {
    const name = /^body\.([a-z_]+)/.exec(message)?.[1];
    if (name === undefined) continue;
    const id = FIELD_OF.get(name);
    if (name === "events") {
      $("f-events").classList.add("invalid");
      for (const box of eventBoxes) box.setAttribute("aria-invalid", "true");
    } else if (id !== undefined) {
      $(id).setAttribute("aria-invalid", "true");
      if (name === "format_type" && f.format.value === "other")
        f.formatOther.setAttribute("aria-invalid", "true");
    }
  }
}

function resetForm(): void {
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
  $("f-headers-hint").textContent = "Optional. One “Name: value” per line; values are kept secret.";
  $("f-secret-clear-label").hidden = true;
  $("f-headers-clear-label").hidden = true;
  if (loaded) renderRows();
}

function startEdit(hook: PageWebhook, focusOn: HTMLElement): void {
  resetForm();
  editing = hook;
  $("form-title").textContent = `Edit “${hook.name}”`;
  $("save").textContent = "Save changes";
  $("cancel").hidden = false;
  f.name.value = hook.name;
  f.url.value = "";
  f.url.placeholder = "leave empty to keep the current URL";
  $("f-url-hint").textContent =
    `Leave empty to keep the current URL (${hook.url}). It is never shown in full.`;
  setFormat(hook.format_type);
  for (const box of eventBoxes) box.checked = hook.events.includes(box.value);
  f.global.checked = hook.global;
  f.enabled.checked = hook.enabled;
  if (hook.has_secret) {
    $("f-secret-hint").textContent = "Has a secret. Leave empty to keep it, or type a new one to replace it.";
    $("f-secret-clear-label").hidden = false;
  }
  if (hook.headers) {
    $("f-headers-hint").textContent =
      `Has headers ${Object.keys(hook.headers).join(", ")}` +
      " (values hidden). Leave empty to keep them; lines typed here replace them all.";
    $("f-headers-clear-label").hidden = false;
  }
  renderRows();
  focusOn.focus();
}

function startTest(hook: PageWebhook): void {
  startEdit(hook, f.url);
  setResult(`Type the URL of “${hook.name}” above and press Send test: saved URLs are never shown.`);
}

$("cancel").addEventListener("click", () => {
  resetForm();
  $("webhooks-title").focus();
});

function parseHeaders(text: string): { headers: Record<string, string>; errors: string[] } {
  const headers: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (!line.trim()) return;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      errors.push(`Headers line ${index + 1}: write “Name: value”`);
      return;
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  });
  return { headers, errors };
}

function sameEvents(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((e) => b.includes(e));
}

function collect(): { errors: string[] } | { body: CreateBody | PatchBody } {
  const events = eventBoxes.filter((box) => box.checked).map((box) => box.value);
  const parsed = parseHeaders(f.headers.value);
  if (parsed.errors.length) return { errors: parsed.errors };
  const hasHeaders = Object.keys(parsed.headers).length > 0;
  const name = f.name.value.trim();
  const url = f.url.value.trim();
  const format = formatValue();
  const secret = f.secret.value.trim();
  if (!editing) {
    const body: CreateBody = {
      name,
      url,
      format_type: format,
      events,
      global: f.global.checked,
      enabled: f.enabled.checked,
    };
    if (secret) body.secret = secret;
    if (hasHeaders) body.headers = parsed.headers;
    return { body };
  }
  // PATCH: only what changed or was typed.
  const h = editing;
  const body: PatchBody = {};
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

async function save(): Promise<void> {
  clearErrors();
  const collected = collect();
  if ("errors" in collected) {
    showErrors(collected.errors, "Check the form");
    return;
  }
  const body = collected.body;
  const wasEditing = editing;
  if (wasEditing && Object.keys(body).length === 0) {
    setResult("Nothing changed.");
    return;
  }
  const button = $("save", HTMLButtonElement);
  button.disabled = true;
  let response: ApiResponse;
  try {
    response = wasEditing ? await api("PATCH", path(wasEditing.id), body) : await api("POST", "", body);
  } finally {
    button.disabled = false;
  }
  if (response.status === 200 || response.status === 201) {
    const saved = response.data as PageWebhook;
    resetForm();
    setStatus((wasEditing ? "Saved “" : "Created “") + saved.name + "”.", "ok");
    await load();
    if (details?.id === saved.id) refreshDetails(saved);
    return;
  }
  if (response.status === 404 && wasEditing) {
    resetForm();
    setStatus(`“${wasEditing.name}” no longer exists.`, "error");
    await load();
    return;
  }
  showErrors(problem(response), response.status === 400 ? "Input validation error" : "Not saved");
}

// ----- send test -----------------------------------------------------------------------------------
$("send-test").addEventListener("click", () => {
  sendTest().catch(quiet);
});

async function sendTest(): Promise<void> {
  const url = f.url.value.trim();
  if (!url) {
    setResult("Type the URL to test in the URL field: saved URLs are never shown.", "error");
    f.url.focus();
    return;
  }
  const button = $("send-test", HTMLButtonElement);
  button.disabled = true;
  setResult("Sending a test message…");
  let response: ApiResponse;
  try {
    response = await api("POST", "/test", { url, format_type: formatValue() });
  } catch (error) {
    const reason = error instanceof NotAuthorized ? "not authorized" : "could not reach the admin API";
    setResult("failed: " + reason, "error");
    throw error;
  } finally {
    button.disabled = false;
  }
  const data = response.data as PageTestResult | null;
  if (response.status !== 200 || !data) {
    setResult("failed: " + problem(response).join("; "), "error");
    return;
  }
  if (data.is_successful) {
    setResult(`delivered (HTTP ${String(data.webhook_status_code)})`, "ok");
    return;
  }
  const parts: string[] = [];
  if (data.webhook_status_code !== null && data.webhook_status_code !== undefined)
    parts.push(`HTTP ${data.webhook_status_code}`);
  if (data.error) parts.push(data.error);
  setResult("failed: " + (parts.join(", ") || "no answer"), "error");
}

// ----- preview and deliveries ----------------------------------------------------------------------
function showDetails(hook: PageWebhook, mode: DetailsMode): void {
  details = { id: hook.id, mode };
  $("details-hint").hidden = true;
  $("preview").hidden = mode !== "preview";
  $("deliveries").hidden = mode !== "deliveries";
  $("details-title").textContent = (mode === "preview" ? "Preview: " : "Deliveries: ") + hook.name;
  renderRows();
  $("details-title").focus();
}

function closeDetails(): void {
  details = null;
  $("details-hint").hidden = false;
  $("preview").hidden = true;
  $("deliveries").hidden = true;
  $("details-title").textContent = "Preview and deliveries";
}

function refreshDetails(hook: PageWebhook): void {
  if (details?.mode === "preview") openPreview(hook);
  else openDeliveries(hook);
}

function openPreview(hook: PageWebhook): void {
  const select = $("preview-event", HTMLSelectElement);
  for (const option of select.options) {
    option.textContent = option.value + (hook.events.includes(option.value) ? "" : " (not subscribed)");
  }
  if (!(details?.id === hook.id && details.mode === "preview")) select.value = hook.events[0] || "started";
  showDetails(hook, "preview");
  preview().catch(quiet);
}

$("preview-form").addEventListener("submit", (event) => {
  event.preventDefault();
  preview().catch(quiet);
});

async function preview(): Promise<void> {
  if (!details) return;
  const hook = byId(details.id);
  const event = $("preview-event", HTMLSelectElement).value;
  $("preview-meta").textContent = `Rendering ${event}…`;
  $("preview-warnings").replaceChildren();
  $("preview-body").textContent = "";
  const response = await api("POST", path(details.id, "/preview"), { event });
  const data = response.data as PagePreview | null;
  if (response.status !== 200 || !data) {
    $("preview-meta").textContent = "No preview: " + problem(response).join("; ");
    return;
  }
  const bodyText = typeof data.body === "string" ? data.body : JSON.stringify(data.body, null, 2);
  $("preview-meta").textContent =
    `“${event}” as ${data.format_type} for ${hook ? hook.name : "this webhook"}: ` +
    `${data.size.toLocaleString("en-US")} bytes${data.warnings.length ? "" : ", no warnings"}.`;
  $("preview-warnings").replaceChildren(...data.warnings.map((w) => el("li", { text: "Warning: " + w })));
  $("preview-body").textContent = bodyText;
}

function openDeliveries(hook: PageWebhook): void {
  showDetails(hook, "deliveries");
  deliveries().catch(quiet);
}

$("deliveries-refresh").addEventListener("click", () => {
  deliveries().catch(quiet);
});

// "retries_exhausted", "benchmark_failed" may wrap after their underscores (and nowhere else inside a word).
function wrapAtUnderscores(text: string): Child[] {
  const nodes: Child[] = [];
  for (const part of text.split(/(?<=_)/)) {
    if (nodes.length) nodes.push(document.createElement("wbr"));
    nodes.push(part);
  }
  return nodes;
}

// "14:03:07" today, "Mar 4, 14:03" before.
function shortTime(when: Date, fallback: string): string {
  if (Number.isNaN(when.getTime())) return fallback;
  const today = new Date().toDateString() === when.toDateString();
  return today
    ? when.toLocaleTimeString(undefined, {
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hour12: false,
      })
    : when.toLocaleString(undefined, {
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        hour12: false,
      });
}

function deliveryRow(d: PageDelivery): HTMLTableRowElement {
  const when = new Date(d.at);
  return el("tr", {}, [
    el("td", { className: "time" }, [
      el("time", { text: shortTime(when, d.at), attrs: { datetime: d.at, title: d.at } }),
    ]),
    el("td", {}, wrapAtUnderscores(d.event)),
    el("td", {}, [el("code", { text: d.run_id })]),
    el("td", { text: String(d.attempt) + (d.final ? "" : " (more to come)") }),
    el("td", {}, [el("span", { className: "badge " + d.outcome, text: d.outcome })]),
    el("td", { text: d.status === undefined ? "—" : String(d.status) }),
    el("td", {}, wrapAtUnderscores(d.reason || d.error || "")),
  ]);
}

async function deliveries(): Promise<void> {
  if (!details) return;
  const rows = $("delivery-rows");
  rows.replaceChildren(emptyRow("Loading…"));
  const response = await api("GET", path(details.id, "/deliveries"));
  if (response.status !== 200 || !Array.isArray(response.data)) {
    rows.replaceChildren(emptyRow("Could not load the deliveries: " + problem(response).join("; ")));
    return;
  }
  if (response.data.length === 0) {
    rows.replaceChildren(emptyRow("No deliveries yet. The admin keeps the latest ones since it started."));
    return;
  }
  // The admin's own wire; test/admin/page.test.ts pins its type to PageDelivery.
  rows.replaceChildren(...(response.data as PageDelivery[]).map(deliveryRow));
}

// ----- token and tenant ----------------------------------------------------------------------------
$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token", HTMLInputElement).value.trim();
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lasts until the page reloads.
  }
  setStatus("");
  load().catch(quiet);
});

// The tenant is the request's, never a body's: changing it shows another list, so nothing of the old
// one stays open.
$("tenant-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("tenant", HTMLInputElement);
  tenant = input.value.trim();
  input.value = tenant;
  try {
    if (tenant) sessionStorage.setItem(TENANT_KEY, tenant);
    else sessionStorage.removeItem(TENANT_KEY);
  } catch {
    // Storage disabled: the tenant lasts until the page reloads.
  }
  if (editing) resetForm();
  if (details) closeDetails();
  setStatus("");
  load().catch(quiet);
});

$("token-forget").addEventListener("click", () => {
  token = "";
  $("token", HTMLInputElement).value = "";
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing kept.
  }
  hooks = [];
  loaded = false;
  setStatus("Token forgotten.");
  $("rows").replaceChildren(emptyRow("Enter the admin token above to see the webhooks."));
  $("token").focus();
});

resetForm();
load().catch(quiet);
