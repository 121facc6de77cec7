import { afterEach, describe, expect, it, vi } from "vitest";
import { memoryBackend } from "../../src/backends/memory.js";
import type { Backend } from "../../src/backends/types.js";
import type { DeliveryQueue } from "../../src/delivery/queue.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { BackendError, isBackendError, type RunhooksError } from "../../src/errors.js";
import type { RunEvent } from "../../src/events.js";
import { createNotifier } from "../../src/notifier.js";
import {
  snapshotFromJSON,
  snapshotToJSON,
  type RunChange,
  type RunSnapshot,
  type RunState,
} from "../../src/run-tracker.js";
import { sampleEvents, sampleRun } from "../../src/testing/fixtures.js";
import { hook, receiverSetup } from "../helpers/notifier.js";
import { forwarding } from "../helpers/queue.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const setup = receiverSetup(cleanup);

const typeOf = (request: { json(): unknown }): string => (request.json() as { type: string }).type;
const finals = (reports: readonly DeliveryReport[]) =>
  reports.filter((r) => r.final).map((r) => [r.webhookName, r.event, r.attempt, r.outcome, r.reason]);

describe("targets read from the store at attempt time", () => {
  it("a webhook removed, and another disabled, after their deliveries were queued: nothing more is sent, each delivery is dropped and reported", async () => {
    const firstSeen = new Set<string>();
    const { receiver, notifier, reports } = await setup(
      { retry: { retries: 3, minDelayMs: 500, maxDelayMs: 500 } },
      {
        // Each webhook's first request fails: its started waits out a backoff, its finished behind it.
        respond: (request) => {
          const path = request.path.split("?")[0] ?? "";
          if (firstSeen.has(path)) return 200;
          firstSeen.add(path);
          return 503;
        },
      },
    );
    const removed = await hook(notifier, receiver, "removed", { events: ["started", "finished"] });
    const disabled = await hook(notifier, receiver, "disabled", { events: ["started", "finished"] });
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.finished();
    await vi.waitFor(() => {
      expect(reports.filter((r) => r.outcome === "retrying")).toHaveLength(2);
    });

    expect(await notifier.webhooks.remove(removed.id)).toBe(true);
    await notifier.webhooks.update(disabled.id, { enabled: false });
    await notifier.flush();

    // Only the two first attempts went out: neither the retries nor the finished deliveries.
    expect(receiver.requests.map((r) => [r.path.split("?")[0], typeOf(r)]).sort()).toEqual([
      ["/disabled", "started"],
      ["/removed", "started"],
    ]);
    expect(
      reports.filter((r) => !r.final).map((r) => [r.webhookName, r.event, r.attempt, r.outcome, r.status]),
    ).toEqual(
      expect.arrayContaining([
        ["removed", "started", 1, "retrying", 503],
        ["disabled", "started", 1, "retrying", 503],
      ]),
    );
    expect(reports.filter((r) => !r.final)).toHaveLength(2);
    // The retry of started and the never-attempted finished alike: dropped, nothing sent (attempt 0).
    expect(finals(reports)).toEqual(
      expect.arrayContaining([
        ["removed", "started", 0, "dropped", "removed"],
        ["removed", "finished", 0, "dropped", "removed"],
        ["disabled", "started", 0, "dropped", "disabled"],
        ["disabled", "finished", 0, "dropped", "disabled"],
      ]),
    );
    expect(finals(reports)).toHaveLength(4);
    for (const report of reports.filter((r) => r.final)) {
      expect(report).toMatchObject({ ok: false, final: true, durationMs: 0 });
      expect(report.webhookId).toBe(report.webhookName === "removed" ? removed.id : disabled.id);
    }
    expect(notifier.stats()).toMatchObject({ sent: 2, delivered: 0, dropped: 4, failed: 0, queued: 0 });
  });
});

