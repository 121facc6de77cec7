import type { BackendLimits } from "../backends/types.js";
import type { DeliveryQueue, DeliveryWorker, DropReason } from "../delivery/queue.js";
import type { Delivery, DeliveryProgress } from "../delivery/types.js";
import { SUPERSEDING_EVENTS, type EventName } from "../events.js";
import { Harness, pause, settles, until } from "./_queue-harness.js";
import { registerCases, vitestApi } from "./_vitest.js";

/**
 * The cases of {@link testQueue}, by id: name one in `skip` to leave it out. The `durable.*` cases run
 * only when `reopen` is given.
 */
export const QUEUE_CASES = {
  "run.once": "runs each enqueued delivery once, and drain() resolves when all are done",
  "lane.order":
    "one (webhookId, runId) lane runs one delivery at a time, in enqueue order, while an earlier one is slow",
  "lane.independent":
    "lanes run independently: a stuck lane holds up neither another webhook's lane nor another run's",
  "limit.in-flight": "no more than maxInFlight worker calls run at once",
  "limit.overflow":
    'past maxQueued, deliveries are dropped with onDrop(delivery, "overflow") and never run; size stays within maxQueued',
  "drop.stale":
    'a delivery past its deadlineAt when it reaches its lane\'s head is dropped with "stale", not run, and its lane goes on',
  "drop.superseded":
    'a terminal delivery drops the queued, not yet started in_progress of its lane with "superseded"; a started one, and other lanes\', still run',
  "enqueue.empty": "enqueue([], eventId) is accepted: nothing runs, size stays 0, drain() resolves",
  "drain.waits":
    "drain() resolves at once when the queue is empty, else once nothing waits or runs, including deliveries enqueued while it waited",
  "abandon.returns":
    "abandon() returns the deliveries not finished, aborts the context of those in flight (aborted is true, sleep() rejects) and reports none to onDrop",
  "counts.queued-size": "queued counts the deliveries waiting; size those waiting or being attempted",
  "durable.event-once":
    "durable only (runs when reopen is given: the in-memory queue does not dedupe): a second enqueue() with the same eventId queues nothing",
  "durable.resume":
    "durable only: deliveries not finished when the queue was abandoned and closed run, in lane order and once, in a queue reopened on its storage, after start()",
  "durable.progress":
    "durable only: a delivery whose worker called ctx.progress(…) comes back in the reopened queue with delivery.progress equal to it",
  "durable.done-not-rerun":
    "durable only: a delivery whose worker resolved is not run again by the reopened queue",
  "durable.event-once-reopened":
    "durable only: an eventId enqueued before the queue was reopened is not queued again by the reopened queue",
} as const;

/** The id of one case of the queue contract. */
export type QueueCaseId = keyof typeof QUEUE_CASES;

/**
 * Builds a delivery queue around the suite's worker and drop callback, keeping to `limits` (the cases
 * pass their own `maxQueued` and `maxInFlight`; `maxRuns` means nothing to a queue).
 */
export type QueueFactory = (
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  limits: BackendLimits,
) => DeliveryQueue | Promise<DeliveryQueue>;

/** Options of {@link testQueue}. */
export interface TestQueueOptions {
  /** Builds a queue on fresh, empty storage; called at least once per case. */
  create: QueueFactory;
  /**
   * For a durable queue: builds another queue on the storage of the one `create` built last, after the
   * suite abandoned it and awaited its `close()`, as a restarted process would. When given, the
   * `durable.*` cases run; without it they are not registered.
   */
  reopen?: QueueFactory;
  /** Cases to skip, each with the reason (shown in the test name), e.g. `{ "limit.in-flight": "one worker" }`. */
  skip?: Partial<Record<QueueCaseId, string>>;
  /**
   * Called after each case with every queue it built, e.g. to close it or delete a file. The suite closes
   * only the queues it reopens; it releases its own stuck workers first.
   */
  teardown?: (queue: DeliveryQueue) => void | Promise<void>;
}

let sequence = 0;

/**
 * A valid delivery for queue tests: a `started` event on run `run-42` for one webhook; every call gives
 * new `id` and `eventId`s. `terminal` follows `event` unless given. Deliveries with the same `webhookId`
 * and `runId` share a lane. Works with any test runner.
 */
