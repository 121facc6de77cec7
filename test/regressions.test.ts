import { afterEach, describe, expect, it, vi } from "vitest";
import { createEventBus } from "../src/bus.js";
import type { DeliveryReport } from "../src/delivery/types.js";
import { discordFormatter, escapeDiscord, type DiscordMessage } from "../src/formatters/discord.js";
import { slackFormatter, type SlackMessage } from "../src/formatters/slack.js";
import { createNotifier, type NotifierWarning } from "../src/notifier.js";
import type { RunEvent } from "../src/events.js";
import { sampleEvents } from "../src/testing/fixtures.js";
import { testContext } from "../src/testing/formatter-contract.js";
import { startReceiver } from "../src/testing/receiver.js";
import { sampleRecord } from "../src/testing/store-contract.js";
import { memoryStore } from "../src/webhooks/store/memory.js";
import { LOOPBACK } from "./helpers/loopback.js";
import { receiverHook } from "./helpers/webhooks.js";

// Each case here is a bug found in review, kept from coming back.
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe("listeners", () => {
  it("once and on with the same function each keep their own attachment", () => {
    const bus = createEventBus();
    const f = vi.fn();
    bus.on("started", f);
    const stopOnce = bus.once("started", f);
    bus.emit("started", { run: sampleEvents().started.run });
    bus.emit("started", { run: sampleEvents().started.run });
    expect(f).toHaveBeenCalledTimes(3);
    const g = vi.fn();
    bus.on("started", g);
    bus.once("started", g)();
    stopOnce();
    bus.emit("started", { run: sampleEvents().started.run });
    expect(g).toHaveBeenCalledTimes(1);
  });

  it("a listener that makes the run emit cannot put an event before the ones already on their way", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const seen: string[] = [];
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    notifier.bus.on("started", () => run.aborted("from a listener"));
    for (const name of ["started", "in_progress", "aborted"] as const)
      notifier.bus.on(name, (e) => seen.push(e.event));
    run.stats({ requests: 1 });
    expect(seen).toEqual(["started", "in_progress", "aborted"]);
  });

  it("events are frozen: a listener cannot change what webhooks receive", () => {
    const bus = createEventBus();
    bus.on("started", (event) => {
      (event.run as { name: string }).name = "MUTATED";
    });
    const errors: unknown[] = [];
    bus.on("error", (e) => errors.push(e));
    const event = bus.emit("started", { run: { id: "r", testId: "t", name: "original" } });
    expect(event.run.name).toBe("original");
    expect(errors).toHaveLength(1);
  });
});

describe("run tracker", () => {
  it("counts an error kind named like an Object.prototype member as a number", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const events: RunEvent[] = [];
    notifier.bus.on("finished", (e) => events.push(e));
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.stats({ errors: { constructor: 3, toString: 1 } });
    run.finished({ stats: { errors: { constructor: 2 } } });
    const finished = events[0];
    expect(finished?.event === "finished" && finished.stats.errors).toEqual({ constructor: 5, toString: 1 });
  });

  it("failed() with an error whose getters throw still emits", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    const nasty = Object.defineProperty({}, "message", {
      get() {
        throw new Error("gotcha");
      },
    });
    expect(() => run.failed(nasty)).not.toThrow();
    expect(run.ended).toBe(true);
  });
});

describe("delivery", () => {
  it("close() abandons an event whose webhook lookup was still running, and nothing is sent after", async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const inner = memoryStore();
    const store = {
      ...inner,
      list: async (f?: Parameters<typeof inner.list>[0]) => {
        await new Promise((r) => setTimeout(r, 300));
        return inner.list(f);
      },
    };
    const notifier = createNotifier({ network: LOOPBACK, store });
    const reports: DeliveryReport[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    await receiverHook(notifier, receiver, "x", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    const result = await notifier.close({ timeoutMs: 50 });
    expect(result.drained).toBe(false);
    expect(result.pending).toBe(1);
    expect(reports).toEqual([expect.objectContaining({ outcome: "abandoned", event: "started" })]);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.requests).toHaveLength(0);
    expect(reports).toHaveLength(1);
  });

  it.each([
    [{ rateLimits: { json: { perSecond: 0, burst: 1 } } }, /rateLimits\.json/],
    [{ retry: { minDelayMs: Number.POSITIVE_INFINITY } }, /retry\.minDelayMs/],
    [{ maxQueued: Number.NaN }, /maxQueued/],
  ])("rejects bad options when the notifier is created: %o", (options, message) => {
    expect(() => createNotifier(options)).toThrow(message);
  });
});

describe("formatters", () => {
  const withLink = (url: string): RunEvent => ({
    ...sampleEvents().finished,
    run: { ...sampleEvents().finished.run, links: [{ title: "Grafana", url }] },
  });

  it("encodes link URLs so Slack and Discord keep them whole", () => {
    const event = withLink("https://grafana.example/d/x?var-a=1|2&q=a b&c=(x)");
    const slack = slackFormatter().format(event, testContext({ links: event.run.links ?? [] }))
      .body as SlackMessage;
    const links = JSON.stringify(slack);
    expect(links).toContain("<https://grafana.example/d/x?var-a=1%7C2&amp;q=a%20b&amp;c=(x)|Grafana>");
    const discord = discordFormatter().format(event, testContext({ links: event.run.links ?? [] }))
      .body as DiscordMessage;
    expect(discord.embeds[0]?.fields.find((f) => f.name === "Links")?.value).toBe(
      "[Grafana](https://grafana.example/d/x?var-a=1|2&q=a%20b&c=%28x%29)",
    );
  });

  it("escapes numbered lists, deep headings and Discord subtext", () => {
    expect(escapeDiscord("1. smoke\n## big\n-# tiny")).toBe("1\\. smoke\n\\## big\n\\-# tiny");
  });

  it("keeps a Discord description within 4096 characters with its label", () => {
    const event = { ...sampleEvents().aborted, reason: "r".repeat(9000) };
    const body = discordFormatter().format(event, testContext()).body as DiscordMessage;
    expect(body.embeds[0]?.description?.length).toBeLessThanOrEqual(4096);
  });
});

describe("selection and stores", () => {
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