describe("the run state's apply fails", () => {
  it("run calls do not throw: BackendError 'record' is reported per call, and the events still go out", async () => {
    const cause = new Error("disk full");
    const backend: Backend = {
      ...memoryBackend(),
      name: "flaky-disk",
      runState(limits) {
        const inner = memoryBackend().runState(limits);
        return {
          apply: () => {
            throw cause;
          },
          peek: (runId) => inner.peek(runId),
        };
      },
    };
    const { receiver, notifier, reports, errors } = await setup({ backend });
    await hook(notifier, receiver, "ci", { events: ["started", "finished"] });
    const run = notifier.run({ id: "run-9", testId: "t", name: "n" });

    expect(() => {
      run.started();
    }).not.toThrow();
    expect(errors).toHaveLength(1);
    const error = errors[0]!;
    expect(error).toBeInstanceOf(BackendError);
    expect(isBackendError(error)).toBe(true);
    expect(error).toMatchObject({ name: "BackendError", code: "ERR_BACKEND", operation: "record" });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain("flaky-disk");
    expect(error.message).toContain("run.started() of run run-9");
    expect(error.message).toContain("disk full");

    run.finished();
    await notifier.flush();
    expect(errors).toEqual([
      expect.objectContaining({
        operation: "record",
        message: expect.stringContaining("run.started()") as string,
      }),
      expect.objectContaining({
        operation: "record",
        message: expect.stringContaining("run.finished()") as string,
      }),
    ]);
    expect(receiver.requests.map(typeOf)).toEqual(["started", "finished"]);
    expect(reports.filter((r) => r.outcome === "delivered")).toHaveLength(2);
  });
});

