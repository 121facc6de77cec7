/**
 * What a runner call costs the runner's own thread, measured with tinybench. The transport is a stub
 * that answers 200 at once, so nothing here touches the network: what is left is validation, run
 * tracking, event building, target selection, formatting, queueing and the delivery bookkeeping.
 */
import { Bench, type Fn, type FnOptions } from "tinybench";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createNotifier,
  sqliteBackend,
  type Notifier,
  type NotifierOptions,
  type RunHandle,
  type Transport,
} from "./runhooks.js";
import type { BenchConfig } from "./config.js";
import { settle } from "./measure.js";
import { FAILING_BATCH, QUIET_BATCH, runInfo } from "./payload.js";

export interface CallCost {
  name: string;
  /** What one sample covers. */
  unit: string;
  /** Median and p99 per call, in microseconds. */
  medianUs: number;
  p99Us: number;
  samples: number;
}

export interface CallsResult {
  webhooks: number;
  costs: CallCost[];
  problems: string[];
}

const stubTransport: Transport = {
  send: () => Promise.resolve({ status: 200, headers: {}, body: "" }),
  close: () => Promise.resolve(),
};

/**
 * A notifier whose transport answers 200 at once, with `webhooks` global JSON webhooks on api_failure:
 * only the runner-thread and dispatch costs are left to measure.
 */
export async function stubNotifier(
  webhooks: number,
  backend?: NotifierOptions["backend"],
): Promise<Notifier> {
  const notifier = createNotifier({
    // Loopback URLs that nothing is sent to (the transport is a stub); allowPrivate lets them be created.
    network: { allowPrivate: true },
    transport: stubTransport,
    maxQueued: 1_000_000,
    rateLimits: { json: null },
    // Every 5xx batch fires api_failure (by default only one per 5 minutes would).
    apiFailureCooldownMs: 0,
    ...(backend && { backend }),
  });
  for (let i = 0; i < webhooks; i++) {
    await notifier.webhooks.create({
      name: `stub-${i}`,
      url: `http://127.0.0.1:9/stub/${i}`,
      format: "json",
      events: ["api_failure"],
      global: true,
    });
  }
  return notifier;
}

// Calls timed together per sample: one call is well under a microsecond of timer resolution noise.
const QUIET_CALLS_PER_SAMPLE = 100;
const EVENT_CALLS_PER_SAMPLE = 10;

interface Task {
  bench: Bench;
  unit: string;
}

/**
 * The tasks measuring one notifier: a quiet batch (with `quiet`), and a batch that fires an event its
 * `webhooks` webhooks get, timed until the call returns and until the deliveries are done.
 */
