/**
 * Drives the admin page in a real browser: Debian's Chromium through playwright-core, against a real
 * node:http server running createAdmin() and a loopback webhook receiver. Every request the browser
 * makes must go to 127.0.0.1; anything else is blocked and fails the test.
 *
 * Needs Chromium at /usr/bin/chromium (CHROMIUM_PATH overrides). Without it these tests are skipped,
 * visibly, with the command that installs it; `.ci/run` installs it and fails on any such skip.
 * `UPDATE_SCREENSHOTS=1 npx vitest run test/admin/page.browser.test.ts` also rewrites
 * docs/images/admin-page.png.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAdmin, type Admin } from "../../src/admin/index.js";
import { EVENT_NAMES, createNotifier, type Notifier, type WebhookInput } from "../../src/index.js";
import { startReceiver, type TestReceiver } from "../../src/testing/index.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/chromium.js";

const TOKEN = "page-test-token";
const BASE_PATH = "/admin/hooks/";
const SCREENSHOT = fileURLToPath(new URL("../../docs/images/admin-page.png", import.meta.url));

let notifier: Notifier;
let admin: Admin;
let server: Server;
let receiver: TestReceiver;
let context: BrowserContext;
let origin: string;
/** Undone in reverse order after the tests, whatever got started. */
const cleanup: Array<() => unknown> = [];
const blocked: string[] = [];
const pageErrors: string[] = [];
/** Every API call any page made, with its Accept header. */
const apiCalls: Array<{ url: string; accept: string | undefined }> = [];

const isLoopback = (url: string): boolean =>
  url.startsWith("http://127.0.0.1:") || url.startsWith("data:") || url === "about:blank";

async function openPage(options: { header: "all" | "document"; url?: string }): Promise<Page> {
  const url = options.url ?? `${origin}${BASE_PATH}`;
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.includes("/v1/webhooks")) {
      apiCalls.push({ url: request.url(), accept: request.headers()["accept"] });
    }
  });
  page.on("console", (message) => {
    // 4xx answers log "Failed to load resource", which the page expects; a CSP violation does not.
    if (/Content Security Policy|Refused to/i.test(message.text())) pageErrors.push(message.text());
  });
  if (options.header === "all") {
    // The host's authorize is strict: the page itself needs the token too, like every API call.
    await page.setExtraHTTPHeaders({ authorization: `Bearer ${TOKEN}` });
  } else {
    // Only the document gets the header; the API calls carry whatever token the page sends.
    await page.route(url, (route) =>
      route.fallback({ headers: { ...route.request().headers(), authorization: `Bearer ${TOKEN}` } }),
    );
  }
  await page.goto(url);
  return page;
}

async function useToken(page: Page, token: string): Promise<void> {
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
}

async function useTenant(page: Page, tenant: string): Promise<void> {
  await page.getByLabel("Tenant (x-context-id)").fill(tenant);
  await page.getByRole("button", { name: "Use tenant" }).click();
}

const row = (page: Page, name: string) =>
  page.locator("#rows tr", { has: page.getByText(name, { exact: true }) });

async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? "";
}

const noChromium = existsSync(CHROMIUM)
  ? undefined
  : `needs Chromium at ${CHROMIUM}: install it (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH`;
if (noChromium !== undefined) {
  console.warn(`[skip] admin page in Chromium: ${noChromium}`);
  describe("admin page in Chromium", () => {
    it.skip(noChromium, () => undefined);
  });
}

