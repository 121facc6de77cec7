import { afterEach, describe, expect, it, vi } from "vitest";
import {
  Circuits,
  resolveCircuitBreaker,
  type CircuitChange,
  type ResolvedCircuitBreaker,
} from "../../src/delivery/circuit.js";
import type { DeliveryReport, Transport } from "../../src/delivery/types.js";
import { createNotifier, type NotifierOptions, type NotifierWarning } from "../../src/notifier.js";

// The circuit breaker per webhook (issue 19): the state machine alone, then through a notifier on a
// fake clock with a stub transport.
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const OPTIONS: ResolvedCircuitBreaker = {
  failures: 3,
  probeAfterMs: 1000,
  maxProbeAfterMs: 3000,
  disableAfterMs: null,
};

function circuits(options: Partial<ResolvedCircuitBreaker> = {}) {
  const changes: CircuitChange[] = [];
  const breaker = new Circuits({ ...OPTIONS, ...options }, (change) => changes.push(change));
  const fail = (now: number) => breaker.record("w", "https://hooks.example.com", true, now);
  const answer = (now: number) => breaker.record("w", "https://hooks.example.com", false, now);
  return { breaker, changes, fail, answer };
}

describe("Circuits", () => {
  it("opens after the failures in a row, holds deliveries back, lets one probe through, closes on an answer", () => {
    const { breaker, changes, fail, answer } = circuits();
    fail(0);
    fail(1);
    expect(breaker.admit("w", 2)).toBe(0);
    answer(2);
    // An answer starts the count over: three more are needed.
    fail(3);
    fail(4);
    expect(changes).toEqual([]);
    fail(5);
    expect(changes).toEqual([
      expect.objectContaining({ webhookId: "w", change: "opened", failures: 3, probeInMs: 1000 }),
    ]);
    expect(breaker.open).toBe(1);
    expect(breaker.admit("w", 5)).toBe(1000);
    expect(breaker.admit("w", 905)).toBe(100);
    // Other webhooks are not held back.
    expect(breaker.admit("other", 905)).toBe(0);
    // Past the wait: exactly one delivery goes, as the probe; the others look again later.
    expect(breaker.admit("w", 1005)).toBe(0);
    expect(breaker.admit("w", 1005)).toBeGreaterThan(0);
    expect(breaker.list()).toEqual([
      expect.objectContaining({ webhookId: "w", state: "probing", failures: 3 }),
    ]);
    answer(1010);
    expect(changes.at(-1)).toMatchObject({ change: "closed", webhookId: "w" });
    expect(breaker.open).toBe(0);
    expect(breaker.list()).toEqual([]);
    expect(breaker.admit("w", 1010)).toBe(0);
  });

  it("a failed probe doubles the wait for the next one, up to maxProbeAfterMs", () => {
    const { breaker, changes, fail } = circuits();
    for (let t = 0; t < 3; t++) fail(t);
    let now = 2;
    const waits: number[] = [];
    for (let probe = 0; probe < 4; probe++) {
      now += breaker.admit("w", now);
      expect(breaker.admit("w", now)).toBe(0);
      fail(now);
      waits.push(breaker.admit("w", now));
    }
    expect(waits).toEqual([2000, 3000, 3000, 3000]);
    // Opened once: failed probes are not new openings.
    expect(changes.filter((c) => c.change === "opened")).toHaveLength(1);
  });

  it("reports an outage once when the circuit stays open past disableAfterMs, and forgets on request", () => {
    const { breaker, changes, fail } = circuits({ disableAfterMs: 10_000 });
    for (let t = 0; t < 3; t++) fail(t);
    fail(9_000);
    expect(changes.map((c) => c.change)).toEqual(["opened"]);
    fail(10_002);
    fail(20_000);
    expect(changes.map((c) => c.change)).toEqual(["opened", "outage"]);
    breaker.forget("w");
    expect(breaker.open).toBe(0);
    expect(breaker.admit("w", 20_001)).toBe(0);
  });

  it("remembers a webhook only from its first failure to its next answer", () => {
    const { breaker, fail, answer } = circuits();
    answer(0);
    expect(breaker.list()).toEqual([]);
    fail(1);
    answer(2);
    // Nothing left behind: no entry, nothing open.
    expect(breaker.open).toBe(0);
    expect(breaker.list()).toEqual([]);
  });
});

describe("resolveCircuitBreaker", () => {
  it("fills in the defaults, and false turns the breaker off", () => {
    expect(resolveCircuitBreaker(undefined)).toEqual({
      failures: 10,
      probeAfterMs: 30_000,
      maxProbeAfterMs: 300_000,
      disableAfterMs: null,
    });
    expect(resolveCircuitBreaker(false)).toBeUndefined();
    expect(resolveCircuitBreaker({ probeAfterMs: 600_000 })?.maxProbeAfterMs).toBe(600_000);
  });

  it.each([
    [{ failures: 0 }, /circuitBreaker\.failures/],
    [{ failures: 2.5 }, /circuitBreaker\.failures/],
    [{ probeAfterMs: 0 }, /circuitBreaker\.probeAfterMs/],
    [{ probeAfterMs: Number.POSITIVE_INFINITY }, /circuitBreaker\.probeAfterMs/],
    [{ probeAfterMs: 2000, maxProbeAfterMs: 1000 }, /circuitBreaker\.maxProbeAfterMs/],
    [{ disableAfterMs: -1 }, /circuitBreaker\.disableAfterMs/],
  ])("createNotifier() refuses %o, naming the option", (circuitBreaker, message) => {
    expect(() => createNotifier({ circuitBreaker })).toThrow(message);
  });
});

