/**
 * What a runner call costs the runner's own thread, measured with tinybench. The transport is a stub
 * that answers 200 at once, so nothing here touches the network: what is left is validation, run
 * tracking, event building, target selection, formatting, queueing and the delivery bookkeeping, and
 * with a durable backend the writes to its file or database.
 */
import { Bench, type Fn, type FnOptions } from "tinybench";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createNotifier,
  postgresBackend,
  sqliteBackend,
  type Notifier,
  type NotifierOptions,
  type RunHandle,
  type Transport,
} from "./runhooks.js";
import type { BenchConfig } from "./config.js";
import { settle } from "./measure.js";
import type { Backends } from "./backends.js";
import { dropSchemas, freshSchema } from "./postgres.js";
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
// With a run state in PostgreSQL each call is a transaction after it returns: fewer per sample, flushed
// between samples (see quietTasks).
const IO_QUIET_CALLS_PER_SAMPLE = 10;

interface Task {
  bench: Bench;
  unit: string;
}

/**
 * One Bench per task: the time budget counts measured time only, and the event tasks spend far more
 * time outside it (flushing 100 deliveries per call) than in it.
 */
function task(name: string, unit: string, measuredMs: number, fn: Fn, options: FnOptions): Task {
  const bench = new Bench({ time: measuredMs, warmupTime: measuredMs / 3, iterations: 50 });
  bench.add(name, fn, options);
  return { bench, unit };
}

/**
 * The no-event call: `run.stats()` with a batch that fires nothing. With a run state that needs I/O
 * (`io`: PostgreSQL, where the call returns at once and its transaction follows, one after another per
 * run), the timed calls are flushed between samples, so that the samples do not pile thousands of
 * transactions up behind one run, and a second task times one call until it is recorded.
 */
function quietTasks(
  notifier: Notifier,
  run: RunHandle,
  tag: string,
  config: BenchConfig,
  io: boolean,
): Task[] {
  const calls = io ? IO_QUIET_CALLS_PER_SAMPLE : QUIET_CALLS_PER_SAMPLE;
  const tasks = [
    task(
      `run.stats(), no event${tag}`,
      `one call (${calls} timed together)`,
      // Each sample costs `calls` transactions outside the timed window with I/O: a smaller budget.
      io ? config.callTimeMs / 100 : config.callTimeMs,
      () => {
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) run.stats(QUIET_BATCH);
        const elapsed = performance.now() - t0;
        return { overriddenDuration: elapsed / calls, overriddenIterationCost: elapsed };
      },
      io
        ? {
            async: false,
            afterEach: async () => {
              await notifier.flush();
            },
          }
        : { async: false },
    ),
  ];
  if (io)
    tasks.push(
      task(
        `run.stats(), no event${tag}, until recorded`,
        "one call, awaited until flush() resolves (its transaction committed)",
        config.callTimeMs / 3,
        untilFlushed(notifier, () => {
          run.stats(QUIET_BATCH);
        }),
        { async: true },
      ),
    );
  return tasks;
}

