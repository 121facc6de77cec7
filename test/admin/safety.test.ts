import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { request as httpRequest } from "node:http";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/admin/index.js";
import { TOKEN, adminsPerTest, schemaChecker, SLACK_URL, WEBHOOK_BODY } from "../helpers/admin.js";

const { setup, defer } = adminsPerTest();
const check = schemaChecker(openApiDocument);

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const input = WEBHOOK_BODY;

describe("admin: a masked value is never stored", () => {
  it("GET → edit one field → PUT keeps the real URL, headers and secret", async () => {
    const { call, notifier } = setup();
    const created = await call("POST", "/v1/webhooks", {
      ...input,
      secret: SECRET,
      headers: { Authorization: "Bearer HEADERSECRET" },
    });
    const id = (created.body as { id: string }).id;
    const got = (await call("GET", `/v1/webhooks/${id}`)).body as Record<string, unknown>;
    expect(got).toMatchObject({ url: "https://hooks.slack.com/***", headers: { Authorization: "***" } });

    const put = await call("PUT", `/v1/webhooks/${id}`, { ...got, name: "renamed" });
    expect(put.status).toBe(200);
    check("Webhook", put.body);
    const patch = await call("PATCH", `/v1/webhooks/${id}`, { ...got, events: ["finished"] });
    expect(patch.status).toBe(200);
    const record = (await notifier.webhooks.get(id))!.reveal();
    expect(record).toMatchObject({
      name: "perf", // PATCH sent the GET's name back
      url: SLACK_URL,
      secret: SECRET,
      headers: { Authorization: "Bearer HEADERSECRET" },
      events: ["finished"],
    });
  });

  it("refuses a masked value on create, naming the field; a refused update leaves the record as it was", async () => {
    const { call, notifier } = setup();
    const masked = await call("POST", "/v1/webhooks", { ...input, url: "https://hooks.slack.com/***" });
    expect(masked.status).toBe(400);
    check("ValidationError", masked.body);
    expect((masked.body as { validation_errors: string[] }).validation_errors).toEqual([
      "body.url is a masked URL (https://hooks.slack.com/***), as webhooks are shown; send the full URL",
    ]);
    const header = await call("POST", "/v1/webhooks", { ...input, headers: { "X-Key": "***" } });
    expect((header.body as { validation_errors: string[] }).validation_errors[0]).toMatch(
      /^body\.headers\.X-Key is masked/,
    );
    expect(await notifier.webhooks.list()).toEqual([]);

    const id = ((await call("POST", "/v1/webhooks", input)).body as { id: string }).id;
    const before = (await notifier.webhooks.get(id))!.reveal();
    for (const body of [
      { ...input, url: "https://elsewhere.example/***" },
      { ...input, events: [] },
      { ...input, name: "ok", headers: { "X-New": "***" } },
      { ...input, format_type: "fax" },
    ]) {
      const refused = await call("PUT", `/v1/webhooks/${id}`, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      check("ValidationError", refused.body);
      expect(JSON.stringify(refused.body)).not.toContain("SECRETPART");
    }
    expect((await notifier.webhooks.get(id))!.reveal()).toEqual(before);
  });
});

describe("admin: the tenant is the request's", () => {
  it("POST stores the x-context-id tenant and ignores a body's context_id", async () => {
    const { call, notifier } = setup();
    const acme = await call(
      "POST",
      "/v1/webhooks",
      { ...input, context_id: "other" },
      { "x-context-id": "acme" },
    );
    expect(acme.body).toMatchObject({ context_id: "acme" });
    const none = await call("POST", "/v1/webhooks", { ...input, context_id: "acme" });
    expect(none.body).not.toHaveProperty("context_id");
    expect((await notifier.webhooks.list()).map((w) => w.tenant).sort()).toEqual(["acme", undefined]);
    // Nor can an edit move a webhook to another tenant.
    const id = (acme.body as { id: string }).id;
    await call("PATCH", `/v1/webhooks/${id}`, { context_id: null }, { "x-context-id": "acme" });
    await call("PUT", `/v1/webhooks/${id}`, { ...input, context_id: "other" });
    expect((await notifier.webhooks.get(id))?.tenant).toBe("acme");
  });

  it("answers 404 for another tenant's webhook, or one without a tenant, on every route", async () => {
    const { call } = setup();
    const acme = (
      (await call("POST", "/v1/webhooks", input, { "x-context-id": "acme" })).body as { id: string }
    ).id;
    const none = ((await call("POST", "/v1/webhooks", input)).body as { id: string }).id;
    const other = { "x-context-id": "other" };
    for (const id of [acme, none]) {
      for (const [method, path, body] of [
        ["GET", `/v1/webhooks/${id}`, undefined],
        ["PUT", `/v1/webhooks/${id}`, input],
        ["PATCH", `/v1/webhooks/${id}`, { name: "taken" }],
        ["DELETE", `/v1/webhooks/${id}`, undefined],
        ["GET", `/v1/webhooks/${id}/deliveries`, undefined],
        ["POST", `/v1/webhooks/${id}/preview`, { event: "started" }],
      ] as const) {
        const answer = await call(method, path, body, other);
        expect(answer, `${method} ${path}`).toMatchObject({ status: 404, body: { message: "Not found" } });
      }
    }
    expect((await call("GET", "/v1/webhooks", undefined, other)).body).toEqual([]);
    const listed = (await call("GET", "/v1/webhooks", undefined, { "x-context-id": "acme" })).body as Array<{
      id: string;
    }>;
    expect(listed.map((w) => w.id)).toEqual([acme]);
    expect(((await call("GET", "/v1/webhooks")).body as unknown[]).length).toBe(2);
    expect((await call("GET", `/v1/webhooks/${acme}`)).status).toBe(200);
    expect((await call("GET", `/v1/webhooks/${none}`)).body).toMatchObject({ name: "perf" });
  });

  it("lets authorize() pin the tenant: the header cannot beat it (403), and without a header the pin applies", async () => {
    const { call, notifier } = setup({
      authorize: (request) => {
        const token = request.headers.get("authorization");
        if (token === "Bearer acme-token") return { tenant: "acme" };
        return token === `Bearer ${TOKEN}`;
      },
    });
    const asAcme = { authorization: "Bearer acme-token" };
    const created = await call("POST", "/v1/webhooks", input, asAcme);
    expect(created.body).toMatchObject({ context_id: "acme" });
    await notifier.webhooks.create({
      name: "b",
      url: SLACK_URL,
      format: "json",
      events: ["started"],
      tenant: "beta",
    });

    const forged = await call("GET", "/v1/webhooks", undefined, { ...asAcme, "x-context-id": "beta" });
    expect(forged).toMatchObject({
      status: 403,
      body: { message: expect.stringMatching(/^Forbidden/) as string },
    });
    const post = await call("POST", "/v1/webhooks", input, { ...asAcme, "x-context-id": "beta" });
    expect(post.status).toBe(403);
    expect(
      (await notifier.webhooks.list({ forTenant: "beta" })).filter((w) => w.tenant === "beta"),
    ).toHaveLength(1);
    expect((await call("GET", "/v1/webhooks", undefined, { ...asAcme, "x-context-id": "acme" })).status).toBe(
      200,
    );
    const list = (await call("GET", "/v1/webhooks", undefined, asAcme)).body as Array<{ context_id: string }>;
    expect(list.map((w) => w.context_id)).toEqual(["acme"]);
    // A malformed verdict is a refusal.
    const odd = setup({ authorize: () => ({ tenant: "" }) });
    expect((await odd.call("GET", "/v1/webhooks")).status).toBe(401);
  });
});

describe("admin: methods", () => {
  it("answers TRACE (which fetch cannot even build) 401 before authorization and 405 with Allow after", async () => {
    const { admin } = setup();
    const server = createServer(admin.node);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    defer(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    const send = (method: string, path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; allow: string | undefined }>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, method, path, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
        });
        req.on("error", reject);
        req.end();
      });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect(await send("TRACE", "/v1/webhooks")).toEqual({ status: 401, allow: undefined });
    expect(await send("TRACE", "/v1/webhooks", auth)).toEqual({ status: 405, allow: "GET, POST" });
    expect(await send("TRACE", "/", auth)).toEqual({ status: 405, allow: "GET" });
    expect(await send("PROPFIND", "/v1/webhooks/test", auth)).toEqual({ status: 405, allow: "POST" });
    expect(await send("OPTIONS", "/v1/webhooks/abc")).toEqual({ status: 401, allow: undefined });
    expect(await send("OPTIONS", "/v1/webhooks/abc", auth)).toEqual({
      status: 405,
      allow: "GET, PUT, PATCH, DELETE",
    });
  });
});
