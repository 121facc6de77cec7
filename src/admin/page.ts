import { EVENT_NAMES } from "../events.js";
import { BUILT_IN_FORMATS } from "../formatters/registry.js";
import { BODY, SCRIPT, STYLE, type BodySlot } from "./page/_assets.generated.js";
import type { PageConfig } from "./page/types.js";

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
 * Its markup, style and script are src/admin/page/page.html, page.css and client.ts, inlined at build
 * (scripts/build-admin-page.ts).
 *
 * @param basePath The admin's base path as its handler sees requests; always ends with "/". When a
 * framework strips a mount prefix first, the browser's path is longer and ends with it: the page then
 * resolves the API against its own address.
 */
export function adminPage(basePath: string): string {
  const config: PageConfig = { base: basePath, events: EVENT_NAMES, formats: BUILT_IN_FORMATS };
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
    `<style>\n${STYLE}</style>`,
    "</head>",
    "<body>",
    PAGE_BODY,
    // JSON with "<" escaped cannot close the script element, whatever the base path holds.
    `<script>const CONFIG = ${JSON.stringify(config).replace(/</g, "\\u003c")};\n${SCRIPT}</script>`,
    "</body>",
    "</html>",
  ].join("\n");
}

/** What fills each of page.html's slots: the lists of events and formats, which live in the code. */
const SLOTS: Record<BodySlot, string> = {
  "format-options": [
    ...BUILT_IN_FORMATS.map((name) => `<option value="${name}">${name}</option>`),
    '<option value="other">other…</option>',
  ].join(""),
  "event-checkboxes": EVENT_NAMES.map(
    (name) =>
      `<label class="check"><input type="checkbox" name="events" value="${name}"> <span>${name}</span></label>`,
  ).join(""),
  "event-options": EVENT_NAMES.map((name) => `<option value="${name}">${name}</option>`).join(""),
};

// The same for every base path: built once. BodySlot, generated from page.html, makes SLOTS name each
// of its markers (each appears once).
const PAGE_BODY = Object.entries(SLOTS).reduce(
  (html, [name, fill]) => html.replace(`<!--slot:${name}-->`, () => fill),
  BODY,
);
