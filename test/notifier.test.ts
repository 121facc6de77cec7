import { afterEach, describe, expect, it, vi } from "vitest";
import { createNotifier } from "../src/notifier.js";
import type { TransportRequest } from "../src/delivery/types.js";
import { isValidationError } from "../src/errors.js";
import type { EventName } from "../src/events.js";
import { EVENT_NAMES } from "../src/events.js";
import { USER_AGENT } from "../src/_version.js";
import { LOOPBACK } from "./helpers/loopback.js";
import { hook, receiverSetup } from "./helpers/notifier.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const setup = receiverSetup(cleanup);

describe("one delivery path, end to end", () => {
  it("POSTs every lifecycle event as a Standard Webhooks JSON envelope to a loopback receiver", async () => {
    const { receiver, notifier, reports } = await setup();
    await hook(notifier, receiver, "ci");
    const run = notifier.run({
      id: "run-42",
      testId: "t-7",
      name: "checkout",
      environment: "staging",
      benchmark: { threshold: 80 },
    });
    run.started();
    run.stats({ requests: 100, codes: { "200": 98, "503": 2 }, latency: { p95: 120 } });
    run.finished({ score: 91.5 });
    const result = await notifier.close();

    expect(result).toEqual({ drained: true, pending: 0 });
    // close() resolved only after every request was answered and reported. The in_progress never left
    // the queue before the run ended, so the terminal event superseded it.
    const types = receiver.requests.map((r) => (r.json() as { type: string }).type);
    expect(types).toEqual(["started", "api_failure", "benchmark_passed", "finished"]);
    expect(
      reports.filter((r) => r.ok && r.final && r.outcome === "delivered" && r.status === 200),
    ).toHaveLength(4);
    expect(reports.filter((r) => r.outcome === "dropped")).toEqual([
      expect.objectContaining({ event: "in_progress", reason: "superseded", final: true }),
    ]);
    const byType = new Map(receiver.requests.map((r) => [(r.json() as { type: string }).type, r]));

    const finished = byType.get("finished")!;
    expect(finished.method).toBe("POST");
    expect(finished.path).toBe("/ci?token=secret-token");
    expect(finished.headers["content-type"]).toBe("application/json");
    expect(finished.headers["user-agent"]).toBe(USER_AGENT);
    expect(finished.headers["webhook-id"]).toMatch(/^msg_/);
    expect(Number(finished.headers["webhook-timestamp"])).toBeCloseTo(Date.now() / 1000, -2);
    const body = finished.json() as { type: string; timestamp: string; data: Record<string, unknown> };
    expect(body.type).toBe("finished");
    expect(body.timestamp).toBe(body.data.at);
    expect(body.data).toMatchObject({
      event: "finished",
      run: { id: "run-42", testId: "t-7", name: "checkout", environment: "staging" },
      stats: { requests: 100, codes: { "200": 98, "503": 2 }, latency: { p95: 120 } },
      score: 91.5,
    });
  });

  it("hands a transport the body encoded once, the same bytes for every webhook of the format", async () => {
    const requests: TransportRequest[] = [];
    const notifier = createNotifier({
      network: LOOPBACK,
      transport: {
        send: (request) => {
          requests.push(request);
          return Promise.resolve({ status: 200, headers: {}, body: "" });
        },
        close: () => Promise.resolve(),
      },
    });
    cleanup.push(() => notifier.close());
    for (const name of ["a", "b"]) {
      await notifier.webhooks.create({
        name,
        url: `http://127.0.0.1:9/${name}`,
        format: "json",
        events: ["started"],
        global: true,
      });
    }
    // A name outside Latin-1 makes the body a two-byte string: the bytes must still be its UTF-8.
    notifier.run({ id: "r", testId: "t", name: "Checkout — peak 🚀" }).started();
    await notifier.flush();
    expect(requests).toHaveLength(2);
    const [first, second] = requests as [TransportRequest, TransportRequest];
    expect(first.bytes).toBeDefined();
    expect(Buffer.from(first.bytes ?? []).toString("utf8")).toBe(first.body);
    expect(second.bytes).toBe(first.bytes);
  });

  it("sends one request per event per webhook", async () => {
    const { receiver, notifier } = await setup();
    await hook(notifier, receiver, "once");
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    await notifier.flush();
    run.finished();
    await notifier.flush();
    expect(receiver.requests.map((r) => (r.json() as { type: string }).type)).toEqual([
      "started",
      "finished",
    ]);
  });
});

