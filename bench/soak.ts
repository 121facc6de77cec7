/**
 * Scenario (e): a soak. A simulated runner starts `soakRunsPerSecond` runs a second, each one
 * `started`, `soakBatches` statistics batches a tick apart, then `finished`, for `soakSeconds`; one
 * healthy JSON webhook and one whose port refuses connections, both global, both on every event;
 * the notifier keeps its default options (queue cap, retry policy, circuit breaker, runs remembered).
 *
 * What it decides: whether the healthy webhook loses anything beside the dead one, whether memory
 * levels off (heap and RSS sampled right after a full GC), and what each runner call costs the
 * runner's own thread, timed call by call while the deliveries run.
 */
import { createHistogram, type RecordableHistogram } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createNotifier, EVENT_NAMES, type Notifier, type RunHandle } from "./runhooks.js";
import type { BenchConfig } from "./config.js";
import { MB, settle } from "./measure.js";
import { QUIET_BATCH, runInfo } from "./payload.js";
import type { Receiver } from "./receiver-client.js";

// Each tick, every open run makes its next call: a run lasts (batches + 2) ticks.
const TICK_MS = 100;
// After the runner stops: how long the healthy deliveries still in the queue get to arrive.
const DRAIN_MS = 10_000;
// The runner's events per run that reach a webhook on every event: started, in_progress (the first
// batch), finished. Quiet batches fire nothing else.
const EVENTS_PER_RUN = 3;

/** One sample, taken right after a full GC. */
export interface SoakPoint {
  atSeconds: number;
  rssMb: number;
  heapMb: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers, sockets' ArrayBuffers), in MiB. */
  externalMb: number;
  queued: number;
  inFlight: number;
  openCircuits: number;
  runsStarted: number;
}

export interface SoakResult {
  method: string;
  seconds: number;
  runsStarted: number;
  /** Runs the runner finished; the healthy webhook is owed EVENTS_PER_RUN deliveries for each. */
  runsFinished: number;
  healthy: {
    expected: number;
    /** Final reports with a 2xx. */
    delivered: number;
    /** Requests the receiver got (only the healthy webhook sends there). */
    receiverRequests: number;
    /** Dropped because a later event of the same run replaced them: by design, not lost. */
    superseded: number;
    /** Failed, or dropped for any other reason, or never reported, by reason. */
    lost: Record<string, number>;
    /** delivered ÷ (expected − superseded). */
    share: number;
  };
  dead: {
    /** Requests attempted to the dead port (probes included). */
    attempts: number;
    /** Final outcomes of its deliveries, by outcome and reason. */
    outcomes: Record<string, number>;
  };
  /** Wall time of each runner call (run(), started(), stats(), finished()), in microseconds. */
  calls: { count: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number };
  samples: SoakPoint[];
  /** Least-squares slopes over the last half of the samples, in MiB per minute. */
  heapSlopeMbPerMin: number;
  rssSlopeMbPerMin: number;
  /** Whether the run was long enough for the memory targets to mean anything (see MIN_MEMORY_SECONDS). */
  memoryJudged: boolean;
  problems: string[];
}

/**
 * Memory targets are judged only on a soak that outlasts what fills up by design: the 10,000 runs
 * remembered (100 s at 100 runs/s) and the default 10-minute retry window of the dead deliveries.
 */
export const MIN_MEMORY_SECONDS = 600;

/** Slope of y over x by least squares (x in seconds), in units per minute. */
function slopePerMinute(points: ReadonlyArray<{ x: number; y: number }>): number {
  if (points.length < 2) return Number.NaN;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : (num / den) * 60;
}

/** Counts of `key` in a record. */
const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** A runner on a timer: starts runs at a steady rate and advances every open run one call per tick. */
class SimulatedRunner {
  readonly calls: RecordableHistogram = createHistogram();
  started = 0;
  finished = 0;
  readonly #open: Array<{ run: RunHandle; step: number }> = [];
  readonly #t0 = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #starting = true;

  constructor(
    private readonly notifier: Notifier,
    private readonly runsPerSecond: number,
    private readonly batches: number,
  ) {}

