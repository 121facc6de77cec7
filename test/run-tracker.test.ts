import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  EVENT_NAMES,
  OUTCOME_EVENTS,
  SUPERSEDING_EVENTS,
  type EventName,
  type Run,
  type RunEvent,
  type StatsBatch,
} from "../src/events.js";
import { isValidationError } from "../src/errors.js";
import {
  createRunHandle,
  eventId,
  initialSnapshot,
  memoryRunState,
  parseCall,
  step,
  type IgnoredCall,
  type RunSnapshot,
} from "../src/run-tracker.js";
import { createNotifier } from "../src/notifier.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const run: Run = { id: "run-1", testId: "t-1", name: "checkout" };
const COOLDOWN = 60_000;

/** A run handle on a fake clock that records what it emits and what it ignores. */
function harness(info: Run = run, state = memoryRunState()) {
  let now = 1_700_000_000_000;
  const events: RunEvent[] = [];
  const ignored: IgnoredCall[] = [];
  const handle = createRunHandle(info, {
    state,
    publish: (batch) => events.push(...batch),
    ignored: (call) => ignored.push(call),
    unrecorded: (error) => {
      throw error;
    },
    apiFailureCooldownMs: COOLDOWN,
    now: () => now,
  });
  return {
    handle,
    events,
    ignored,
    names: () => events.map((e) => e.event),
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("run tracker lifecycle", () => {
  it("emits started, in_progress on the first stats only, then finished with accumulated stats", () => {
    const h = harness();
    h.handle.started();
    h.advance(1000);
    h.handle.stats({ requests: 100, codes: { "200": 100 }, latency: { p95: 20 } });
    h.advance(1000);
    h.handle.stats({ requests: 50, codes: { "200": 49, "404": 1 }, errors: { ETIMEDOUT: 2 }, rps: 50 });
    h.handle.finished();
    expect(h.names()).toEqual(["started", "in_progress", "finished"]);
    const finished = h.events[2];
    expect(finished?.event).toBe("finished");
    if (finished?.event !== "finished") throw new Error("unreachable");
    expect(finished.stats).toEqual({
      requests: 150,
      codes: { "200": 149, "404": 1 },
      errors: { ETIMEDOUT: 2 },
      latency: { p95: 20 },
      rps: 50,
      elapsedMs: 2000,
    });
    expect(finished).not.toHaveProperty("score");
    expect(h.handle.ended).toBe(true);
  });

  it("keeps the stats of in_progress as they were when it fired", () => {
    const h = harness();
    h.handle.stats({ requests: 10 });
    h.handle.stats({ requests: 10 });
    const inProgress = h.events.find((e) => e.event === "in_progress");
    expect(inProgress?.event === "in_progress" && inProgress.stats.requests).toBe(10);
  });

  it("emits started before in_progress when the runner never called started()", () => {
    const h = harness();
    h.handle.stats({ requests: 1 });
    expect(h.names()).toEqual(["started", "in_progress"]);
  });

  it("fires benchmark_passed before finished when the score equals the threshold", () => {
    const h = harness({ ...run, benchmark: { threshold: 80, lastScores: [70, 75] } });
    h.handle.started();
    h.handle.finished({ score: 80 });
    expect(h.names()).toEqual(["started", "benchmark_passed", "finished"]);
    const bench = h.events[1];
    expect(bench?.event === "benchmark_passed" && bench.benchmark).toEqual({
      score: 80,
      threshold: 80,
      passed: true,
      lastScores: [70, 75],
    });
    const finished = h.events[2];
    expect(finished?.event === "finished" && finished.score).toBe(80);
    // finished carries the verdict too: a channel subscribed to finished alone still sees it.
    expect(finished?.event === "finished" && finished.benchmark).toEqual(
      bench?.event === "benchmark_passed" && bench.benchmark,
    );
  });

  it("treats 0 as a real score and a real threshold", () => {
    const zeroScore = harness({ ...run, benchmark: { threshold: 50 } });
    zeroScore.handle.finished({ score: 0 });
    expect(zeroScore.names()).toEqual(["benchmark_failed", "finished"]);

    const zeroThreshold = harness({ ...run, benchmark: { threshold: 0 } });
    zeroThreshold.handle.finished({ score: 0 });
    expect(zeroThreshold.names()).toEqual(["benchmark_passed", "finished"]);
  });

  it("takes the threshold and last scores from finished() over the run info", () => {
    const h = harness({ ...run, benchmark: { threshold: 10 } });
    h.handle.finished({ score: 50, threshold: 60, lastScores: [1] });
    const bench = h.events[0];
    expect(bench?.event).toBe("benchmark_failed");
    expect(bench?.event === "benchmark_failed" && bench.benchmark).toEqual({
      score: 50,
      threshold: 60,
      passed: false,
      lastScores: [1],
    });
    const finished = h.events[1];
    expect(finished?.event === "finished" && finished.benchmark?.passed).toBe(false);
  });

  it("emits no benchmark event without a threshold, or without a score", () => {
    const noThreshold = harness();
    noThreshold.handle.finished({ score: 90 });
    expect(noThreshold.names()).toEqual(["finished"]);
    const noScore = harness({ ...run, benchmark: { threshold: 50 } });
    noScore.handle.finished();
    expect(noScore.names()).toEqual(["finished"]);
  });

  it("adds the stats given to finished() as a last batch", () => {
    const h = harness();
    h.handle.stats({ requests: 5, codes: { "200": 5 } });
    h.handle.finished({ stats: { requests: 5, codes: { "200": 5 }, latency: { p99: 9 } } });
    const finished = h.events.at(-1);
    expect(finished?.event === "finished" && finished.stats).toMatchObject({
      requests: 10,
      codes: { "200": 10 },
      latency: { p99: 9 },
    });
  });

  it("ignores and reports calls after a terminal event, never throwing", () => {
    const h = harness();
    h.handle.started();
    h.handle.aborted("operator pressed stop");
    h.handle.finished({ score: 99 });
    h.handle.failed(new Error("late"));
    h.handle.stats({ requests: 1 });
    h.handle.started();
    expect(h.names()).toEqual(["started", "aborted"]);
    expect(h.ignored.map((i) => i.call)).toEqual(["finished", "failed", "stats", "started"]);
    expect(h.ignored[0]?.reason).toContain("already ended (aborted)");
  });

  it("ignores a second started()", () => {
    const h = harness();
    h.handle.started();
    h.handle.started();
    expect(h.names()).toEqual(["started"]);
    expect(h.ignored).toEqual([{ runId: "run-1", call: "started", reason: "the run already started" }]);
  });

  it("carries the abort reason and the stats so far", () => {
    const h = harness();
    h.handle.stats({ requests: 7 });
    h.handle.aborted("user");
    const aborted = h.events.at(-1);
    expect(aborted?.event === "aborted" && aborted.reason).toBe("user");
    expect(aborted?.event === "aborted" && aborted.stats?.requests).toBe(7);
  });

  it.each([
    [
      "an Error",
      Object.assign(new TypeError("boom"), { code: "E_BOOM" }),
      { message: "boom", name: "TypeError", code: "E_BOOM" },
    ],
    ["a string", "disk full", { message: "disk full" }],
    ["nothing", undefined, undefined],
    ["null", null, undefined],
    ["a number", 42, { message: "42" }],
    ["a plain object", { message: "from json", code: 7 }, { message: "from json", code: "7" }],
    ["an object without message", { foo: 1 }, { message: "Unknown error" }],
  ])("normalises failed(%s) and keeps no stack", (_label, input, expected) => {
    const h = harness();
    h.handle.failed(input);
    const failed = h.events[0];
    expect(failed?.event).toBe("failed");
    expect(failed?.event === "failed" ? failed.error : "wrong").toEqual(expected);
    expect(JSON.stringify(failed)).not.toContain("at ");
  });

  it("clips a huge error message", () => {
    const h = harness();
    h.handle.failed(new Error("x".repeat(100_000)));
    const failed = h.events[0];
    expect(failed?.event === "failed" && failed.error?.message.length).toBe(4000);
  });

  it("derives event ids from the run, so the same run gets the same ids", () => {
    const a = harness();
    const b = harness();
    a.handle.started();
    b.handle.started();
    expect(a.events[0]?.id).toBe(b.events[0]?.id);
    expect(a.events[0]?.id).toBe(eventId("run-1", "started", 0));
    expect(eventId("run-1", "started", 0)).not.toBe(eventId("run-2", "started", 0));
  });

  it("shares state between handles on the same run id", () => {
    const state = memoryRunState();
    const first = harness(run, state);
    const second = harness(run, state);
    first.handle.started();
    second.handle.started();
    second.handle.finished();
    first.handle.finished();
    expect(first.names()).toEqual(["started"]);
    expect(second.names()).toEqual(["finished"]);
    expect(first.ignored.map((i) => i.call)).toEqual(["finished"]);
  });
});

describe("what is remembered of a run (issue 19)", () => {
  it("an ended run is remembered as the event that ended it, in one snapshot shared by every run so ended", () => {
    const state = memoryRunState();
    const a = harness({ ...run, id: "a" }, state);
    const b = harness({ ...run, id: "b" }, state);
    for (const h of [a, b]) {
      h.handle.started();
      h.handle.stats({ requests: 10, codes: { "200": 9, "503": 1 }, errors: { ETIMEDOUT: 1 } });
      h.handle.finished();
    }
    const remembered = state.peek("a");
    expect(remembered).toBe(state.peek("b"));
    expect(remembered).toMatchObject({ phase: "ended", fired: ["finished"], stats: { requests: 0 } });
    // Still ended, and a late call says why.
    expect(a.handle.ended).toBe(true);
    a.handle.stats({ requests: 1 });
    expect(a.ignored).toEqual([expect.objectContaining({ reason: "the run already ended (finished)" })]);
  });
});

describe("api_failure throttle", () => {
  it("fires on the first 5xx, then at most once per cooldown with the counts since the last one", () => {
    const h = harness();
    h.handle.started();
    h.handle.stats({ requests: 10, codes: { "200": 8, "503": 2 } });
    h.advance(10_000);
    h.handle.stats({ requests: 10, codes: { "500": 1, "503": 3 } });
    h.advance(10_000);
    h.handle.stats({ requests: 10, codes: { "200": 10 } });
    h.advance(COOLDOWN);
    h.handle.stats({ requests: 10, codes: { "502": 5 } });

    const failures = h.events.filter((e) => e.event === "api_failure");
    expect(failures.map((e) => e.failures)).toEqual([
      { codes: { "503": 2 }, count: 2, total: 2 },
      { codes: { "500": 1, "503": 3, "502": 5 }, count: 9, total: 11 },
    ]);
    expect(new Set(failures.map((e) => e.id)).size).toBe(2);
    expect(failures[1]?.stats.codes).toEqual({ "200": 18, "503": 5, "500": 1, "502": 5 });
  });

  it("leaves an event's numbers as they were when it fired, whatever comes after", () => {
    const h = harness();
    const batch = { requests: 10, codes: { "200": 8, "503": 2 }, latency: { p95: 12 } };
    h.handle.stats(batch);
    h.advance(COOLDOWN);
    h.handle.stats(batch);
    const fired = h.events.filter((e) => e.event === "api_failure");
    const before = JSON.stringify(fired);
    // Quiet batches are added to the totals in place, and loud ones take the pending counts.
    batch.latency.p95 = 99;
    h.handle.stats({ requests: 5, codes: { "200": 5 }, latency: { p95: 40 } });
    h.handle.stats(batch);
    h.advance(COOLDOWN);
    h.handle.stats(batch);
    expect(JSON.stringify(fired)).toBe(before);
    for (const event of fired) {
      expect(Object.isFrozen(event.stats) && Object.isFrozen(event.stats.codes)).toBe(true);
      expect(Object.isFrozen(event.stats.latency)).toBe(true);
      expect(Object.isFrozen(event.failures) && Object.isFrozen(event.failures.codes)).toBe(true);
    }
    expect(h.events.filter((e) => e.event === "api_failure")).toHaveLength(3);
  });

  it("does not fire for 4xx or for 5xx entries with a zero count", () => {
    const h = harness();
    h.handle.stats({ codes: { "404": 3, "500": 0 } });
    expect(h.names()).toEqual(["started", "in_progress"]);
  });

  it("fires with a cooldown of 0 on every batch that has 5xx", () => {
    let n = 0;
    const handle = createRunHandle(run, {
      state: memoryRunState(),
      publish: (batch) => (n += batch.filter((e) => e.event === "api_failure").length),
      ignored: () => undefined,
      unrecorded: () => undefined,
      apiFailureCooldownMs: 0,
    });
    handle.stats({ codes: { "500": 1 } });
    handle.stats({ codes: { "500": 1 } });
    expect(n).toBe(2);
  });
});

describe("bad input", () => {
  it.each<[string, unknown, string]>([
    ["negative requests", { requests: -1 }, "stats.requests"],
    ["fractional requests", { requests: 1.5 }, "stats.requests"],
    ["NaN rps", { rps: Number.NaN }, "stats.rps"],
    ["a code that is not a status", { codes: { abc: 1 } }, "stats.codes.abc"],
    ["an unknown field", { latancy: {} }, "stats"],
    ["a string count", { codes: { "200": "5" } }, "stats.codes.200"],
    ["not an object", "lots", "stats"],
  ])("rejects stats with %s, naming the field, and emits nothing", (_label, batch, field) => {
    const h = harness();
    let error: unknown;
    try {
      h.handle.stats(batch as StatsBatch);
    } catch (e) {
      error = e;
    }
    expect(isValidationError(error)).toBe(true);
    expect(isValidationError(error) && error.field).toBe(field);
    expect((error as Error).message).toContain(field);
    expect(h.events).toEqual([]);
  });

  it("rejects a bad finish result before emitting anything", () => {
    const h = harness({ ...run, benchmark: { threshold: 1 } });
    h.handle.started();
    expect(() => h.handle.finished({ score: "high" as unknown as number })).toThrow(/result\.score/);
    expect(h.names()).toEqual(["started"]);
    expect(h.handle.ended).toBe(false);
  });

  it("rejects a non-string abort reason", () => {
    const h = harness();
    expect(() => h.handle.aborted(5 as unknown as string)).toThrow(/reason/);
  });

  it("quotes the limits word for word (issue 18: they moved to EVENT_LIMITS)", () => {
    const messageOf = (call: () => void): string => {
      try {
        call();
      } catch (error) {
        return (error as Error).message;
      }
      return "accepted";
    };
    const h = harness();
    const kinds = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`E${i}`, 1]));
    expect(messageOf(() => h.handle.stats({ errors: kinds }))).toBe(
      "Invalid stats batch: stats.errors: at most 1000 error kinds",
    );
    expect(messageOf(() => h.handle.finished({ score: 1, lastScores: Array<number>(21).fill(1) }))).toBe(
      "Invalid finish result: result.lastScores: at most 20 scores",
    );
    expect(messageOf(() => h.handle.aborted("x".repeat(10_001)))).toBe(
      "Invalid abort reason: reason: must be at most 10000 characters",
    );
    expect(h.events).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over random sequences of runner calls
// ---------------------------------------------------------------------------------------------

const codesArb = fc.dictionary(
  fc.constantFrom("200", "201", "404", "429", "500", "502", "503"),
  fc.nat({ max: 50 }),
  { maxKeys: 4 },
);
const batchArb: fc.Arbitrary<StatsBatch> = fc.record(
  { requests: fc.nat({ max: 1000 }), codes: codesArb, rps: fc.double({ min: 0, max: 1e4, noNaN: true }) },
  { requiredKeys: [] },
);
const callArb = fc.oneof(
  fc.constant({ kind: "started" as const }),
  fc.record({ kind: fc.constant("stats" as const), batch: batchArb }),
  fc.record({ kind: fc.constant("aborted" as const), reason: fc.option(fc.string(), { nil: undefined }) }),
  fc.record({ kind: fc.constant("failed" as const), error: fc.anything() }),
  fc.record({
    kind: fc.constant("finished" as const),
    score: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
  }),
);
const stepArb = fc.record({ call: callArb, advanceMs: fc.nat({ max: 2 * COOLDOWN }) });

const RANK: Record<EventName, number> = {
  started: 0,
  in_progress: 1,
  api_failure: 2,
  aborted: 3,
  failed: 3,
  benchmark_passed: 3,
  benchmark_failed: 3,
  finished: 4,
};

describe("run tracker properties", () => {
  it("never throws, fires each event at most once (api_failure aside), in lifecycle order", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 40 }),
        fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
        (steps, threshold) => {
          const h = harness(threshold === undefined ? run : { ...run, benchmark: { threshold } });
          for (const { call, advanceMs } of steps) {
            h.advance(advanceMs);
            switch (call.kind) {
              case "started":
                h.handle.started();
                break;
              case "stats":
                h.handle.stats(call.batch);
                break;
              case "aborted":
                h.handle.aborted(call.reason);
                break;
              case "failed":
                h.handle.failed(call.error);
                break;
              case "finished":
                h.handle.finished(call.score === undefined ? undefined : { score: call.score });
                break;
            }
          }
          const names = h.names();
          for (const name of EVENT_NAMES) {
            if (name !== "api_failure") expect(names.filter((n) => n === name).length).toBeLessThanOrEqual(1);
          }
          for (let i = 1; i < names.length; i++) {
            expect(RANK[names[i]!]).toBeGreaterThanOrEqual(RANK[names[i - 1]!]);
          }
          // One terminal outcome at most; a benchmark event only directly before finished.
          expect(
            names.filter((n) => n === "aborted" || n === "failed" || n === "finished").length,
          ).toBeLessThanOrEqual(1);
          names.forEach((n, i) => {
            if (n.startsWith("benchmark_")) expect(names[i + 1]).toBe("finished");
          });
          // Nothing after a terminal event.
          const end = names.findIndex((n) => n === "aborted" || n === "failed" || n === "finished");
          if (end >= 0) expect(names.length).toBe(end + 1);
          // Event ids are unique.
          expect(new Set(h.events.map((e) => e.id)).size).toBe(h.events.length);
          // The sets say the same: nothing after an outcome, no in_progress after a superseding event.
          const outcome = names.findIndex((n) => OUTCOME_EVENTS.has(n));
          if (outcome >= 0) expect(names.length).toBe(outcome + 1);
          const superseding = names.findIndex((n) => SUPERSEDING_EVENTS.has(n));
          if (superseding >= 0) expect(names.slice(superseding)).not.toContain("in_progress");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("spaces api_failure events by the cooldown and accounts for every 5xx", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ batch: batchArb, advanceMs: fc.nat({ max: COOLDOWN }) }), { maxLength: 40 }),
        (steps) => {
          const h = harness();
          let fiveHundreds = 0;
          const times: number[] = [];
          let t = 0;
          for (const { batch, advanceMs } of steps) {
            h.advance(advanceMs);
            t += advanceMs;
            const before = h.events.length;
            h.handle.stats(batch);
            for (const [code, n] of Object.entries(batch.codes ?? {}))
              if (code.startsWith("5")) fiveHundreds += n;
            const fired = h.events.slice(before).filter((e) => e.event === "api_failure");
            for (const event of fired) {
              times.push(t);
              expect(event.failures.total).toBe(fiveHundreds);
            }
          }
          for (let i = 1; i < times.length; i++)
            expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(COOLDOWN);
          const reported = h.events.reduce(
            (sum, e) => sum + (e.event === "api_failure" ? e.failures.count : 0),
            0,
          );
          expect(reported).toBeLessThanOrEqual(fiveHundreds);
          const last = h.events.filter((e) => e.event === "api_failure").at(-1);
          if (last?.event === "api_failure") expect(reported).toBe(last.failures.total);
          const requests = steps.reduce((sum, s) => sum + (s.batch.requests ?? 0), 0);
          const latest = h.events.at(-1);
          if (latest && "stats" in latest && latest.stats)
            expect(latest.stats.requests).toBeLessThanOrEqual(requests);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never half-applies an invalid call: the snapshot is unchanged", () => {
    fc.assert(
      fc.property(fc.anything(), (garbage) => {
        const state = memoryRunState();
        const h = harness(run, state);
        h.handle.started();
        const before: RunSnapshot | undefined = state.peek(run.id);
        try {
          h.handle.stats(garbage as StatsBatch);
        } catch (error) {
          expect(isValidationError(error)).toBe(true);
          expect(state.peek(run.id)).toBe(before);
          expect(h.names()).toEqual(["started"]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("memoryRunState", () => {
  it("forgets the least recently used run beyond its bound", () => {
    const state = memoryRunState(2);
    const touch = (runId: string): void => {
      void state.apply(runId, () => ({ snapshot: initialSnapshot(), events: [] }));
    };
    touch("a");
    touch("b");
    state.peek("a");
    touch("a");
    touch("c");
    expect(state.peek("b")).toBeUndefined();
    expect(state.peek("a")).toBeDefined();
    expect(state.peek("c")).toBeDefined();
  });
});

describe("the quick path for quiet batches", () => {
  it("gives the same totals as the general path, and rejects what the schema rejects", () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 20 }), (batches) => {
        const quick = harness();
        quick.handle.stats({ requests: 0 });
        // The reference: the schema and step() for every batch, never the quick path.
        let snapshot = step(
          initialSnapshot(),
          parseCall("stats", { requests: 0 }),
          run,
          0,
          COOLDOWN,
        ).snapshot;
        const referenceEvents: RunEvent[] = [];
        for (const batch of batches) {
          quick.handle.stats(batch);
          const result = step(snapshot, parseCall("stats", batch), run, 0, COOLDOWN);
          snapshot = result.snapshot;
          referenceEvents.push(...result.events);
        }
        // Batches with 5xx skip the schema on the quick path too: they must fire the same api_failure.
        const fired = (events: RunEvent[]): unknown[] =>
          events.map((e) => {
            if (e.event !== "api_failure") return e.event;
            const { elapsedMs: _, ...stats } = e.stats;
            return { failures: e.failures, stats };
          });
        expect(fired(quick.events.slice(2))).toEqual(fired(referenceEvents));
        const { elapsedMs: _a, ...quickStats } = quickSnapshot(quick);
        const { elapsedMs: _b, ...reference } = snapshot.stats;
        expect(quickStats).toEqual(reference);
      }),
      { numRuns: 200 },
    );
    const h = harness();
    h.handle.stats({ requests: 1 });
    expect(() => h.handle.stats({ requests: -1 })).toThrow(/stats\.requests/);
    expect(() => h.handle.stats({ codes: { "200": 1.5 } })).toThrow(/stats\.codes\.200/);
    expect(() => h.handle.stats({ latency: { p95: -1 } })).toThrow(/stats\.latency\.p95/);
    expect(() => h.handle.stats({ extra: 1 } as StatsBatch)).toThrow(/unknown field "extra"/);
  });

  it("adds what it checked: a field read twice cannot pass the check and then add something else", () => {
    for (const fiveHundreds of [false, true]) {
      const h = harness();
      h.handle.stats({ requests: 1 });
      let reads = 0;
      const batch = {
        get requests() {
          reads += 1;
          return reads === 1 ? 2 : -999;
        },
        get codes() {
          return reads === 1 ? { "200": 1, ...(fiveHundreds && { "503": 1 }) } : { "200": 1, abc: -7 };
        },
      };
      h.handle.stats(batch);
      const stats = quickSnapshot(h);
      expect(stats.requests).toBe(3);
      expect(stats.codes).toEqual({ "200": 1, ...(fiveHundreds && { "503": 1 }) });
    }
  });

  it("checks a latency field the way the schema reads it, hidden (non-enumerable) or not", () => {
    for (const codes of [{ "200": 1 }, { "503": 1 }]) {
      const h = harness();
      h.handle.stats({ requests: 1 });
      const latency = { p95: 3 };
      Object.defineProperty(latency, "p99", { value: -5, enumerable: false });
      expect(() => h.handle.stats({ codes, latency })).toThrow(/stats\.latency\.p99/);
    }
  });

  it("agrees with the general path on damaged batches: the same error, or the same totals (issue 18)", () => {
    // The quick path checks a batch with the bus's check (readStatsBatch); whatever it leaves to the
    // general path must come out as if it had never been there.
    const good = {
      requests: 10,
      codes: { "200": 8, "503": 2 },
      errors: { ETIMEDOUT: 1 },
      latency: { p95: 20, p99: 40 },
      rps: 5,
    };
    const where = [
      ["requests"],
      ["codes"],
      ["codes", "200"],
      ["codes", "503"],
      ["codes", "099"],
      ["errors"],
      ["errors", "ETIMEDOUT"],
      ["errors", "__proto__"],
      ["latency"],
      ["latency", "p95"],
      ["latency", "mean"],
      ["rps"],
      ["extra"],
    ];
    const odd = [-1, 0, 1.5, Number.NaN, "5", undefined, null, {}, [], { "200": 1 }, { p95: -1 }, { a: 1 }];
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc.constantFrom(...where),
        fc.constantFrom(...odd),
        fc.constantFrom("set", "hidden", "delete"),
        (path, value, how) => {
          const batch = structuredClone(good) as Record<string, unknown>;
          const parent = path.length === 1 ? batch : (batch[path[0]!] as Record<string, unknown>);
          const key = path[path.length - 1]!;
          if (how === "delete") Reflect.deleteProperty(parent, key);
          else if (how === "hidden") Object.defineProperty(parent, key, { value, enumerable: false });
          else Object.defineProperty(parent, key, { value, enumerable: true, writable: true });
          const quick = harness();
          quick.handle.stats({ requests: 1 });
          let reference = step(initialSnapshot(), parseCall("stats", { requests: 1 }), run, 0, COOLDOWN);
          const fieldOf = (call: () => void): string | undefined => {
            try {
              call();
            } catch (error) {
              expect(isValidationError(error)).toBe(true);
              return isValidationError(error) ? error.field : "?";
            }
            return undefined;
          };
          const quickError = fieldOf(() => quick.handle.stats(batch));
          const referenceError = fieldOf(() => {
            reference = step(reference.snapshot, parseCall("stats", batch), run, 0, COOLDOWN);
          });
          expect(quickError).toBe(referenceError);
          seen[quickError === undefined ? "accepted" : "rejected"] += 1;
          const names = (events: RunEvent[]): string[] => events.map((e) => e.event);
          expect(names(quick.events.slice(2))).toEqual(quickError ? [] : names(reference.events));
          const { elapsedMs: _a, ...quickStats } = quickSnapshot(quick);
          const { elapsedMs: _b, ...referenceStats } = reference.snapshot.stats;
          expect(quickStats).toEqual(referenceStats);
        },
      ),
      { numRuns: 500 },
    );
    expect(seen.accepted).toBeGreaterThan(50);
    expect(seen.rejected).toBeGreaterThan(50);
  });

  it("copies the latency object: a runner reusing its batch object cannot change past totals", () => {
    const h = harness();
    h.handle.stats({ requests: 1 });
    const batch = { latency: { p95: 10 } };
    h.handle.stats(batch);
    batch.latency.p95 = 999;
    h.handle.finished();
    const finished = h.events.at(-1);
    expect(finished?.event === "finished" && finished.stats.latency).toEqual({ p95: 10 });
  });
});

function quickSnapshot(h: ReturnType<typeof harness>): RunSnapshot["stats"] {
  h.handle.finished();
  const finished = h.events.at(-1);
  if (finished?.event !== "finished") throw new Error("no finished event");
  return finished.stats;
}

describe("regressions", () => {
  // regression: b90c099 (prototype keys: an error kind named "constructor" counts from 0)
  it("counts an error kind named like an Object.prototype member as a number", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const events: RunEvent[] = [];
    notifier.bus.on("finished", (e) => events.push(e));
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.stats({ errors: { constructor: 3, toString: 1 } });
    run.finished({ stats: { errors: { constructor: 2 } } });
    const finished = events[0];
    expect(finished?.event === "finished" && finished.stats.errors).toEqual({ constructor: 5, toString: 1 });
  });

  // regression: b90c099 (an error whose getters throw is still normalised)
  it("failed() with an error whose getters throw still emits", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    const nasty = Object.defineProperty({}, "message", {
      get() {
        throw new Error("gotcha");
      },
    });
    expect(() => run.failed(nasty)).not.toThrow();
    expect(run.ended).toBe(true);
  });
});