describe("failures stay with their delivery", () => {
  it("reports a formatter that throws as format_failed and still delivers to the other webhooks", async () => {
    const { receiver, notifier, reports } = await setup({
      formatters: [
        {
          name: "broken",
          format: () => {
            throw new Error("cannot format");
          },
        },
      ],
    });
    await hook(notifier, receiver, "broken", { format: "broken" });
    await hook(notifier, receiver, "fine");
    notifier.run({ id: "r", testId: "t", name: "n" }).failed();
    await notifier.flush();
    expect(receiver.requests.map((r) => r.path.split("?")[0])).toEqual(["/fine"]);
    const failed = reports.find((r) => r.outcome === "format_failed");
    expect(failed).toMatchObject({
      ok: false,
      final: true,
      attempt: 0,
      event: "failed",
      error: { name: "FormatError" },
    });
    expect(failed?.error?.message).toBe('Formatter "broken" failed: Error: cannot format');
  });

  it("reports a non-2xx answer as a failed delivery", async () => {
    const { receiver, notifier, reports } = await setup(
      {},
      { respond: () => ({ status: 400, body: "invalid_payload and a secret" }) },
    );
    await hook(notifier, receiver, "four-hundred");
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports).toEqual([
      expect.objectContaining({ ok: false, final: true, outcome: "failed", status: 400, attempt: 1 }),
    ]);
    expect(JSON.stringify(reports)).not.toContain("secret");
  });

  it("reports a refused connection without the URL's path or query", async () => {
    const { receiver, notifier, reports } = await setup({ retry: { retries: 0 } });
    await hook(notifier, receiver, "dead");
    await receiver.close();
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      ok: false,
      outcome: "failed",
      reason: "retries_exhausted",
      error: { name: "TransportError", code: "ECONNREFUSED" },
    });
    expect(reports[0]?.target).toBe(receiver.url);
    expect(JSON.stringify(reports)).not.toContain("secret-token");
    expect(JSON.stringify(reports)).not.toContain("/dead");
  });

  it("isolates a throwing delivery listener and reports it on the error channel", async () => {
    const { receiver, notifier, errors } = await setup();
    notifier.on("delivery", () => {
      throw new Error("listener bug");
    });
    await hook(notifier, receiver, "x");
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(errors.map((e) => e.message)).toEqual(['A listener for "delivery" failed: Error: listener bug']);
  });
});

describe("webhook and run validation", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["a duplicate event", { events: ["started", "started"] }, "webhook.events"],
    ["an unknown event", { events: ["exploded"] }, "webhook.events.0"],
    ["no events", { events: [] }, "webhook.events"],
    ["an unknown format", { format: "carrier-pigeon" }, "webhook.format"],
    ["a non-http URL", { url: "ftp://example.com/x" }, "webhook.url"],
    ["a URL with userinfo", { url: "https://user:pass@example.com/x" }, "webhook.url"],
    ["a URL over 2048 characters", { url: `https://example.com/${"a".repeat(2100)}` }, "webhook.url"],
    [
      "a header overriding content-type",
      { headers: { "Content-Type": "text/plain" } },
      "webhook.headers.Content-Type",
    ],
    [
      "a header overriding the signature",
      { headers: { "webhook-signature": "v1,x" } },
      "webhook.headers.webhook-signature",
    ],
    ["a secret without whsec_", { secret: "hunter2" }, "webhook.secret"],
  ])("rejects %s, naming the field, storing nothing and echoing no URL", async (_label, patch, field) => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const input = {
      name: "x",
      url: "https://hooks.example.com/services/SECRET",
      format: "json",
      events: ["started"],
      ...patch,
    };
    const error: unknown = await notifier.webhooks.create(input as never).catch((e: unknown) => e);
    expect(isValidationError(error) && error.field).toBe(field);
    expect((error as Error).message).not.toContain("SECRET");
    expect((error as Error).message).not.toContain("user:pass");
    expect(await notifier.webhooks.list()).toEqual([]);
  });

  it("rejects invalid run info synchronously, naming the field", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    expect(() => notifier.run({ id: "r", testId: "t" } as never)).toThrow(/info\.name/);
    expect(() => notifier.run({ id: "r", testId: "t", name: "n", load: { runners: 0 } })).toThrow(
      /info\.load\.runners/,
    );
  });

  it("creates, updates and removes webhooks with defaults and timestamps", async () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const created = await notifier.webhooks.create({
      name: " team ",
      url: "https://example.com/h",
      format: "json",
      events: ["finished"],
    });
    expect(created).toMatchObject({ name: "team", global: false, enabled: true, events: ["finished"] });
    expect(created.createdAt).toBe(created.updatedAt);
    expect(await notifier.webhooks.get(created.id)).toEqual(created);
    const updated = await notifier.webhooks.update(created.id, { enabled: false, name: undefined });
    expect(updated).toMatchObject({ id: created.id, name: "team", enabled: false });
    expect(await notifier.webhooks.update("missing", { enabled: true })).toBeUndefined();
    expect(await notifier.webhooks.remove(created.id)).toBe(true);
    expect(await notifier.webhooks.remove(created.id)).toBe(false);
  });
});

describe("event names", () => {
  it("are exactly Predator's eight", () => {
    const expected: EventName[] = [
      "started",
      "in_progress",
      "api_failure",
      "aborted",
      "failed",
      "finished",
      "benchmark_passed",
      "benchmark_failed",
    ];
    expect([...EVENT_NAMES].sort()).toEqual(expected.sort());
  });
});

describe("delivery listener errors without an error listener", () => {
  it("become a process warning, not a crash", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const notifier = createNotifier();
      cleanup.push(() => notifier.close());
      notifier.on("warning", () => {
        throw new Error("bad warning listener");
      });
      notifier.run({ id: "r", testId: "t", name: "n" }).started();
      notifier.run({ id: "r", testId: "t", name: "n" }).started();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("bad warning listener"), expect.anything());
    } finally {
      warn.mockRestore();
    }
  });
});
