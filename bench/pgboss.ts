/**
 * The `pgboss` path: pg-boss's own send → work → complete loop on the benchmark's PostgreSQL server,
 * the ceiling of the engine runhooks' PostgreSQL backend is built on (issue 21: the backend's target is
 * ≥ 0.5× of it).
 */
import type { Job, PgBoss } from "pg-boss";
import { pump } from "./measure.js";
import { agentFor, DATABASE_POLL_MS, fanoutRounds, type ScenarioSpec, type ThroughputPath } from "./paths.js";
import { dropSchemas, freshSchema, type PostgresServer } from "./postgres.js";

const QUEUE = "bench-webhooks";
// The pool runhooks' backend makes by default (maxConnections 10), which its pg-boss shares.
const POOL_SIZE = 10;

/** How the pgboss path works its queue, for the report. */
export function pgbossWorkText(concurrency: number): string {
  return `one boss.work() loop, batchSize ${concurrency}, burstWhenBatchFull`;
}

/** What one job carries: the request path on the receiver and the body, serialised when it was sent. */
interface Webhook {
  path: string;
  body: string;
}

/** What the pgboss worker's handler does with a job: POST it to the receiver, counting what was posted. */
interface Poster {
  post(job: Job<Webhook>): Promise<void>;
  /** Requests answered with a 2xx so far. */
  readonly posted: number;
  /** Requests answered with an error status so far. */
  readonly failed: number;
  /** Resolves once `posted` reaches `count`. */
  reached(count: number): Promise<void>;
  close(): Promise<void>;
}

/** The handler's request: the pre-serialised body, the same headers as the ceiling's and a webhook-id. */
function poster(spec: ScenarioSpec): Poster {
  const agent = agentFor(spec);
  let posted = 0;
  let failed = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  return {
    async post(job) {
      const headers = {
        "content-type": "application/json",
        "user-agent": "bench-pgboss/1.0",
        "webhook-id": `msg_${job.id}`,
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      };
      const { path, body } = job.data;
      const response = await agent.request({ origin: spec.origin, path, method: "POST", headers, body });
      await response.body.dump();
      if (response.statusCode >= 300) {
        failed += 1;
        // Thrown: pg-boss fails the batch and retries it, as it would for an application.
        throw new Error(`pgboss: the receiver answered ${response.statusCode}`);
      }
      posted += 1;
      for (let i = waiters.length - 1; i >= 0; i--) {
        const waiter = waiters[i]!;
        if (posted < waiter.count) continue;
        waiters.splice(i, 1);
        waiter.resolve();
      }
    },
    get posted() {
      return posted;
    },
    get failed() {
      return failed;
    },
    reached: (count) =>
      posted >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => agent.close(),
  };
}

/**
 * Waits until pg-boss has completed every job of the queue: the handler returned, then pg-boss
 * completed its batch. Asked once the run's last request was answered, so it costs a query or two.
 */
async function settled(boss: PgBoss, schema: string): Promise<void> {
  const sql = `SELECT count(*)::int AS n FROM "${schema}".job WHERE name = $1 AND state < 'completed'`;
  for (;;) {
    const { rows } = await boss.getDb().executeSql(sql, [QUEUE]);
    if ((rows[0] as { n: number } | undefined)?.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * pg-boss used directly, as an application would: one `boss.send()` per event to one webhook, one
 * `boss.insert()` of all its jobs per event that fans out, a `key_strict_fifo` queue keyed by
 * (webhook, run) like runhooks' lanes (one job of a key at a time, in the order sent), and
 * `boss.work()` whose handler POSTs each fetched job's body to the receiver (undici, the same Agent
 * settings as every path) and returns, after which pg-boss completes the batch. A run ends when every
 * job it sent is completed in the database, as runhooks' `flush()` waits for its jobs.
 *
 * Nothing else: no delivery rows, no outbox, no per-attempt state; the body is pre-serialised, as the
 * ceiling's is. What runhooks' backend adds on top of this loop is what the ratio measures.
 */
export async function pgbossPath(
  spec: ScenarioSpec,
  body: string,
  server: PostgresServer,
): Promise<ThroughputPath> {
  const { PgBoss } = await import("pg-boss");
  const schema = freshSchema("bench_pgboss");
  const boss: PgBoss = new PgBoss({ connectionString: server.url, schema, max: POOL_SIZE, schedule: false });
  const errors: string[] = [];
  boss.on("error", (error: Error) => errors.push(`pg-boss: ${error.message}`));
  await boss.start();
  await boss.createQueue(QUEUE, { policy: "key_strict_fifo" });
  const receiver = poster(spec);
  await boss.work<Webhook>(
    QUEUE,
    // One fetch loop of as many jobs as every other path has requests in flight, fetching again at once
    // while fetches come back full, else polling at pg-boss's minimum. 2, 4 and 8 loops
    // (localConcurrency, the batch split between them) were no faster in quick runs, and (b)'s server
    // CPU per delivery grew with their number: each fetch is a query.
    { batchSize: spec.concurrency, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
    async (jobs) => {
      await Promise.all(jobs.map((job) => receiver.post(job)));
    },
  );

  const sends = new Set<Promise<unknown>>();
  const send = (i: number): void => {
    const target = spec.targets[0] ?? "/";
    const sent = boss
      .send(QUEUE, { path: target, body }, { singletonKey: `${target}:run-${i % spec.runs}` })
      .catch((error: unknown) => errors.push(`send: ${String(error)}`));
    sends.add(sent);
    void sent.finally(() => sends.delete(sent));
  };
  let before = 0;
  let failedBefore = 0;
  let expected = 0;

  return {
    name: "pgboss",
    async run(deliveries) {
      before = receiver.posted;
      failedBefore = receiver.failed;
      expected = deliveries;
      if (spec.shape === "many") {
        await pump(deliveries, spec.window, send, () => receiver.posted - before, DATABASE_POLL_MS);
      } else {
        for (let round = 0, rounds = fanoutRounds(spec, deliveries); round < rounds; round++) {
          // The run ids rotate over 64, as runhooks' payloads do in (b).
          const run = `run-${round % 64}`;
          const jobs = spec.targets.map((path) => ({ data: { path, body }, singletonKey: `${path}:${run}` }));
          await boss.insert(QUEUE, jobs);
          await receiver.reached(before + (round + 1) * spec.targets.length);
          await settled(boss, schema);
        }
      }
      await Promise.all([...sends]);
      await settled(boss, schema);
    },
    problems() {
      const out = errors.splice(0);
      const posted = receiver.posted - before;
      if (posted !== expected) out.push(`${posted} of ${expected} posted`);
      const failed = receiver.failed - failedBefore;
      if (failed > 0) out.push(`${failed} requests answered with an error status`);
      return out;
    },
    async close() {
      await boss.stop({ graceful: true, timeout: 5_000 });
      await receiver.close();
      await dropSchemas(server, [schema]);
    },
  };
}