/** A timed task: one runner call, awaited until `flush()` resolves (what it queued is done). */
function untilFlushed(notifier: Notifier, call: () => void): Fn {
  return async () => {
    const t0 = performance.now();
    call();
    await notifier.flush();
    const elapsed = performance.now() - t0;
    return { overriddenDuration: elapsed, overriddenIterationCost: elapsed };
  };
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
  io: boolean,
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

  const tasks: Task[] = quiet ? quietTasks(notifier, quietRun, tag, config, io) : [];
  const add = (name: string, unit: string, measuredMs: number, fn: Fn, options: FnOptions): void => {
    tasks.push(task(name, unit, measuredMs, fn, options));
  };

  // A fresh run per sample: a run's snapshot grows with every api_failure it fires, and a real run
  // fires one per cooldown (5 minutes by default), not thousands. With PostgreSQL the call returns
  // before anything is written, and each sample's flush sends its deliveries through the database (a
  // thousand per sample at 10 calls to 100 webhooks): one call per sample there, and the minimum of
  // 50 samples rather than a time budget that microsecond calls would stretch to hundreds.
  const eventCalls = io ? 1 : EVENT_CALLS_PER_SAMPLE;
  add(
    `run.stats() → api_failure (${webhooks} webhooks${tag}), until the call returns`,
    eventCalls === 1 ? "one call" : `one call (${eventCalls} timed together)`,
    io ? 0 : config.callTimeMs / 20,
    () => {
      const t0 = performance.now();
      for (let i = 0; i < eventCalls; i++) eventRun.stats(FAILING_BATCH);
      const elapsed = performance.now() - t0;
      return { overriddenDuration: elapsed / eventCalls, overriddenIterationCost: elapsed };
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
    untilFlushed(notifier, () => {
      eventRun.stats(FAILING_BATCH);
    }),
    {
      async: true,
      beforeEach: async () => {
        eventRun = await freshRun();
      },
    },
  );
  return tasks;
}

/** One notifier the runner-call cost is measured on. */
interface Variant {
  label: string;
  webhooks: number;
  backend: "memory" | "sqlite" | "postgres";
  quiet: boolean;
}

/**
 * The runner-call cost: the memory backend with `config.callWebhooks` first (the report's targets read
 * costs[0]), then one webhook, then the same on sqliteBackend() (issue 20: what an event's commit costs
 * the runner) and on postgresBackend() (issue 21), each when this run can use it.
 */
export async function runCalls(
  config: BenchConfig,
  backends: Backends = { sqlite: true },
): Promise<CallsResult> {
  const server = backends.postgres;
  const folder = mkdtempSync(join(tmpdir(), "runhooks-calls-"));
  const variants: Variant[] = [
    { label: "", webhooks: config.callWebhooks, backend: "memory", quiet: true },
    { label: "", webhooks: 1, backend: "memory", quiet: false },
  ];
  if (backends.sqlite)
    variants.push(
      { label: "sqlite", webhooks: config.callWebhooks, backend: "sqlite", quiet: true },
      { label: "sqlite", webhooks: 1, backend: "sqlite", quiet: false },
    );
  if (server !== undefined)
    variants.push(
      { label: "postgres", webhooks: config.callWebhooks, backend: "postgres", quiet: true },
      { label: "postgres", webhooks: 1, backend: "postgres", quiet: false },
    );
  const problems: string[] = [];
  const costs: CallCost[] = [];
  try {
    for (const [i, variant] of variants.entries()) {
      let backend: NotifierOptions["backend"];
      let schema: string | undefined;
      if (variant.backend === "sqlite") backend = sqliteBackend({ file: join(folder, `calls-${i}.db`) });
      else if (variant.backend === "postgres" && server !== undefined) {
        schema = freshSchema("bench_calls");
        backend = postgresBackend({ connectionString: server.url, schema });
      }
      const notifier = await stubNotifier(variant.webhooks, backend);
      const errors: string[] = [];
      // A backend that cannot reach its database goes on in memory: a problem, not a measurement.
      if (schema !== undefined) notifier.on("error", (error) => errors.push(error.message));
      try {
        const io = variant.backend === "postgres";
        const tasks = await notifierTasks(
          notifier,
          variant.label,
          variant.webhooks,
          config,
          variant.quiet,
          io,
        );
        const before = notifier.stats();
        for (const { bench } of tasks) {
          await settle();
          await bench.run();
        }
        const after = notifier.stats();
        collect(tasks, costs, problems);
        const what = `${variant.label || "memory"}, ${variant.webhooks} webhooks`;
        if (after.failed !== before.failed || after.dropped !== before.dropped) {
          problems.push(
            `${what}: ${after.failed - before.failed} failed, ${after.dropped - before.dropped} dropped`,
          );
        }
        problems.push(...errors.map((error) => `${what}: ${error}`));
      } finally {
        await notifier.close();
        if (schema !== undefined && server !== undefined)
          await dropSchemas(server, [schema, `${schema}_queue`]);
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
