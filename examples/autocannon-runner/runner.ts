/**
 * A load-test runner built on autocannon, notifying through runhooks: small enough to copy.
 *
 * Every second, autocannon's `tick` closes a statistics batch (requests, status codes, errors and the
 * latency percentiles of that second, from the per-response `response` and `reqError` events) for
 * `run.stats()`. At the end the run hands over its whole totals (`finished({ totals })`: runhooks
 * counts only what the batches have not, such as the stragglers of autocannon's closing tick) with
 * autocannon's own start and end times, and is scored with runhooks' default, `successScore()`; a
 * stopped run is aborted instead.
 */
import autocannon from "autocannon";
import { successScore, type Notifier, type RunInfo, type StatsBatch } from "runhooks";

/** What the runner needs to know. */
export interface LoadTest {
  /** The URL under test. */
  url: string;
  /** Seconds to run. */
  duration: number;
  /** Concurrent connections. */
  connections?: number;
  /** The run, as runhooks sees it (id, test id, name, ad hoc webhooks, benchmark…). */
  run: RunInfo;
  /** Abort after this many seconds (to show `aborted`). */
  abortAfter?: number;
  /** Called every second with the batch just sent, for a progress line. */
  onSecond?: (second: number, batch: StatsBatch) => void;
}

/** What the run produced. */
export interface LoadTestResult {
  /** Requests completed: answered, or failed without an answer. */
  requests: number;
  /** Non-2xx answers and requests that got no answer. */
  errors: number;
  /** The 99th percentile response time over the run, in milliseconds. */
  p99: number;
  /** `successScore()` of the run's totals (absent for an aborted run, or one with no requests). */
  score?: number;
  aborted: boolean;
}

/** Runs the load test and tells runhooks everything it needs to. Never throws for webhook problems. */
export async function runLoadTest(notifier: Notifier, test: LoadTest): Promise<LoadTestResult> {
  const run = notifier.run(test.run);
  let finish: (result: autocannon.Result) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // The callback form returns the instance, whose events feed the run.
  const instance = autocannon(
    { url: test.url, duration: test.duration, connections: test.connections ?? 10 },
    (error, result) => {
      if (error) fail(error instanceof Error ? error : new Error(String(error)));
      else finish(result);
    },
  );
  // Changed from autocannon's callbacks: an object, so the type checker does not assume it stays false.
  const stop = { requested: false, at: 0 };
  let second = 0;
  // The whole run's counts (what `totals` hands over) and the current second's.
  const totals = { requests: 0, codes: {} as Record<string, number>, errors: {} as Record<string, number> };
  let batch = {
    codes: {} as Record<string, number>,
    errors: {} as Record<string, number>,
    times: [] as number[],
  };
  let failures = 0;
  const add = (counts: Record<string, number>, key: string): void => {
    counts[key] = (counts[key] ?? 0) + 1;
  };

  instance.on("start", () => {
    run.started({ at: Date.now() });
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    const code = String(statusCode);
    add(batch.codes, code);
    add(totals.codes, code);
    batch.times.push(responseTime);
    totals.requests += 1;
  });
  // A request that got no answer (refused, reset, timed out) completed too: it counts under its error.
  instance.on("reqError", (error: { code?: unknown }) => {
    const kind = typeof error.code === "string" ? error.code : "ERROR";
    add(batch.errors, kind);
    add(totals.errors, kind);
    totals.requests += 1;
    failures += 1;
  });
  instance.on("tick", () => {
    // autocannon ends a run with one extra tick right after the last second (or right after stop()):
    // a few stragglers, not a second of its own. The final totals count them.
    if (stop.requested || second >= test.duration) return;
    second += 1;
    const completed = batch.times.length + failures;
    const stats: StatsBatch = {
      requests: completed,
      codes: batch.codes,
      errors: batch.errors,
      latency: percentiles(batch.times),
      rps: completed,
    };
    batch = { codes: {}, errors: {}, times: [] };
    failures = 0;
    run.stats(stats);
    test.onSecond?.(second, stats);
    if (test.abortAfter !== undefined && second >= test.abortAfter) {
      stop.requested = true;
      stop.at = second;
      instance.stop();
    }
  });

  let result: autocannon.Result;
  try {
    result = await done;
  } catch (error) {
    run.failed(error);
    throw error;
  }
  const errors = result.errors + result.non2xx;
  // autocannon's own histogram over every response: the run's percentiles, under the keys runhooks
  // takes. autocannon has no p95 (its nearest is p97.5), so none is claimed.
  const latency = {
    min: result.latency.min,
    max: result.latency.max,
    mean: result.latency.average,
    median: result.latency.p50,
    p75: result.latency.p75,
    p90: result.latency.p90,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
  };
  const elapsedSeconds = Math.max(0.001, (result.finish.getTime() - result.start.getTime()) / 1000);
  const final: StatsBatch = {
    ...totals,
    latency,
    rps: Math.round((totals.requests / elapsedSeconds) * 10) / 10,
  };
  const summary = { requests: totals.requests, errors, p99: result.latency.p99 };
  if (stop.requested) {
    // The totals first (the aborted message shows the run so far), then the reason.
    run.totals(final);
    run.aborted(`stopped after ${stop.at} s by the runner`, { at: result.finish });
    return { ...summary, aborted: true };
  }
  const score = successScore(final);
  run.finished({ totals: final, score, at: result.finish });
  return { ...summary, ...(score !== undefined && { score }), aborted: false };
}

function percentiles(times: number[]): StatsBatch["latency"] {
  if (times.length === 0) return {};
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const max = sorted[sorted.length - 1] ?? 0;
  return { median: at(0.5), p95: at(0.95), p99: at(0.99), max, count: sorted.length };
}