export function sampleDelivery(overrides: Partial<Delivery> = {}): Delivery {
  sequence += 1;
  const n = String(sequence).padStart(12, "0");
  const id = overrides.id ?? `msg_sample_${n}`;
  const event: EventName = overrides.event ?? "started";
  const runId = overrides.runId ?? "run-42";
  const now = Date.now();
  const body = JSON.stringify({
    type: event,
    timestamp: new Date(now).toISOString(),
    data: { run: { id: runId } },
  });
  return {
    id,
    event,
    eventId: `evt_sample_${n}`,
    runId,
    webhookId: "00000000-0000-4000-8000-000000000001",
    webhookName: "hook 1",
    target: "https://hooks.example.com",
    headers: { "content-type": "application/json", "user-agent": "runhooks-test", "webhook-id": id },
    body,
    format: "json",
    queuedAt: now,
    deadlineAt: now + 10 * 60_000,
    terminal: SUPERSEDING_EVENTS.has(event),
    ...overrides,
  };
}

/**
 * Registers the delivery-queue contract as vitest tests: the rules every {@link DeliveryQueue} must follow
 * for runhooks to deliver in order, within its bounds, and once. Each case builds a fresh queue with
 * `create` (and, for the `durable.*` cases, a second one with `reopen`), calls `start()` before it
 * enqueues, and uses real timers, waiting a few hundred milliseconds at most.
 *
 * **Needs vitest** (an optional peer dependency, `npm install -D vitest`): call it at the top level of a
 * test file that vitest runs, or inside a `describe()`. Without vitest, or outside a vitest run, it throws
 * an Error that starts `runhooks/testing: testQueue() registers vitest tests; install vitest`.
 * {@link QUEUE_CASES} lists the rules, for reference with another runner.
 *
 * @throws Error when vitest is not installed or is not running this file.
 *
 * @example
 * import { testQueue } from "runhooks/testing";
 * let file = "";
 * testQueue("my sqlite queue", {
 *   create: (worker, onDrop, limits) => sqliteQueue((file = freshFile()), worker, onDrop, limits),
 *   reopen: (worker, onDrop, limits) => sqliteQueue(file, worker, onDrop, limits),
 *   teardown: (queue) => queue.close?.(),
 * });
 */
export function testQueue(label: string, options: TestQueueOptions): void {
  const { afterEach, describe, it } = vitestApi("testQueue()");
  describe(`DeliveryQueue contract: ${label}`, () => {
    const opened: OpenedQueue[] = [];
    afterEach(async () => {
      const used = opened.splice(0);
      for (const { harness } of used) harness.releaseAll();
      for (const { queue } of used) await options.teardown?.(queue);
    });
    const cases = queueCases(options, opened);
    registerCases(it, QUEUE_CASES, cases, options.skip, options.reopen !== undefined);
  });
}

/** @internal A queue a case built, with the suite's worker around it. */
export interface OpenedQueue {
  readonly queue: DeliveryQueue;
  /** The worker and drop callback it was built around. */
  readonly harness: Harness;
}

/**
 * @internal The contract's cases as plain async functions over the factories, so that the contract itself
 * can be tested against queues that break it. Every queue built goes into `opened`.
 */
export function queueCases(
  factories: Pick<TestQueueOptions, "create" | "reopen">,
  opened: OpenedQueue[] = [],
): Record<QueueCaseId, () => Promise<void>> {
  const build = async (factory: QueueFactory, limits: Partial<BackendLimits>): Promise<OpenedQueue> => {
    const harness = new Harness();
    const queue = await factory(harness.worker, harness.onDrop, { ...LIMITS, ...limits });
    const built = { queue, harness };
    opened.push(built);
    await queue.start?.();
    return built;
  };
  const kit: CaseKit = {
    expect: vitestApi("testQueue()").expect,
    fresh: (limits = {}) => build(factories.create, limits),
    reopen: async (first) => {
      await first.queue.close?.();
      if (factories.reopen === undefined) throw new Error("this case needs the reopen option");
      return build(factories.reopen, {});
    },
  };
  return { ...flowCases(kit), ...dropCases(kit), ...lifecycleCases(kit), ...durableCases(kit) };
}

const LIMITS: BackendLimits = { maxQueued: 1000, maxInFlight: 16, maxRuns: 1000 };

type Expect = ReturnType<typeof vitestApi>["expect"];

