import pRetry from "p-retry";
import { MockAgent } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createDeliverer, backoff, type DeliveryCounters } from "../../src/delivery/deliver.js";
import { httpTransport } from "../../src/delivery/http-transport.js";
import type { WorkerContext } from "../../src/delivery/queue.js";
import { memoryBackend } from "../../src/backends/memory.js";
import { RateLimiter } from "../../src/delivery/rate-limit.js";
import { DEFAULT_RETRY, type ResolvedRetry, type RetryOptions } from "../../src/delivery/retry.js";
import type { Delivery, DeliveryReport, Transport, TransportRequest } from "../../src/delivery/types.js";
import { TransportError } from "../../src/errors.js";
import { createNotifier, type NotifierWarning } from "../../src/notifier.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { receiverHook } from "../helpers/webhooks.js";

// The real p-retry, watched: the deliverer hands a delivery to it only after a retryable failure.
vi.mock("p-retry", async (importOriginal) => {
  const actual = await importOriginal<typeof import("p-retry")>();
  return { ...actual, default: vi.fn(actual.default) };
});

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.mocked(pRetry).mockClear();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** What the stub transport answers, one per attempt: a status, a status with headers, or a throw. */
type Answer = number | { status: number; headers: Record<string, string> } | Error;

function delivery(fields: Partial<Delivery> = {}): Delivery {
  return {
    id: "d1",
    event: "started",
    eventId: "e1",
    runId: "r1",
    webhookId: "w1",
    webhookName: "hook",
    target: "https://hooks.example.com",
    headers: {},
    body: "{}",
    format: "json",
    queuedAt: Date.now(),
    deadlineAt: Date.now() + 3_600_000,
    terminal: false,
    ...fields,
  };
}

/**
 * A deliverer over a stub transport and a context whose sleep records each wait and, under fake timers,
 * moves the clock by it instead of sleeping.
 */
function harness(answers: Answer[], retry: Partial<ResolvedRetry> = {}) {
  const reports: DeliveryReport[] = [];
  const waits: number[] = [];
  const sent: TransportRequest[] = [];
  const disabled: Delivery[] = [];
  const counters: DeliveryCounters = { attempts: 0, delivered: 0, retried: 0, failed: 0, dropped: 0 };
  const transport: Transport = {
    send: (request) => {
      sent.push(request);
      const answer = answers.shift() ?? 200;
      if (answer instanceof Error) return Promise.reject(answer);
      const { status, headers } = typeof answer === "number" ? { status: answer, headers: {} } : answer;
      return Promise.resolve({ status, headers, body: "" });
    },
    close: () => Promise.resolve(),
  };
  const state = {
    aborted: false,
    reporting: true,
    isGone: (_attempt: number): boolean => false,
    onSleep: (): void => undefined,
  };
  const context: WorkerContext = {
    get aborted() {
      return state.aborted;
    },
    sleep(ms) {
      waits.push(ms);
      if (vi.isFakeTimers()) vi.advanceTimersByTime(ms);
      state.onSleep();
      return state.aborted ? Promise.reject(new Error("abandoned")) : Promise.resolve();
    },
  };
  const deliver = createDeliverer({
    transport,
    retry: { ...DEFAULT_RETRY, ...retry },
    limiter: new RateLimiter({}),
    counters,
    report: (report) => reports.push(report),
    reporting: () => state.reporting,
    gone: (d) => disabled.push(d),
    isGone: () => state.isGone(sent.length + 1),
    resolve: () => ({ url: new URL("https://hooks.example.com/x") }),
  });
  return {
    reports,
    waits,
    sent,
    disabled,
    counters,
    state,
    run: (d: Delivery = delivery()) => deliver(d, context),
  };
}

const outcomes = (reports: DeliveryReport[]) =>
  reports.map((r) => [r.attempt, r.outcome, r.final, r.status, r.reason, r.nextAttemptInMs]);

