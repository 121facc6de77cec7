/**
 * A load-test runner built on autocannon, notifying through runhooks: small enough to copy.
 *
 * Every second, autocannon's `tick` closes a statistics batch (requests, status codes, errors and the
 * latency percentiles of that second, from the per-response `response` events) for `run.stats()`.
 * At the end the run is scored against its benchmark and finished, or, if stopped, aborted with the
 * run's average rate.
 */
import autocannon from "autocannon";
import type { Notifier, RunInfo, StatsBatch } from "runhooks";

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
  requests: number;
  errors: number;
  p95: number;
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
  let startedAt = 0;
  let total = 0;
  let codes: Record<string, number> = {};
  let times: number[] = [];

  instance.on("start", () => {
    startedAt = Date.now();
    run.started();
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    const code = String(statusCode);
    codes[code] = (codes[code] ?? 0) + 1;
    times.push(responseTime);
    total += 1;
  });
  instance.on("tick", () => {
    // autocannon ends a run with one extra tick right after the last second (or right after stop()):
    // a few stragglers, not a second of its own. They go with the final call instead.
    if (stop.requested || second >= test.duration) return;
    second += 1;
    const batch: StatsBatch = {
      requests: times.length,
      codes,
      latency: percentiles(times),
      rps: times.length,
    };
    codes = {};
    times = [];
    run.stats(batch);
    test.onSecond?.(second, batch);
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
  // The stragglers of the closing tick: counted, but too few for percentiles of their own.
  const rest: StatsBatch = { requests: times.length, codes };
  const errors = result.errors + result.timeouts + result.non2xx;
  if (stop.requested) {
    // The aborted message shows the totals' rate, which is the last batch's unless told otherwise:
    // give it the run's average (requests so far / elapsed seconds), as `finished` gets.
    const elapsedSeconds = Math.max(0.001, (Date.now() - startedAt) / 1000);
    run.stats({ ...rest, rps: Math.round((total / elapsedSeconds) * 10) / 10 });
    run.aborted(`stopped after ${stop.at} s by the runner`);
    return { requests: result.requests.total, errors, p95: result.latency.p97_5, aborted: true };
  }
  const score = scoreOf(result);
  run.finished({
    score,
    // The final numbers of the whole run: percentiles over all requests, which per-second batches cannot give.
    stats: {
      ...rest,
      latency: {
        median: result.latency.p50,
        p95: result.latency.p97_5,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      rps: result.requests.average,
    },
  });
  return { requests: result.requests.total, errors, p95: result.latency.p97_5, score, aborted: false };
}

/** A simple score out of 100: errors cost the most, slow p99 costs some. */
function scoreOf(result: autocannon.Result): number {
  const total = Math.max(1, result.requests.total);
  const errorRate = (result.errors + result.timeouts + result.non2xx) / total;
  const latencyPenalty = Math.min(30, result.latency.p99 / 10);
  return Math.max(0, Math.round((100 - errorRate * 400 - latencyPenalty) * 10) / 10);
}

function percentiles(times: number[]): StatsBatch["latency"] {
  if (times.length === 0) return {};
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { median: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