describe("the backend's start", () => {
  it("backend.start() rejects: BackendError 'start' is reported, and runner calls are delivered", async () => {
    const cause = new Error("cannot open the database");
    const backend: Backend = {
      ...memoryBackend(),
      name: "broken-db",
      start: () => Promise.reject(cause),
    };
    const { receiver, notifier, errors } = await setup({ backend });
    await hook(notifier, receiver, "ci", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    expect(await notifier.flush()).toEqual({ drained: true, pending: 0 });
    expect(receiver.requests.map(typeOf)).toEqual(["started"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BackendError);
    expect(errors[0]).toMatchObject({ name: "BackendError", code: "ERR_BACKEND", operation: "start" });
    expect(errors[0]?.cause).toBe(cause);
    expect(errors[0]?.message).toContain("broken-db");
    expect(errors[0]?.message).toContain("cannot open the database");
  });

  it("the queue's start() rejects: reported the same way, and runner calls are delivered", async () => {
    const cause = new Error("lease table missing");
    const backend: Backend = {
      ...memoryBackend(),
      name: "broken-queue",
      queue: (worker, onDrop, limits) =>
        forwarding(memoryBackend().queue(worker, onDrop, limits), { start: () => Promise.reject(cause) }),
    };
    const { receiver, notifier, errors } = await setup({ backend });
    await hook(notifier, receiver, "ci", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests.map(typeOf)).toEqual(["started"]);
    expect(errors).toEqual([expect.objectContaining({ name: "BackendError", operation: "start", cause })]);
  });
});

describe("the backend's close", () => {
  it("notifier.close() closes the queue, then the backend, once, after the deliveries are done", async () => {
    const calls: string[] = [];
    let queue: DeliveryQueue | undefined;
    const backend: Backend = {
      ...memoryBackend(),
      queue(worker, onDrop, limits) {
        const inner = memoryBackend().queue(worker, onDrop, limits);
        queue = forwarding(inner, {
          close: () => {
            calls.push(`queue.close (size ${inner.size})`);
            return Promise.resolve();
          },
        });
        return queue;
      },
      close: () => {
        calls.push("backend.close");
        return Promise.resolve();
      },
    };
    const { receiver, notifier, reports } = await setup({ backend });
    await hook(notifier, receiver, "ci", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    expect(calls).toEqual([]);
    expect(await notifier.close()).toEqual({ drained: true, pending: 0 });
    expect(calls).toEqual(["queue.close (size 0)", "backend.close"]);
    expect(reports.map((r) => r.outcome)).toEqual(["delivered"]);
    await notifier.close();
    expect(calls).toHaveLength(2);
  });

  it("a backend whose close() rejects: BackendError 'close' is reported, and close() still resolves", async () => {
    const cause = new Error("file locked");
    const backend: Backend = { ...memoryBackend(), name: "stuck", close: () => Promise.reject(cause) };
    const { notifier, errors } = await setup({ backend });
    expect(await notifier.close()).toEqual({ drained: true, pending: 0 });
    expect(errors).toEqual([
      expect.objectContaining({ name: "BackendError", code: "ERR_BACKEND", operation: "close", cause }),
    ]);
    expect(errors[0]?.message).toContain("stuck");
  });
});

describe("a durable backend (an outbox)", () => {
  /** A backend whose queue records each enqueue (its event id and delivery count), then queues. */
  function recordingBackend(durable: boolean, dedupe = false) {
    const enqueues: Array<[eventId: string, deliveries: number]> = [];
    const fannedOut = new Set<string>();
    const backend: Backend = {
      ...memoryBackend(),
      name: "outbox",
      durable,
      queue(worker, onDrop, limits) {
        const inner = memoryBackend().queue(worker, onDrop, limits);
        return forwarding(inner, {
          enqueue(deliveries, eventId) {
            enqueues.push([eventId, deliveries.length]);
            // As the DeliveryQueue contract asks of a durable queue: an event's deliveries are queued once.
            if (dedupe && fannedOut.has(eventId)) return;
            fannedOut.add(eventId);
            inner.enqueue(deliveries, eventId);
          },
        });
      },
    };
    return { backend, enqueues };
  }

  it("fans out after the runner's call returns, never inside it (the in-memory backend queues inside it)", async () => {
    const durable = recordingBackend(true);
    const { receiver, notifier } = await setup({ backend: durable.backend });
    await hook(notifier, receiver, "ci", { events: ["started"] });
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    expect(durable.enqueues).toEqual([]);
    run.finished();
    expect(durable.enqueues).toEqual([]);
    await notifier.flush();
    const [request] = await receiver.waitFor(1);
    const startedId = (request!.json() as { data: RunEvent }).data.id;
    // finished matched no webhook: its fan-out is still recorded done, with no deliveries.
    expect(durable.enqueues).toEqual([
      [startedId, 1],
      [expect.stringMatching(/^evt_/), 0],
    ]);
    expect(receiver.requests.map(typeOf)).toEqual(["started"]);

    const inMemory = recordingBackend(false);
    const other = await setup({ backend: inMemory.backend });
    await hook(other.notifier, other.receiver, "ci", { events: ["started"] });
    other.notifier.run({ id: "r", testId: "t", name: "n" }).started();
    expect(inMemory.enqueues).toEqual([[startedId, 1]]);
  });

  it("start's hooks.fanOut delivers a pending event; fanned out twice, it goes out once from a queue that dedupes", async () => {
    const { backend, enqueues } = recordingBackend(true, true);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pending: RunEvent = {
      ...sampleEvents().started,
      id: "evt_left_by_a_dead_process",
      at: new Date().toISOString(),
    };
    const storageProblem = new BackendError("enqueue", "the outbox could not be read in full");
    backend.start = async (hooks) => {
      // Resumes once the test created its webhook.
      await gate;
      hooks.fanOut(pending);
      hooks.fanOut(pending);
      hooks.error(storageProblem);
    };
    const { receiver, notifier, reports, errors } = await setup({ backend });
    await hook(notifier, receiver, "ci", { events: ["started"] });
    release();
    expect(await notifier.flush()).toEqual({ drained: true, pending: 0 });

    // The notifier asks twice; the queue's dedupe makes it one delivery.
    expect(enqueues).toEqual([
      [pending.id, 1],
      [pending.id, 1],
    ]);
    expect(receiver.requests).toHaveLength(1);
    const body = receiver.requests[0]!.json() as { type: string; data: RunEvent };
    expect(body.type).toBe("started");
    expect(body.data.id).toBe(pending.id);
    expect(body.data.run.id).toBe(sampleRun.id);
    expect(reports).toEqual([
      expect.objectContaining({ eventId: pending.id, outcome: "delivered", attempt: 1, final: true }),
    ]);
    expect(errors).toEqual([storageProblem]);
  });
});

describe("snapshotToJSON / snapshotFromJSON", () => {
  /** A memory backend whose run state records each change given to it and the events it fired. */
  function recordingRunState() {
    let state: RunState | undefined;
    const changes: RunChange[] = [];
    const fired: Array<readonly RunEvent[]> = [];
    const backend: Backend = {
      ...memoryBackend(),
      runState(limits) {
        const inner = memoryBackend().runState(limits);
        state = inner;
        return {
          apply(runId, change) {
            changes.push(change);
            const events = inner.apply(runId, change) as readonly RunEvent[];
            fired.push(events);
            return events;
          },
          peek: (runId) => inner.peek(runId),
        };
      },
    };
    return { backend, changes, fired, peek: (runId: string) => state?.peek(runId) };
  }

  const roundTrip = (snapshot: RunSnapshot): RunSnapshot => snapshotFromJSON(snapshotToJSON(snapshot));

  it("gives back an equal snapshot at every stage of a run, and a change replayed on it fires the same events", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.parse("2026-06-01T12:00:00.000Z");
    vi.setSystemTime(t0);
    const recorded = recordingRunState();
    const notifier = createNotifier({ backend: recorded.backend, apiFailureCooldownMs: 60_000 });
    const errors: RunhooksError[] = [];
    notifier.on("error", (e) => errors.push(e));
    cleanup.push(() => notifier.close());
    const run = notifier.run({ id: "snap", testId: "t", name: "n", benchmark: { threshold: 80 } });

    run.started();
    const started = recorded.peek("snap")!;
    expect(started).toMatchObject({ phase: "running", fired: ["started"], startedAt: t0 });
    expect(roundTrip(started)).toEqual(started);

    vi.setSystemTime(t0 + 1_000);
    run.stats({
      requests: 100,
      codes: { "200": 95, "503": 5 },
      errors: { ETIMEDOUT: 2 },
      latency: { median: 40, p95: 120, max: 900 },
      rps: 50,
    });
    vi.setSystemTime(t0 + 2_000);
    // Within the cooldown: its 5xx wait in the throttle.
    run.stats({
      requests: 80,
      codes: { "200": 78, "500": 2 },
      errors: { ECONNRESET: 1 },
      latency: { p95: 130 },
    });
    vi.setSystemTime(t0 + 3_000);
    run.stats({ requests: 20, codes: { "200": 20 }, rps: 60 });
    expect(recorded.fired.map((events) => events.map((e) => e.event))).toEqual([
      ["started"],
      ["in_progress", "api_failure"],
      [],
      [],
    ]);

    const running = recorded.peek("snap")!;
    expect(running).toMatchObject({
      phase: "running",
      fired: ["started", "in_progress", "api_failure"],
      startedAt: t0,
      stats: {
        requests: 200,
        codes: { "200": 193, "503": 5, "500": 2 },
        errors: { ETIMEDOUT: 2, ECONNRESET: 1 },
        latency: { p95: 130 },
        rps: 60,
        elapsedMs: 3_000,
      },
      apiFailure: { seq: 1, lastAt: t0 + 1_000, pending: { "500": 2 }, total: 7 },
    });
    const json = snapshotToJSON(running);
    const parsed = snapshotFromJSON(json);
    expect(parsed).toEqual(running);
    expect(parsed).not.toBe(running);
    // Its JSON may list the fields in another order, but says the same.
    expect(JSON.parse(snapshotToJSON(parsed))).toEqual(JSON.parse(json));

    // Past the cooldown: the pending 5xx go out with this batch's. Then the run finishes with a score.
    vi.setSystemTime(t0 + 70_000);
    run.stats({ requests: 3, codes: { "502": 3 } });
    vi.setSystemTime(t0 + 80_000);
    run.finished({ score: 90, stats: { requests: 5, codes: { "200": 5 } } });

    // The same two changes, applied to the parsed copy, fire the same events and end in the same state.
    let copy: RunSnapshot = parsed;
    for (const [index, change] of recorded.changes.slice(-2).entries()) {
      const replay = change(copy);
      expect(replay.events).toEqual(recorded.fired.at(index - 2));
      copy = replay.snapshot;
    }
    const [apiFailure, benchmark, finished] = recorded.fired.slice(-2).flat();
    expect(apiFailure).toMatchObject({
      event: "api_failure",
      failures: { codes: { "500": 2, "502": 3 }, count: 5, total: 10 },
    });
    expect(benchmark?.event).toBe("benchmark_passed");
    expect(finished).toMatchObject({
      event: "finished",
      score: 90,
      stats: { requests: 208, elapsedMs: 80_000 },
    });

    // An ended run comes back as the one shared record of how it ended.
    const ended = recorded.peek("snap")!;
    expect(copy).toEqual(ended);
    expect(ended).toMatchObject({ phase: "ended" });
    expect(roundTrip(ended)).toBe(ended);
    expect(errors).toEqual([]);
  });
});