/** What every group of cases gets. */
interface CaseKit {
  readonly expect: Expect;
  /** A new queue on fresh storage, started. */
  readonly fresh: (limits?: Partial<BackendLimits>) => Promise<OpenedQueue>;
  /** Closes `first` (which the case abandoned) and builds and starts a queue on its storage. */
  readonly reopen: (first: OpenedQueue) => Promise<OpenedQueue>;
}

type Cases<Prefix extends string> = Record<Extract<QueueCaseId, `${Prefix}.${string}`>, () => Promise<void>>;

const hook = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

/** One event's deliveries, to each of the webhooks numbered `hooks`: what the notifier enqueues at once. */
function fanOut(event: EventName, hooks: number[], fields: Partial<Delivery> = {}): Delivery[] {
  const eventId = sampleDelivery().eventId;
  return hooks.map((n) =>
    sampleDelivery({ event, eventId, webhookId: hook(n), webhookName: `hook ${n}`, ...fields }),
  );
}

/** Enqueues each delivery as an event of its own, as a run's successive events arrive. */
function enqueueEach(queue: DeliveryQueue, deliveries: Delivery[]): void {
  for (const delivery of deliveries) queue.enqueue([delivery], delivery.eventId);
}

const ids = (deliveries: readonly Delivery[]): string[] => deliveries.map((d) => d.id).sort();

/** Running, ordering and bounds. */
function flowCases({ expect, fresh }: CaseKit): Cases<"run" | "lane" | "limit"> {
  return {
    "run.once": async () => {
      const { queue, harness } = await fresh();
      const started = fanOut("started", [1, 2, 3]);
      const progress = fanOut("in_progress", [1, 2, 3]);
      const other = fanOut("started", [1, 2], { runId: "run-43" });
      for (const event of [started, progress, other]) queue.enqueue(event, event[0]?.eventId ?? "");
      await queue.drain();
      expect(harness.startedIds.sort()).toEqual(ids([...started, ...progress, ...other]));
      expect(harness.drops).toEqual([]);
      expect([queue.queued, queue.size]).toEqual([0, 0]);
    },
    "lane.order": async () => {
      const { queue, harness } = await fresh();
      const lane = { webhookId: hook(1), runId: "run-order" };
      const [a, b, c] = (["started", "in_progress", "api_failure"] as const).map((event) =>
        sampleDelivery({ ...lane, event }),
      ) as [Delivery, Delivery, Delivery];
      // A slow delivery: a backoff, then an attempt that takes a while.
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      harness.plan(a.id, async (_delivery, context) => {
        await context.sleep(20);
        await gate;
      });
      enqueueEach(queue, [a, b, c]);
      await until(() => harness.started.length > 0, "the first delivery starts");
      await pause(60);
      expect(harness.startedIds, "the rest of the lane waits while its head runs").toEqual([a.id]);
      release();
      await queue.drain();
      expect(harness.log).toEqual([a, b, c].flatMap((d) => [`start ${d.id}`, `end ${d.id}`]));
    },
    "lane.independent": async () => {
      const { queue, harness } = await fresh();
      const stuck = sampleDelivery({ webhookId: hook(1), runId: "run-1" });
      const behind = sampleDelivery({ webhookId: hook(1), runId: "run-1", event: "in_progress" });
      const otherHook = sampleDelivery({ webhookId: hook(2), runId: "run-1", eventId: stuck.eventId });
      const otherRun = sampleDelivery({ webhookId: hook(1), runId: "run-2" });
      const release = harness.hold(stuck.id);
      queue.enqueue([stuck, otherHook], stuck.eventId);
      enqueueEach(queue, [behind, otherRun]);
      await until(
        () => harness.ended.has(otherHook.id) && harness.ended.has(otherRun.id),
        "the other lanes' deliveries are done while one lane is stuck",
      );
      expect(harness.startedIds).not.toContain(behind.id);
      release();
      await queue.drain();
      expect(harness.startedIds.sort()).toEqual(ids([stuck, behind, otherHook, otherRun]));
    },
    "limit.in-flight": async () => {
      const { queue, harness } = await fresh({ maxInFlight: 2 });
      const deliveries = fanOut("started", [1, 2, 3, 4, 5, 6]);
      // A plain timer, not ctx.sleep(): a sleeping delivery is not attempting, and need not count.
      for (const delivery of deliveries) harness.plan(delivery.id, () => pause(15));
      queue.enqueue(deliveries, deliveries[0]?.eventId ?? "");
      await queue.drain();
      expect(harness.peak, "worker calls at once").toBeLessThanOrEqual(2);
      expect(harness.startedIds.sort()).toEqual(ids(deliveries));
    },
    "limit.overflow": async () => {
      const { queue, harness } = await fresh({ maxQueued: 3 });
      const lane = { webhookId: hook(1), runId: "run-overflow" };
      const head = sampleDelivery({ ...lane, event: "started" });
      const rest = (["in_progress", "api_failure", "api_failure", "api_failure"] as const).map((event) =>
        sampleDelivery({ ...lane, event }),
      );
      const release = harness.hold(head.id);
      queue.enqueue([head], head.eventId);
      await until(() => harness.started.length > 0, "the first delivery starts");
      for (const delivery of rest) {
        queue.enqueue([delivery], delivery.eventId);
        expect(queue.size, "size after an enqueue").toBeLessThanOrEqual(3);
      }
      expect(harness.drops.map((drop) => drop.reason)).toEqual(["overflow", "overflow"]);
      release();
      await queue.drain();
      const dropped = harness.drops.map((drop) => drop.id);
      for (const id of dropped) expect(harness.startedIds, "a dropped delivery never runs").not.toContain(id);
      expect([...harness.startedIds, ...dropped].sort()).toEqual(ids([head, ...rest]));
    },
  };
}

