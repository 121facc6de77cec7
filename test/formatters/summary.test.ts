import { describe, expect, it } from "vitest";
import type { FinishedEvent, LoadProfile, Stats } from "../../src/events.js";
import { summarize } from "../../src/formatters/_summary.js";
import { errorShare, latencyLine } from "../../src/formatters/_stats.js";
import { sampleEvents } from "../../src/testing/fixtures.js";
import { testContext } from "../../src/testing/formatter-contract.js";

const finished = (stats: Partial<Stats>, extra: Partial<FinishedEvent> = {}): FinishedEvent => ({
  ...sampleEvents().finished,
  benchmark: undefined,
  score: undefined,
  stats: { requests: 1000, codes: {}, errors: {}, ...stats },
  ...extra,
});
const summary = (event: FinishedEvent | ReturnType<typeof sampleEvents>["started"]) =>
  summarize(event, testContext());
const fact = (event: Parameters<typeof summary>[0], label: string) =>
  summary(event).facts.find((f) => f.label === label)?.value;

describe("the error share", () => {
  it("is 5xx responses plus requests without a response, over the requests completed; 4xx are left out", () => {
    const share = errorShare({
      requests: 1000,
      codes: { "200": 880, "404": 50, "500": 10, "503": 40 },
      errors: { ETIMEDOUT: 20 },
    });
    expect(share?.failed).toBe(70);
    expect(share?.share).toBeCloseTo(0.07);
    expect({ ...share?.kinds }).toEqual({ "500": 10, "503": 40, ETIMEDOUT: 20 });
  });

  it("is not a number without requests, and never over 100 %", () => {
    expect(errorShare({ requests: 0, codes: {}, errors: {} })).toBeUndefined();
    expect(errorShare({ requests: 2, codes: { "503": 3 }, errors: { E: 1 } })?.share).toBe(1);
  });

  it("counts the codes and errors of a runner that left requests out", () => {
    // finished({ totals: { codes } }) without `requests`: 100 × 503 is not a green success.
    expect(errorShare({ requests: 0, codes: { "503": 100 }, errors: {} })?.share).toBe(1);
    const result = summary(finished({ requests: 0, codes: { "503": 100 } }));
    expect(result.tone).toBe("warning");
  });

  it("turns a finished run without a benchmark amber from 1 %, and is in the headline from then", () => {
    const under = summary(finished({ codes: { "200": 991, "503": 9 } }));
    expect(under.tone).toBe("good");
    expect(under.title).toBe("checkout flow finished");
    expect(under.headline).toBe("✅ checkout flow (staging) finished: 1,000 requests, 9 × 5xx");
    const at = summary(finished({ codes: { "200": 990, "503": 10 } }));
    expect(at.tone).toBe("warning");
    expect(at.title).toBe("checkout flow finished with errors");
    expect(at.headline).toBe(
      "⚠️ checkout flow (staging) finished with errors: 1 % errors (503 × 10), 1,000 requests",
    );
  });

  it("is in the headline of a failed benchmark always, of a passed one when notable", () => {
    const verdict = (passed: boolean, stats: Partial<Stats>) =>
      finished(stats, { score: 50, benchmark: { score: 50, threshold: 80, passed, lastScores: [] } });
    expect(summary(verdict(false, {})).headline).toBe(
      "📉 checkout flow (staging) finished — benchmark failed: score 50 < threshold 80, no errors, 1,000 requests",
    );
    expect(summary(verdict(false, { errors: { ECONNRESET: 1 } })).headline).toContain(
      "< threshold 80, 0.1 % errors (ECONNRESET × 1),",
    );
    expect(summary(verdict(true, { errors: { ECONNRESET: 1 } })).headline).not.toContain("errors");
    expect(fact(verdict(false, { errors: { ECONNRESET: 1 } }), "Error rate")).toBe("0.1 % (ECONNRESET × 1)");
    expect(fact(finished({ requests: 100_000, errors: { E: 1 } }), "Error rate")).toBe("< 0.1 % (E × 1)");
  });

  it("follows the verdict for the look, and the numbers for the sign", () => {
    // A verdict given by hand that disagrees with its numbers: the look says what the verdict says,
    // the sign stays true to the numbers.
    const odd = finished({}, { benchmark: { score: 70, threshold: 80, passed: true, lastScores: [] } });
    expect(summary(odd).tone).toBe("good");
    expect(fact(odd, "Score")).toBe("70 < threshold 80");
    const close = finished({}, { benchmark: { score: 79.96, threshold: 80, passed: false, lastScores: [] } });
    expect(fact(close, "Score")).toBe("79.96 < threshold 80");
  });
});

describe("latency", () => {
  it("shows p50 (p50 or median), p95, p99, p99.9 and max, as far as given", () => {
    expect(latencyLine({ median: 48, p95: 212, p99: 480, max: 1900 }, "en-US")).toBe(
      "p50 48 ms, p95 212 ms, p99 480 ms, max 1.9 s",
    );
    expect(
      latencyLine({ min: 1, mean: 9, p50: 5, p75: 7, p90: 8, p95: 9, p99: 12, p999: 30, count: 10 }, "en-US"),
    ).toBe("p50 5 ms, p95 9 ms, p99 12 ms, p99.9 30 ms");
  });

  it("falls back to p90 without a p95 and to the mean without a p50; nothing given, no line", () => {
    expect(latencyLine({ mean: 40, p90: 120 }, "en-US")).toBe("mean 40 ms, p90 120 ms");
    expect(latencyLine({ min: 1, count: 3 }, "en-US")).toBeUndefined();
    expect(latencyLine(undefined, "en-US")).toBeUndefined();
  });
});

describe("load phases", () => {
  const started = (load: LoadProfile) => {
    const event = sampleEvents().started;
    return { ...event, run: { ...event.run, load } };
  };

  it("lists at most five phases, and plans the phases' sum when the profile gives no duration", () => {
    const phases = Array.from({ length: 7 }, (_, i) => ({ duration: 60, arrivalRate: i + 1 }));
    const event = started({ phases });
    expect(fact(event, "Phases")).toBe(
      "phase 1 1 min @ 1/s; phase 2 1 min @ 2/s; phase 3 1 min @ 3/s; phase 4 1 min @ 4/s; phase 5 1 min @ 5/s; + 2 more",
    );
    expect(fact(event, "Duration")).toBe("7 min");
    expect(summary(event).headline).toBe("🚀 checkout flow (staging) started: planned 7 min in 7 phases");
  });

  it("says what each phase gives: ramps, counts, caps; a phase without a duration plans nothing", () => {
    const event = started({
      phases: [
        { name: "ramp", rampTo: 20 },
        { name: "smoke", duration: 30, arrivalCount: 100, maxVirtualUsers: 10 },
      ],
    });
    expect(fact(event, "Phases")).toBe("ramp → 20/s; smoke 30 s, 100 arrivals (max 10 VUs)");
    expect(fact(event, "Duration")).toBeUndefined();
    expect(summary(event).headline).toBe("🚀 checkout flow (staging) started: 2 phases");
    // The profile's own duration wins over the phases'.
    expect(fact(started({ duration: 600, phases: [{ duration: 60 }] }), "Duration")).toBe("10 min");
  });
});
