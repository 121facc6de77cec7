import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { createNotifier, type Notifier } from "../src/notifier.js";
import { isStoreError, isValidationError, type RunhooksError } from "../src/errors.js";
import { maskUrl } from "../src/webhooks/model.js";
import { memoryStore } from "../src/webhooks/store/memory.js";
import type { SubscriptionStore } from "../src/webhooks/store/types.js";

const SLACK = "https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX";
const TEAMS =
  "https://prod-01.westeurope.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers&sv=1.0&sig=SIGSECRET";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close();
});
function make(store?: SubscriptionStore): { notifier: Notifier; errors: RunhooksError[] } {
  const notifier = createNotifier(store ? { store } : {});
  notifiers.push(notifier);
  const errors: RunhooksError[] = [];
  notifier.on("error", (e) => errors.push(e));
  return { notifier, errors };
}

describe("masking", () => {
  it("masks URLs to scheme and host", () => {
    expect(maskUrl(SLACK)).toBe("https://hooks.slack.com/***");
    expect(maskUrl(TEAMS)).toBe("https://prod-01.westeurope.environment.api.powerplatform.com/***");
    expect(maskUrl("http://127.0.0.1:8080")).toBe("http://127.0.0.1:8080/");
    expect(maskUrl("http://127.0.0.1:8080/?q=1")).toBe("http://127.0.0.1:8080/***");
    expect(maskUrl("not a url")).toBe("***");
  });

  it("hands out webhooks whose fields, JSON and inspect output hide the URL, the secret and header values", async () => {
    const { notifier } = make();
    const created = await notifier.webhooks.create({
      name: "teams",
      url: TEAMS,
      format: "json",
      events: ["finished"],
      secret: SECRET,
      headers: { Authorization: "Bearer TOKENVALUE" },
    });
    const listed = await notifier.webhooks.list();
    const got = await notifier.webhooks.get(created.id);
    for (const webhook of [created, listed[0]!, got!]) {
      const outputs = [
        JSON.stringify(webhook),
        inspect(webhook, { depth: 5 }),
        webhook.url,
        JSON.stringify(listed),
      ];
      for (const text of outputs) {
        for (const secret of ["SIGSECRET", "powerautomate", SECRET, "TOKENVALUE", "MfKQ9r8"])
          expect(text).not.toContain(secret);
      }
      expect(webhook.url).toBe("https://prod-01.westeurope.environment.api.powerplatform.com/***");
      expect(webhook.headers).toEqual({ Authorization: "***" });
      expect(webhook.hasSecret).toBe(true);
      expect(webhook).not.toHaveProperty("secret");
    }
    expect(JSON.parse(JSON.stringify(created))).toMatchObject({
      id: created.id,
      name: "teams",
      hasSecret: true,
    });
  });

  it("gives the full values through reveal(), as a copy", async () => {
    const { notifier } = make();
    const created = await notifier.webhooks.create({
      name: "s",
      url: SLACK,
      format: "json",
      events: ["started"],
      secret: SECRET,
    });
    const full = created.reveal();
    expect(full).toMatchObject({ url: SLACK, secret: SECRET, global: false, enabled: true });
    full.url = "https://changed.example.com/";
    expect(created.reveal().url).toBe(SLACK);
    expect((await notifier.webhooks.get(created.id))?.reveal().url).toBe(SLACK);
  });

  it("returns frozen views: mutating one throws and never changes the store", async () => {
    const { notifier } = make();
    const created = await notifier.webhooks.create({
      name: "s",
      url: SLACK,
      format: "json",
      events: ["started"],
    });
    expect(() => {
      (created as { name: string }).name = "x";
    }).toThrow(TypeError);
    expect(() => {
      (created.events as string[]).push("failed");
    }).toThrow(TypeError);
    expect((await notifier.webhooks.get(created.id))?.name).toBe("s");
  });
});

