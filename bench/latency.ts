/**
 * Event → first byte at the receiver, at low load: one event at a time, each waited for before the
 * next.
 *
 * Both processes read `process.hrtime.bigint()`, which on Linux is CLOCK_MONOTONIC: one clock for
 * the whole machine, so a stamp taken in the parent just before the emit and one taken in the child
 * when the request head is parsed can be subtracted directly. `performance.timeOrigin + now()` would
 * add each process's wall-clock reading at start-up (and its error) to every difference; timing
 * emit → response in the parent would add the response's way back. The clocks are checked first:
 * a child reading taken between two parent readings must fall between them.
 */
import { createNotifier, httpTransport } from "./runhooks.js";
import type { BenchConfig } from "./config.js";
import { percentile } from "./measure.js";
import { ceilingPath, naivePath, runhooksPath, type ScenarioSpec, type ThroughputPath } from "./paths.js";
import { FAILING_BATCH, QUIET_BATCH, runInfo } from "./payload.js";
import type { Receiver } from "./receiver-client.js";

export interface LatencyPath {
  path: string;
  samples: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

export interface LatencyResult {
  /** Largest child-minus-parent disagreement found by the clock check (should be 0). */
  clockSkewUs: number;
  /** Parent → child → parent IPC round trip (median), bounding how precisely the check works. */
  ipcRoundTripUs: number;
  paths: LatencyPath[];
  problems: string[];
}

const WARMUP_SAMPLES = 100;

/** One event, resolved when it was delivered. */
interface Trigger {
  path: string;
  once(): Promise<void>;
  close(): Promise<void>;
}

async function checkClocks(receiver: Receiver): Promise<{ skewUs: number; roundTripUs: number }> {
  let skew = 0n;
  const trips: number[] = [];
  for (let i = 0; i < 20; i++) {
    const before = process.hrtime.bigint();
    const child = await receiver.now();
    const after = process.hrtime.bigint();
    trips.push(Number(after - before) / 1000);
    if (child < before && before - child > skew) skew = before - child;
    if (child > after && child - after > skew) skew = child - after;
  }
  return {
    skewUs: Number(skew) / 1000,
    roundTripUs: percentile(
      trips.sort((a, b) => a - b),
      50,
    ),
  };
}

function fromPath(path: ThroughputPath, label: string): Trigger {
  return { path: label, once: () => path.run(1), close: () => path.close() };
}

/** runhooks through the runner API: `run.stats()` with 5xx fires `api_failure` (cooldown 0). */
async function runStatsTrigger(receiver: Receiver, concurrency: number): Promise<Trigger> {
  const notifier = createNotifier({
    network: { allowPrivate: true },
    transport: httpTransport({ network: { allowPrivate: true }, connections: concurrency }),
    rateLimits: { json: null },
    apiFailureCooldownMs: 0,
  });
  await notifier.webhooks.create({
    name: "latency",
    url: `${receiver.origin}/latency/run-stats`,
    format: "json",
    events: ["api_failure"],
    global: true,
  });
  let serial = 0;
  let run = notifier.run(runInfo(`latency-${serial++}`));
  run.stats(QUIET_BATCH);
  let calls = 0;
  return {
    path: "runhooks run.stats()",
    async once() {
      // A run's snapshot grows with each api_failure: start a new run now and then, as runners do.
      if (++calls % 200 === 0) {
        run = notifier.run(runInfo(`latency-${serial++}`));
        run.stats(QUIET_BATCH);
        await notifier.flush();
      }
      run.stats(FAILING_BATCH);
      await notifier.flush();
    },
    async close() {
      await notifier.close({ timeoutMs: 5_000 });
    },
  };
}

export async function runLatency(
  config: BenchConfig,
  receiver: Receiver,
  body: string,
  log: (line: string) => void,
): Promise<LatencyResult> {
  const problems: string[] = [];
  const clocks = await checkClocks(receiver);
  if (clocks.skewUs > 0) problems.push(`the clocks disagree by ${clocks.skewUs.toFixed(1)} µs`);

  const spec = (name: string): ScenarioSpec => ({
    shape: "many",
    origin: receiver.origin,
    targets: [`/latency/${name}`],
    runs: 1,
    flaky: false,
    concurrency: config.concurrency,
    maxQueued: 10_000,
    window: 1,
  });
  const triggers: Trigger[] = [
    fromPath(ceilingPath(spec("ceiling"), body), "ceiling agent.request()"),
    fromPath(naivePath(spec("naive"), false), "naive emit"),
    fromPath(await runhooksPath(spec("runhooks"), false), "runhooks bus.emit()"),
    fromPath(await runhooksPath(spec("runhooks-hmac"), true), "runhooks+hmac bus.emit()"),
    await runStatsTrigger(receiver, config.concurrency),
  ];

  const paths: LatencyPath[] = [];
  try {
    for (const trigger of triggers) {
      await receiver.reset("ok");
      for (let i = 0; i < Math.min(WARMUP_SAMPLES, config.latencySamples); i++) await trigger.once();
      await receiver.reset("ok", { recordArrivals: true });
      const sent: bigint[] = [];
      for (let i = 0; i < config.latencySamples; i++) {
        sent.push(process.hrtime.bigint());
        await trigger.once();
      }
      const arrived = await receiver.arrivals();
      if (arrived.length !== sent.length) {
        problems.push(`${trigger.path}: ${arrived.length} arrivals for ${sent.length} events`);
        continue;
      }
      const micros = sent.map((t, i) => Number((arrived[i] ?? t) - t) / 1000).sort((a, b) => a - b);
      const result = {
        path: trigger.path,
        samples: micros.length,
        p50Us: percentile(micros, 50),
        p99Us: percentile(micros, 99),
        maxUs: micros[micros.length - 1] ?? Number.NaN,
      };
      paths.push(result);
      log(
        `  latency ${trigger.path.padEnd(26)} p50 ${result.p50Us.toFixed(0).padStart(5)} µs  p99 ${result.p99Us.toFixed(0).padStart(5)} µs`,
      );
    }
  } finally {
    for (const trigger of triggers) await trigger.close();
  }
  return { clockSkewUs: clocks.skewUs, ipcRoundTripUs: clocks.roundTripUs, paths, problems };
}
