import { describe, expect, it } from "vitest";
import { memoryQueue, type DeliveryQueue, type WorkerContext } from "../../src/delivery/queue.js";
import type { Delivery } from "../../src/delivery/types.js";
import {
  queueCases,
  testQueue,
  type OpenedQueue,
  type QueueCaseId,
  type QueueFactory,
} from "../../src/testing/queue-contract.js";
import { forwarding } from "../helpers/queue.js";

const memory =
  (now?: () => number): QueueFactory =>
  (worker, onDrop, limits) =>
    memoryQueue(worker, onDrop, { maxQueued: limits.maxQueued, maxInFlight: limits.maxInFlight }, now);

testQueue("memoryQueue()", { create: memory() });

// A durable queue in miniature: memoryQueue() over a Map that outlives it, as a database would. It is
// here so that the durable cases run against a queue that keeps what they expect, and against ones
// that do not.
interface Storage {
  rows: Map<string, { delivery: Delivery; done: boolean }>;
  events: Set<string>;
}
interface Flaws {
  forgetsProgress?: boolean;
  forgetsDone?: boolean;
  ignoresEventIds?: boolean;
}

function durable(flaws: Flaws = {}): { create: QueueFactory; reopen: QueueFactory } {
  let storage: Storage = { rows: new Map(), events: new Set() };
  const open: QueueFactory = (worker, onDrop, limits) => {
    const store = storage;
    const inner = memoryQueue(
      async (delivery, context) => {
        const row = store.rows.get(delivery.id);
        const ctx: WorkerContext = {
          get aborted() {
            return context.aborted;
          },
          sleep: (ms) => context.sleep(ms),
          progress: (progress) => {
            if (row && !flaws.forgetsProgress) row.delivery = { ...row.delivery, progress };
          },
        };
        await worker(delivery, ctx);
        if (row && !context.aborted && !flaws.forgetsDone) row.done = true;
      },
      (delivery, reason) => {
        const row = store.rows.get(delivery.id);
        if (row) row.done = true;
        onDrop(delivery, reason);
      },
      { maxQueued: limits.maxQueued, maxInFlight: limits.maxInFlight },
    );
    return forwarding(inner, {
      start: () => {
        const left = [...store.rows.values()].filter((row) => !row.done);
        inner.enqueue(
          left.map((row) => structuredClone(row.delivery)),
          "",
        );
        return Promise.resolve();
      },
      enqueue: (deliveries, eventId) => {
        if (store.events.has(eventId) && !flaws.ignoresEventIds) return;
        store.events.add(eventId);
        for (const delivery of deliveries)
          store.rows.set(delivery.id, { delivery: structuredClone(delivery), done: false });
        inner.enqueue(deliveries, eventId);
      },
      close: () => Promise.resolve(),
    });
  };
  return {
    create: (worker, onDrop, limits) => {
      storage = { rows: new Map(), events: new Set() };
      return open(worker, onDrop, limits);
    },
    reopen: open,
  };
}

testQueue("a durable queue over a Map (the durable cases' reference)", durable());

// The contract is only worth something if it fails for queues that break it.
const wrap =
  (patch: (inner: DeliveryQueue) => Partial<DeliveryQueue>, base: QueueFactory = memory()): QueueFactory =>
  async (worker, onDrop, limits) => {
    const inner = await base(worker, onDrop, limits);
    return forwarding(inner, patch(inner));
  };

const twice: QueueFactory = (worker, onDrop, limits) =>
  memory()(
    async (delivery, context) => {
      await worker(delivery, context);
      await worker(delivery, context);
    },
    onDrop,
    limits,
  );
const oneLanePerDelivery = wrap((inner) => ({
  enqueue: (deliveries, eventId) => {
    inner.enqueue(
      deliveries.map((d) => ({ ...d, runId: d.id })),
      eventId,
    );
  },
}));
const unbounded: QueueFactory = (worker, onDrop, limits) =>
  memory()(worker, onDrop, { ...limits, maxInFlight: 1000, maxQueued: 1_000_000 });
const forgetsAbandoned = wrap((inner) => ({
  abandon: () => inner.abandon().slice(1),
}));
const sizeIsQueued = wrap((inner) => ({
  get size() {
    return inner.queued;
  },
}));
const drainsEarly = wrap(() => ({ drain: () => Promise.resolve() }));

describe("the queue contract catches broken queues", () => {
  it.each<[string, Pick<Parameters<typeof queueCases>[0], "create" | "reopen">, QueueCaseId[]]>([
    ["a queue that runs each delivery twice", { create: twice }, ["run.once"]],
    ["a queue with a lane per delivery", { create: oneLanePerDelivery }, ["lane.order", "drop.superseded"]],
    [
      "a queue that ignores maxInFlight and maxQueued",
      { create: unbounded },
      ["limit.in-flight", "limit.overflow"],
    ],
    ["a queue that never finds a delivery stale", { create: memory(() => 0) }, ["drop.stale"]],
    ["a queue whose abandon() leaves one out", { create: forgetsAbandoned }, ["abandon.returns"]],
    [
      "a queue whose size leaves out deliveries being attempted",
      { create: sizeIsQueued },
      ["counts.queued-size"],
    ],
    ["a queue whose drain() does not wait", { create: drainsEarly }, ["drain.waits"]],
    ["a durable queue that forgets progress", durable({ forgetsProgress: true }), ["durable.progress"]],
    [
      "a durable queue that forgets what finished",
      durable({ forgetsDone: true }),
      ["durable.done-not-rerun"],
    ],
    [
      "a durable queue that queues an event again",
      durable({ ignoresEventIds: true }),
      ["durable.event-once", "durable.event-once-reopened"],
    ],
  ])("%s", async (_label, factories, failing) => {
    const opened: OpenedQueue[] = [];
    const cases = queueCases(factories, opened);
    try {
      for (const id of failing) await expect(cases[id](), id).rejects.toThrow();
    } finally {
      for (const { harness } of opened) harness.releaseAll();
    }
  });
});