async function notifierTasks(
  notifier: Notifier,
  label: string,
  webhooks: number,
  config: BenchConfig,
  quiet: boolean,
): Promise<Task[]> {
  let serial = 0;
  /** A run past its first batch (started and in_progress already fired), flushed. */
  const freshRun = async (): Promise<RunHandle> => {
    const run = notifier.run(runInfo(`calls-${label}-${serial++}`));
    run.stats(QUIET_BATCH);
    await notifier.flush();
    return run;
  };
  const quietRun = await freshRun();
  let eventRun = await freshRun();
  const tag = label === "" ? "" : `, ${label}`;

  // One Bench per task: the time budget counts measured time only, and the event tasks spend far
  // more time outside it (flushing 100 deliveries per call) than in it.
  const tasks: Task[] = [];
  const add = (name: string, unit: string, measuredMs: number, fn: Fn, options: FnOptions): void => {
    const bench = new Bench({ time: measuredMs, warmupTime: measuredMs / 3, iterations: 50 });
    bench.add(name, fn, options);
    tasks.push({ bench, unit });
  };

  if (quiet)
    add(
      `run.stats(), no event${tag}`,
      `one call (${QUIET_CALLS_PER_SAMPLE} timed together)`,
      config.callTimeMs,
      () => {
        const t0 = performance.now();
        for (let i = 0; i < QUIET_CALLS_PER_SAMPLE; i++) quietRun.stats(QUIET_BATCH);
        const elapsed = performance.now() - t0;
        return { overriddenDuration: elapsed / QUIET_CALLS_PER_SAMPLE, overriddenIterationCost: elapsed };
      },
      { async: false },
    );

  // A fresh run per sample: a run's snapshot grows with every api_failure it fires, and a real run
  // fires one per cooldown (5 minutes by default), not thousands.
  add(
    `run.stats() → api_failure (${webhooks} webhooks${tag}), until the call returns`,
    `one call (${EVENT_CALLS_PER_SAMPLE} timed together)`,
    config.callTimeMs / 20,
    () => {
      const t0 = performance.now();
      for (let i = 0; i < EVENT_CALLS_PER_SAMPLE; i++) eventRun.stats(FAILING_BATCH);
      const elapsed = performance.now() - t0;
      return { overriddenDuration: elapsed / EVENT_CALLS_PER_SAMPLE, overriddenIterationCost: elapsed };
    },
    {
      async: false,
      beforeEach: async () => {
        eventRun = await freshRun();
      },
      // The call selects the webhooks, formats once and queues 100 deliveries; sending them starts in a
      // microtask, after the call: flush that outside the timed window.
      afterEach: async () => {
        await notifier.flush();
      },
    },
  );

  add(
    `run.stats() → api_failure (${webhooks} webhooks${tag}), call + dispatch + delivery through a stub`,
    `one call, awaited until its ${webhooks} deliveries are done`,
    config.callTimeMs / 3,
    async () => {
      const t0 = performance.now();
      eventRun.stats(FAILING_BATCH);
      await notifier.flush();
      const elapsed = performance.now() - t0;
      return { overriddenDuration: elapsed, overriddenIterationCost: elapsed };
    },
    {
      async: true,
      beforeEach: async () => {
        eventRun = await freshRun();
      },
    },
  );
  return tasks;
}

export async function runCalls(config: BenchConfig): Promise<CallsResult> {
  const folder = mkdtempSync(join(tmpdir(), "runhooks-calls-"));
  // The memory backend with config.callWebhooks first (the report's targets read costs[0]), then one
  // webhook, then the same on sqliteBackend() (issue 20: what an event's commit costs the runner).
  const variants: Array<{ label: string; webhooks: number; durable: boolean; quiet: boolean }> = [
    { label: "", webhooks: config.callWebhooks, durable: false, quiet: true },
    { label: "", webhooks: 1, durable: false, quiet: false },
    { label: "sqlite", webhooks: config.callWebhooks, durable: true, quiet: true },
    { label: "sqlite", webhooks: 1, durable: true, quiet: false },
  ];
  const problems: string[] = [];
  const costs: CallCost[] = [];
  try {
    for (const [i, variant] of variants.entries()) {
      const backend = variant.durable ? sqliteBackend({ file: join(folder, `calls-${i}.db`) }) : undefined;
      const notifier = await stubNotifier(variant.webhooks, backend);
      const tasks = await notifierTasks(notifier, variant.label, variant.webhooks, config, variant.quiet);
      const before = notifier.stats();
      for (const { bench } of tasks) {
        await settle();
        await bench.run();
      }
      const after = notifier.stats();
      await notifier.close();
      collect(tasks, costs, problems);
      if (after.failed !== before.failed || after.dropped !== before.dropped) {
        problems.push(
          `${variant.label || "memory"}, ${variant.webhooks} webhooks: ${after.failed - before.failed} failed, ${after.dropped - before.dropped} dropped`,
        );
      }
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return { webhooks: config.callWebhooks, costs, problems };
}

function collect(tasks: readonly Task[], costs: CallCost[], problems: string[]): void {
  for (const { bench, unit } of tasks) {
    const task = bench.tasks[0];
    if (!task) continue;
    const result = task.result;
    if (result.state !== "completed") {
      problems.push(`${task.name}: ${result.state === "errored" ? String(result.error) : result.state}`);
      continue;
    }
    costs.push({
      name: task.name,
      unit,
      medianUs: result.latency.p50 * 1000,
      p99Us: result.latency.p99 * 1000,
      samples: result.latency.samplesCount,
    });
  }
}
