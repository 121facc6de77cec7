import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MockAgent } from "undici";
import { afterEach, describe, expect, it, vi } from "vitest";
import { httpTransport } from "../../src/delivery/http-transport.js";
import { backoff } from "../../src/delivery/deliver.js";
import { DEFAULT_RETRY, classifyStatus, parseRetryAfter } from "../../src/delivery/retry.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { EVENT_NAMES, type EventName } from "../../src/events.js";
import { createNotifier, type NotifierOptions, type NotifierWarning } from "../../src/notifier.js";
import { startReceiver, type ReceiverOptions } from "../../src/testing/receiver.js";
import { receiverHook as hook } from "../helpers/webhooks.js";
import { LOOPBACK } from "../helpers/loopback.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

// Fast retries for tests on real loopback servers: the policy is the same, only the delays shrink.
const FAST = { retries: 5, minDelayMs: 5, maxDelayMs: 20 };

async function setup(options: NotifierOptions = {}, receiverOptions?: ReceiverOptions) {
  const receiver = await startReceiver(receiverOptions);
  const notifier = createNotifier({ network: LOOPBACK, retry: FAST, ...options });
  cleanup.push(
    () => receiver.close(),
    () => notifier.close({ timeoutMs: 2000 }),
  );
  const reports: DeliveryReport[] = [];
  const warnings: NotifierWarning[] = [];
  notifier.on("delivery", (r) => reports.push(r));
  notifier.on("warning", (w) => warnings.push(w));
  return { receiver, notifier, reports, warnings };
}

const typeOf = (r: { json(): unknown }): EventName => (r.json() as { type: EventName }).type;

describe("retry policy", () => {
  it.each<[number, string]>([
    [200, "delivered"],
    [202, "delivered"],
    [204, "delivered"],
    [301, "fail"],
    [400, "fail"],
    [401, "fail"],
    [404, "fail"],
    [408, "retry"],
    [410, "disable"],
    [425, "retry"],
    [429, "retry"],
    [500, "retry"],
    [503, "retry"],
  ])("classifies %i as %s", (status, kind) => {
    expect(classifyStatus(status, {}, 0).kind).toBe(kind);
  });

  it("reads Retry-After as seconds or an HTTP date, on 429 and 503 only", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("2", now)).toBe(2000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(classifyStatus(429, { "retry-after": "3" }, now)).toEqual({ kind: "retry", retryAfterMs: 3000 });
    expect(classifyStatus(500, { "retry-after": "3" }, now)).toEqual({ kind: "retry" });
  });

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

  it("rejects bad retry options when the notifier is created", () => {
    expect(() => createNotifier({ retry: { retries: -1 } })).toThrow(/retry\.retries/);
    expect(() => createNotifier({ retry: { minDelayMs: Number.NaN } })).toThrow(/retry\.minDelayMs/);
    expect(() => createNotifier({ deadlines: { started: 0 } })).toThrow(/deadlines\.started/);
  });
});

