import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { httpTransport } from "../../src/delivery/http-transport.js";
import { memoryQueue, type WorkerContext } from "../../src/delivery/queue.js";
import type { Delivery, DeliveryReport } from "../../src/delivery/types.js";
import { EVENT_NAMES, type EventName } from "../../src/events.js";
import { createNotifier } from "../../src/notifier.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { FAST, receiverSetup } from "../helpers/notifier.js";
import { receiverHook as hook } from "../helpers/webhooks.js";

// The queue's own tests: memoryQueue() with stub workers, then its lanes, deadlines, supersession and
// bound through a notifier on real loopback receivers.
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
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

const setup = receiverSetup(cleanup, { retry: FAST }, 2000);

const typeOf = (r: { json(): unknown }): EventName => (r.json() as { type: EventName }).type;

describe("ordering and independence", () => {
  it("a target that fails started twice still gets started → in_progress → finished in order; another target gets them meanwhile", async () => {
    let aStarted = 0;
    const a = await startReceiver({
      respond: (r) => (typeOf(r) === "started" && aStarted++ < 2 ? 503 : 200),
    });
    cleanup.push(() => a.close());
    const { receiver: b, notifier } = await setup({
      retry: { retries: 5, minDelayMs: 150, maxDelayMs: 150 },
    });
    await hook(notifier, a, "a");
    await hook(notifier, b, "b");
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.stats({ requests: 1 });
    // B is done with both while A is still retrying started.
    await b.waitFor(2);
    expect(a.requests.filter((r) => typeOf(r) !== "started")).toEqual([]);
    await a.waitFor(4); // 2 failed started, started, in_progress
    run.finished();
    await notifier.flush();
    const delivered = a.requests.slice(2).map(typeOf);
    expect(delivered).toEqual(["started", "in_progress", "finished"]);
    expect(b.requests.map(typeOf)).toEqual(["started", "in_progress", "finished"]);
  });

  it("a dead endpoint never delays another", async () => {
    const { receiver, notifier } = await setup({
      transport: httpTransport({ timeoutMs: 5000, network: LOOPBACK }),
      retry: { retries: 0 },
    });
    const dead = await startReceiver({ respond: () => new Promise(() => undefined) });
    cleanup.push(() => dead.close());
    await hook(notifier, dead, "dead");
    await hook(notifier, receiver, "live");
    const started = Date.now();
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.finished();
    await receiver.waitFor(2, 2000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("supersedes an in_progress that never went out once a terminal event is queued", async () => {
    const { receiver, notifier, reports } = await setup(
      { retry: { retries: 3, minDelayMs: 50, maxDelayMs: 50 } },
      { respond: (_r, i) => (i === 0 ? 503 : 200) },
    );
    await hook(notifier, receiver, "x");
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.stats({ requests: 1 });
    run.aborted("stop");
    await notifier.flush();
    expect(receiver.requests.slice(1).map(typeOf)).toEqual(["started", "aborted"]);
    expect(reports.filter((r) => r.outcome === "dropped")).toEqual([
      expect.objectContaining({ event: "in_progress", reason: "superseded" }),
    ]);
  });

  it("drops a delivery past its event's deadline and reports it stale", async () => {
    const { receiver, notifier, reports } = await setup(
      { deadlines: { in_progress: 100 }, retry: { retries: 3, minDelayMs: 150, maxDelayMs: 150 } },
      { respond: (_r, i) => (i === 0 ? 503 : 200) },
    );
    await hook(notifier, receiver, "x");
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.stats({ requests: 1 });
    await notifier.flush();
    expect(receiver.requests.map(typeOf)).toEqual(["started", "started"]);
    expect(reports.filter((r) => r.outcome === "dropped")).toEqual([
      expect.objectContaining({ event: "in_progress", reason: "stale" }),
    ]);
  });
});

describe("bounded memory", () => {
  it("with a dead endpoint and a cap of 20, the queue never holds more than 20 and every drop is reported", async () => {
    const dead = await startReceiver();
    await dead.close();
    const notifier = createNotifier({
      network: LOOPBACK,
      maxQueued: 20,
      retry: { retries: 1000, minDelayMs: 1000, maxDelayMs: 1000 },
    });
    cleanup.push(() => notifier.close({ timeoutMs: 50 }));
    const reports: DeliveryReport[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    await notifier.webhooks.create({
      name: "d",
      url: `${dead.url}/d`,
      format: "json",
      events: [...EVENT_NAMES],
      global: true,
    });
    let maxQueued = 0;
    for (let i = 0; i < 200; i++) {
      const run = notifier.run({ id: `run-${i}`, testId: "t", name: "n" });
      run.started();
      run.stats({ requests: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      // Waiting and being retried together: every run here is new, so each adds a retrying lane.
      maxQueued = Math.max(maxQueued, notifier.stats().queued + notifier.stats().inFlight);
    }
    expect(maxQueued).toBeLessThanOrEqual(20);
    const dropped = reports.filter((r) => r.outcome === "dropped" && r.reason === "overflow");
    expect(dropped.length).toBeGreaterThan(100);
    expect(notifier.stats().dropped).toBe(dropped.length);
    // Nothing terminal was queued here: every drop is a started or an in_progress.
    expect(dropped.every((r) => r.event === "started" || r.event === "in_progress")).toBe(true);
    const result = await notifier.close({ timeoutMs: 50 });
    expect(result.drained).toBe(false);
    expect(reports.filter((r) => r.outcome === "abandoned").length).toBe(result.pending);
  });
});

describe("a shared capacity (issue 19)", () => {
  /**
   * A queue of `maxQueued` in front of two kinds of endpoint, on a fake clock: "dead…" deliveries wait out a
   * 1 s backoff through the context forever (until taken back); "live" ones take 5 ms to send, holding
   * their attempt slot, as a request does.
   */
  function deadAndLive(maxQueued: number) {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const dropped: Array<{ webhookId: string; reason: string }> = [];
    const sent: string[] = [];
    let deadStopped = 0;
    let deadStarted = 0;
    const queue = memoryQueue(
      async (delivery, context) => {
        if (delivery.webhookId.startsWith("dead")) {
          deadStarted += 1;
          try {
            for (;;) await context.sleep(1000);
          } catch {
            deadStopped += 1;
            expect(context.aborted).toBe(true);
          }
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
        sent.push(delivery.id);
      },
      (delivery, reason) => dropped.push({ webhookId: delivery.webhookId, reason }),
      { maxQueued },
    );
    return { queue, dropped, sent, deadStopped: () => deadStopped, deadStarted: () => deadStarted };
  }

  it("a healthy webhook beside a dead one loses nothing; the dead one's backing-off deliveries are taken back, each reported", async () => {
    const { queue, dropped, sent, deadStopped, deadStarted } = deadAndLive(100);
    const rounds = 2000;
    let most = 0;
    for (let i = 0; i < rounds; i++) {
      // A new run per round: every dead delivery starts its own lane and backs off at its head. The
      // live one is queued first: while the queue is full, it is the oldest delivery waiting.
      queue.enqueue([queued({ id: `live-${i}`, webhookId: "live", runId: `r${i}` })], "e");
      queue.enqueue([queued({ id: `dead-${i}`, webhookId: "dead", runId: `r${i}` })], "e");
      await vi.advanceTimersByTimeAsync(1);
      most = Math.max(most, queue.size);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(most).toBeLessThanOrEqual(100);
    expect(sent).toHaveLength(rounds);
    expect(dropped.every((d) => d.webhookId === "dead" && d.reason === "overflow")).toBe(true);
    // Every dead delivery but those still held was taken back and reported; each one that had started
    // (and was backing off) had its worker stopped. While live deliveries leave room as fast as they
    // come, the one taken back is the dead webhook's newest, still waiting and unsent.
    expect(dropped.length).toBe(rounds - queue.size);
    expect(deadStarted() - deadStopped()).toBe(queue.size);
    expect(dropped.length - deadStopped()).toBe(rounds - deadStarted());

    // A burst of live deliveries into a queue full of dead ones backing off, none waiting: those are
    // what gets taken back, oldest first, and their workers stop.
    const stopped = deadStopped();
    const reported = dropped.length;
    const taken = 50 - (100 - queue.size);
    for (let i = 0; i < 50; i++)
      queue.enqueue([queued({ id: `burst-${i}`, webhookId: "live", runId: `b${i}` })], "e");
    await vi.advanceTimersByTimeAsync(0);
    expect(taken).toBeGreaterThan(40);
    expect(deadStopped() - stopped).toBe(taken);
    expect(dropped.slice(reported)).toEqual(Array(taken).fill({ webhookId: "dead", reason: "overflow" }));
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toHaveLength(rounds + 50);
    queue.abandon();
  });

  it("takes back from the webhook holding the most, waiting or backing off, and leaves the others whole", async () => {
    const { queue, dropped } = deadAndLive(30);
    // Three dead webhooks' deliveries, all backing off: 20 of one, 8 of another, then a third's 10.
    for (let i = 0; i < 20; i++)
      queue.enqueue([queued({ id: `a${i}`, webhookId: "dead", runId: `a${i}` })], "e");
    await vi.advanceTimersByTimeAsync(1);
    for (let i = 0; i < 8; i++)
      queue.enqueue([queued({ id: `b${i}`, webhookId: "dead-b", runId: `b${i}` })], "e");
    await vi.advanceTimersByTimeAsync(1);
    for (let i = 0; i < 10; i++)
      queue.enqueue([queued({ id: `c${i}`, webhookId: "dead-c", runId: `c${i}` })], "e");
    await vi.advanceTimersByTimeAsync(1);
    expect(queue.size).toBe(30);
    // 38 queued into 30: the 8 taken back are all the heaviest webhook's.
    expect(dropped).toHaveLength(8);
    expect(dropped.every((d) => d.webhookId === "dead")).toBe(true);
    queue.abandon();
  });

  it("takes the oldest delivery of a non-terminal event first, and an outcome only when there is no other", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const dropped: string[] = [];
    // Nothing is ever attempted: one slot, held by a delivery that never ends.
    const queue = memoryQueue(
      () => new Promise<void>(() => undefined),
      (delivery) => dropped.push(delivery.id),
      { maxQueued: 4, maxInFlight: 1 },
    );
    queue.enqueue([queued({ id: "blocker", webhookId: "other" })], "e");
    await vi.advanceTimersByTimeAsync(0);
    queue.enqueue([queued({ id: "f1", event: "finished", terminal: true, runId: "r1" })], "e");
    queue.enqueue([queued({ id: "p1", runId: "r2" })], "e");
    queue.enqueue([queued({ id: "p2", runId: "r3" })], "e");
    queue.enqueue([queued({ id: "p3", runId: "r4" })], "e");
    queue.enqueue([queued({ id: "f2", event: "finished", terminal: true, runId: "r5" })], "e");
    queue.enqueue([queued({ id: "f3", event: "finished", terminal: true, runId: "r6" })], "e");
    expect(dropped).toEqual(["p1", "p2", "p3"]);
    queue.enqueue([queued({ id: "f4", event: "finished", terminal: true, runId: "r7" })], "e");
    expect(dropped).toEqual(["p1", "p2", "p3", "f1"]);
    queue.abandon();
  });
});

describe("memory held by the in-memory queue", () => {
  // Regression from b90c099 (review fixes: queue memory).
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
      queue.enqueue([delivery], "e");
    }
    await queue.drain();
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThan(100);
  });
  // Regression from e1188a6 (dropped deliveries kept a lane stuck behind a retrying head).
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
      queue.enqueue([delivery], "e");
    }
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThan(400);
    release();
    queue.abandon();
  });
});

describe("the context a queue hands its worker (aborted, sleep)", () => {
  // Each on its own lane, so that both run at once.
  const delivery = (id: string): Delivery => queued({ id, runId: id });

  // From 72f34d9 (the worker's abort state without an AbortSignal). Issue 18 removed
  // WorkerContext.signal: what the signal told a worker, `aborted` and a `sleep` that rejects tell it now.
  it("tells every running worker that its delivery was abandoned, and a sleep after that rejects at once", async () => {
    const contexts: WorkerContext[] = [];
    const queue = memoryQueue(
      (_delivery, context) => {
        contexts.push(context);
        return new Promise<void>(() => undefined);
      },
      () => undefined,
    );
    queue.enqueue([delivery("a")], "e");
    queue.enqueue([delivery("b")], "e");
    await new Promise((r) => setImmediate(r));
    expect(contexts.map((c) => c.aborted)).toEqual([false, false]);
    queue.abandon();
    expect(contexts.map((c) => c.aborted)).toEqual([true, true]);
    const started = performance.now();
    for (const context of contexts) await expect(context.sleep(60_000)).rejects.toThrow(/^abandoned$/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  // Regression from eafc545 (backoff and rate-limit waits through the queue's own abortable sleep).
  it("ends a worker's sleep at once when its delivery is abandoned, without a signal", async () => {
    let slept: Promise<unknown> | undefined;
    const queue = memoryQueue(
      (_delivery, context) => {
        slept = context.sleep(60_000).then(
          () => "woke",
          (error: unknown) => (error as Error).message,
        );
        return new Promise<void>(() => undefined);
      },
      () => undefined,
    );
    queue.enqueue([delivery("a")], "e");
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

  // From 156e2cb (maxInFlight: attempts at once across all webhooks).
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
    for (const id of ["a", "b", "c", "d", "e"]) queue.enqueue([delivery(id)], "e");
    await queue.drain();
    expect(most).toBe(2);
    expect(started).toEqual(["a", "b", "c", "d", "e"]);
  });

  // From 156e2cb (a delivery waiting out a backoff gives up its slot).
  it("gives a sleeping delivery's slot to another until it wakes", async () => {
    const events: string[] = [];
    const queue = memoryQueue(
      async (d, context) => {
        events.push(`${d.id} start`);
        if (d.id === "a") {
          await context.sleep(30);
          events.push("a woke");
        }
        events.push(`${d.id} end`);
      },
      () => undefined,
      { maxInFlight: 1 },
    );
    queue.enqueue([delivery("a")], "e");
    queue.enqueue([delivery("b")], "e");
    await queue.drain();
    // With one slot, "b" could only run while "a" slept.
    expect(events).toEqual(["a start", "b start", "b end", "a woke", "a end"]);
  });

  // From b851577 (lanes waiting for an attempt slot: a head superseded while waiting).
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
    queue.enqueue([queued({ id: "a", webhookId: "a" })], "e");
    queue.enqueue([queued({ id: "b", webhookId: "b" })], "e");
    await new Promise((r) => setImmediate(r));
    // "b" waits for the one slot; its run ends meanwhile, which supersedes it.
    queue.enqueue([queued({ id: "b-end", webhookId: "b", event: "finished", terminal: true })], "e");
    expect(dropped).toEqual(["b:superseded"]);
    finish();
    await queue.drain();
    expect(started).toEqual(["a", "b-end"]);
    expect(queue.size).toBe(0);
  });

  // From b851577 (lanes waiting for an attempt slot: a queue abandoned while they wait).
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
    for (const id of ["a", "b", "c"]) queue.enqueue([queued({ id, webhookId: id })], "e");
    await new Promise((r) => setImmediate(r));
    expect(queue.abandon().map((d) => d.id)).toEqual(["a", "b", "c"]);
    // The slot "a" held is handed down the old waiters, each giving it back; a new lane then gets it.
    finish();
    queue.enqueue([queued({ id: "d", webhookId: "d" })], "e");
    await new Promise((r) => setImmediate(r));
    await queue.drain();
    expect(started).toEqual(["a", "d"]);
  });

  // From b851577 (an abandoned lane whose late slot must not end a new lane).
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
    for (const id of ["a", "x", "b", "c"]) queue.enqueue([queued({ id, webhookId: id })], "e");
    await tick();
    queue.abandon();
    // Same webhook and run as the abandoned "b", whose lane still waits for a slot.
    queue.enqueue([queued({ id: "b1", webhookId: "b" })], "e");
    await tick();
    open.get("a")?.();
    open.get("x")?.();
    await tick();
    queue.enqueue([queued({ id: "b2", webhookId: "b" })], "e");
    await tick();
    // One delivery at a time per lane: "b2" waits for "b1" although a slot is free.
    expect(started).toEqual(["a", "x", "b1"]);
    open.get("b1")?.();
    await tick();
    expect(started).toEqual(["a", "x", "b1", "b2"]);
    open.get("b2")?.();
    await queue.drain();
  });

  // From 2652e07 (running entries in an indexed array instead of a Set).
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
    for (const id of ["a", "b", "c", "d", "e"]) queue.enqueue([queued({ id, webhookId: id })], "e");
    await tick();
    for (const id of ["b", "a", "d"]) {
      open.get(id)?.();
      await tick();
    }
    expect(queue.size).toBe(2);
    expect(queue.abandon().map((d) => d.id)).toEqual(["c", "e"]);
    expect([...contexts].filter(([, c]) => c.aborted).map(([id]) => id)).toEqual(["c", "e"]);
    // Abandoned workers that end later leave the next deliveries' bookkeeping alone.
    queue.enqueue([queued({ id: "f", webhookId: "f" })], "e");
    await tick();
    open.get("c")?.();
    open.get("e")?.();
    await tick();
    expect(queue.abandon().map((d) => d.id)).toEqual(["f"]);
  });

  // From 156e2cb (maxInFlight).
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

describe("supersession", () => {
  // Regression from 06ec064 (found in review of the performance work).
  it("a terminal event supersedes every queued in_progress of its lane, however many", async () => {
    const dropped: string[] = [];
    const queue = memoryQueue(
      () => new Promise<void>(() => undefined),
      (d, reason) => dropped.push(`${d.id}:${reason}`),
    );
    queue.enqueue([queued({ id: "head" })], "e");
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 20; i++) queue.enqueue([queued({ id: `p${i}` })], "e");
    queue.enqueue([queued({ id: "end", event: "finished", terminal: true })], "e");
    expect(dropped).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}:superseded`));
    queue.abandon();
  });
});
