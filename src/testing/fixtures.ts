import {
  EVENT_NAMES,
  type EventMap,
  type EventName,
  type Run,
  type RunEvent,
  type Stats,
} from "../events.js";

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
  const benchmark = { score: 91.5, threshold: 80, lastScores: [88.2, 90.1] };
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
    finished: { ...base("finished"), stats: sampleStats, score: 91.5 },
    benchmark_passed: { ...base("benchmark_passed"), stats: sampleStats, benchmark },
    benchmark_failed: {
      ...base("benchmark_failed"),
      stats: sampleStats,
      benchmark: { ...benchmark, score: 62.4 },
    },
  };
}

/** The sample events as a list, in lifecycle order. */
export function sampleEventList(run: Run = sampleRun): RunEvent[] {
  const events = sampleEvents(run);
  return EVENT_NAMES.map((name) => events[name]);
}
