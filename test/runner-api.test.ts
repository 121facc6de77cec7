import { describe, expect, it } from "vitest";
import type { Run, RunEvent } from "../src/events.js";
import { isValidationError } from "../src/errors.js";
import { createRunHandle, memoryRunState, type IgnoredCall } from "../src/run-tracker.js";
import { successScore } from "../src/score.js";

const run: Run = { id: "run-1", testId: "t-1", name: "checkout", benchmark: { threshold: 90 } };
const T0 = Date.parse("2026-12-04T10:00:00.000Z");

function harness(info: Run = run) {
  let now = T0;
  const events: RunEvent[] = [];
  const ignored: IgnoredCall[] = [];
  const handle = createRunHandle(info, {
    state: memoryRunState(),
    publish: (batch) => events.push(...batch),
    ignored: (call) => ignored.push(call),
    unrecorded: (error) => {
      throw error;
    },
    apiFailureCooldownMs: 60_000,
    now: () => now,
  });
  const last = (name: RunEvent["event"]): RunEvent | undefined => events.findLast((e) => e.event === name);
  const statsOf = (name: RunEvent["event"]) => {
    const event = last(name);
    return event && "stats" in event ? event.stats : undefined;
  };
  return { handle, events, ignored, last, statsOf, advance: (ms: number) => (now += ms) };
}

describe("run.totals(): cumulative statistics", () => {
  it("counts only what totals add, however often the same totals come", () => {
    const h = harness();
    h.handle.totals({ requests: 100, codes: { "200": 100 } });
    h.handle.totals({ requests: 100, codes: { "200": 100 } });
    h.handle.totals({ requests: 250, codes: { "200": 240, "503": 10 }, errors: { ETIMEDOUT: 0 } });
    h.handle.finished();
    expect(h.statsOf("finished")).toMatchObject({ requests: 250, codes: { "200": 240, "503": 10 } });
  });

  it("never double counts totals handed over after delta batches", () => {
    // Artillery's `done` gives the whole run after per-period batches: the doubled counts.
    const h = harness();
    h.handle.stats({ requests: 200, codes: { "200": 180, "503": 20 } });
    h.handle.stats({ requests: 160, codes: { "200": 129, "503": 31 }, errors: { ECONNRESET: 0 } });
    const done = { requests: 360, codes: { "200": 309, "503": 51 }, latency: { p95: 12.1, p999: 30 } };
    h.handle.finished({ totals: done, score: successScore(done) });
    expect(h.statsOf("finished")).toMatchObject({
      requests: 360,
      codes: { "200": 309, "503": 51 },
      latency: { p95: 12.1, p999: 30 },
    });
    const finished = h.last("finished");
    expect(finished?.event === "finished" && finished.benchmark).toEqual({
      score: 85.8,
      threshold: 90,
      passed: false,
      lastScores: [],
    });
  });

  it("takes a count lower than the run's as unchanged, and reports 5xx the totals add", () => {
    const h = harness();
    h.handle.totals({ requests: 50, codes: { "200": 50 } });
    h.handle.totals({ requests: 40, codes: { "200": 40, "502": 3 } });
    expect(h.statsOf("in_progress")).toMatchObject({ requests: 50 });
    const failure = h.last("api_failure");
    expect(failure?.event === "api_failure" && failure.failures).toEqual({
      codes: { "502": 3 },
      count: 3,
      total: 3,
    });
    expect(h.statsOf("api_failure")).toMatchObject({ requests: 50, codes: { "200": 50, "502": 3 } });
  });

  it("refuses finished() with both stats and totals, naming the field", () => {
    const h = harness();
    let error: unknown;
    try {
      h.handle.finished({ stats: { requests: 1 }, totals: { requests: 1 } });
    } catch (caught) {
      error = caught;
    }
    expect(isValidationError(error) && error.message).toMatch(/result\.totals: give either stats/);
    expect(h.events).toEqual([]);
  });
});