describe.runIf(noChromium === undefined)("admin page in Chromium", { timeout: 60_000 }, () => {
  beforeAll(async () => {
    notifier = createNotifier({ network: { allowPrivate: true }, retry: { retries: 0 } });
    admin = createAdmin(notifier, {
      basePath: BASE_PATH,
      authorize: (request) => request.headers.get("authorization") === `Bearer ${TOKEN}`,
    });
    cleanup.push(
      () => notifier.close({ timeoutMs: 500 }),
      () => admin.close(),
    );
    server = createServer(admin.node);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    receiver = await startReceiver();
    cleanup.push(() => receiver.close());

    const userDataDir = mkdtempSync(join(tmpdir(), "runhooks-admin-chromium-"));
    cleanup.push(() => rmSync(userDataDir, { recursive: true, force: true }));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1024, height: 900 },
      deviceScaleFactor: 1,
      colorScheme: "light",
      locale: "en-US",
      timezoneId: "UTC",
    });
    cleanup.push(() => context.close());
    context.setDefaultTimeout(10_000);
    await context.route("**/*", async (route) => {
      const url = route.request().url();
      if (isLoopback(url)) {
        await route.fallback();
      } else {
        blocked.push(url);
        await route.abort("blockedbyclient");
      }
    });
  }, 60_000);

  afterAll(async () => {
    for (const undo of cleanup.splice(0).reverse()) await undo();
    expect(blocked, "requests to anything but 127.0.0.1").toEqual([]);
    expect(pageErrors, "page errors and CSP violations").toEqual([]);
    // runhooks' own wire, whatever the admin's compat: every API call asks for it.
    expect(apiCalls.length).toBeGreaterThan(0);
    expect(
      apiCalls.filter((call) => !call.accept?.includes("application/vnd.runhooks+json")),
      "API calls without Accept: application/vnd.runhooks+json",
    ).toEqual([]);
  }, 30_000);

  beforeEach(async () => {
    // Each test starts from an empty list, whatever an earlier one left behind.
    for (const webhook of await notifier.webhooks.list()) await notifier.webhooks.remove(webhook.id);
  });

  it("creates, lists, tests, previews, edits, shows deliveries of and deletes a webhook", async () => {
    const page = await openPage({ header: "all" });
    await useToken(page, TOKEN);
    await page.getByText("No webhooks yet").waitFor();

    // Create through the form.
    await page.getByLabel("Name", { exact: true }).fill("perf-team");
    await page.getByLabel("URL", { exact: true }).fill(`${receiver.url}/hook/SECRETPATH`);
    await page.getByLabel("Format", { exact: true }).selectOption("json");
    await page.getByRole("checkbox", { name: "started", exact: true }).check();
    await page.getByRole("checkbox", { name: "finished", exact: true }).check();
    await page.getByLabel("Global").check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    await row(page, "perf-team").waitFor();
    await expect.poll(() => textOf(page, "#status")).toBe("Created “perf-team”.");

    // Listed, with the masked URL only.
    const listed = (await row(page, "perf-team").innerText()).replace(/\s+/g, " ");
    expect(listed).toContain(`${receiver.url}/***`);
    expect(listed).toContain("json");
    expect(listed).toContain("started, finished");
    expect(listed).toContain("global");
    expect(await page.content()).not.toContain("SECRETPATH");
    const [hook] = await notifier.webhooks.list();
    expect(hook).toMatchObject({ name: "perf-team", format: "json", global: true, enabled: true });
    expect(hook?.events).toEqual(["started", "finished"]);

    // The API's validation messages show next to the form.
    await page.getByRole("button", { name: "New webhook" }).click();
    await page.getByLabel("Name", { exact: true }).fill("broken");
    await page.getByLabel("URL", { exact: true }).fill("ftp://example.com/x");
    await page.getByRole("checkbox", { name: "started", exact: true }).check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    await expect.poll(() => textOf(page, "#form-errors")).toMatch(/Input validation error.*body\.url/);
    expect(await page.getByLabel("URL", { exact: true }).getAttribute("aria-invalid")).toBe("true");

    // A row's Test opens the form on that webhook with the URL field focused; Send test delivers.
    await page.getByRole("button", { name: "Test perf-team" }).click();
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).toBe("f-url");
    expect(await textOf(page, "#form-errors")).toBe("");
    await page.getByLabel("URL", { exact: true }).fill(`${receiver.url}/test-target`);
    await page.getByRole("button", { name: "Send test" }).click();
    await expect.poll(() => textOf(page, "#test-result")).toBe("delivered (HTTP 200)");
    expect(receiver.requests.map((r) => r.path)).toEqual(["/test-target"]);

    // A test that fails says so.
    await page.getByLabel("URL", { exact: true }).fill("http://127.0.0.1:1/nothing-here");
    await page.getByRole("button", { name: "Send test" }).click();
    await expect.poll(() => textOf(page, "#test-result")).toMatch(/^failed: /);
    await page.getByRole("button", { name: "Cancel edit" }).click();

    // Preview: the JSON body, pretty-printed, and its size.
    await page.getByRole("button", { name: "Preview perf-team" }).click();
    await expect.poll(() => textOf(page, "#preview-body")).toContain('"type": "started"');
    await page.getByLabel("Event", { exact: true }).selectOption("finished");
    await page.getByRole("button", { name: "Show preview" }).click();
    await expect.poll(() => textOf(page, "#preview-body")).toContain('"type": "finished"');
    expect(await textOf(page, "#preview-meta")).toMatch(/as json for perf-team: [\d,]+ bytes/);
    expect(JSON.parse(await textOf(page, "#preview-body"))).toMatchObject({ type: "finished" });

    // Edit: PATCH sends only what changed; the URL left empty is kept.
    const patches: unknown[] = [];
    page.on("request", (request) => {
      if (request.method() === "PATCH") patches.push(request.postDataJSON());
    });
    await page.getByRole("button", { name: "Edit perf-team" }).click();
    expect(await page.getByLabel("URL", { exact: true }).inputValue()).toBe("");
    await page.getByRole("checkbox", { name: "in_progress", exact: true }).check();
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => textOf(page, "#status")).toBe("Saved “perf-team”.");
    expect(patches).toEqual([{ events: ["started", "in_progress", "finished"] }]);
    // (The delivery below proves the URL was kept: it still reaches /hook/SECRETPATH.)

    // The tenant field: the page's requests then carry x-context-id and see that tenant's webhooks only;
    // webhooks created then are that tenant's. Changing it closes what was open on the old list.
    await page.getByRole("button", { name: "Preview perf-team" }).click();
    await expect.poll(() => textOf(page, "#preview-body")).toContain('"type": "finished"');
    await page.getByRole("button", { name: "Edit perf-team" }).click();
    const tenantHeaders: Array<string | undefined> = [];
    page.on("request", (request) => {
      if (request.url().includes("/v1/webhooks")) tenantHeaders.push(request.headers()["x-context-id"]);
    });
    await useTenant(page, "payments");
    await page.getByText("No webhooks of tenant “payments” yet.").waitFor();
    expect(await row(page, "perf-team").count()).toBe(0);
    expect(await textOf(page, "#form-title")).toBe("New webhook");
    expect(await textOf(page, "#details-title")).toBe("Preview and deliveries");
    expect(await page.evaluate("sessionStorage.getItem('runhooks-admin-tenant')")).toBe("payments");
    await page.getByLabel("Name", { exact: true }).fill("payments-squad");
    await page.getByLabel("URL", { exact: true }).fill(`${receiver.url}/hook/payments`);
    await page.getByRole("checkbox", { name: "failed", exact: true }).check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    await expect.poll(() => textOf(page, "#status")).toBe("Created “payments-squad”.");
    await row(page, "payments-squad").waitFor();
    expect((await row(page, "payments-squad").innerText()).replace(/\s+/g, " ")).toContain(
      "tenant: payments",
    );
    expect(await page.locator("#rows tr").count()).toBe(1);
    const squad = (await notifier.webhooks.list()).find((w) => w.name === "payments-squad");
    expect(await notifier.webhooks.get(squad!.id)).toMatchObject({ tenant: "payments" });
    expect(tenantHeaders.length).toBeGreaterThanOrEqual(2); // the list and the POST, at least
    expect(tenantHeaders.every((header) => header === "payments")).toBe(true);
    // Cleared: every tenant's webhooks again, and no x-context-id.
    tenantHeaders.length = 0;
    await page.getByLabel("Tenant (x-context-id)").fill("");
    await page.getByLabel("Tenant (x-context-id)").press("Enter");
    await row(page, "perf-team").waitFor();
    await row(page, "payments-squad").waitFor();
    expect(tenantHeaders).toEqual([undefined]);
    expect(await page.evaluate("sessionStorage.getItem('runhooks-admin-tenant')")).toBeNull();
    // The run below fires perf-team only, which has no tenant.
    await notifier.webhooks.remove(squad!.id);
    await page.getByRole("button", { name: "Refresh", exact: true }).click();
    await expect.poll(() => row(page, "payments-squad").count()).toBe(0);

    // A real run: its delivery shows in the Deliveries table.
    notifier.run({ id: "run-browser-1", testId: "t-1", name: "checkout" }).started();
    await notifier.flush();
    await page.getByRole("button", { name: "Deliveries perf-team" }).click();
    const delivery = page.locator("#delivery-rows tr", { hasText: "run-browser-1" });
    await delivery.waitFor();
    const cells = await delivery.locator("td").allInnerTexts();
    expect(cells.slice(1)).toEqual(["started", "run-browser-1", "1", "delivered", "200", ""]);
    expect(receiver.requests.at(-1)?.path).toBe("/hook/SECRETPATH");

    // Delete, confirming the dialog.
    const dialogs: string[] = [];
    page.once("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await page.getByRole("button", { name: "Delete perf-team" }).click();
    await page.getByText("No webhooks yet").waitFor();
    expect(dialogs).toEqual(["Delete the webhook “perf-team”? This cannot be undone."]);
    await expect.poll(() => textOf(page, "#status")).toBe("Deleted “perf-team”.");
    expect(await notifier.webhooks.list()).toEqual([]);
    expect(await row(page, "perf-team").count()).toBe(0);
    await page.close();
  });

  it("marks a webhook whose circuit is open (issue 19)", async () => {
    const dead = await startReceiver();
    await dead.close();
    await notifier.webhooks.create({
      name: "down",
      url: `${dead.url}/down`,
      format: "json",
      events: ["started"],
      global: true,
    });
    await notifier.webhooks.create({
      name: "fine",
      url: `${receiver.url}/fine`,
      format: "json",
      events: ["finished"],
      global: true,
    });
    // No retries here: each run's started is one failed attempt; the default breaker opens at 10.
    for (let i = 0; i < 10; i++) notifier.run({ id: `circuit-${i}`, testId: "t", name: "n" }).started();
    await expect.poll(() => notifier.circuits().length).toBe(1);
    const page = await openPage({ header: "all" });
    const badge = row(page, "down").locator(".badge.circuit");
    await expect.poll(() => badge.textContent()).toBe("circuit open");
    expect(await badge.getAttribute("title")).toMatch(/^10 failed attempts in a row since /);
    expect(await row(page, "fine").locator(".badge.circuit").count()).toBe(0);
    await page.close();
  });

  it("sends the token it was given: a wrong one shows not authorized, the right one is kept for the tab", async () => {
    const page = await openPage({ header: "document" });
    // No token yet: the API answers 401.
    await expect.poll(() => textOf(page, "#status")).toBe("Not authorized: check the token");
    await useToken(page, "wrong-token");
    await expect.poll(() => textOf(page, "#status")).toBe("Not authorized: check the token");
    expect(await page.getByRole("status").first().isVisible()).toBe(true);

    await useToken(page, TOKEN);
    await page.getByText("No webhooks yet").waitFor();
    expect(await textOf(page, "#status")).toBe("");
    await page.reload();
    expect(await page.getByLabel("Admin token").inputValue()).toBe(TOKEN);
    await page.getByText("No webhooks yet").waitFor();
    await page.close();
  });

  it("works behind a framework that strips a mount prefix (Express's app.use, Hono's mount)", async () => {
    const mounted = createAdmin(notifier, {
      authorize: (request) => request.headers.get("authorization") === `Bearer ${TOKEN}`,
    });
    cleanup.push(() => mounted.close());
    // What app.use("/ops/hooks", admin.node) does: the admin sees the path without the prefix.
    const app = createServer((req, res) => {
      const url = req.url ?? "/";
      if (url !== "/ops/hooks" && !url.startsWith("/ops/hooks/")) {
        res.writeHead(404).end();
        return;
      }
      req.url = url.slice("/ops/hooks".length) || "/";
      mounted.node(req, res);
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          app.close(resolve);
          app.closeAllConnections();
        }),
    );
    const appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const calls: string[] = [];
    // Opened without the trailing slash, the way people type it.
    const page = await openPage({ header: "document", url: `${appOrigin}/ops/hooks` });
    page.on("request", (request) => calls.push(new URL(request.url()).pathname));
    await useToken(page, TOKEN);
    await page.getByText("No webhooks yet").waitFor();
    expect(calls).toContain("/ops/hooks/v1/webhooks");
    expect(await page.getByRole("link", { name: "OpenAPI document" }).getAttribute("href")).toBe(
      "/ops/hooks/openapi.json",
    );
    await page.close();
  });

  it("gets runhooks' own wire from an admin in Predator mode, and shows a 403's message", async () => {
    const predator = createAdmin(notifier, {
      compat: "predator",
      // TOKEN sees every tenant; "payments-token" is pinned to payments.
      authorize: (request) => {
        const authorization = request.headers.get("authorization");
        if (authorization === "Bearer payments-token") return { tenant: "payments" };
        return authorization === `Bearer ${TOKEN}`;
      },
    });
    cleanup.push(() => predator.close());
    const predatorServer = createServer(predator.node);
    await new Promise<void>((resolve) => predatorServer.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          predatorServer.close(resolve);
          predatorServer.closeAllConnections();
        }),
    );
    const predatorOrigin = `http://127.0.0.1:${(predatorServer.address() as AddressInfo).port}`;
    await notifier.webhooks.create({
      name: "predator-made",
      url: `${receiver.url}/hook/PREDATORSECRET`,
      format: "json",
      events: ["started"],
    });
    // Without the page's Accept header the API speaks Predator's wire: full URLs.
    const plain = await fetch(`${predatorOrigin}/v1/webhooks`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(JSON.stringify(await plain.json())).toContain("PREDATORSECRET");

    const page = await openPage({ header: "document", url: `${predatorOrigin}/` });
    await useToken(page, TOKEN);
    await row(page, "predator-made").waitFor();
    expect((await row(page, "predator-made").innerText()).replace(/\s+/g, " ")).toContain(
      `${receiver.url}/***`,
    );
    expect(await page.content()).not.toContain("PREDATORSECRET");
    await page.getByLabel("Name", { exact: true }).fill("page-made");
    await page.getByLabel("URL", { exact: true }).fill(`${receiver.url}/hook/page`);
    await page.getByRole("checkbox", { name: "finished", exact: true }).check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    await expect.poll(() => textOf(page, "#status")).toBe("Created “page-made”.");
    await row(page, "page-made").waitFor();
    expect((await notifier.webhooks.list()).find((w) => w.name === "page-made")).toMatchObject({
      format: "json",
      enabled: true,
      events: ["finished"],
    });

    // A token pinned to payments, with x-context-id naming another tenant: the server's 403 message.
    await useTenant(page, "other");
    await useToken(page, "payments-token");
    await expect
      .poll(() => textOf(page, "#status"))
      .toBe("Forbidden: x-context-id names another tenant than this request is authorized for");
    await page.getByText("Not allowed: see the message above.").waitFor();
    await page.close();
  });

  // Registered only when asked for, so that ordinary runs show no skipped test for it.
  if (process.env["UPDATE_SCREENSHOTS"] === "1")
    it("updates docs/images/admin-page.png", async () => {
      // Created oldest first, a moment apart: the list shows the most recently updated first, every time.
      const hooks: WebhookInput[] = [
        {
          name: "ci-pipeline",
          url: "https://ci.example.com/hooks/runhooks",
          format: "json",
          events: [...EVENT_NAMES],
          global: true,
          enabled: false,
          secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
        {
          name: "payments-squad",
          url: "https://example.webhook.office.com/webhookb2/abc",
          format: "teams",
          events: ["failed", "aborted", "benchmark_failed"],
          tenant: "payments",
          headers: { Authorization: "Bearer not-shown" },
        },
        {
          name: "perf-team",
          url: "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
          format: "slack",
          events: ["started", "finished", "benchmark_failed"],
          global: true,
        },
      ];
      for (const input of hooks) {
        await notifier.webhooks.create(input);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const page = await openPage({ header: "all" });
      await useToken(page, TOKEN);
      await row(page, "ci-pipeline").waitFor();
      await page.getByRole("button", { name: "Preview perf-team" }).click();
      await page.getByLabel("Event", { exact: true }).selectOption("finished");
      await page.getByRole("button", { name: "Show preview" }).click();
      await expect.poll(() => textOf(page, "#preview-meta")).toContain("“finished” as slack");
      await page.evaluate("document.activeElement && document.activeElement.blur()");
      writeFileSync(
        SCREENSHOT,
        await page.screenshot({ fullPage: true, animations: "disabled", caret: "hide" }),
      );
      await page.close();
    });
});