describe("the first attempt", () => {
  it("a 2xx: delivered in one attempt, one final report, and p-retry never runs", async () => {
    const h = harness([204]);
    await h.run();
    expect(outcomes(h.reports)).toEqual([[1, "delivered", true, 204, undefined, undefined]]);
    expect(h.counters).toEqual({ attempts: 1, delivered: 1, retried: 0, failed: 0, dropped: 0 });
    expect(h.waits).toEqual([]);
    expect(pRetry).not.toHaveBeenCalled();
  });

  it("a 4xx: failed at once with http_<status>, and p-retry never runs", async () => {
    const h = harness([400]);
    await h.run();
    expect(outcomes(h.reports)).toEqual([[1, "failed", true, 400, "http_400", undefined]]);
    expect(h.reports[0]?.error).toEqual({
      name: "HttpError",
      message: "https://hooks.example.com answered 400",
    });
    expect(pRetry).not.toHaveBeenCalled();
  });

  it("a 410: failed as gone, the webhook disabled", async () => {
    const h = harness([410]);
    await h.run();
    expect(h.reports).toEqual([
      expect.objectContaining({ outcome: "failed", reason: "gone", status: 410, webhookDisabled: true }),
    ]);
    expect(h.disabled.map((d) => d.id)).toEqual(["d1"]);
  });

  it("a refused address is not retried: failed as blocked", async () => {
    const h = harness([new TransportError("https://hooks.example.com", "refused", "ERR_ADDRESS_BLOCKED")]);
    await h.run();
    expect(outcomes(h.reports)).toEqual([[1, "failed", true, undefined, "blocked", undefined]]);
    expect(h.reports[0]?.error).toMatchObject({ name: "TransportError", code: "ERR_ADDRESS_BLOCKED" });
    expect(pRetry).not.toHaveBeenCalled();
  });

  it("with nobody listening, counts but builds no report", async () => {
    const h = harness([503, 200], { minDelayMs: 1, maxDelayMs: 1 });
    h.state.reporting = false;
    await h.run();
    expect(h.reports).toEqual([]);
    expect(h.counters).toEqual({ attempts: 2, delivered: 1, retried: 1, failed: 0, dropped: 0 });
  });
});

describe("retries on p-retry", () => {
  it("backs off from minDelayMs doubling, with jitter, capped at maxDelayMs, then ends retries_exhausted", async () => {
    const h = harness([503, 503, 503, 503, 503], { retries: 3, minDelayMs: 100, maxDelayMs: 250 });
    await h.run();
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, 503, undefined, undefined],
      [2, "retrying", false, 503, undefined, undefined],
      [3, "retrying", false, 503, undefined, undefined],
      [4, "failed", true, 503, "retries_exhausted", undefined],
    ]);
    const [first, second, third] = h.waits;
    expect(h.waits).toHaveLength(3);
    expect(first).toBeGreaterThanOrEqual(100);
    expect(first).toBeLessThanOrEqual(200);
    expect(second).toBeGreaterThanOrEqual(200);
    expect(second).toBeLessThanOrEqual(250);
    expect(third).toBe(250);
    expect(h.counters).toEqual({ attempts: 4, delivered: 0, retried: 3, failed: 1, dropped: 0 });
    expect(pRetry).toHaveBeenCalledTimes(1);
  });

  it("delivers on a later attempt: the last report is final and ok", async () => {
    const h = harness([new Error("reset"), 500, 200], { minDelayMs: 1, maxDelayMs: 1 });
    await h.run();
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, undefined, undefined, undefined],
      [2, "retrying", false, 500, undefined, undefined],
      [3, "delivered", true, 200, undefined, undefined],
    ]);
    // A foreign error's message may quote the URL: only its class name is kept.
    expect(h.reports[0]?.error).toEqual({
      name: "Error",
      message: "Request to https://hooks.example.com failed (Error)",
    });
  });

  it("retries: 0 ends a retryable failure at once as retries_exhausted", async () => {
    const h = harness([503], { retries: 0 });
    await h.run();
    expect(outcomes(h.reports)).toEqual([[1, "failed", true, 503, "retries_exhausted", undefined]]);
    expect(h.waits).toEqual([]);
  });

  it("waits out a Retry-After of at least minDelayMs exactly, without using up a retry", async () => {
    const retryAfter = (seconds: number): Answer => ({
      status: 429,
      headers: { "retry-after": String(seconds) },
    });
    const h = harness([retryAfter(2), retryAfter(3), 503, 503], {
      retries: 1,
      minDelayMs: 100,
      maxDelayMs: 150,
    });
    await h.run();
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, 429, undefined, 2000],
      [2, "retrying", false, 429, undefined, 3000],
      [3, "retrying", false, 503, undefined, undefined],
      [4, "failed", true, 503, "retries_exhausted", undefined],
    ]);
    // The honoured waits moved no backoff on: the one retry backs off from minDelayMs.
    expect(h.waits.slice(0, 2)).toEqual([2000, 3000]);
    expect(h.waits[2]).toBeGreaterThanOrEqual(100);
    expect(h.waits[2]).toBeLessThanOrEqual(150);
  });

  it("a Retry-After shorter than minDelayMs gets the normal backoff, and the retry counts", async () => {
    const zero: Answer = { status: 503, headers: { "retry-after": "0" } };
    const h = harness([zero, zero, zero], { retries: 1, minDelayMs: 100, maxDelayMs: 100 });
    await h.run();
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, 503, undefined, undefined],
      [2, "failed", true, 503, "retries_exhausted", undefined],
    ]);
    expect(h.waits).toEqual([100]);
  });

  it("a Retry-After beyond maxRetryAfterMs ends the delivery (retry_after_too_long) without waiting", async () => {
    const h = harness([{ status: 429, headers: { "retry-after": "2" } }], { maxRetryAfterMs: 1000 });
    await h.run();
    expect(outcomes(h.reports)).toEqual([[1, "failed", true, 429, "retry_after_too_long", undefined]]);
    expect(h.waits).toEqual([]);
    expect(h.counters.retried).toBe(0);
  });

  it("maxElapsedMs, counted from the first attempt, ends the retries (time_exhausted)", async () => {
    vi.useFakeTimers();
    const h = harness(Array<Answer>(10).fill(503), {
      retries: 10,
      minDelayMs: 100,
      maxDelayMs: 100,
      maxElapsedMs: 250,
    });
    await h.run();
    // Failures at 0, 100 and 200 ms are retried; the one at 300 ms is past the limit.
    expect(outcomes(h.reports).map(([attempt, outcome, , , reason]) => [attempt, outcome, reason])).toEqual([
      [1, "retrying", undefined],
      [2, "retrying", undefined],
      [3, "retrying", undefined],
      [4, "failed", "time_exhausted"],
    ]);
  });

  it("out of retries and of time at once: retries_exhausted", async () => {
    vi.useFakeTimers();
    const h = harness([503, 503, 503], { retries: 2, minDelayMs: 100, maxDelayMs: 100, maxElapsedMs: 150 });
    await h.run();
    expect(h.reports.at(-1)).toMatchObject({ attempt: 3, outcome: "failed", reason: "retries_exhausted" });
  });

  it("stale when the Retry-After would end past the event's deadline: no wait", async () => {
    const h = harness([{ status: 503, headers: { "retry-after": "5" } }]);
    await h.run(delivery({ deadlineAt: Date.now() + 1000 }));
    expect(outcomes(h.reports)).toEqual([[1, "failed", true, 503, "stale", undefined]]);
    expect(h.waits).toEqual([]);
  });

  it("stale when the backoff outlived the event's deadline: no further attempt", async () => {
    vi.useFakeTimers();
    const h = harness([503, 200], { minDelayMs: 200, maxDelayMs: 200 });
    await h.run(delivery({ deadlineAt: Date.now() + 150 }));
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, 503, undefined, undefined],
      [1, "failed", true, 503, "stale", undefined],
    ]);
    expect(h.sent).toHaveLength(1);
    expect(h.counters).toMatchObject({ attempts: 1, retried: 1, failed: 1 });
  });
});

