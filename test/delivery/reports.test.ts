import { afterEach, describe, expect, it, vi } from "vitest";
import {
  abandonedReport,
  attemptReport,
  droppedReport,
  errorSummary,
  formatFailedReport,
  reasonOf,
  reportOf,
  type Attempt,
} from "../../src/delivery/reports.js";
import { DELIVERED, FAIL, RETRY } from "../../src/delivery/retry.js";
import type { Delivery } from "../../src/delivery/types.js";
import { FormatError, TransportError } from "../../src/errors.js";

afterEach(() => {
  vi.useRealTimers();
});

const identity = {
  id: "d1",
  webhookId: "w1",
  webhookName: "hook",
  target: "https://hooks.example.com",
  event: "finished",
  eventId: "e1",
  runId: "r1",
} as const;

const named = {
  deliveryId: "d1",
  webhookId: "w1",
  webhookName: "hook",
  target: "https://hooks.example.com",
  event: "finished",
  eventId: "e1",
  runId: "r1",
};

describe("reportOf", () => {
  it("names the delivery and says whether this outcome is final and ok, nothing more", () => {
    expect(reportOf(identity, 2, "retrying", 12)).toEqual({
      ...named,
      attempt: 2,
      final: false,
      ok: false,
      outcome: "retrying",
      durationMs: 12,
    });
    expect(reportOf(identity, 1, "delivered", 3)).toMatchObject({ final: true, ok: true });
    expect(reportOf(identity, 1, "failed", 3)).toMatchObject({ final: true, ok: false });
  });

  it("copies no other field of the delivery: never its URL, headers or body", () => {
    const delivery = {
      ...identity,
      url: new URL("https://hooks.example.com/secret-path?token=secret"),
      headers: { authorization: "secret" },
      body: "secret body",
    } as unknown as Delivery;
    const report = reportOf(delivery, 1, "delivered", 1);
    expect(Object.keys(report).sort()).toEqual(
      [...Object.keys(named), "attempt", "final", "ok", "outcome", "durationMs"].sort(),
    );
    expect(JSON.stringify(report)).not.toContain("secret");
  });
});

describe("attemptReport", () => {
  it("adds the attempt's status and error when it had them", () => {
    const attempt: Attempt = {
      number: 3,
      verdict: RETRY,
      status: 503,
      durationMs: 7,
      error: { name: "HttpError", message: "https://hooks.example.com answered 503" },
    };
    expect(attemptReport(identity, attempt, "retrying")).toEqual({
      ...named,
      attempt: 3,
      final: false,
      ok: false,
      outcome: "retrying",
      durationMs: 7,
      status: 503,
      error: { name: "HttpError", message: "https://hooks.example.com answered 503" },
    });
    const report = attemptReport(identity, { number: 1, verdict: DELIVERED, durationMs: 1 }, "delivered");
    expect(report).not.toHaveProperty("status");
    expect(report).not.toHaveProperty("error");
  });
});

describe("final reports of deliveries that were not attempted", () => {
  it("droppedReport: attempt 0, with the reason", () => {
    expect(droppedReport(identity, "superseded")).toEqual({
      ...named,
      attempt: 0,
      final: true,
      ok: false,
      outcome: "dropped",
      durationMs: 0,
      reason: "superseded",
    });
  });

  it("abandonedReport: attempt 0, its time since it was queued, and why", () => {
    vi.useFakeTimers({ now: 10_000 });
    const delivery = { ...identity, queuedAt: 7_500 } as unknown as Delivery;
    expect(abandonedReport(delivery)).toEqual({
      ...named,
      attempt: 0,
      final: true,
      ok: false,
      outcome: "abandoned",
      durationMs: 2_500,
      error: { name: "Abandoned", message: "close() timed out before this delivery was done" },
    });
  });

  it("formatFailedReport: attempt 0, duration 0, the FormatError's name, code and message", () => {
    const error = new FormatError("broken", "Error: cannot format");
    expect(formatFailedReport(identity, error)).toEqual({
      ...named,
      attempt: 0,
      final: true,
      ok: false,
      outcome: "format_failed",
      durationMs: 0,
      error: {
        name: "FormatError",
        code: "ERR_FORMAT",
        message: 'Formatter "broken" failed: Error: cannot format',
      },
    });
  });
});

describe("reasonOf", () => {
  it("gone for a 410, http_<status> for other answers, blocked or network without one", () => {
    expect(reasonOf({ number: 1, verdict: { kind: "disable" }, status: 410, durationMs: 0 })).toBe("gone");
    expect(reasonOf({ number: 1, verdict: FAIL, status: 400, durationMs: 0 })).toBe("http_400");
    expect(reasonOf({ number: 1, verdict: RETRY, status: 503, durationMs: 0 })).toBe("http_503");
    const blocked = { name: "TransportError", code: "ERR_ADDRESS_BLOCKED", message: "refused" };
    expect(reasonOf({ number: 1, verdict: FAIL, durationMs: 0, error: blocked })).toBe("blocked");
    const reset = { name: "TransportError", code: "ECONNRESET", message: "reset" };
    expect(reasonOf({ number: 1, verdict: RETRY, durationMs: 0, error: reset })).toBe("network");
  });
});

describe("errorSummary", () => {
  it("keeps one of our errors whole: its messages never hold more than scheme and host", () => {
    const error = new TransportError("https://hooks.example.com", "connection refused", "ECONNREFUSED");
    expect(errorSummary(error, "https://hooks.example.com")).toEqual({
      name: "TransportError",
      code: "ECONNREFUSED",
      message: "Request to https://hooks.example.com failed: connection refused",
    });
  });

  it("keeps only the class name of anything else, whose message may quote the full URL", () => {
    const foreign = new TypeError("fetch failed for https://hooks.example.com/secret-path");
    expect(errorSummary(foreign, "https://hooks.example.com")).toEqual({
      name: "TypeError",
      message: "Request to https://hooks.example.com failed (TypeError)",
    });
    expect(errorSummary("a string", "https://hooks.example.com")).toEqual({
      name: "Error",
      message: "Request to https://hooks.example.com failed (Error)",
    });
  });
});
