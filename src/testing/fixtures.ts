import {
  EVENT_NAMES,
  type EventMap,
  type EventName,
  type Run,
  type RunEvent,
  type Stats,
} from "../events.js";
import { EVENT_LIMITS as LIMITS } from "../event-limits.js";

/** A run with every optional field filled, for tests. */
export const sampleRun: Run = {
  id: "run-42",
  testId: "test-7",
  name: "checkout flow",
  jobId: "job-3",
  environment: "staging",
  load: { duration: 600, arrivalRate: 50, rampTo: 100, runners: 2 },
  links: [{ title: "Report", url: "https://predator.example/reports/run-42" }],
  labels: { team: "payments" },
};

/** Accumulated statistics with 2xx, 4xx and 5xx codes and an error kind, for tests. */
export const sampleStats: Stats = {
  requests: 12_000,
  codes: { "200": 11_800, "404": 40, "503": 160 },
  errors: { ETIMEDOUT: 12 },
  latency: { min: 3, median: 48, p95: 212, p99: 480, max: 1900 },
  rps: 200,
  elapsedMs: 60_000,
};

/**
 * One valid event of each kind, built around `run`. Ids are fixed, and `at` is 2026-01-01T00:00:00Z,
 * so snapshots stay stable.
 */
export function sampleEvents(run: Run = sampleRun): { [E in EventName]: EventMap[E] } {
  const at = "2026-01-01T00:00:00.000Z";
  const base = <E extends EventName>(event: E) => ({ id: `evt_sample_${event}`, event, at, run });
  const benchmark = { score: 91.5, threshold: 80, passed: true, lastScores: [88.2, 90.1] };
  return {
    started: base("started"),
    in_progress: { ...base("in_progress"), stats: sampleStats },
    api_failure: {
      ...base("api_failure"),
      stats: sampleStats,
      failures: { codes: { "503": 160 }, count: 160, total: 160 },
    },
    aborted: { ...base("aborted"), reason: "stopped by operator", stats: sampleStats },
    failed: { ...base("failed"), error: { name: "Error", message: "runner crashed: out of memory" } },
    finished: { ...base("finished"), stats: sampleStats, score: 91.5, benchmark },
    benchmark_passed: { ...base("benchmark_passed"), stats: sampleStats, benchmark },
    benchmark_failed: {
      ...base("benchmark_failed"),
      stats: sampleStats,
      benchmark: { ...benchmark, score: 62.4, passed: false },
    },
  };
}

/** The sample events as a list, in lifecycle order. */
export function sampleEventList(run: Run = sampleRun): RunEvent[] {
  const events = sampleEvents(run);
  return EVENT_NAMES.map((name) => events[name]);
}

/** One named event for formatter tests. */
export interface FixtureEvent {
  /** What makes it hard, e.g. `started / markup in every text`. */
  label: string;
  event: RunEvent;
}

const MARKUP = `<b>bold</b> & *stars* _under_ ~strike~ \`code\` <!channel> @everyone @here <@U123> [link](https://evil.example) | > quote`;

/**
 * Events that stress a formatter: every kind with typical data, then each kind again with the run's
 * texts full of markup, very long names and texts, huge status-code and error maps, zero values
 * (score 0, threshold 0, no requests), and the minimum a run can carry (no optional fields, `failed`
 * without an error). Use them with `testFormatter()` or in your own tests.
 */