  start(): void {
    this.#timer = setInterval(() => {
      this.#tick();
    }, TICK_MS);
  }

  /** Stops starting runs; the open ones go on to their end, as a runner's would. */
  async stop(): Promise<void> {
    this.#starting = false;
    while (this.#open.length > 0) await sleep(TICK_MS);
    clearInterval(this.#timer);
  }

  #time(call: () => unknown): void {
    const t0 = process.hrtime.bigint();
    call();
    // Histograms take whole nanoseconds, at least 1.
    this.calls.record(Math.max(1, Number(process.hrtime.bigint() - t0)));
  }

  #tick(): void {
    // Catch up to the rate from the start, so that a late timer does not lower it.
    const due = Math.floor(((performance.now() - this.#t0) / 1000) * this.runsPerSecond);
    for (; this.#starting && this.started < due; this.started++) {
      const id = `soak-${this.started}`;
      let run: RunHandle | undefined;
      this.#time(() => (run = this.notifier.run(runInfo(id))));
      if (run) this.#open.push({ run, step: 0 });
    }
    let kept = 0;
    for (const open of this.#open) {
      const { run, step } = open;
      if (step === 0) this.#time(() => run.started());
      else if (step <= this.batches) this.#time(() => run.stats(QUIET_BATCH));
      else {
        this.#time(() => run.finished());
        this.finished += 1;
        continue;
      }
      open.step += 1;
      this.#open[kept++] = open;
    }
    this.#open.length = kept;
  }
}

export async function runSoak(
  config: BenchConfig,
  receiver: Receiver,
  log: (line: string) => void,
): Promise<SoakResult> {
  const deadPort = await receiver.deadPort();
  // Default options but the address policy: both endpoints are on 127.0.0.1.
  const notifier = createNotifier({ network: { allowPrivate: true } });
  const create = (name: string, url: string): Promise<{ id: string }> =>
    notifier.webhooks.create({ name, url, format: "json", events: [...EVENT_NAMES], global: true });
  const healthyHook = await create("healthy", `${receiver.origin}/healthy`);
  const deadHook = await create("dead", `http://127.0.0.1:${deadPort}/dead`);

  const healthy = { delivered: 0, superseded: 0, lost: {} as Record<string, number>, reported: 0 };
  const dead = { attempts: 0, outcomes: {} as Record<string, number> };
  notifier.on("delivery", (report) => {
    if (report.webhookId === deadHook.id) {
      if (report.attempt > 0) dead.attempts += 1;
      if (report.final) bump(dead.outcomes, `${report.outcome}${report.reason ? `/${report.reason}` : ""}`);
      return;
    }
    if (report.webhookId !== healthyHook.id || !report.final) return;
    healthy.reported += 1;
    if (report.ok) healthy.delivered += 1;
    else if (report.reason === "superseded") healthy.superseded += 1;
    else bump(healthy.lost, `${report.outcome}${report.reason ? `/${report.reason}` : ""}`);
  });

  await receiver.reset("ok");
  await settle();
  const runner = new SimulatedRunner(notifier, config.soakRunsPerSecond, config.soakBatches);
  const started = performance.now();
  const samples: SoakPoint[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (): void => {
    gc?.();
    const usage = process.memoryUsage();
    const stats = notifier.stats();
    samples.push({
      atSeconds: (performance.now() - started) / 1000,
      rssMb: usage.rss / MB,
      heapMb: usage.heapUsed / MB,
      externalMb: usage.external / MB,
      queued: stats.queued,
      inFlight: stats.inFlight,
      openCircuits: stats.openCircuits,
      runsStarted: runner.started,
    });
  };
  const minute = Math.max(1, Math.round(60 / config.soakSampleSeconds));
  const sampler = setInterval(() => {
    sample();
    const last = samples[samples.length - 1];
    if (last && samples.length % minute === 0) {
      log(
        `  e ${last.atSeconds.toFixed(0)} s: ${runner.started} runs, healthy ${healthy.delivered} delivered, heap after GC ${last.heapMb.toFixed(1)} MiB, external ${last.externalMb.toFixed(1)} MiB, RSS ${last.rssMb.toFixed(0)} MiB, queued ${last.queued}`,
      );
    }
  }, config.soakSampleSeconds * 1000);
  sample();
  runner.start();
  await sleep(config.soakSeconds * 1000);
  await runner.stop();
  clearInterval(sampler);
  sample();
  const seconds = (performance.now() - started) / 1000;

  const expected = runner.finished * EVENTS_PER_RUN;
  const drainUntil = performance.now() + DRAIN_MS;
  while (healthy.reported < expected && performance.now() < drainUntil) await sleep(50);
  // The dead webhook's deliveries are still held back: close abandons them (reported `failed`).
  await notifier.close({ timeoutMs: 500 });
  const unreported = expected - healthy.reported;
  if (unreported > 0) healthy.lost.unreported = unreported;
  const receiverRequests = (await receiver.counts()).requests;

  const lastHalf = samples.filter((s) => s.atSeconds >= seconds / 2);
  const slope = (key: "heapMb" | "rssMb"): number =>
    slopePerMinute(lastHalf.map((s) => ({ x: s.atSeconds, y: s[key] })));
  const calls = runner.calls;
  const us = (ns: number): number => ns / 1000;
  const problems: string[] = [];
  if (gc === undefined) problems.push("no --expose-gc: the heap samples include garbage");
  if (receiverRequests !== healthy.delivered) {
    problems.push(
      `the receiver got ${receiverRequests} requests for ${healthy.delivered} deliveries reported delivered`,
    );
  }
  return {
    method: `${config.soakRunsPerSecond} runs/s, each run(), started(), ${config.soakBatches} stats batches ${TICK_MS} ms apart and finished(), for ${config.soakSeconds} s; one healthy and one dead (127.0.0.1:${deadPort}, connection refused) JSON webhook on every event; createNotifier() defaults but network.allowPrivate; heap and RSS sampled after a full GC every ${config.soakSampleSeconds} s; each runner call timed`,
    seconds,
    runsStarted: runner.started,
    runsFinished: runner.finished,
    healthy: {
      expected,
      delivered: healthy.delivered,
      receiverRequests,
      superseded: healthy.superseded,
      lost: healthy.lost,
      share: healthy.delivered / Math.max(1, expected - healthy.superseded),
    },
    dead,
    calls: {
      count: calls.count,
      p50Us: us(calls.percentile(50)),
      p99Us: us(calls.percentile(99)),
      p999Us: us(calls.percentile(99.9)),
      maxUs: us(calls.max),
    },
    samples,
    heapSlopeMbPerMin: slope("heapMb"),
    rssSlopeMbPerMin: slope("rssMb"),
    memoryJudged: config.soakSeconds >= MIN_MEMORY_SECONDS,
    problems,
  };
}