describe("ending early", () => {
  it("aborted during a wait: no further attempt and no final report", async () => {
    const h = harness([503, 200], { minDelayMs: 1, maxDelayMs: 1 });
    // The queue abandons the delivery while it backs off: the context's sleep rejects.
    h.state.onSleep = () => (h.state.aborted = true);
    await h.run();
    expect(outcomes(h.reports)).toEqual([[1, "retrying", false, 503, undefined, undefined]]);
    expect(h.sent).toHaveLength(1);
    expect(h.counters).toMatchObject({ delivered: 0, failed: 0 });
  });

  it("aborted while an attempt was in flight: that attempt is not reported", async () => {
    const h = harness([200]);
    const run = h.run();
    h.state.aborted = true;
    await run;
    expect(h.reports).toEqual([]);
  });

  it("the webhook went away (410) before a retry: the delivery is dropped as gone", async () => {
    const h = harness([503, 200], { minDelayMs: 1, maxDelayMs: 1 });
    h.state.isGone = (attempt) => attempt === 2;
    await h.run();
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, 503, undefined, undefined],
      [0, "dropped", true, undefined, "gone", undefined],
    ]);
    expect(h.counters).toMatchObject({ attempts: 1, dropped: 1, failed: 0 });
  });

  it("a bug of ours mid-retry still ends in a final report: internal_error, with the last attempt", async () => {
    const h = harness([503, 200], { minDelayMs: 1, maxDelayMs: 1 });
    h.state.isGone = (attempt) => {
      if (attempt === 2) throw new Error("bug");
      return false;
    };
    await h.run();
    expect(outcomes(h.reports)).toEqual([
      [1, "retrying", false, 503, undefined, undefined],
      [1, "failed", true, 503, "internal_error", undefined],
    ]);
  });

  it("a bug of ours before the first attempt: internal_error, with what was thrown", async () => {
    const h = harness([200]);
    h.state.isGone = () => {
      throw new TypeError("bug");
    };
    await h.run();
    expect(h.reports).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: "failed",
        reason: "internal_error",
        error: { name: "TypeError", message: "Request to https://hooks.example.com failed (TypeError)" },
      }),
    ]);
  });
});

