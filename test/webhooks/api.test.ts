import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { createNotifier, type Notifier } from "../../src/notifier.js";
import { isStoreError, isValidationError, type RunhooksError } from "../../src/errors.js";
import { maskUrl } from "../../src/webhooks/model.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import type { SubscriptionStore } from "../../src/webhooks/store/types.js";

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
    await expect(notifier.webhooks.update(created.id, { id: "x" })).rejects.toThrow(
      /patch\.id: is another webhook's id; ids cannot change/,
    );
    await expect(notifier.webhooks.update(created.id, { colour: "red" } as never)).rejects.toThrow(
      /unknown field "colour"/,
    );
    expect((await notifier.webhooks.get(created.id))?.events).toEqual(["started"]);
  });
});

describe("a masked value is never stored", () => {
  const full = {
    name: "s",
    url: SLACK,
    format: "json",
    events: ["started"] as const,
    secret: SECRET,
    headers: { Authorization: "Bearer HEADERSECRET", "X-Team": "perf" },
  };

  it("keeps the URL, headers and secret when an edited view is sent back whole", async () => {
    const { notifier } = make();
    const view = await notifier.webhooks.create(full);
    const updated = await notifier.webhooks.update(view.id, { ...view, name: "renamed" });
    expect(updated).toMatchObject({ name: "renamed", url: "https://hooks.slack.com/***", hasSecret: true });
    const record = (await notifier.webhooks.get(view.id))!.reveal();
    expect(record).toMatchObject({ name: "renamed", url: SLACK, secret: SECRET, headers: full.headers });
    // The same through JSON, as a client that serialised the view would send it.
    const json = JSON.parse(JSON.stringify(updated)) as Record<string, unknown>;
    await notifier.webhooks.update(view.id, { ...json, events: ["finished"] } as never);
    expect((await notifier.webhooks.get(view.id))!.reveal()).toMatchObject({
      url: SLACK,
      secret: SECRET,
      headers: full.headers,
      events: ["finished"],
    });
  });

  it("keeps each masked header value (names case-insensitively) and takes the new ones", async () => {
    const { notifier } = make();
    const view = await notifier.webhooks.create(full);
    await notifier.webhooks.update(view.id, {
      headers: { authorization: "***", "X-Team": "payments", "X-New": "1" },
    });
    expect((await notifier.webhooks.get(view.id))!.reveal().headers).toEqual({
      authorization: "Bearer HEADERSECRET",
      "X-Team": "payments",
      "X-New": "1",
    });
  });

  it("refuses masks on create, and masks that stand for nothing stored, naming the field; nothing changes", async () => {
    const { notifier } = make();
    await expect(notifier.webhooks.create({ ...full, url: "https://hooks.slack.com/***" })).rejects.toThrow(
      /webhook\.url: is a masked URL \(https:\/\/hooks\.slack\.com\/\*\*\*\)/,
    );
    await expect(notifier.webhooks.create({ ...full, headers: { Authorization: "***" } })).rejects.toThrow(
      /webhook\.headers\.Authorization: is masked/,
    );
    expect(await notifier.webhooks.list()).toEqual([]);

    const view = await notifier.webhooks.create(full);
    const before = (await notifier.webhooks.get(view.id))!.reveal();
    const problems = [
      [
        { url: "https://other.example.com/***" },
        /patch\.url: is a masked URL .* does not stand for this webhook's URL \(https:\/\/hooks\.slack\.com\/\*\*\*\)/,
      ],
      [
        { name: "x", headers: { "X-Missing": "***" } },
        /patch\.headers\.X-Missing: is masked .* no such header/,
      ],
    ] as const;
    for (const [patch, message] of problems) {
      const error = await notifier.webhooks.update(view.id, patch).catch((e: unknown) => e);
      expect(isValidationError(error) && error.message).toMatch(message);
      expect(String(error)).not.toContain("XXXXXXXX");
    }
    expect((await notifier.webhooks.get(view.id))!.reveal()).toEqual(before);
  });

  it("tests a masked URL as an error, not a request to it", async () => {
    const { notifier } = make();
    await expect(notifier.test({ url: "https://hooks.slack.com/***", format: "slack" })).rejects.toThrow(
      /is a masked URL/,
    );
  });
});

describe("URLs are written as RFC 3986 writes them", () => {
  it("refuses on create what the WHATWG parser would quietly re-encode, and still reads such a URL stored earlier", async () => {
    const store = memoryStore();
    const { notifier, errors } = make(store);
    for (const url of [
      "https://hooks.example.com/a b",
      "https://hooks.example.com/a|b",
      "https://hooks.example.com/%zz",
      "https://hooks.example.com/ä",
    ]) {
      await expect(
        notifier.webhooks.create({ name: "s", url, format: "json", events: ["started"] }),
      ).rejects.toThrow(/webhook\.url: must be a URI as RFC 3986 writes one/);
    }
    const ok = await notifier.webhooks.create({
      name: "s",
      url: "https://hooks.example.com/a%20b?x=%7C",
      format: "json",
      events: ["started"],
    });
    expect(ok.reveal().url).toBe("https://hooks.example.com/a%20b?x=%7C");
    // A record an earlier version stored, with a raw "|" in its query.
    await store.create({ ...ok.reveal(), id: "old", url: "https://hooks.example.com/x?a=1|2" });
    expect((await notifier.webhooks.get("old"))?.reveal().url).toBe("https://hooks.example.com/x?a=1|2");
    expect((await notifier.webhooks.list()).map((w) => w.id)).toContain("old");
    expect(errors).toEqual([]);
    // Editing its other fields keeps it; only a new URL has to be written properly.
    expect(await notifier.webhooks.update("old", { name: "renamed" })).toMatchObject({ name: "renamed" });
    const old = (await notifier.webhooks.get("old"))!.reveal();
    expect(await notifier.webhooks.update("old", { url: old.url, events: ["finished"] })).toBeDefined();
    await expect(
      notifier.webhooks.update("old", { url: "https://hooks.example.com/y?a=1|2" }),
    ).rejects.toThrow(/patch\.url: must be a URI as RFC 3986 writes one/);
  });
});

describe("scoped to a tenant", () => {
  it("get, update and remove treat another tenant's webhook, or one without a tenant, as missing", async () => {
    const { notifier } = make();
    const acme = await notifier.webhooks.create({
      name: "a",
      url: SLACK,
      format: "json",
      events: ["started"],
      tenant: "acme",
    });
    const none = await notifier.webhooks.create({
      name: "n",
      url: SLACK,
      format: "json",
      events: ["started"],
    });
    for (const hook of [acme, none]) {
      expect(await notifier.webhooks.get(hook.id, { tenant: "other" })).toBeUndefined();
      expect(await notifier.webhooks.update(hook.id, { name: "x" }, { tenant: "other" })).toBeUndefined();
      expect(await notifier.webhooks.remove(hook.id, { tenant: "other" })).toBe(false);
      expect((await notifier.webhooks.get(hook.id))?.name).toBe(hook.name);
    }
    expect(await notifier.webhooks.get(acme.id, { tenant: "acme" })).toMatchObject({ name: "a" });
    expect(await notifier.webhooks.update(acme.id, { name: "b" }, { tenant: "acme" })).toMatchObject({
      name: "b",
    });
    expect(await notifier.webhooks.remove(acme.id, { tenant: "acme" })).toBe(true);
    expect(await notifier.webhooks.get(none.id, {})).toMatchObject({ name: "n" });
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
