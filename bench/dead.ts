/**
 * Scenario (d): a dead endpoint (connection refused) next to a live one, with a queue cap. The live
 * webhook's throughput is measured with and without the dead one, and RSS is sampled throughout.
 *
 * Events cannot be emitted in one burst here: with a cap, a burst would overflow the queue by design
 * and the drops would hit the live webhook too. Instead the runner is simulated closed-loop: one
 * event in flight per run, 64 runs, and each live delivery's final report emits that run's next
 * event. Every event goes to both webhooks; the dead deliveries pile up to the cap, after which each
 * new one drops the oldest waiting (reported as `overflow`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createNotifier, httpTransport, type EventInput } from "./runhooks.js";
import type { BenchConfig } from "./config.js";
import { ForeignLoad, MB, percentile, settle, summarise, type Summary } from "./measure.js";
import { apiFailurePayload } from "./payload.js";
import type { Receiver } from "./receiver-client.js";

const WARMUP_MS = 1_000;
const SAMPLE_MS = 100;
const SOAK_GC_MS = 500;

export interface RssPoint {
  /** Milliseconds since the notifier started sending. */
  atMs: number;
  rssMb: number;
  heapMb: number;
  queued: number;
  /** Taken right after a full GC (soak run). */
  afterGc: boolean;
}

export interface DeadRep {
  withDead: boolean;
  seconds: number;
  liveDelivered: number;
  livePerSecond: number;
  /** Client CPU per live delivery (dead attempts and drops included), in microseconds. */
  cpuUsPerLiveDelivery: number;
  liveFailed: number;
  /** Deliveries dropped over the cap (all of them to the dead webhook, if isolation holds). */
  dropped: number;
  liveDropped: number;
  /** Attempts made on the dead endpoint. */
  deadAttempts: number;
  peakRssMb: number;
  /** When the queue first held `cap` waiting deliveries (ms after start); undefined without the dead one. */
  capReachedAtMs?: number | undefined;
  /** CPU other workloads used on the machine meanwhile, in cores. */
  foreignCores: number;
  /** RSS growth between the first and last third of the measured window (medians), in MiB. */
  rssGrowthMb: number;
  heapGrowthMb: number;
  samples: RssPoint[];
}

export interface DeadResult {
  method: string;
  cap: number;
  reps: DeadRep[];
  without: Summary;
  with: Summary;
  /** Median live throughput with the dead endpoint ÷ median without. */
  ratio: number;
  /** The soak run: the dead endpoint for longer, with after-GC samples. */
  soak: DeadRep;
  /** True when, in the soak run, neither after-GC RSS nor heap grew once the cap was reached. */
  rssFlat: boolean;
  problems: string[];
}

// After-GC growth allowed between the first and last third of the soak: allocator noise, not a trend.
const FLAT_TOLERANCE_MB = 4;

