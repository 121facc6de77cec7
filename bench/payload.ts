import type { EventInput, Run, StatsBatch } from "../src/index.js";

/**
 * What a runner knows about a run. Sized so that the `api_failure` event built from it serialises to
 * ~1.5 KB in the JSON envelope, the body size the performance baseline was measured with. The link
 * is message content only (a `.invalid` host, which never resolves): nothing ever connects to it.
 */
export function runInfo(runId: string): Run {
  return {
    id: runId,
    testId: "checkout-v2-peak",
    name: "Checkout flow — peak hour replay",
    jobId: "job-2024-11-27-0042",
    environment: "staging-eu-west-1",
    load: { duration: 900, arrivalRate: 250, rampTo: 400, runners: 4, maxVirtualUsers: 2000 },
    links: [
      { title: "Grafana dashboard", url: "https://grafana.example.invalid/d/checkout?var-run=42" },
      { title: "Run report", url: "https://predator.example.invalid/reports/checkout-v2-peak/42" },
      { title: "Runbook", url: "https://wiki.example.invalid/payments/runbooks/checkout-load-tests" },
    ],
    labels: {
      team: "payments",
      service: "checkout-api",
      region: "eu-west-1",
      trigger: "nightly",
      owner: "perf-guild@example.invalid",
      build: "checkout-api@4.18.2+sha.9f3c1e7",
      dataset: "peak-2024-11-22-replay",
      note: "Replay of the 22 November peak with four runners and the new cache tier; canary enabled, payment provider sandboxed",
    },
  };
}

/** A statistics batch with 5xx responses: in a run with `apiFailureCooldownMs: 0` it fires `api_failure`. */
export const FAILING_BATCH: StatsBatch = {
  requests: 12_000,
  codes: { "200": 11_620, "201": 240, "404": 60, "500": 18, "502": 22, "503": 40 },
  errors: { ECONNRESET: 3, ETIMEDOUT: 2 },
  latency: { min: 3.1, max: 1840.5, mean: 48.2, median: 31.7, p90: 120.4, p95: 212.9, p99: 688.1 },
  rps: 400,
};

/** A batch without 5xx: after a run's first batch it fires nothing. */
export const QUIET_BATCH: StatsBatch = {
  requests: 12_000,
  codes: { "200": 11_700, "201": 240, "404": 60 },
  errors: { ECONNRESET: 1 },
  latency: { min: 3.1, max: 910.2, mean: 41.7, median: 30.2, p90: 101.5, p95: 180.3, p99: 402.6 },
  rps: 400,
};

/** The payload of `bus.emit("api_failure", …)` for a run: what runhooks and the naive path both get. */
export function apiFailurePayload(runId: string): EventInput<"api_failure"> {
  return {
    run: runInfo(runId),
    stats: {
      requests: 1_284_000,
      codes: { "200": 1_251_300, "201": 25_700, "404": 4_100, "500": 610, "502": 820, "503": 1_470 },
      errors: { ECONNRESET: 140, ETIMEDOUT: 96, EPIPE: 7, ECONNREFUSED: 12, ESOCKETTIMEDOUT: 31 },
      latency: { min: 2.4, max: 4210.8, mean: 51.3, median: 33.9, p90: 131.2, p95: 240.7, p99: 903.5 },
      rps: 1426.7,
      elapsedMs: 900_000,
    },
    failures: { codes: { "500": 18, "502": 22, "503": 40 }, count: 80, total: 2_900 },
  };
}
