import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createEventBus } from "../src/bus.js";
import { memoryQueue } from "../src/delivery/queue.js";
import type { WorkerContext } from "../src/delivery/queue.js";
import type { Delivery, DeliveryReport } from "../src/delivery/types.js";
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

/** A delivery for the queue tests: only the fields the queue reads, an in_progress on lane (w, r). */
function queued(fields: { id: string } & Record<string, unknown>): Delivery {
  return {
    webhookId: "w",
    runId: "r",
    event: "in_progress",
    terminal: false,
    deadlineAt: Number.MAX_SAFE_INTEGER,
    body: "{}",
    ...fields,
  } as unknown as Delivery;
}

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
  it("Retry-After: 0 does not cause a hot loop: the normal backoff applies and retries count", async () => {
    const receiver = await startReceiver({
      respond: () => ({ status: 503, headers: { "retry-after": "0" } }),
    });
    cleanup.push(() => receiver.close());
    const notifier = createNotifier({
      network: LOOPBACK,
      retry: { retries: 3, minDelayMs: 5, maxDelayMs: 10 },
    });
    cleanup.push(() => notifier.close({ timeoutMs: 500 }));
    await receiverHook(notifier, receiver, "x", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(4);
  });

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

  it("after a 410, deliveries already queued for that webhook are dropped, and it is disabled once", async () => {
    const receiver = await startReceiver({ respond: () => 410 });
    cleanup.push(() => receiver.close());
    const notifier = createNotifier({ network: LOOPBACK });
    cleanup.push(() => notifier.close({ timeoutMs: 500 }));
    const reports: DeliveryReport[] = [];
    const warnings: NotifierWarning[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    notifier.on("warning", (w) => warnings.push(w));
    await receiverHook(notifier, receiver, "x", { events: ["started", "api_failure", "finished"] });
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.stats({ codes: { "500": 1 } });
    run.finished();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(warnings.filter((w) => w.code === "webhook_disabled")).toHaveLength(1);
    expect(reports.map((r) => [r.event, r.outcome, r.reason])).toEqual([
      ["started", "failed", "gone"],
      ["api_failure", "dropped", "gone"],
      ["finished", "dropped", "gone"],
    ]);
  });

  it("the in-memory queue keeps no reference to deliveries it is done with", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const refs: Array<WeakRef<Delivery>> = [];
    const queue = memoryQueue(
      () => Promise.resolve(),
      () => undefined,
    );
    for (let i = 0; i < 2000; i++) {
      const delivery = queued({
        id: `d${i}`,
        webhookId: `w${i % 10}`,
        runId: `r${i}`,
        event: "started",
        body: "x".repeat(1000),
      });
      refs.push(new WeakRef(delivery));
      queue.enqueue(delivery);
    }
    await queue.drain();
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThan(100);
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

describe("queue memory with a stuck lane", () => {
  it("does not keep dropped deliveries queued behind a delivery that never ends", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const refs: Array<WeakRef<Delivery>> = [];
    let release: () => void = () => undefined;
    // The worker never finishes the head of the lane: a dead endpoint in backoff.
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const queue = memoryQueue(
      () => stuck,
      () => undefined,
      { maxQueued: 100 },
    );
    for (let i = 0; i < 5000; i++) {
      const delivery = queued({ id: `d${i}`, body: "x".repeat(1000) });
      refs.push(new WeakRef(delivery));
      queue.enqueue(delivery);
    }
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThan(400);
    release();
    queue.abandon();
  });
});

describe("the abort signal a queue hands its worker, made only when read", () => {
  // Each on its own lane, so that both run at once.
  const delivery = (id: string): Delivery => queued({ id, runId: id });

  it("tells a worker that never read it that its delivery was abandoned, and aborts one that did", async () => {
    const contexts: WorkerContext[] = [];
    const queue = memoryQueue(
      (_delivery, context) => {
        contexts.push(context);
        return new Promise<void>(() => undefined);
      },
      () => undefined,
    );
    queue.enqueue(delivery("a"));
    queue.enqueue(delivery("b"));
    await new Promise((r) => setImmediate(r));
    expect(contexts.map((c) => c.aborted)).toEqual([false, false]);
    const signal = contexts[1]?.signal;
    expect(signal?.aborted).toBe(false);
    queue.abandon();
    // "a" never read its signal: it is made aborted when read.
    expect(contexts[0]?.aborted).toBe(true);
    expect(contexts[0]?.signal.aborted).toBe(true);
    expect((contexts[0]?.signal.reason as Error).message).toBe("abandoned");
    // "b" read it before: that same signal is aborted.
    expect(signal?.aborted).toBe(true);
    expect(contexts[1]?.aborted).toBe(true);
  });

  it("ends a worker's sleep at once when its delivery is abandoned, without a signal", async () => {
    let slept: Promise<unknown> | undefined;
    const queue = memoryQueue(
      (_delivery, context) => {
        slept = context.sleep?.(60_000).then(
          () => "woke",
          (error: unknown) => (error as Error).message,
        );
        return new Promise<void>(() => undefined);
      },
      () => undefined,
    );
    queue.enqueue(delivery("a"));
    await new Promise((r) => setImmediate(r));
    expect(slept).toBeDefined();
    const started = performance.now();
    queue.abandon();
    expect(await slept).toBe("abandoned");
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("attempt slots of the in-memory queue (maxInFlight)", () => {
  // Each on its own lane: only the slots limit them.
  const delivery = (id: string): Delivery => queued({ id, webhookId: id });

  it("attempts at most maxInFlight deliveries at once, in order, and finishes them all", async () => {
    let open = 0;
    let most = 0;
    const started: string[] = [];
    const queue = memoryQueue(
      async (d) => {
        started.push(d.id);
        open += 1;
        most = Math.max(most, open);
        await new Promise((r) => setTimeout(r, 5));
        open -= 1;
      },
      () => undefined,
      { maxInFlight: 2 },
    );
    for (const id of ["a", "b", "c", "d", "e"]) queue.enqueue(delivery(id));
    await queue.drain();
    expect(most).toBe(2);
    expect(started).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("gives a sleeping delivery's slot to another until it wakes", async () => {
    const events: string[] = [];
    const queue = memoryQueue(
      async (d, context) => {
        events.push(`${d.id} start`);
        if (d.id === "a") {
          await context.sleep?.(30);
          events.push("a woke");
        }
        events.push(`${d.id} end`);
      },
      () => undefined,
      { maxInFlight: 1 },
    );
    queue.enqueue(delivery("a"));
    queue.enqueue(delivery("b"));
    await queue.drain();
    // With one slot, "b" could only run while "a" slept.
    expect(events).toEqual(["a start", "b start", "b end", "a woke", "a end"]);
  });

  it("drops a waiting lane's superseded head without running it, and the lane still ends", async () => {
    let finish: () => void = () => undefined;
    const started: string[] = [];
    const dropped: string[] = [];
    const queue = memoryQueue(
      (d) => {
        started.push(d.id);
        return d.id === "a" ? new Promise<void>((resolve) => (finish = resolve)) : Promise.resolve();
      },
      (d, reason) => dropped.push(`${d.id}:${reason}`),
      { maxInFlight: 1 },
    );
    queue.enqueue(queued({ id: "a", webhookId: "a" }));
    queue.enqueue(queued({ id: "b", webhookId: "b" }));
    await new Promise((r) => setImmediate(r));
    // "b" waits for the one slot; its run ends meanwhile, which supersedes it.
    queue.enqueue(queued({ id: "b-end", webhookId: "b", event: "finished", terminal: true }));
    expect(dropped).toEqual(["b:superseded"]);
    finish();
    await queue.drain();
    expect(started).toEqual(["a", "b-end"]);
    expect(queue.size).toBe(0);
  });

  it("never starts a lane that was waiting for a slot when the queue was abandoned", async () => {
    let finish: () => void = () => undefined;
    const started: string[] = [];
    const queue = memoryQueue(
      (d) => {
        started.push(d.id);
        return d.id === "a" ? new Promise<void>((resolve) => (finish = resolve)) : Promise.resolve();
      },
      () => undefined,
      { maxInFlight: 1 },
    );
    for (const id of ["a", "b", "c"]) queue.enqueue(queued({ id, webhookId: id }));
    await new Promise((r) => setImmediate(r));
    expect(queue.abandon().map((d) => d.id)).toEqual(["a", "b", "c"]);
    // The slot "a" held is handed down the old waiters, each giving it back; a new lane then gets it.
    finish();
    queue.enqueue(queued({ id: "d", webhookId: "d" }));
    await new Promise((r) => setImmediate(r));
    await queue.drain();
    expect(started).toEqual(["a", "d"]);
  });

  it("keeps a new lane's order when an abandoned lane of the same webhook and run gets its slot late", async () => {
    const open = new Map<string, () => void>();
    const started: string[] = [];
    const queue = memoryQueue(
      (d) => {
        started.push(d.id);
        return new Promise<void>((resolve) => open.set(d.id, resolve));
      },
      () => undefined,
      { maxInFlight: 2 },
    );
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    for (const id of ["a", "x", "b", "c"]) queue.enqueue(queued({ id, webhookId: id }));
    await tick();
    queue.abandon();
    // Same webhook and run as the abandoned "b", whose lane still waits for a slot.
    queue.enqueue(queued({ id: "b1", webhookId: "b" }));
    await tick();
    open.get("a")?.();
    open.get("x")?.();
    await tick();
    queue.enqueue(queued({ id: "b2", webhookId: "b" }));
    await tick();
    // One delivery at a time per lane: "b2" waits for "b1" although a slot is free.
    expect(started).toEqual(["a", "x", "b1"]);
    open.get("b1")?.();
    await tick();
    expect(started).toEqual(["a", "x", "b1", "b2"]);
    open.get("b2")?.();
    await queue.drain();
  });

  it("abandons exactly the deliveries still running, whatever order the others finished in", async () => {
    const open = new Map<string, () => void>();
    const contexts = new Map<string, WorkerContext>();
    const queue = memoryQueue(
      (d, context) => {
        contexts.set(d.id, context);
        return new Promise<void>((resolve) => open.set(d.id, resolve));
      },
      () => undefined,
      { maxInFlight: 8 },
    );
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    for (const id of ["a", "b", "c", "d", "e"]) queue.enqueue(queued({ id, webhookId: id }));
    await tick();
    for (const id of ["b", "a", "d"]) {
      open.get(id)?.();
      await tick();
    }
    expect(queue.size).toBe(2);
    expect(queue.abandon().map((d) => d.id)).toEqual(["c", "e"]);
    expect([...contexts].filter(([, c]) => c.aborted).map(([id]) => id)).toEqual(["c", "e"]);
    // Abandoned workers that end later leave the next deliveries' bookkeeping alone.
    queue.enqueue(queued({ id: "f", webhookId: "f" }));
    await tick();
    open.get("c")?.();
    open.get("e")?.();
    await tick();
    expect(queue.abandon().map((d) => d.id)).toEqual(["f"]);
  });

  it("rejects a maxInFlight that is not a whole number of 1 or more", () => {
    expect(() => createNotifier({ maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() =>
      memoryQueue(
        () => Promise.resolve(),
        () => undefined,
        { maxInFlight: 1.5 },
      ),
    ).toThrow(/maxInFlight/);
  });
});

describe("found in review of the performance work", () => {
  it("a terminal event supersedes every queued in_progress of its lane, however many", async () => {
    const dropped: string[] = [];
    const queue = memoryQueue(
      () => new Promise<void>(() => undefined),
      (d, reason) => dropped.push(`${d.id}:${reason}`),
    );
    queue.enqueue(queued({ id: "head" }));
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 20; i++) queue.enqueue(queued({ id: `p${i}` }));
    queue.enqueue(queued({ id: "end", event: "finished", terminal: true }));
    expect(dropped).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}:superseded`));
    queue.abandon();
  });

  it("a delivery whose bytes came back broken from a custom queue is sent from its text", async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const notifier = createNotifier({
      network: LOOPBACK,
      // A queue that stored the delivery as JSON: the encoded body comes back as a plain object.
      queue: (worker, onDrop) =>
        memoryQueue((delivery, context) => worker({ ...delivery, bytes: {} as Uint8Array }, context), onDrop),
    });
    cleanup.push(() => notifier.close());
    await receiverHook(notifier, receiver, "hook", {
      events: ["started"],
      secret: "whsec_" + Buffer.alloc(24, 7).toString("base64"),
    });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    expect((receiver.requests[0]?.json() as { type: string }).type).toBe("started");
    expect(notifier.stats().delivered).toBe(1);
  });
});
