import { describe, expect, it } from "vitest";
import { createNotifier } from "../../src/notifier.js";

describe("regressions", () => {
  // regression: b90c099 (option validation: bad options throw when the notifier is created)
  it.each([
    [{ rateLimits: { json: { perSecond: 0, burst: 1 } } }, /rateLimits\.json/],
    [{ retry: { minDelayMs: Number.POSITIVE_INFINITY } }, /retry\.minDelayMs/],
    [{ maxQueued: Number.NaN }, /maxQueued/],
    [{ maxRuns: 0 }, /maxRuns/],
    [{ maxRuns: 1.5 }, /maxRuns/],
  ])("rejects bad options when the notifier is created: %o", (options, message) => {
    expect(() => createNotifier(options)).toThrow(message);
  });
});
