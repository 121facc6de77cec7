import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../src/admin/index.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { TOKEN, adminsPerTest, schemaChecker } from "../helpers/admin.js";
import { createAdmin } from "../../src/admin/index.js";
import { createNotifier } from "../../src/notifier.js";

const { setup, defer } = adminsPerTest({ compat: "predator" });
const check = schemaChecker(
  buildOpenApiDocument({ formats: ["json", "slack", "teams", "discord"], compat: "predator" }),
);

const URL_ = "https://hooks.slack.com/services/T000/B000/SECRETPART";
const body = { name: "perf", url: URL_, events: ["started", "finished"], format_type: "slack", global: true };

describe("admin in Predator mode", () => {
  it("answers exactly Predator 1.7's fields, with the full URL, and leaves context_id out when there is none", async () => {
    const { call } = setup();
    const created = await call("POST", "/v1/webhooks", { ...body, enabled: false, id: "ignored" });
    expect(created.status).toBe(201);
    check("Webhook", created.body);
    expect(Object.keys(created.body as object)).toEqual([
      "id",
      "name",
      "url",
      "global",
      "format_type",
      "created_at",
      "updated_at",
      "events",
    ]);
    expect(created.body).toMatchObject({ url: URL_, global: true, format_type: "slack" });
    const tenanted = await call("POST", "/v1/webhooks", body, { "x-context-id": "acme" });
    expect(tenanted.body).toMatchObject({ context_id: "acme" });
    const list = await call("GET", "/v1/webhooks");
    for (const item of list.body as unknown[]) check("Webhook", item);
  });

  it("PUT updates what Predator's PUT updates, and keeps what Predator does not know", async () => {
    const { call, notifier } = setup();
    const id = ((await call("POST", "/v1/webhooks", body)).body as { id: string }).id;
    await notifier.webhooks.update(id, {
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      headers: { Authorization: "Bearer H" },
      enabled: false,
    });
    const got = (await call("GET", `/v1/webhooks/${id}`)).body as Record<string, unknown>;
    // What Predator's UI does on "edit": the GET's body, one field changed, read-only fields and all.
    const put = await call("PUT", `/v1/webhooks/${id}`, {
      ...got,
      name: "renamed",
      created_at: "1970-01-01",
    });
    expect(put.status).toBe(200);
    check("Webhook", put.body);
    expect(put.body).toMatchObject({ name: "renamed", global: true, created_at: got["created_at"] });
    // Predator's PUT leaves global as it is when the body has none.
    const { global: _g, ...withoutGlobal } = got;
    expect((await call("PUT", `/v1/webhooks/${id}`, withoutGlobal)).body).toMatchObject({ global: true });
    expect((await notifier.webhooks.get(id))!.reveal()).toMatchObject({
      url: URL_,
      secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      headers: { Authorization: "Bearer H" },
      enabled: false,
    });
  });

  it("words validation errors as Predator (AJV through express-ajv-swagger-validation) does", async () => {
    const { call } = setup();
    const cases: Array<[string, string, unknown, string[]]> = [
      [
        "POST",
        "/v1/webhooks",
        {},
        [
          "body should have required property 'name'",
          "body should have required property 'url'",
          "body should have required property 'events'",
          "body should have required property 'format_type'",
        ],
      ],
      ["POST", "/v1/webhooks", { ...body, name: 5 }, ["body/name should be string"]],
      ["POST", "/v1/webhooks", { ...body, global: "yes" }, ["body/global should be boolean"]],
      [
        "POST",
        "/v1/webhooks",
        { ...body, format_type: "fax" },
        ["body/format_type should be equal to one of the allowed values [slack,json,teams,discord]"],
      ],
      ["POST", "/v1/webhooks", { ...body, events: [] }, ["body/events should NOT have fewer than 1 items"]],
      [
        "POST",
        "/v1/webhooks",
        { ...body, events: ["started", "finished", "started"] },
        ["body/events should NOT have duplicate items (items ## 2 and 0 are identical)"],
      ],
      [
        "POST",
        "/v1/webhooks",
        { ...body, events: ["bad_value"] },
        [
          "body/events[0] should be equal to one of the allowed values [started,finished,in_progress,api_failure,failed,aborted,benchmark_passed,benchmark_failed]",
        ],
      ],
      ["POST", "/v1/webhooks", { ...body, url: "ftp://x.example/" }, ["body/url must use http: or https:"]],
      ["GET", "/v1/webhooks/lalallalalal", undefined, ['path/webhook_id should match format "uuid"']],
    ];
    for (const [method, path, payload, errors] of cases) {
      const answer = await call(method, path, payload);
      expect(answer, JSON.stringify(payload)).toMatchObject({
        status: 400,
        body: { message: "Input validation error", validation_errors: errors },
      });
      check("ValidationError", answer.body);
    }
  });

  it("sends Predator's test message and answers as Predator does, an error's message where no status came", async () => {
    const receiver = await startReceiver();
    defer(() => receiver.close());
    const { call } = setup();
    for (const format of ["json", "slack", "teams", "discord"]) {
      const answer = await call("POST", "/v1/webhooks/test", {
        ...body,
        url: `${receiver.url}/${format}`,
        format_type: format,
      });
      expect(answer.body).toEqual({ webhook_status_code: 200, is_successful: true });
      check("TestResponse", answer.body);
    }
    const bodies = receiver.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bodies[0]).toEqual({ greeting: "Hello From Predator! Wuff! Wuff!" });
    expect(bodies[1]).toMatchObject({ text: "Hello From Predator! Wuff! Wuff!", username: "Predator" });
    expect(JSON.stringify(bodies[2])).toContain('"type":"AdaptiveCard"');
    expect(JSON.stringify(bodies[2])).toContain("Hello From Predator! Wuff! Wuff!");
    expect(bodies[3]).toMatchObject({ content: "Hello From Predator! Wuff! Wuff!", username: "Predator" });
    const dead = await call("POST", "/v1/webhooks/test", {
      url: "http://127.0.0.1:1/x",
      format_type: "json",
    });
    expect(dead.status).toBe(200);
    expect(dead.body).toMatchObject({
      is_successful: false,
      webhook_status_code: expect.any(String) as string,
    });
    check("TestResponse", dead.body);
    expect(JSON.stringify(dead.body)).not.toContain("/x");
  });

  it("answers 500 with Predator's message, and runhooks' own wire to a client that asks for it", async () => {
    const store = memoryStore();
    const notifier = createNotifier({
      store: { ...store, list: () => Promise.reject(new Error("db down at postgres://u:p@h")) },
    });
    const admin = createAdmin(notifier, { compat: "predator", authorize: () => true });
    defer(() => notifier.close());
    defer(() => admin.close());
    const failed = await admin.fetch(new Request("http://a/v1/webhooks"));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ message: "Internal server error" });

    const { call } = setup();
    const native = { accept: "application/vnd.runhooks+json" };
    const created = await call(
      "POST",
      "/v1/webhooks",
      { ...body, format_type: "slack", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
      native,
    );
    expect(created.body).toMatchObject({
      url: "https://hooks.slack.com/***",
      has_secret: true,
      enabled: true,
    });
    const id = (created.body as { id: string }).id;
    expect((await call("GET", `/v1/webhooks/${id}`)).body).toMatchObject({ url: URL_ });
    expect((await call("GET", `/v1/webhooks/${id}`)).body).not.toHaveProperty("has_secret");
    expect(TOKEN).toBeTypeOf("string");
  });
});
