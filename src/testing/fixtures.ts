import {
  EVENT_NAMES,
  type EventMap,
  type EventName,
  type FinishedEvent,
  type LoadProfile,
  type Run,
  type RunEvent,
  type StartedEvent,
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

/**
 * Statistics of a run in trouble: 14.2 % of its 12,000 requests failed on the server's side (1,680 × 503
 * and 24 timeouts), with every latency key a runner can give.
 */
const failingStats: Stats = {
  requests: 12_000,
  codes: { "200": 10_216, "404": 80, "503": 1_680 },
  errors: { ETIMEDOUT: 24 },
  latency: {
    min: 4,
    max: 9_800,
    mean: 310,
    median: 61,
    p50: 61,
    p75: 140,
    p90: 610,
    p95: 1_240,
    p99: 2_950,
    p999: 4_870,
    count: 11_976,
  },
  rps: 196.4,
  elapsedMs: 61_000,
};

/** A three-phase load profile (warm up, ramp, plateau), as Artillery's `config.phases` gives it. */
const phasedLoad: LoadProfile = {
  runners: 2,
  maxVirtualUsers: 500,
  phases: [
    { name: "warm up", duration: 60, arrivalRate: 5 },
    { name: "ramp", duration: 120, arrivalRate: 5, rampTo: 50 },
    { name: "plateau", duration: 300, arrivalRate: 50, maxVirtualUsers: 500 },
  ],
};

/** The events of {@link sampleEventVariants}. */
export interface SampleEventVariants {
  /** `finished` of a run whose benchmark failed (score 62.4 against 80), 14.2 % of requests failed. */
  finishedBenchmarkFailed: FinishedEvent;
  /** `finished` of a run held to no benchmark, 14.2 % of requests failed. */
  finishedWithErrors: FinishedEvent;
  /** `started` of a run with a three-phase load profile. */
  startedInPhases: StartedEvent;
}

/**
 * Sample events the eight of {@link sampleEvents} do not show: the same kinds in the states a message
 * must tell apart at a glance. Fixed ids and time, like {@link sampleEvents}; `startedInPhases` gives
 * `run` a phased load profile.
 */
export function sampleEventVariants(run: Run = sampleRun): SampleEventVariants {
  const at = "2026-01-01T00:00:00.000Z";
  return {
    finishedBenchmarkFailed: {
      id: "evt_sample_finished_benchmark_failed",
      event: "finished",
      at,
      run,
      stats: failingStats,
      score: 62.4,
      benchmark: { score: 62.4, threshold: 80, passed: false, lastScores: [88.2, 90.1] },
    },
    finishedWithErrors: {
      id: "evt_sample_finished_with_errors",
      event: "finished",
      at,
      run,
      stats: failingStats,
    },
    startedInPhases: {
      id: "evt_sample_started_in_phases",
      event: "started",
      at,
      run: { ...run, load: phasedLoad },
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

  const variants = sampleEventVariants();
  return [
    ...typical.map((event) => ({ label: `${event.event} / typical`, event })),
    { label: "finished / benchmark failed, 14.2 % errors", event: variants.finishedBenchmarkFailed },
    { label: "finished / no benchmark, 14.2 % errors", event: variants.finishedWithErrors },
    { label: "started / three load phases", event: variants.startedInPhases },
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
    ...verdictAndLoadEdgeCases(),
  ];
}

/** Edge cases of benchmark verdicts and load profiles, on a minimal run. */
function verdictAndLoadEdgeCases(): FixtureEvent[] {
  const minimalRun: Run = { id: "run-min", testId: "test-min", name: "minimal" };
  const at = "2026-01-01T00:00:00.000Z";
  const phases = Array.from({ length: LIMITS.phases }, (_, i) => ({
    name: `phase ${i} with a long descriptive name `.repeat(8).slice(0, LIMITS.shortText).trim(),
    duration: 86_400 + i,
    arrivalRate: 1_000_000 + i,
    rampTo: 2_000_000 + i,
    arrivalCount: 1_000_000_000,
    maxVirtualUsers: 1_000_000,
  }));
  return [
    {
      label: `started / ${LIMITS.phases} load phases with long names`,
      event: {
        id: "evt_phases_s",
        event: "started",
        at,
        run: { ...minimalRun, load: { phases } },
      },
    },
    {
      label: "finished / benchmark failed with no requests",
      event: {
        id: "evt_zero_bf_f",
        event: "finished",
        at,
        run: minimalRun,
        stats: { requests: 0, codes: {}, errors: {} },
        score: 0,
        benchmark: { score: 0, threshold: 0.5, passed: false, lastScores: [] },
      },
    },
    {
      label: "finished / score just under the threshold, every request failed",
      event: {
        id: "evt_close_f",
        event: "finished",
        at,
        run: minimalRun,
        stats: { requests: 10, codes: { "503": 6 }, errors: { ECONNREFUSED: 4 } },
        score: 79.96,
        benchmark: { score: 79.96, threshold: 80, passed: false, lastScores: [80] },
      },
    },
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