describe("retries against a real receiver", () => {
  it("503, 503, then 200: one message received, three attempts reported, one webhook-id", async () => {
    const { receiver, notifier, reports } = await setup({}, { respond: (_r, i) => (i < 2 ? 503 : 200) });
    await hook(notifier, receiver, "flaky", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(3);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(reports.map((r) => [r.attempt, r.outcome, r.final, r.status])).toEqual([
      [1, "retrying", false, 503],
      [2, "retrying", false, 503],
      [3, "delivered", true, 200],
    ]);
    expect(notifier.stats()).toMatchObject({
      sent: 3,
      delivered: 1,
      retried: 2,
      failed: 0,
      queued: 0,
      inFlight: 0,
    });
  });

  it("400: one attempt, final failure", async () => {
    const { receiver, notifier, reports } = await setup({}, { respond: () => 400 });
    await hook(notifier, receiver, "bad", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(reports).toEqual([
      expect.objectContaining({ attempt: 1, final: true, outcome: "failed", reason: "http_400" }),
    ]);
  });

  it("a redirect is not followed and fails the delivery", async () => {
    const { receiver, notifier, reports } = await setup(
      {},
      { respond: () => ({ status: 302, headers: { location: "http://127.0.0.1:1/" } }) },
    );
    await hook(notifier, receiver, "moved", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(reports).toEqual([
      expect.objectContaining({ final: true, outcome: "failed", reason: "http_302" }),
    ]);
  });

  it("410: the webhook is disabled, and says so", async () => {
    const { receiver, notifier, reports, warnings } = await setup({}, { respond: () => 410 });
    const webhook = await hook(notifier, receiver, "gone", { events: ["started", "finished"] });
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    await notifier.flush();
    await vi.waitFor(async () => expect((await notifier.webhooks.get(webhook.id))?.enabled).toBe(false));
    expect(reports).toEqual([
      expect.objectContaining({ outcome: "failed", reason: "gone", webhookDisabled: true, status: 410 }),
    ]);
    expect(warnings).toEqual([expect.objectContaining({ code: "webhook_disabled", webhookId: webhook.id })]);
    expect(warnings[0]?.message).not.toContain("/gone");
    run.finished();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
  });

  it("connection refused is retried", async () => {
    const { receiver, notifier, reports } = await setup({
      retry: { retries: 2, minDelayMs: 5, maxDelayMs: 5 },
    });
    await hook(notifier, receiver, "dead", { events: ["started"] });
    await receiver.close();
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports.map((r) => [r.attempt, r.outcome, r.error?.code])).toEqual([
      [1, "retrying", "ECONNREFUSED"],
      [2, "retrying", "ECONNREFUSED"],
      [3, "failed", "ECONNREFUSED"],
    ]);
    expect(reports.at(-1)?.reason).toBe("retries_exhausted");
  });

  it("a receiver that hangs: the attempt times out, then the retry is delivered", async () => {
    const { receiver, notifier, reports } = await setup(
      { transport: httpTransport({ timeoutMs: 200, network: LOOPBACK }) },
      { respond: (_r, i) => (i === 0 ? new Promise(() => undefined) : 200) },
    );
    await hook(notifier, receiver, "slow", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports.map((r) => [r.outcome, r.error?.code])).toEqual([
      ["retrying", "UND_ERR_HEADERS_TIMEOUT"],
      ["delivered", undefined],
    ]);
  });
});

describe("Retry-After (fake clock)", () => {
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
    const notifier = createNotifier({
      transport: httpTransport({ dispatcher: mock }),
      retry: { retries: 1, minDelayMs: 1, maxDelayMs: 1 },
    });
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
    const notifier = createNotifier({
      transport: httpTransport({ dispatcher: mock }),
      retry: { maxRetryAfterMs: 60_000 },
    });
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
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports).toEqual([
      expect.objectContaining({ outcome: "failed", final: true, reason: "retry_after_too_long" }),
    ]);
  });
});

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

