import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { memoryBackend } from "../../src/backends/memory.js";
import type { Backend } from "../../src/backends/types.js";
import type { DeliveryWorker, WorkerContext } from "../../src/delivery/queue.js";
import type { RetryOptions } from "../../src/delivery/retry.js";
import type { Delivery, DeliveryProgress, DeliveryReport } from "../../src/delivery/types.js";
import type { ReceiverOptions, TestReceiver } from "../../src/testing/receiver.js";
import { hook, receiverSetup } from "../helpers/notifier.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const setup = receiverSetup(cleanup);

/**
 * A notifier whose backend hands its worker to the test (as a durable queue resuming a delivery would
 * call it), a loopback receiver, and a webhook there: the delivery's target is read from the store at
 * attempt time, so the webhook must exist.
 */
async function resumeSetup(retry: RetryOptions, respond: ReceiverOptions["respond"]) {
  let worker: DeliveryWorker | undefined;
  const backend: Backend = {
    ...memoryBackend(),
    queue(given, onDrop, limits) {
      worker = given;
      return memoryBackend().queue(given, onDrop, limits);
    },
  };
  const { receiver, notifier, reports } = await setup({ backend, retry }, respond ? { respond } : {});
  const webhook = await hook(notifier, receiver, "resumed", { events: ["started"] });
  const sleeps: number[] = [];
  const progress: DeliveryProgress[] = [];
  const context: WorkerContext = {
    aborted: false,
    sleep: (ms) => {
      sleeps.push(ms);
      return delay(ms);
    },
    progress: (p) => progress.push(p),
  };
  /** Runs a delivery to the webhook, resumed from `resumed`, through the notifier's worker. */
  const resume = (resumed: DeliveryProgress): Promise<void> =>
    worker!(resumedDelivery(webhook, receiver, resumed), context);
  return { receiver, notifier, reports, sleeps, progress, resume };
}

/** The delivery a durable queue would hand back after a restart: as stored, with its progress. */
function resumedDelivery(
  webhook: { id: string; name: string },
  receiver: TestReceiver,
  progress: DeliveryProgress,
): Delivery {
  const now = Date.now();
  return {
    id: "msg_resumed",
    event: "started",
    eventId: "evt_resumed",
    runId: "r",
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: receiver.url,
    headers: { "content-type": "application/json", "webhook-id": "msg_resumed" },
    body: JSON.stringify({ type: "started", data: { resumed: true } }),
    format: "json",
    queuedAt: now - 60_000,
    deadlineAt: now + 3_600_000,
    terminal: false,
    progress,
  };
}

const attempts = (reports: readonly DeliveryReport[]) =>
  reports.map((r) => [r.attempt, r.outcome, r.final, r.status, r.reason]);

describe("a delivery resumed with its progress", () => {
  it("waits for nextAttemptAt, then makes attempt 3 and reports it as such", async () => {
    const h = await resumeSetup({ retries: 5, minDelayMs: 10, maxDelayMs: 10 }, () => 200);
    const now = Date.now();
    const nextAttemptAt = now + 300;
    const done = h.resume({ attempts: 2, retriesUsed: 2, firstAttemptAt: now - 5_000, nextAttemptAt });

    await delay(200);
    expect(h.receiver.requests).toHaveLength(0);
    expect(h.reports).toEqual([]);
    await done;

    expect(h.receiver.requests).toHaveLength(1);
    const request = h.receiver.requests[0]!;
    expect(request.receivedAt).toBeGreaterThanOrEqual(nextAttemptAt);
    expect(request.headers["webhook-id"]).toBe("msg_resumed");
    expect(request.json()).toEqual({ type: "started", data: { resumed: true } });
    expect(h.sleeps).toHaveLength(1);
    expect(h.sleeps[0]).toBeGreaterThan(250);
    expect(h.sleeps[0]).toBeLessThanOrEqual(300);
    expect(attempts(h.reports)).toEqual([[3, "delivered", true, 200, undefined]]);
    expect(h.reports[0]).toMatchObject({ deliveryId: "msg_resumed", eventId: "evt_resumed", ok: true });
    expect(h.progress).toEqual([]);
    expect(h.notifier.stats()).toMatchObject({ sent: 1, delivered: 1, retried: 0 });
  });

  it("continues the retry budget: with 4 retries and 2 used, only attempts 3, 4 and 5 are made", async () => {
    const h = await resumeSetup({ retries: 4, minDelayMs: 10, maxDelayMs: 10 }, () => 503);
    const now = Date.now();
    const firstAttemptAt = now - 1_000;
    await h.resume({ attempts: 2, retriesUsed: 2, firstAttemptAt, nextAttemptAt: now + 20 });

    expect(h.receiver.requests).toHaveLength(3);
    expect(attempts(h.reports)).toEqual([
      [3, "retrying", false, 503, undefined],
      [4, "retrying", false, 503, undefined],
      [5, "failed", true, 503, "retries_exhausted"],
    ]);
    // What a durable queue would record after each retried attempt: the count goes on from the resumed
    // progress, and the first attempt's time stays.
    expect(h.progress).toEqual([
      { attempts: 3, retriesUsed: 3, firstAttemptAt, nextAttemptAt: expect.any(Number) as number },
      { attempts: 4, retriesUsed: 4, firstAttemptAt, nextAttemptAt: expect.any(Number) as number },
    ]);
    expect(h.notifier.stats()).toMatchObject({ sent: 3, retried: 2, failed: 1 });
  });

  it("a delivery whose budget is used up gets its scheduled attempt only", async () => {
    const h = await resumeSetup({ retries: 4, minDelayMs: 10, maxDelayMs: 10 }, () => 503);
    const now = Date.now();
    await h.resume({ attempts: 5, retriesUsed: 4, firstAttemptAt: now - 1_000, nextAttemptAt: now });

    expect(h.receiver.requests).toHaveLength(1);
    expect(attempts(h.reports)).toEqual([[6, "failed", true, 503, "retries_exhausted"]]);
    expect(h.progress).toEqual([]);
  });

  it("counts maxElapsedMs from firstAttemptAt: past it, the resumed attempt is the last (time_exhausted)", async () => {
    const h = await resumeSetup(
      { retries: 8, minDelayMs: 10, maxDelayMs: 10, maxElapsedMs: 30_000 },
      () => 503,
    );
    const now = Date.now();
    await h.resume({ attempts: 2, retriesUsed: 2, firstAttemptAt: now - 60_000, nextAttemptAt: now });

    expect(h.receiver.requests).toHaveLength(1);
    expect(attempts(h.reports)).toEqual([[3, "failed", true, 503, "time_exhausted"]]);
  });

  it("within maxElapsedMs of firstAttemptAt, the same policy retries on", async () => {
    const h = await resumeSetup(
      { retries: 8, minDelayMs: 10, maxDelayMs: 10, maxElapsedMs: 30_000 },
      (_request, index) => (index === 0 ? 503 : 200),
    );
    const now = Date.now();
    await h.resume({ attempts: 2, retriesUsed: 2, firstAttemptAt: now - 20_000, nextAttemptAt: now });

    expect(h.receiver.requests).toHaveLength(2);
    expect(attempts(h.reports)).toEqual([
      [3, "retrying", false, 503, undefined],
      [4, "delivered", true, 200, undefined],
    ]);
  });
});
