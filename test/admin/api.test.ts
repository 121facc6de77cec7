import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createAdmin, openApiDocument } from "../../src/admin/index.js";
import { createNotifier } from "../../src/notifier.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { TOKEN, adminsPerTest, schemaChecker, SLACK_URL, WEBHOOK_BODY } from "../helpers/admin.js";

const admins = adminsPerTest();
const defer = admins.defer;

// Every response is validated against the committed OpenAPI document.
const check = schemaChecker(openApiDocument);

const setup = (basePath?: string): ReturnType<typeof admins.setup> =>
  admins.setup(basePath === undefined ? {} : { basePath });

const input = WEBHOOK_BODY;

describe("admin REST API (Predator-compatible)", () => {
  it("creates (201), lists, gets, patches, puts and deletes (204), masking URLs and header values", async () => {
    const { call } = setup();
    const created = await call("POST", "/v1/webhooks", {
      ...input,
      headers: { Authorization: "Bearer HEADERSECRET" },
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    });
    expect(created.status).toBe(201);
    check("Webhook", created.body);
    const hook = created.body as {
      id: string;
      url: string;
      headers: Record<string, string>;
      has_secret: boolean;
    };
    expect(hook).toMatchObject({
      url: "https://hooks.slack.com/***",
      headers: { Authorization: "***" },
      has_secret: true,
      format_type: "slack",
      enabled: true,
    });
    const list = await call("GET", "/v1/webhooks");
    expect(list.status).toBe(200);
    for (const item of list.body as unknown[]) check("Webhook", item);
    expect(JSON.stringify(list.body)).not.toMatch(/SECRETPART|HEADERSECRET|MfKQ9r8/);
    expect((await call("GET", `/v1/webhooks/${hook.id}`)).body).toEqual(hook);

    const patched = await call("PATCH", `/v1/webhooks/${hook.id}`, { enabled: false, events: ["finished"] });
    expect(patched.status).toBe(200);
    check("Webhook", patched.body);
    expect(patched.body).toMatchObject({ enabled: false, events: ["finished"], has_secret: true });

    const put = await call("PUT", `/v1/webhooks/${hook.id}`, {
      name: "renamed",
      url: "https://example.com/new",
      format_type: "json",
      events: ["started"],
    });
    expect(put.status).toBe(200);
    check("Webhook", put.body);
    // PUT replaces: fields a GET shows and the body leaves out take their defaults (Predator's
    // semantics); the secret, which a GET never shows, is kept until set or cleared with null.
    expect(put.body).toMatchObject({
      name: "renamed",
      url: "https://example.com/***",
      global: false,
      enabled: true,
      has_secret: true,
    });
    expect(put.body).not.toHaveProperty("headers");
    const cleared = await call("PUT", `/v1/webhooks/${hook.id}`, { ...(put.body as object), secret: null });
    expect(cleared.body).toMatchObject({ name: "renamed", has_secret: false });

    expect((await call("DELETE", `/v1/webhooks/${hook.id}`)).status).toBe(204);
    const missing = await call("DELETE", `/v1/webhooks/${hook.id}`);
    expect(missing).toMatchObject({ status: 404, body: { message: "Not found" } });
    check("NotFound", missing.body);
    expect((await call("GET", `/v1/webhooks/${hook.id}`)).status).toBe(404);
  });

  it("answers validation errors in Predator's shape, naming the wire field", async () => {
    const { call } = setup();
    const cases: Array<[unknown, RegExp]> = [
      [{ ...input, events: [] }, /^body\.events /],
      [{ ...input, events: ["exploded"] }, /^body\.events\.0 /],
      [{ ...input, format_type: "fax" }, /^body\.format_type unknown format "fax"/],
      [{ ...input, url: "ftp://x.example.com/" }, /^body\.url /],
      [{ ...input, url: "http://169.254.169.254/" }, /^body\.url points at a linkLocal address/],
      [{ name: "x" }, /^body\.url /],
      [{ ...input, colour: "red" }, /^body has unknown fields: colour/],
    ];
    for (const [body, message] of cases) {
      const response = await call("POST", "/v1/webhooks", body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      check("ValidationError", response.body);
      expect((response.body as { validation_errors: string[] }).validation_errors[0]).toMatch(message);
    }
    expect(
      JSON.stringify(await call("POST", "/v1/webhooks", { ...input, url: `${SLACK_URL}?x`, events: [] })),
    ).not.toContain("SECRETPART");
  });

  it("answers bad requests with the right status and no stack trace", async () => {
    const { call } = setup();
    const malformed = await call("POST", "/v1/webhooks", "{not json");
    expect(malformed.status).toBe(400);
    check("ValidationError", malformed.body);
    expect(
      (await call("POST", "/v1/webhooks", JSON.stringify(input), { "content-type": "text/plain" })).status,
    ).toBe(415);
    expect((await call("POST", "/v1/webhooks", { ...input, name: "x".repeat(70_000) })).status).toBe(413);
    const traversal = await call("GET", "/v1/webhooks/..%2F..%2Fetc%2Fpasswd");
    expect(traversal.status).toBe(400);
    check("ValidationError", traversal.body);
    const notAllowed = await call("DELETE", "/v1/webhooks");
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get("allow")).toBe("GET, POST");
    expect((await call("GET", "/v2/things")).status).toBe(404);
    for (const response of [malformed, traversal, notAllowed])
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it("refuses everything without authorization, with no body detail", async () => {
    const { admin } = setup();
    for (const path of ["/", "/openapi.json", "/v1/webhooks"]) {
      const response = await admin.fetch(new Request(`http://admin.local${path}`));
      expect(response.status).toBe(401);
      expect(await response.text()).toBe("");
    }
    expect(() => createAdmin(createNotifier(), {} as never)).toThrow(/authorize is required/);
  });

  it("tests a URL (Predator's /test), reports deliveries, previews payloads", async () => {
    const receiver = await startReceiver({ respond: (_r, i) => (i === 0 ? 200 : 503) });
    defer(() => receiver.close());
    const { notifier, call } = setup();
    const ok = await call("POST", "/v1/webhooks/test", { url: `${receiver.url}/t`, format_type: "teams" });
    expect(ok).toMatchObject({ status: 200, body: { webhook_status_code: 200, is_successful: true } });
    check("TestResponse", ok.body);
    const failed = await call("POST", "/v1/webhooks/test", {
      url: `${receiver.url}/t`,
      format_type: "teams",
    });
    expect(failed.body).toMatchObject({ webhook_status_code: 503, is_successful: false });
    const dead = await call("POST", "/v1/webhooks/test", {
      url: "http://127.0.0.1:1/x",
      format_type: "json",
    });
    expect(dead.body).toMatchObject({ webhook_status_code: null, is_successful: false });
    check("TestResponse", dead.body);

    const hook = (
      await call("POST", "/v1/webhooks", { ...input, url: `${receiver.url}/h`, format_type: "json" })
    ).body as { id: string };
    notifier.run({ id: "run-9", testId: "t", name: "n" }).started();
    await notifier.flush();
    const deliveries = await call("GET", `/v1/webhooks/${hook.id}/deliveries`);
    expect(deliveries.status).toBe(200);
    expect(deliveries.body).toEqual([
      expect.objectContaining({
        event: "started",
        run_id: "run-9",
        outcome: "failed",
        status: 503,
        final: true,
      }),
    ]);
    for (const d of deliveries.body as unknown[]) check("Delivery", d);
    expect(JSON.stringify(deliveries.body)).not.toContain("/h");

    const preview = await call("POST", `/v1/webhooks/${hook.id}/preview`, { event: "benchmark_failed" });
    expect(preview.status).toBe(200);
    check("Preview", preview.body);
    expect(preview.body).toMatchObject({ format_type: "json", body: { type: "benchmark_failed" } });
    expect((await call("POST", `/v1/webhooks/${hook.id}/preview`, { event: "nope" })).status).toBe(400);
    expect((await call("GET", "/v1/webhooks/unknown-id/deliveries")).status).toBe(404);
  });

  it("serves the page and the OpenAPI document under a base path, and the committed docs/openapi.json matches", async () => {
    const { call, admin } = setup("/admin/hooks");
    const page = await admin.fetch(
      new Request("http://admin.local/admin/hooks/", { headers: { authorization: `Bearer ${TOKEN}` } }),
    );
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect((await call("GET", "/admin/hooks/openapi.json")).body).toEqual(openApiDocument);
    expect((await call("POST", "/admin/hooks/v1/webhooks", input)).status).toBe(201);
    expect((await call("GET", "/v1/webhooks")).status).toBe(404);
    expect(JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"))).toEqual(
      openApiDocument,
    );
  });

  it("works as a node:http listener", async () => {
    const { admin } = setup();
    const server: Server = createServer((req, res) => {
      admin.node(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    defer(() => new Promise((resolve) => server.close(resolve)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const created = await fetch(`${base}/v1/webhooks`, {
      method: "POST",
      headers,
      body: JSON.stringify(input),
    });
    expect(created.status).toBe(201);
    const big = await fetch(`${base}/v1/webhooks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ ...input, name: "y".repeat(100_000) }),
    });
    expect(big.status).toBe(413);
    const list = await fetch(`${base}/v1/webhooks`, { headers });
    expect(((await list.json()) as unknown[]).length).toBe(1);
    expect((await fetch(`${base}/v1/webhooks`)).status).toBe(401);
  });
});

describe("an open circuit on the wire (issue 19)", () => {
  it("shows a webhook's open circuit in the list and the webhook; the others have none, and it can be sent back", async () => {
    const notifier = createNotifier({
      transport: { send: () => Promise.reject(new Error("refused")), close: () => Promise.resolve() },
      circuitBreaker: { failures: 1 },
      retry: { retries: 0 },
    });
    const admin = createAdmin(notifier, { authorize: () => true });
    defer(async () => {
      admin.close();
      await notifier.close({ timeoutMs: 10 });
    });
    const get = async (path: string): Promise<unknown> =>
      (await admin.fetch(new Request(`http://admin.local${path}`))).json();
    const hook = { url: "https://hooks.example.com/x", format: "json", global: true } as const;
    const down = await notifier.webhooks.create({ ...hook, name: "down", events: ["started"] });
    const quiet = await notifier.webhooks.create({ ...hook, name: "quiet", events: ["finished"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(notifier.circuits()).toHaveLength(1);
    const list = (await get("/v1/webhooks")) as Array<{ id: string; circuit?: unknown }>;
    for (const item of list) check("Webhook", item);
    expect(list.find((w) => w.id === down.id)?.circuit).toMatchObject({ state: "open", failures: 1 });
    expect(list.find((w) => w.id === quiet.id)).not.toHaveProperty("circuit");
    const one = (await get(`/v1/webhooks/${down.id}`)) as Record<string, unknown>;
    check("Webhook", one);
    expect(one.circuit).toMatchObject({ state: "open" });
    // A body a GET returned goes back unchanged: the circuit is read-only and ignored.
    const put = await admin.fetch(
      new Request(`http://admin.local/v1/webhooks/${down.id}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...one, name: "renamed" }),
      }),
    );
    expect(put.status).toBe(200);
  });
});