describe("runner timestamps", () => {
  it("measures elapsed time between the runner's start and end, and stamps events with them", () => {
    const h = harness();
    h.handle.started({ at: new Date(T0 - 12_000) });
    h.advance(3_000); // the runner reports 3 s after the fact: elapsed must not include that
    h.handle.finished({ at: T0 });
    expect(h.last("started")?.at).toBe("2026-12-04T09:59:48.000Z");
    expect(h.last("finished")?.at).toBe("2026-12-04T10:00:00.000Z");
    expect(h.statsOf("finished")?.elapsedMs).toBe(12_000);
  });

  it("stamps a batch with the time the runner measured it", () => {
    const h = harness();
    h.handle.started({ at: T0 - 10_000 });
    h.advance(5_000); // the runner's period is reported late: its own time counts
    h.handle.stats({ requests: 5, codes: { "200": 4, "503": 1 } }, { at: T0 - 8_000 });
    expect(h.statsOf("in_progress")?.elapsedMs).toBe(2_000);
    expect(h.last("api_failure")?.at).toBe("2026-12-04T09:59:52.000Z");
    h.handle.totals({ requests: 9 }, { at: T0 - 6_000 });
    h.handle.finished({ at: T0 });
    expect(h.statsOf("finished")).toMatchObject({ requests: 9, elapsedMs: 10_000 });
    expect(() => h.handle.stats({ requests: 1 }, { at: "soon" })).toThrow(/options\.at/);
  });

  it("takes ISO strings and epoch milliseconds, for aborted and failed too", () => {
    const aborted = harness();
    aborted.handle.started({ at: "2026-12-04T09:59:00.000Z" });
    aborted.handle.aborted("stopped by SIGINT", { at: T0 - 30_000 });
    expect(aborted.statsOf("aborted")?.elapsedMs).toBe(30_000);
    expect(aborted.last("aborted")?.at).toBe("2026-12-04T09:59:30.000Z");

    const failed = harness();
    failed.handle.started({ at: T0 - 1000 });
    failed.handle.failed(new Error("boom"), { at: T0 });
    expect(failed.statsOf("failed")?.elapsedMs).toBe(1000);
  });

  it("rejects a time that is not one, naming the option", () => {
    const h = harness();
    for (const at of [new Date(Number.NaN), "yesterday", -1, 1e20]) {
      let error: unknown;
      try {
        h.handle.started({ at });
      } catch (caught) {
        error = caught;
      }
      expect(isValidationError(error) && error.message).toMatch(/options\.at/);
    }
    expect(h.events).toEqual([]);
  });
});

describe("latency summaries and load phases as runners give them", () => {
  it("accepts Artillery's http.response_time keys", () => {
    const h = harness();
    const latency = {
      min: 1,
      max: 90,
      count: 360,
      mean: 5.2,
      p50: 4,
      median: 4,
      p75: 6,
      p90: 8,
      p95: 12.1,
      p99: 40,
      p999: 88,
    };
    h.handle.stats({ requests: 360, latency });
    expect(h.statsOf("in_progress")?.latency).toEqual(latency);
  });

  it("rejects a fractional latency count, naming the field", () => {
    const h = harness();
    expect(() => h.handle.stats({ latency: { count: 1.5 } })).toThrow(/stats\.latency\.count/);
  });
});

describe("successScore()", () => {
  it("scores the share of requests answered without a 5xx", () => {
    expect(successScore({ requests: 360, codes: { "200": 309, "503": 51 } })).toBe(85.8);
    expect(successScore({ requests: 10, codes: { "200": 6, "404": 2 }, errors: { ETIMEDOUT: 2 } })).toBe(80);
    expect(successScore({ codes: { "200": 3, "500": 1 } })).toBe(75);
    expect(successScore({ requests: 0 })).toBeUndefined();
    expect(successScore({})).toBeUndefined();
  });
});
