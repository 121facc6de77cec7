/**
 * The admin page as a document: built from src/admin/page/ (issue 18), self-contained, its CONFIG safe
 * whatever the base path holds. The browser test (page.browser.test.ts) drives it in Chromium.
 */
import { readFileSync } from "node:fs";
import { describe, expect, expectTypeOf, it } from "vitest";
import { GENERATED_PATH, renderAdminPageAssets } from "../../scripts/build-admin-page.js";
import { EVENT_NAMES } from "../../src/events.js";
import { adminPage } from "../../src/admin/page.js";
import { SCRIPT } from "../../src/admin/page/_assets.generated.js";
import type { PageConfig, PageDelivery, PageWebhook } from "../../src/admin/page/types.js";
import type { DeliveryWire, WebhookWire } from "../../src/admin/wire.js";

describe("adminPage", () => {
  it("is built from the page's files as they are now (issue 18: regenerate with `npm run build:page`)", async () => {
    expect(
      readFileSync(GENERATED_PATH, "utf8") === (await renderAdminPageAssets()),
      "src/admin/page/_assets.generated.ts is stale: run `npm run build:page` and commit the result",
    ).toBe(true);
  });

  it("is one document: one inline style, one inline script, nothing loaded from anywhere", () => {
    const page = adminPage("/");
    expect(page.startsWith("<!doctype html>\n")).toBe(true);
    expect(page.match(/<style>/g)).toHaveLength(1);
    expect(page.match(/<\/style>/g)).toHaveLength(1);
    expect(page.match(/<script>/g)).toHaveLength(1);
    expect(page.match(/<\/script>/gi)).toHaveLength(1);
    expect(page).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*rel="stylesheet"|@import|url\(/i);
    expect(page).not.toMatch(/\s(src|href)="(?!#|data:)/);
    expect(page.endsWith(`${SCRIPT}</script>\n</body>\n</html>`)).toBe(true);
  });

  it("fills page.html's slots with the events and the built-in formats", () => {
    const page = adminPage("/");
    expect(page).not.toContain("<!--slot:");
    for (const name of EVENT_NAMES) {
      expect(page).toContain(`<input type="checkbox" name="events" value="${name}">`);
      expect(page).toContain(`<option value="${name}">${name}</option>`);
    }
    const formats = /<select id="f-format" name="format">\s*(.*?)\s*<\/select>/.exec(page)?.[1];
    expect(formats).toBe(
      '<option value="json">json</option><option value="slack">slack</option>' +
        '<option value="teams">teams</option><option value="discord">discord</option>' +
        '<option value="other">other…</option>',
    );
  });

  it("writes CONFIG as JSON with '<' escaped, so no base path can close the script element", () => {
    const basePath = "/x</script><script>alert(1)</script><!--/";
    const page = adminPage(basePath);
    const match = /<script>const CONFIG = (.*);\n/.exec(page);
    expect(match?.[1]).not.toContain("<");
    const config = JSON.parse(match?.[1] ?? "null") as PageConfig;
    expect(config).toEqual({
      base: basePath,
      events: [...EVENT_NAMES],
      formats: ["json", "slack", "teams", "discord"],
    });
    expect(page.match(/<\/script>/gi)).toHaveLength(1);
  });

  it("asks for runhooks' own wire and renders what the API sends as text only", () => {
    expect(SCRIPT).toContain('"application/vnd.runhooks+json, application/json"');
    expect(SCRIPT).toContain('"Bearer " + token');
    expect(SCRIPT).toContain("sessionStorage");
    expect(SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it("reads the API's answers with types the wire still fits", () => {
    // Checked by tsc (npm run typecheck); at run time there is nothing to see.
    expectTypeOf<WebhookWire>().toExtend<PageWebhook>();
    expectTypeOf<DeliveryWire>().toExtend<PageDelivery>();
  });
});