/** Stale and superseded deliveries. */
function dropCases({ expect, fresh }: CaseKit): Cases<"drop"> {
  return {
    "drop.stale": async () => {
      const { queue, harness } = await fresh();
      const expired = sampleDelivery({ webhookId: hook(1), deadlineAt: Date.now() - 1 });
      const lane = { webhookId: hook(2), runId: "run-stale" };
      const head = sampleDelivery({ ...lane, event: "started" });
      const expiresWhileWaiting = sampleDelivery({
        ...lane,
        event: "in_progress",
        deadlineAt: Date.now() + 20,
      });
      const after = sampleDelivery({ ...lane, event: "api_failure" });
      const release = harness.hold(head.id);
      enqueueEach(queue, [expired, head, expiresWhileWaiting, after]);
      await until(() => harness.started.length > 0, "the head of the lane starts");
      await pause(50);
      release();
      await queue.drain();
      expect(harness.startedIds).toEqual([head.id, after.id]);
      expect(harness.drops.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
        [expired, expiresWhileWaiting]
          .map((d) => ({ id: d.id, reason: "stale" }))
          .sort((x, y) => x.id.localeCompare(y.id)),
      );
    },
    "drop.superseded": async () => {
      const { queue, harness } = await fresh();
      // Lane (1, run-1): started runs, in_progress waits behind it; then finished arrives.
      const started = sampleDelivery({ webhookId: hook(1), runId: "run-1", event: "started" });
      const waiting = sampleDelivery({ webhookId: hook(1), runId: "run-1", event: "in_progress" });
      // Lane (1, run-2): another run's in_progress waits too, and stays.
      const otherStarted = sampleDelivery({ webhookId: hook(1), runId: "run-2", event: "started" });
      const otherWaiting = sampleDelivery({ webhookId: hook(1), runId: "run-2", event: "in_progress" });
      // Lane (3, run-1): in_progress is being attempted when finished arrives, and goes on.
      const attempting = sampleDelivery({ webhookId: hook(3), runId: "run-1", event: "in_progress" });
      const [finished, finishedToo] = fanOut("finished", [1, 3], { runId: "run-1" }) as [Delivery, Delivery];
      const holds = [started, otherStarted, attempting].map((d) => harness.hold(d.id));
      enqueueEach(queue, [started, otherStarted, attempting]);
      await until(() => harness.started.length === 3, "three lanes' heads start");
      enqueueEach(queue, [waiting, otherWaiting]);
      queue.enqueue([finished, finishedToo], finished.eventId);
      for (const release of holds) release();
      await queue.drain();
      expect(harness.drops).toEqual([{ id: waiting.id, reason: "superseded" }]);
      expect(harness.startedIds.sort()).toEqual(
        ids([started, otherStarted, attempting, otherWaiting, finished, finishedToo]),
      );
      expect(harness.log.indexOf(`start ${finished.id}`)).toBeGreaterThan(
        harness.log.indexOf(`end ${started.id}`),
      );
    },
  };
}