describe("backoff", () => {
  it("backs off exponentially from minDelayMs, with jitter from ×1 to ×2, capped at maxDelayMs", () => {
    const policy = { ...DEFAULT_RETRY, minDelayMs: 100, maxDelayMs: 1500 };
    for (let consumed = 0; consumed < 6; consumed++) {
      const floor = Math.min(100 * 2 ** consumed, 1500);
      const waits = Array.from({ length: 200 }, () => backoff(policy, consumed));
      expect(Math.min(...waits)).toBeGreaterThanOrEqual(floor);
      expect(Math.max(...waits)).toBeLessThanOrEqual(Math.min(2 * floor, 1500));
      // Jitter: the waits spread out (until the cap flattens them).
      if (2 * floor <= 1500) expect(new Set(waits).size).toBeGreaterThan(10);
    }
  });
});

describe("Retry-After (fake clock)", () => {
  /** A notifier sending through `mock` (undici's MockAgent), with one global webhook on `started`. */
  async function mockedNotifier(mock: MockAgent, retry: RetryOptions) {
    const notifier = createNotifier({ transport: httpTransport({ dispatcher: mock }), retry });
    cleanup.push(
      () => notifier.close({ timeoutMs: 100 }),
      () => mock.close(),
    );
    const reports: DeliveryReport[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    await notifier.webhooks.create({
      name: "x",
      url: "https://hooks.example.com/x",
      format: "json",
      events: ["started"],
      global: true,
    });
    return { notifier, reports };
  }

  it("429 with Retry-After: 2 waits at least 2 s without using up a retry", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const mock = new MockAgent();
    mock.disableNetConnect();
    const pool = mock.get("https://hooks.example.com");
    const sentAt: number[] = [];
    pool.intercept({ path: "/x", method: "POST" }).reply(() => {
      sentAt.push(Date.now());
      return { statusCode: 429, data: "slow down", responseOptions: { headers: { "retry-after": "2" } } };
    });
    pool.intercept({ path: "/x", method: "POST" }).reply(() => {
      sentAt.push(Date.now());
      return { statusCode: 200, data: "ok" };
    });
    // retries: 1 — a Retry-After wait that used up the only retry would end the delivery after one
    // more failure; here there is none, and the second attempt must not come early.
    const { notifier, reports } = await mockedNotifier(mock, { retries: 1, minDelayMs: 1, maxDelayMs: 1 });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    const flushed = notifier.flush();
    // vi.waitFor would advance the fake clock; let only promises settle.
    for (let i = 0; i < 100 && reports.length === 0; i++) await vi.advanceTimersByTimeAsync(0);
    expect(reports[0]).toMatchObject({ outcome: "retrying", status: 429, nextAttemptInMs: 2000 });
    await vi.advanceTimersByTimeAsync(1990);
    expect(sentAt).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);
    await flushed;
    expect(sentAt).toHaveLength(2);
    expect(sentAt[1]! - sentAt[0]!).toBeGreaterThanOrEqual(2000);
    expect(reports.at(-1)).toMatchObject({ outcome: "delivered", attempt: 2, final: true });
    mock.assertNoPendingInterceptors();
  });

  it("gives up on a Retry-After longer than maxRetryAfterMs instead of sending early", async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get("https://hooks.example.com")
      .intercept({ path: "/x", method: "POST" })
      .reply(429, "", { headers: { "retry-after": "3600" } });
    const { notifier, reports } = await mockedNotifier(mock, { maxRetryAfterMs: 60_000 });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports).toEqual([
      expect.objectContaining({ outcome: "failed", final: true, reason: "retry_after_too_long" }),
    ]);
  });
});

describe("regressions", () => {
  // From b90c099 (review fixes: Retry-After 0).
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

  // From b90c099 (review fixes: 410 drop).
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

  // From 06ec064 (found in review of the performance work).
  it("a delivery whose bytes came back broken from a custom queue is sent from its text", async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const notifier = createNotifier({
      network: LOOPBACK,
      // A queue that stored the delivery as JSON: the encoded body comes back as a plain object.
      backend: {
        ...memoryBackend(),
        queue: (worker, onDrop, limits) =>
          memoryBackend().queue(
            (delivery, context) => worker({ ...delivery, bytes: {} as Uint8Array }, context),
            onDrop,
            limits,
          ),
      },
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
