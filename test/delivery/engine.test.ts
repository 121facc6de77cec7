import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { httpTransport } from "../../src/delivery/http-transport.js";
import { EVENT_NAMES } from "../../src/events.js";
import { createNotifier } from "../../src/notifier.js";
import { receiverHook as hook } from "../helpers/webhooks.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { FAST, receiverSetup } from "../helpers/notifier.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const setup = receiverSetup(cleanup, { retry: FAST }, 2000);

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