/** Empty events, drain, abandon and the counts. */
function lifecycleCases({ expect, fresh }: CaseKit): Cases<"enqueue" | "drain" | "abandon" | "counts"> {
  return {
    "enqueue.empty": async () => {
      const { queue, harness } = await fresh();
      queue.enqueue([], sampleDelivery().eventId);
      expect([queue.queued, queue.size]).toEqual([0, 0]);
      expect(await settles(queue.drain(), 200), "drain() after an empty enqueue").toBe(true);
      const delivery = sampleDelivery();
      queue.enqueue([delivery], delivery.eventId);
      await queue.drain();
      expect(harness.startedIds).toEqual([delivery.id]);
    },
    "drain.waits": async () => {
      const { queue, harness } = await fresh();
      expect(await settles(queue.drain(), 200), "drain() of an empty queue").toBe(true);
      const first = sampleDelivery({ webhookId: hook(1) });
      const later = sampleDelivery({ webhookId: hook(2) });
      const releaseFirst = harness.hold(first.id);
      const releaseLater = harness.hold(later.id);
      queue.enqueue([first], first.eventId);
      let drained = false;
      const drain = queue.drain().then(() => (drained = true));
      queue.enqueue([later], later.eventId);
      releaseFirst();
      await until(() => harness.ended.has(first.id), "the first delivery is done");
      await pause(30);
      expect(drained, "drain() waits for a delivery enqueued meanwhile").toBe(false);
      releaseLater();
      expect(await settles(drain, 1000), "drain() once everything is done").toBe(true);
      expect([...harness.ended].sort()).toEqual(ids([first, later]));
    },
    "abandon.returns": async () => {
      const { queue, harness } = await fresh();
      const inFlight = sampleDelivery({ webhookId: hook(1), event: "started" });
      const waiting = sampleDelivery({ webhookId: hook(1), event: "in_progress" });
      const done = sampleDelivery({ webhookId: hook(2), eventId: inFlight.eventId });
      harness.sleepUntilAborted(inFlight.id);
      queue.enqueue([inFlight, done], inFlight.eventId);
      queue.enqueue([waiting], waiting.eventId);
      await until(
        () => harness.started.length === 2 && queue.size === 2,
        "one lane's delivery is done and the other's sleeps",
      );
      const left = queue.abandon();
      expect(ids(left)).toEqual(ids([inFlight, waiting]));
      await until(() => harness.aborted.has(inFlight.id), "the in-flight delivery's sleep() rejects");
      const context = harness.contexts.get(inFlight.id);
      expect(context?.aborted).toBe(true);
      const again = context?.sleep(1000).then(
        () => "resolved",
        (error: unknown) => (error instanceof Error ? "rejected" : "rejected with a non-Error"),
      );
      expect(await Promise.race([again, pause(100).then(() => "still waiting")])).toBe("rejected");
      await pause(30);
      expect(harness.startedIds).not.toContain(waiting.id);
      expect(harness.drops, "abandoned deliveries are not drops").toEqual([]);
    },
    "counts.queued-size": async () => {
      const { queue, harness } = await fresh();
      const head = sampleDelivery({ webhookId: hook(1), event: "started" });
      const next = sampleDelivery({ webhookId: hook(1), event: "in_progress" });
      const other = sampleDelivery({ webhookId: hook(2), eventId: head.eventId });
      const [releaseHead, releaseNext, releaseOther] = [head, next, other].map((d) => harness.hold(d.id)) as [
        () => void,
        () => void,
        () => void,
      ];
      queue.enqueue([head, other], head.eventId);
      queue.enqueue([next], next.eventId);
      expect(queue.size, "size right after enqueue").toBe(3);
      await until(() => harness.started.length === 2, "two lanes' heads start");
      expect([queue.queued, queue.size], "[queued, size] with two running, one waiting").toEqual([1, 3]);
      releaseHead();
      await until(() => harness.started.length === 3, "the lane's next delivery starts");
      expect([queue.queued, queue.size], "[queued, size] with two running").toEqual([0, 2]);
      releaseNext();
      releaseOther();
      await queue.drain();
      expect([queue.queued, queue.size]).toEqual([0, 0]);
    },
  };
}

