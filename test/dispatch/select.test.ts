import { afterEach, describe, expect, it } from "vitest";
import { createNotifier, type NotifierWarning } from "../../src/notifier.js";
import { isStoreError } from "../../src/errors.js";
import { sampleRecord } from "../../src/testing/store-contract.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import type { SubscriptionStore } from "../../src/webhooks/store/types.js";
import { hook, receiverSetup } from "../helpers/notifier.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const setup = receiverSetup(cleanup);

describe("selection", () => {
  it("fires global webhooks for every run and ad hoc ones only for runs that name them, each once", async () => {
    const { receiver, notifier, warnings } = await setup();
    const global = await hook(notifier, receiver, "global");
    const adHoc = await hook(notifier, receiver, "adhoc", { global: false });
    notifier
      .run({ id: "a", testId: "t", name: "n", webhooks: [adHoc.id, global.id, "no-such-id"] })
      .started();
    notifier.run({ id: "b", testId: "t", name: "n" }).started();
    await notifier.flush();
    const seen = receiver.requests.map(
      (r) => `${r.path.split("?")[0]}:${(r.json() as { data: { run: { id: string } } }).data.run.id}`,
    );
    expect(seen.sort()).toEqual(["/adhoc:a", "/global:a", "/global:b"]);
    expect(warnings).toEqual([
      expect.objectContaining({ code: "unknown_webhook", runId: "a", webhookId: "no-such-id" }),
    ]);
    // Routing data stays out of the payload.
    expect(receiver.requests.every((r) => !r.body.includes("webhooks"))).toBe(true);
  });

  it("respects events, enabled and tenant", async () => {
    const { receiver, notifier } = await setup();
    await hook(notifier, receiver, "only-finished", { events: ["finished"] });
    await hook(notifier, receiver, "disabled", { enabled: false });
    await hook(notifier, receiver, "acme", { tenant: "acme" });
    await hook(notifier, receiver, "everyone");
    notifier.run({ id: "r1", testId: "t", name: "n", tenant: "acme" }).started();
    notifier.run({ id: "r2", testId: "t", name: "n", tenant: "other" }).started();
    notifier.run({ id: "r3", testId: "t", name: "n" }).finished();
    await notifier.flush();
    const seen = receiver.requests.map(
      (r) => `${r.path.split("?")[0]}:${(r.json() as { data: { run: { id: string } } }).data.run.id}`,
    );
    expect(seen.sort()).toEqual([
      "/acme:r1",
      "/everyone:r1",
      "/everyone:r2",
      "/everyone:r3",
      "/only-finished:r3",
    ]);
  });

  it("resolves webhooks when each event fires, so edits during a run apply to later events", async () => {
    const { receiver, notifier } = await setup();
    const webhook = await hook(notifier, receiver, "edited");
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    await notifier.flush();
    await notifier.webhooks.update(webhook.id, { events: ["finished"] });
    run.stats({ requests: 1 });
    run.finished();
    await notifier.flush();
    await notifier.webhooks.remove(webhook.id);
    notifier.run({ id: "r2", testId: "t", name: "n" }).finished();
    await notifier.flush();
    expect(receiver.requests.map((r) => (r.json() as { type: string }).type)).toEqual([
      "started",
      "finished",
    ]);
  });

  it("reports a store that throws or returns garbage, without affecting the runner or the other webhooks", async () => {
    const inner = memoryStore();
    let mode: "ok" | "throw" | "garbage" = "ok";
    const store: SubscriptionStore = {
      ...inner,
      async list(filter) {
        if (mode === "throw" && filter?.global) throw new Error("database is down");
        const rows = await inner.list(filter);
        return mode === "garbage" ? [...rows, { id: "bad", url: 42 } as never] : rows;
      },
    };
    const { receiver, notifier, errors } = await setup({ store });
    const adHoc = await hook(notifier, receiver, "adhoc", { global: false });
    const run = notifier.run({ id: "r", testId: "t", name: "n", webhooks: [adHoc.id] });
    mode = "throw";
    expect(() => run.started()).not.toThrow();
    await notifier.flush();
    mode = "garbage";
    run.finished();
    await notifier.flush();
    expect(receiver.requests.map((r) => (r.json() as { type: string }).type)).toEqual([
      "started",
      "finished",
    ]);
    expect(errors.every(isStoreError)).toBe(true);
    expect(errors.map((e) => e.message)).toEqual([
      "Subscription store list failed: Error: database is down",
      "Subscription store list failed: returned an invalid webhook bad: name: Invalid input: expected string, received undefined",
      "Subscription store list failed: returned an invalid webhook bad: name: Invalid input: expected string, received undefined",
    ]);
  });
});

describe("regressions", () => {
  // regression: b90c099 (a stored record is checked as on create: no content-type override)
  it("a record edited in the database to override content-type is refused", async () => {
    const record = sampleRecord({ global: true, headers: { "Content-Type": "text/plain" } });
    const store = { ...memoryStore(), list: () => Promise.resolve([record]) };
    const notifier = createNotifier({
      store,
      transport: {
        send: () => Promise.resolve({ status: 200, headers: {}, body: "" }),
        close: () => Promise.resolve(),
      },
    });
    cleanup.push(() => notifier.close());
    const errors: unknown[] = [];
    notifier.on("error", (e) => errors.push(e));
    await notifier.webhooks.list();
    expect(String(errors[0])).toMatch(/invalid webhook .*headers\.Content-Type/);
  });

  // regression: b90c099 (a run names only its own tenant's webhooks; another tenant's id is unknown)
  it("a run cannot name another tenant's webhook; unknown ids are reported once per run", async () => {
    const sent: string[] = [];
    const notifier = createNotifier({
      transport: {
        send: (r) => (sent.push(r.url.pathname), Promise.resolve({ status: 200, headers: {}, body: "" })),
        close: () => Promise.resolve(),
      },
    });
    cleanup.push(() => notifier.close());
    const warnings: NotifierWarning[] = [];
    notifier.on("warning", (w) => warnings.push(w));
    const acme = await notifier.webhooks.create({
      name: "acme",
      url: "https://example.com/acme",
      format: "json",
      events: ["started", "finished"],
      tenant: "acme",
    });
    const run = notifier.run({
      id: "r",
      testId: "t",
      name: "n",
      tenant: "other",
      webhooks: [acme.id, "missing"],
    });
    run.started();
    run.finished();
    await notifier.flush();
    expect(sent).toEqual([]);
    expect(warnings.map((w) => w.webhookId).sort()).toEqual([acme.id, "missing"].sort());
  });
});
