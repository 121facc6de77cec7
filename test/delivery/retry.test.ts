import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, classifyStatus, parseRetryAfter, resolveRetry } from "../../src/delivery/retry.js";
import { createNotifier } from "../../src/notifier.js";

describe("classifyStatus", () => {
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

  it("reads the first of repeated Retry-After headers, and ignores one that is neither form", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter(["4", "9"], now)).toBe(4000);
    expect(parseRetryAfter(" 5 ", now)).toBe(5000);
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(classifyStatus(503, { "retry-after": "1" }, now)).toEqual({ kind: "retry", retryAfterMs: 1000 });
    expect(classifyStatus(429, { "retry-after": "later" }, now)).toEqual({ kind: "retry" });
  });
});

describe("resolveRetry", () => {
  it("rejects bad retry options when the notifier is created", () => {
    expect(() => createNotifier({ retry: { retries: -1 } })).toThrow(/retry\.retries/);
    expect(() => createNotifier({ retry: { minDelayMs: Number.NaN } })).toThrow(/retry\.minDelayMs/);
    expect(() => createNotifier({ deadlines: { started: 0 } })).toThrow(/deadlines\.started/);
  });

  it("completes the options with the documented defaults", () => {
    expect(resolveRetry()).toEqual({
      retries: 8,
      minDelayMs: 1_000,
      maxDelayMs: 60_000,
      maxElapsedMs: 600_000,
      maxRetryAfterMs: 300_000,
    });
    expect(resolveRetry({ retries: 0, maxDelayMs: undefined })).toEqual({ ...DEFAULT_RETRY, retries: 0 });
  });

  it("takes Infinity as a cap but not as a count or a first delay, and says which option and what to give", () => {
    expect(
      resolveRetry({ maxDelayMs: Infinity, maxElapsedMs: Infinity, maxRetryAfterMs: Infinity }),
    ).toMatchObject({
      maxDelayMs: Infinity,
      maxElapsedMs: Infinity,
      maxRetryAfterMs: Infinity,
    });
    expect(() => resolveRetry({ retries: Infinity })).toThrow(
      "retry.retries: must be a whole number, 0 or more",
    );
    expect(() => resolveRetry({ retries: 1.5 })).toThrow("retry.retries: must be a whole number, 0 or more");
    expect(() => resolveRetry({ minDelayMs: Infinity })).toThrow(
      "retry.minDelayMs: must be a number of milliseconds, 0 or more",
    );
    expect(() => resolveRetry({ maxElapsedMs: -1 })).toThrow(
      "retry.maxElapsedMs: must be a number of milliseconds, 0 or more",
    );
  });
});