describe("validation messages never echo a credential", () => {
  it("for a bad secret or header", async () => {
    const { notifier } = make();
    const bad = await notifier.webhooks
      .create({
        name: "s",
        url: SLACK,
        format: "json",
        events: ["started"],
        secret: "whsec_tooShortSECRETVALUE",
      })
      .catch((e: unknown) => e);
    expect(isValidationError(bad) && bad.field).toBe("webhook.secret");
    expect(String(bad)).not.toContain("SECRETVALUE");
    const header = await notifier.webhooks
      .create({
        name: "s",
        url: SLACK,
        format: "json",
        events: ["started"],
        headers: { "X-Token": "TOKEN\r\nInjected: 1" },
      })
      .catch((e: unknown) => e);
    expect(isValidationError(header) && header.field).toBe("webhook.headers.X-Token");
    expect(String(header)).not.toContain("TOKEN");
  });
});

describe("update", () => {
  it("changes only the given fields, clears optional ones with null, and bumps updatedAt", async () => {
    const { notifier } = make();
    const created = await notifier.webhooks.create({
      name: "s",
      url: SLACK,
      format: "json",
      events: ["started"],
      secret: SECRET,
      headers: { A: "1" },
      tenant: "acme",
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const updated = await notifier.webhooks.update(created.id, {
      secret: null,
      tenant: null,
      events: ["finished"],
      name: undefined,
    });
    expect(updated).toMatchObject({
      name: "s",
      events: ["finished"],
      hasSecret: false,
      headers: { A: "***" },
    });
    expect(updated?.reveal()).not.toHaveProperty("secret");
    expect(updated?.reveal()).not.toHaveProperty("tenant");
    expect(updated!.updatedAt > created.updatedAt).toBe(true);
    expect(updated!.createdAt).toBe(created.createdAt);
  });

  it("validates the patch and the format", async () => {
    const { notifier } = make();
    const created = await notifier.webhooks.create({
      name: "s",
      url: SLACK,
      format: "json",
      events: ["started"],
    });
    await expect(notifier.webhooks.update(created.id, { format: "nope" })).rejects.toThrow(
      /patch\.format: unknown format "nope"/,
    );
    await expect(notifier.webhooks.update(created.id, { events: [] })).rejects.toThrow(/patch\.events/);
    await expect(notifier.webhooks.update(created.id, { id: "x" } as never)).rejects.toThrow(
      /unknown field "id"/,
    );
    expect((await notifier.webhooks.get(created.id))?.events).toEqual(["started"]);
  });
});

describe("stores are outside code", () => {
  it("turns a throwing store into a StoreError, and garbage from get into a StoreError naming the record", async () => {
    const inner = memoryStore();
    const { notifier, errors } = make({
      ...inner,
      get: (id) => Promise.resolve(id === "garbage" ? ({ id, url: "ftp://x" } as never) : undefined),
      create: () => Promise.reject(new Error("disk full")),
      list: () => Promise.resolve([{ id: "bad-row" } as never]),
    });
    const created = await notifier.webhooks
      .create({ name: "s", url: SLACK, format: "json", events: ["started"] })
      .catch((e: unknown) => e);
    expect(isStoreError(created) && created.message).toBe(
      "Subscription store create failed: Error: disk full",
    );
    const got = await notifier.webhooks.get("garbage").catch((e: unknown) => e);
    expect(isStoreError(got) && got.message).toMatch(
      /^Subscription store get failed: returned an invalid webhook garbage: /,
    );
    expect(String(got)).not.toContain("ftp://x");
    expect(await notifier.webhooks.get("missing")).toBeUndefined();
    expect(await notifier.webhooks.list()).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/list failed: returned an invalid webhook bad-row: name/),
    ]);
  });

  it("treats null from get as not found", async () => {
    const { notifier } = make({ ...memoryStore(), get: () => Promise.resolve(null as never) });
    expect(await notifier.webhooks.get("x")).toBeUndefined();
  });
});