/** What a durable queue keeps across a restart. */
function durableCases({ expect, fresh, reopen }: CaseKit): Cases<"durable"> {
  return {
    "durable.event-once": async () => {
      const { queue, harness } = await fresh();
      const event = fanOut("started", [1, 2]);
      const eventId = event[0]?.eventId ?? "";
      queue.enqueue(event, eventId);
      // The same event fanned out again (another process, a retried fan-out), to one more webhook even.
      queue.enqueue(
        [...event.map((d) => ({ ...d })), sampleDelivery({ eventId, webhookId: hook(3) })],
        eventId,
      );
      await queue.drain();
      expect(harness.startedIds.sort()).toEqual(ids(event));
    },
    "durable.resume": async () => {
      const first = await fresh();
      const inFlight = sampleDelivery({ webhookId: hook(1), event: "started" });
      const waiting = sampleDelivery({ webhookId: hook(1), event: "in_progress" });
      const done = sampleDelivery({ webhookId: hook(2), eventId: inFlight.eventId });
      first.harness.sleepUntilAborted(inFlight.id);
      first.queue.enqueue([inFlight, done], inFlight.eventId);
      first.queue.enqueue([waiting], waiting.eventId);
      await until(() => first.harness.started.length === 2 && first.queue.size === 2, "one delivery is done");
      first.queue.abandon();
      const second = await reopen(first);
      await second.queue.drain();
      expect(second.harness.startedIds).toEqual([inFlight.id, waiting.id]);
      // Everything a delivery is, as it was enqueued (bytes are optional, progress is the queue's).
      const kept = ({ bytes: _bytes, progress: _progress, ...rest }: Delivery): unknown => rest;
      expect(second.harness.started.map(kept)).toEqual([inFlight, waiting].map(kept));
      expect(second.harness.drops).toEqual([]);
    },
    "durable.progress": async () => {
      const first = await fresh();
      const now = Date.now();
      const progress: DeliveryProgress = {
        attempts: 2,
        retriesUsed: 1,
        firstAttemptAt: now - 1000,
        nextAttemptAt: now + 20,
      };
      const retrying = sampleDelivery({ webhookId: hook(1), event: "started" });
      const waiting = sampleDelivery({ webhookId: hook(1), event: "in_progress" });
      let reported = false;
      first.harness.sleepUntilAborted(retrying.id, (context) => {
        if (context.progress === undefined) return;
        context.progress(progress);
        reported = true;
      });
      enqueueEach(first.queue, [retrying, waiting]);
      await until(() => first.harness.started.length > 0, "the first delivery starts");
      expect(reported, "a durable queue's worker context has progress()").toBe(true);
      first.queue.abandon();
      const second = await reopen(first);
      await second.queue.drain();
      const [back, other] = second.harness.started;
      expect(back?.id).toBe(retrying.id);
      expect(back?.progress).toEqual(progress);
      expect(other?.id).toBe(waiting.id);
      expect(other?.progress, "a delivery never attempted has no progress").toBeUndefined();
    },
    "durable.done-not-rerun": async () => {
      const first = await fresh();
      const done = sampleDelivery({ webhookId: hook(1) });
      const open = sampleDelivery({ webhookId: hook(2) });
      first.queue.enqueue([done], done.eventId);
      await first.queue.drain();
      first.harness.sleepUntilAborted(open.id);
      first.queue.enqueue([open], open.eventId);
      await until(() => first.harness.started.length === 2, "the second delivery starts");
      first.queue.abandon();
      const second = await reopen(first);
      await second.queue.drain();
      expect(second.harness.startedIds).toEqual([open.id]);
    },
    "durable.event-once-reopened": async () => {
      const first = await fresh();
      const event = fanOut("started", [1, 2]);
      const [done, open] = event as [Delivery, Delivery];
      first.harness.sleepUntilAborted(open.id);
      first.queue.enqueue(event, done.eventId);
      await until(() => first.harness.ended.has(done.id) && first.queue.size === 1, "one delivery is done");
      first.queue.abandon();
      const second = await reopen(first);
      second.queue.enqueue(
        event.map((d) => ({ ...d })),
        done.eventId,
      );
      await second.queue.drain();
      expect(second.harness.startedIds, "only the unfinished delivery, resumed once").toEqual([open.id]);
    },
  };
}