describe("rate limits (fake clock)", () => {
  it("spaces Slack messages to one a second after a burst of 3, and leaves JSON unlimited", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const sent: Array<{ path: string; at: number }> = [];
    const transport = {
      send: (request: { url: URL }) => {
        sent.push({ path: request.url.pathname, at: Date.now() });
        return Promise.resolve({ status: 200, headers: {}, body: "ok" });
      },
      close: () => Promise.resolve(),
    };
    const notifier = createNotifier({ transport });
    cleanup.push(() => notifier.close({ timeoutMs: 100 }));
    await notifier.webhooks.create({
      name: "s",
      url: "https://hooks.slack.com/services/x",
      format: "slack",
      events: ["started"],
      global: true,
    });
    await notifier.webhooks.create({
      name: "j",
      url: "https://example.com/json",
      format: "json",
      events: ["started"],
      global: true,
    });
    const t0 = Date.now();
    for (let i = 0; i < 6; i++) notifier.run({ id: `r${i}`, testId: "t", name: "n" }).started();
    const flushed = notifier.flush();
    await vi.advanceTimersByTimeAsync(10_000);
    await flushed;
    const slack = sent.filter((s) => s.path.startsWith("/services")).map((s) => s.at - t0);
    const json = sent.filter((s) => s.path === "/json").map((s) => s.at - t0);
    expect(json).toEqual([0, 0, 0, 0, 0, 0]);
    expect(slack.slice(0, 3)).toEqual([0, 0, 0]);
    expect(slack.slice(3)).toEqual([1000, 2000, 3000]);
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

describe("chaos", () => {
  it("every event reaches every target exactly once, in lifecycle order, whatever the receiver does", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    cleanup.push(() => Promise.resolve(process.off("unhandledRejection", onUnhandled)));

    // Seeded, so a failure can be replayed.
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const ok = new Map<string, string[]>(); // target path → event types answered 2xx, in order
    const lanes = new Map<string, string[]>(); // target path + run id → event types answered 2xx, in order
    const okIds = new Map<string, number>(); // path + webhook-id → 2xx answers
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const roll = random();
        if (roll < 0.1) return void req.socket.destroy(); // reset
        if (roll < 0.15) return; // hang: the client times out
        if (roll < 0.25) return void res.writeHead(429, { "retry-after": "0" }).end();
        if (roll < 0.35) return void res.writeHead(500).end();
        if (roll < 0.45) return void res.writeHead(503).end();
        const path = req.url ?? "";
        const key = `${path} ${String(req.headers["webhook-id"])}`;
        okIds.set(key, (okIds.get(key) ?? 0) + 1);
        const { type, data } = JSON.parse(Buffer.concat(chunks).toString()) as {
          type: string;
          data: { run: { id: string } };
        };
        ok.set(path, [...(ok.get(path) ?? []), type]);
        const lane = `${path} ${data.run.id}`;
        lanes.set(lane, [...(lanes.get(lane) ?? []), type]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    );
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const notifier = createNotifier({
      network: LOOPBACK,
      transport: httpTransport({ timeoutMs: 150, network: LOOPBACK }),
      retry: { retries: 40, minDelayMs: 1, maxDelayMs: 10 },
      apiFailureCooldownMs: 0,
    });
    cleanup.push(() => notifier.close({ timeoutMs: 1000 }));
    const targets = 8;
    for (let t = 0; t < targets; t++) {
      await notifier.webhooks.create({
        name: `t${t}`,
        url: `${base}/t${t}`,
        format: "json",
        events: [...EVENT_NAMES],
        global: true,
      });
    }
    const runs = 6;
    for (let r = 0; r < runs; r++) {
      const run = notifier.run({ id: `run-${r}`, testId: "t", name: "chaos", benchmark: { threshold: 50 } });
      run.started();
      run.stats({ requests: 10, codes: { "200": 9, "500": 1 } });
      await new Promise((resolve) => setTimeout(resolve, 5));
      run.stats({ requests: 10, codes: { "503": 2 } });
      await new Promise((resolve) => setTimeout(resolve, 5));
      run.finished({ score: r * 20 });
    }
    await notifier.flush();

    for (const [key, count] of okIds) expect(count, key).toBe(1);
    const order: Record<string, number> = {
      started: 0,
      in_progress: 1,
      api_failure: 2,
      benchmark_passed: 3,
      benchmark_failed: 3,
      finished: 4,
    };
    for (let t = 0; t < targets; t++) {
      const got = ok.get(`/t${t}`) ?? [];
      // Per run: started, (in_progress), api_failure ×2, benchmark, finished. in_progress may be
      // superseded when it was still queued at the end of the run; nothing else may be missing.
      expect(got.filter((e) => e === "finished")).toHaveLength(runs);
      expect(got.filter((e) => e === "started")).toHaveLength(runs);
      expect(got.filter((e) => e === "api_failure")).toHaveLength(2 * runs);
      expect(got.filter((e) => e.startsWith("benchmark_"))).toHaveLength(runs);
      expect(got.filter((e) => e === "in_progress").length).toBeLessThanOrEqual(runs);
    }
    // Lifecycle order within each (target, run).
    expect(lanes.size).toBe(targets * runs);
    for (const [lane, types] of lanes) {
      const ranks = types.map((type) => order[type] ?? -1);
      expect(ranks, `${lane}: ${types.join(" → ")}`).toEqual([...ranks].sort((x, y) => x - y));
      expect(types[0], lane).toBe("started");
      expect(types.at(-1), lane).toBe("finished");
    }
    expect(notifier.stats()).toMatchObject({ queued: 0, inFlight: 0, failed: 0 });
    expect(unhandled).toEqual([]);
  }, 60_000);
});