async function liveRun(
  config: BenchConfig,
  receiver: Receiver,
  deadPort: number,
  withDead: boolean,
  seconds: number,
  gcSampleMs?: number,
): Promise<DeadRep> {
  const cap = config.deadQueueCap;
  const notifier = createNotifier({
    network: { allowPrivate: true },
    transport: httpTransport({ network: { allowPrivate: true }, connections: config.concurrency }),
    maxInFlight: config.concurrency,
    maxQueued: cap,
    rateLimits: { json: null },
    // The default retry policy (1 s doubling to 60 s): the dead lanes hold their deliveries for minutes,
    // as they would in production.
  });
  const live = await notifier.webhooks.create({
    name: "live",
    url: `${receiver.origin}/live`,
    format: "json",
    events: ["api_failure"],
    global: true,
  });
  let dead: string | undefined;
  if (withDead) {
    const webhook = await notifier.webhooks.create({
      name: "dead",
      url: `http://127.0.0.1:${deadPort}/dead`,
      format: "json",
      events: ["api_failure"],
      global: true,
    });
    dead = webhook.id;
  }
  const inputs = new Map<string, EventInput<"api_failure">>();
  for (let i = 0; i < config.concurrency; i++) {
    const id = `dead-${withDead ? "with" : "without"}-${i}`;
    inputs.set(id, apiFailurePayload(id));
  }

  let emitting = true;
  let liveDelivered = 0;
  let liveFailed = 0;
  let liveDropped = 0;
  let deadAttempts = 0;
  notifier.on("delivery", (report) => {
    if (report.webhookId === dead) {
      if (report.attempt > 0) deadAttempts += 1;
      return;
    }
    if (!report.final || report.webhookId !== live.id) return;
    if (report.ok) liveDelivered += 1;
    else if (report.outcome === "dropped") liveDropped += 1;
    else liveFailed += 1;
    const input = inputs.get(report.runId);
    if (emitting && input) notifier.bus.emit("api_failure", input);
  });

  await receiver.reset("ok");
  await settle();
  const started = performance.now();
  const samples: RssPoint[] = [];
  let capReachedAtMs: number | undefined;
  const sample = (afterGc = false): void => {
    const usage = process.memoryUsage();
    const stats = notifier.stats();
    const atMs = performance.now() - started;
    // The first overflow drop is the moment the cap was reached.
    if (capReachedAtMs === undefined && stats.dropped > 0) capReachedAtMs = atMs;
    samples.push({ atMs, rssMb: usage.rss / MB, heapMb: usage.heapUsed / MB, queued: stats.queued, afterGc });
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const gc = (globalThis as { gc?: () => void }).gc;
  // Soak runs only: a full GC now and then shows what is still reachable (a leak), without the
  // sawtooth of garbage waiting to be collected that plain RSS samples are dominated by.
  const gcTimer =
    gcSampleMs !== undefined && gc
      ? setInterval(() => {
          gc();
          sample(true);
        }, gcSampleMs)
      : undefined;
  for (const input of inputs.values()) notifier.bus.emit("api_failure", input);

  await sleep(WARMUP_MS);
  const delivered0 = liveDelivered;
  const foreign = new ForeignLoad(receiver.pid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const measuredSeconds = (performance.now() - t0) / 1000;
  const delivered = liveDelivered - delivered0;
  const cpu = process.cpuUsage(cpu0);
  const foreignCores = foreign.stop();
  emitting = false;
  sample();
  clearInterval(timer);
  clearInterval(gcTimer);
  const stats = notifier.stats();
  // The dead lanes sleep in backoff for seconds: give the live in-flight deliveries a moment, then
  // abandon the rest.
  await notifier.close({ timeoutMs: 300 });

  // Judged from the measured window only, which starts after the warm-up second; with the dead
  // endpoint the cap is reached within that second. Soak runs judge the post-GC samples.
  const window = samples.filter((s) => s.atMs >= t0 - started && (gcSampleMs === undefined || s.afterGc));
  const third = Math.max(1, Math.floor(window.length / 3));
  const medianOf = (points: RssPoint[], key: "rssMb" | "heapMb"): number =>
    percentile(
      points.map((p) => p[key]).sort((a, b) => a - b),
      50,
    );
  const first = window.slice(0, third);
  const last = window.slice(window.length - third);
  return {
    withDead,
    seconds: measuredSeconds,
    liveDelivered: delivered,
    livePerSecond: delivered / measuredSeconds,
    cpuUsPerLiveDelivery: (cpu.user + cpu.system) / Math.max(1, delivered),
    liveFailed,
    dropped: stats.dropped,
    liveDropped,
    deadAttempts,
    peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
    capReachedAtMs,
    foreignCores,
    rssGrowthMb: medianOf(last, "rssMb") - medianOf(first, "rssMb"),
    heapGrowthMb: medianOf(last, "heapMb") - medianOf(first, "heapMb"),
    samples,
  };
}

export async function runDeadEndpoint(
  config: BenchConfig,
  receiver: Receiver,
  log: (line: string) => void,
): Promise<DeadResult> {
  const deadPort = await receiver.deadPort();
  const reps: DeadRep[] = [];
  const problems: string[] = [];
  const describe = (r: DeadRep): string =>
    `${Math.round(r.livePerSecond).toString().padStart(7)} live deliveries/s  ${r.cpuUsPerLiveDelivery.toFixed(1).padStart(6)} µs CPU/delivery  RSS peak ${r.peakRssMb.toFixed(0)} MiB  dropped ${r.dropped}  dead attempts ${r.deadAttempts}  other load ${r.foreignCores.toFixed(2)} cores`;
  const check = (r: DeadRep, what: string): void => {
    if (r.liveFailed > 0) problems.push(`${what}: ${r.liveFailed} live deliveries failed`);
    if (r.liveDropped > 0) problems.push(`${what}: ${r.liveDropped} live deliveries dropped`);
    if (r.withDead && r.capReachedAtMs === undefined) {
      problems.push(`${what}: the queue never reached its cap of ${config.deadQueueCap}`);
    }
  };
  for (let rep = 0; rep < config.reps; rep++) {
    // Alternate which variant goes first, so that neither always runs on a fresher heap.
    const order = rep % 2 === 0 ? [false, true] : [true, false];
    for (const withDead of order) {
      const r = await liveRun(config, receiver, deadPort, withDead, config.deadSeconds);
      reps.push(r);
      log(`  d rep ${rep + 1} ${withDead ? "with dead   " : "without dead"} ${describe(r)}`);
      check(r, `rep ${rep + 1}`);
    }
  }
  const soak = await liveRun(config, receiver, deadPort, true, config.deadSoakSeconds, SOAK_GC_MS);
  check(soak, "soak");
  log(
    `  d soak ${config.deadSoakSeconds} s with dead: ${describe(soak)}; after-GC RSS growth ${soak.rssGrowthMb.toFixed(1)} MiB, heap growth ${soak.heapGrowthMb.toFixed(1)} MiB`,
  );
  const withDead = reps.filter((r) => r.withDead);
  const without = summarise(reps.filter((r) => !r.withDead).map((r) => r.livePerSecond));
  const withSummary = summarise(withDead.map((r) => r.livePerSecond));
  return {
    method: `live + dead (127.0.0.1:${deadPort}, connection refused) webhooks, maxQueued ${config.deadQueueCap}, default retry policy; closed loop: ${config.concurrency} runs, one live event in flight per run; ${WARMUP_MS / 1000} s warm-up then ${config.deadSeconds} s measured per repetition, RSS sampled every ${SAMPLE_MS} ms; then a ${config.deadSoakSeconds} s soak with the dead endpoint and a full GC every ${SOAK_GC_MS} ms, whose after-GC RSS and heap decide "flat"`,
    cap: config.deadQueueCap,
    reps,
    soak,
    without,
    with: withSummary,
    ratio: withSummary.median / without.median,
    rssFlat:
      soak.capReachedAtMs !== undefined &&
      soak.rssGrowthMb <= FLAT_TOLERANCE_MB &&
      soak.heapGrowthMb <= FLAT_TOLERANCE_MB,
    problems,
  };
}

export { FLAT_TOLERANCE_MB };