describe("the breaker in a notifier (fake clock)", () => {
  /** A notifier whose transport fails while `down` is true, with one global JSON webhook. */
  async function setup(circuitBreaker: NotifierOptions["circuitBreaker"]) {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const state = { down: true, sent: 0, status: 503 };
    const transport: Transport = {
      send: () => {
        state.sent += 1;
        return Promise.resolve({ status: state.down ? state.status : 200, headers: {}, body: "" });
      },
      close: () => Promise.resolve(),
    };
    const notifier = createNotifier({
      transport,
      circuitBreaker,
      retry: { retries: 100, minDelayMs: 10, maxDelayMs: 10 },
      deadlines: { started: 3_600_000 },
    });
    cleanup.push(() => notifier.close({ timeoutMs: 10 }));
    const warnings: NotifierWarning[] = [];
    const reports: DeliveryReport[] = [];
    notifier.on("warning", (w) => warnings.push(w));
    notifier.on("delivery", (r) => reports.push(r));
    const webhook = await notifier.webhooks.create({
      name: "down",
      url: "https://hooks.example.com/down",
      format: "json",
      events: ["started"],
      global: true,
    });
    return { notifier, state, warnings, reports, webhook };
  }

  it("holds deliveries back while open, probes one at a time, then sends them all once the endpoint answers", async () => {
    const { notifier, state, warnings, reports, webhook } = await setup({ failures: 3, probeAfterMs: 1000 });
    for (let i = 0; i < 5; i++) notifier.run({ id: `r${i}`, testId: "t", name: "n" }).started();
    await vi.advanceTimersByTimeAsync(0);
    // Five first attempts failed: the circuit opened at the third.
    expect(warnings.map((w) => w.code)).toEqual(["circuit_open"]);
    expect(warnings[0]?.message).toMatch(
      /Webhook .* \(https:\/\/hooks\.example\.com\) failed 3 attempts in a row/,
    );
    expect(notifier.stats().openCircuits).toBe(1);
    expect(notifier.circuits()).toEqual([expect.objectContaining({ webhookId: webhook.id, state: "open" })]);
    const sentWhenOpened = state.sent;
    // Held back: the retries' 10 ms backoffs pass, and nothing is sent until the probe.
    await vi.advanceTimersByTimeAsync(900);
    expect(state.sent).toBe(sentWhenOpened);
    // The probe fails: one request, and the next probe waits 2 s.
    await vi.advanceTimersByTimeAsync(200);
    expect(state.sent).toBe(sentWhenOpened + 1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(state.sent).toBe(sentWhenOpened + 1);
    state.down = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(warnings.map((w) => w.code)).toEqual(["circuit_open", "circuit_closed"]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(notifier.stats().openCircuits).toBe(0);
    expect(reports.filter((r) => r.outcome === "delivered")).toHaveLength(5);
    // Nothing was given up, and no retry was used up by the wait (100 would allow far more).
    expect(reports.filter((r) => r.final && r.outcome !== "delivered")).toEqual([]);
  });

  it("a probe answered 410 closes the circuit, disables the webhook and drops what was held back", async () => {
    const { notifier, state, warnings, reports } = await setup({ failures: 3, probeAfterMs: 1000 });
    for (let i = 0; i < 5; i++) notifier.run({ id: `r${i}`, testId: "t", name: "n" }).started();
    await vi.advanceTimersByTimeAsync(0);
    state.status = 410;
    await vi.advanceTimersByTimeAsync(3000);
    expect(warnings.map((w) => w.code)).toEqual(["circuit_open", "circuit_closed", "webhook_disabled"]);
    expect(notifier.circuits()).toEqual([]);
    const finals = reports.filter((r) => r.final);
    expect(finals).toHaveLength(5);
    expect(finals.filter((r) => r.outcome === "dropped" && r.reason === "gone")).toHaveLength(4);
  });

  it("with circuitBreaker: false, every delivery keeps retrying on its own schedule", async () => {
    const { notifier, state, warnings } = await setup(false);
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await vi.advanceTimersByTimeAsync(500);
    expect(warnings).toEqual([]);
    // About one attempt per 10–20 ms backoff.
    expect(state.sent).toBeGreaterThan(20);
    expect(notifier.stats().openCircuits).toBe(0);
  });

  it("disables a webhook whose circuit stays open past disableAfterMs, as a 410 does", async () => {
    const { notifier, warnings, reports, webhook } = await setup({
      failures: 3,
      probeAfterMs: 1000,
      maxProbeAfterMs: 1000,
      disableAfterMs: 10_000,
    });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await vi.advanceTimersByTimeAsync(12_000);
    expect(warnings.map((w) => w.code)).toEqual(["circuit_open", "webhook_disabled"]);
    expect(warnings[1]?.message).toMatch(
      /\(https:\/\/hooks\.example\.com\) kept failing with its circuit open for 10 s and was disabled/,
    );
    expect((await notifier.webhooks.get(webhook.id))?.enabled).toBe(false);
    // What was held back is dropped as gone, not sent.
    expect(reports.at(-1)).toMatchObject({ outcome: "dropped", reason: "gone" });
  });
});