export function fixtureEvents(): FixtureEvent[] {
  const typical = sampleEventList();
  const longText = `${"Checkout flow with a very long descriptive name ".repeat(12)}🚀`.trim();
  const hugeCodes: Record<string, number> = {};
  for (let code = 100; code < 600; code += 3) hugeCodes[String(code)] = code * 7;
  const hugeErrors: Record<string, number> = {};
  for (let i = 0; i < LIMITS.errorKinds; i++) hugeErrors[`E_SOMETHING_WENT_WRONG_${i}`] = i + 1;
  const markupRun: Run = {
    ...sampleRun,
    name: MARKUP,
    environment: MARKUP.slice(0, LIMITS.shortText),
    labels: { note: MARKUP },
    links: [{ title: MARKUP.slice(0, LIMITS.shortText), url: "https://example.com/report?a=1&b=<2>" }],
  };
  const longRun: Run = {
    ...sampleRun,
    id: "r".repeat(LIMITS.id),
    testId: "t".repeat(LIMITS.id),
    jobId: "j".repeat(LIMITS.id),
    name: longText.repeat(8),
    environment: "e".repeat(LIMITS.shortText),
    links: Array.from({ length: LIMITS.links }, (_, i) => ({
      title: `Dashboard number ${i} with a long title `.repeat(5).slice(0, LIMITS.shortText),
      url: `https://grafana.example.com/d/${"x".repeat(1800)}/${i}`,
    })),
  };
  const hugeStats: Stats = { ...sampleStats, codes: hugeCodes, errors: hugeErrors };

  return [
    ...typical.map((event) => ({ label: `${event.event} / typical`, event })),
    ...sampleEventList(markupRun).map((event) => ({ label: `${event.event} / markup in every text`, event })),
    ...sampleEventList(longRun).map((event) => ({
      label: `${event.event} / very long texts and ${LIMITS.links} links`,
      event,
    })),
    ...sampleEventList()
      .filter((event) => "stats" in event)
      .map((event) => ({
        label: `${event.event} / huge code and error maps`,
        event: { ...event, stats: hugeStats },
      })),
    ...edgeCaseEvents(hugeStats, hugeCodes),
  ];
}

/** The single events of `fixtureEvents()`, on a minimal run: huge maps, zero values, bare minimums. */
function edgeCaseEvents(hugeStats: Stats, hugeCodes: Readonly<Record<string, number>>): FixtureEvent[] {
  const minimalRun: Run = { id: "run-min", testId: "test-min", name: "minimal" };
  const zeroStats: Stats = { requests: 0, codes: {}, errors: {} };
  const at = "2026-01-01T00:00:00.000Z";
  const base = { at, run: minimalRun };
  return [
    {
      label: "api_failure / huge code map",
      event: {
        id: "evt_huge_api",
        event: "api_failure",
        ...base,
        stats: hugeStats,
        failures: {
          codes: Object.fromEntries(Object.entries(hugeCodes).filter(([c]) => c.startsWith("5"))),
          count: 999,
          total: 9999,
        },
      },
    },
    {
      label: "finished / zero values",
      event: { id: "evt_zero_f", event: "finished", ...base, stats: zeroStats, score: 0 },
    },
    {
      label: "benchmark_passed / score and threshold 0",
      event: {
        id: "evt_zero_bp",
        event: "benchmark_passed",
        ...base,
        stats: zeroStats,
        benchmark: { score: 0, threshold: 0, passed: true, lastScores: [] },
      },
    },
    {
      label: "benchmark_failed / negative and fractional scores",
      event: {
        id: "evt_zero_bf",
        event: "benchmark_failed",
        ...base,
        stats: zeroStats,
        benchmark: { score: -1.25, threshold: 0.5, passed: false, lastScores: [0, 0.05, 99.95] },
      },
    },
    { label: "started / minimal run", event: { id: "evt_min_s", event: "started", ...base } },
    {
      label: "in_progress / minimal stats",
      event: { id: "evt_min_ip", event: "in_progress", ...base, stats: zeroStats },
    },
    { label: "failed / no error given", event: { id: "evt_min_f", event: "failed", ...base } },
    {
      label: "failed / 4000-character multi-line error",
      event: {
        id: "evt_long_f",
        event: "failed",
        ...base,
        error: { name: "RunnerCrash", code: "E_CRASH", message: `line one <b>\n${"x".repeat(3990)}` },
      },
    },
    { label: "aborted / no reason", event: { id: "evt_min_a", event: "aborted", ...base } },
    {
      label: `aborted / ${LIMITS.text.toLocaleString("en")}-character reason`,
      event: {
        id: "evt_long_a",
        event: "aborted",
        ...base,
        reason: `stopped: ${"why ".repeat(2497)}`.slice(0, LIMITS.text),
      },
    },
  ];
}
