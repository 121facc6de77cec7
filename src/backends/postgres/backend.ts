import { createRequire } from "node:module";
import type { PgBoss } from "pg-boss";
import { BackendError, ConfigError } from "../../errors.js";
import type { Backend, BackendHooks } from "../types.js";
import { checkServesOnce, heldReports } from "../_serving.js";
import {
  checkout,
  connect,
  connectionError,
  migrate,
  storageError,
  type Connection,
  type Migration,
  type PostgresConnectionOptions,
} from "./database.js";
import { sharedCircuits, type SharedCircuits } from "./circuits.js";
import { pruneRateLimits, sharedRateLimits } from "./limits.js";
import { owner as registerOwner, type Owner } from "./owners.js";
import { adapter } from "./fan-out.js";
import { pruneBodies } from "./jobs.js";
import { postgresQueue, type PostgresQueue } from "./queue.js";
import { postgresRunState, type PostgresRunState } from "./run-state.js";

/** Options of {@link postgresBackend}: where the database is, and the lease and polling times. */
export interface PostgresBackendOptions extends PostgresConnectionOptions {
  /**
   * How long a process's hold on the events it recorded, and on the delivery it is sending, lasts
   * without a heartbeat. Another process takes over what a killed one held after about this long
   * (pg-boss's job heartbeat is at least 10 s, so deliveries take at least that).
   * @default 15000
   */
  leaseMs?: number | undefined;
  /**
   * How long the database keeps what is finished: fanned-out events, and the state of runs not updated
   * since (a runner replaying an older run's calls then fires its events again).
   * @default 86400000 (24 h)
   */
  retentionMs?: number | undefined;
  /** How often an idle process asks pg-boss for deliveries. @default 200 */
  pollMs?: number | undefined;
}

const MIGRATIONS: readonly Migration[] = [
  (s) => `
  CREATE TABLE ${s}.owners (
    owner        text PRIMARY KEY,
    host         text NOT NULL,
    pid          integer NOT NULL,
    heartbeat_at timestamptz NOT NULL,  -- the server's clock
    lease_ms     integer NOT NULL       -- dead once heartbeat_at + lease_ms has passed
  );
  CREATE TABLE ${s}.runs (
    run_id     text PRIMARY KEY,
    version    bigint NOT NULL,         -- bumped by every write
    phase      text NOT NULL,
    snapshot   text,                    -- JSON (snapshotToJSON); NULL for a run being created
    updated_at timestamptz NOT NULL
  );
  CREATE TABLE ${s}.outbox (
    seq      bigserial,                 -- the order events fired in
    event_id text PRIMARY KEY,
    run_id   text NOT NULL,
    event    text NOT NULL,             -- JSON: the event as the webhooks get it
    owner    text NOT NULL,             -- the process that fans it out
    fired_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE ${s}.fanouts (
    event_id text PRIMARY KEY,          -- its deliveries are queued: no process queues them again
    done_at  timestamptz NOT NULL
  );
  CREATE TABLE ${s}.bodies (
    id   bigserial PRIMARY KEY,
    body text NOT NULL                  -- what the webhooks receive, once per rendering
  );
  CREATE TABLE ${s}.deliveries (
    seq          bigserial,             -- the order they were queued in
    id           text PRIMARY KEY,      -- the webhook-id
    job_id       uuid NOT NULL,         -- its pg-boss job
    owner        text NOT NULL,         -- the process that queued it (or adopted it: that one died)
    lane         text NOT NULL,         -- webhook_id:run_id, the job's singletonKey
    taken        boolean NOT NULL DEFAULT false, -- its job was fetched: overflow never takes it back
    event        text NOT NULL,
    event_id     text NOT NULL,
    run_id       text NOT NULL,
    webhook_id   text NOT NULL,         -- the URL, headers and secret stay in the store
    webhook_name text NOT NULL,
    target       text NOT NULL,         -- scheme://host only
    format       text NOT NULL,
    headers      text NOT NULL,         -- JSON: the message's own headers, never the webhook's
    body_id      bigint NOT NULL REFERENCES ${s}.bodies (id),
    queued_at    bigint NOT NULL,
    deadline_at  bigint NOT NULL,
    terminal     boolean NOT NULL,
    attempts     integer,               -- NULL until an attempt failed and will be retried
    retries_used integer,
    first_attempt_at bigint,
    next_attempt_at  bigint
  );
  CREATE INDEX deliveries_terminal ON ${s}.deliveries (lane, seq) WHERE terminal;
  CREATE INDEX deliveries_body ON ${s}.deliveries (body_id);
  CREATE INDEX deliveries_owner ON ${s}.deliveries (owner);
  CREATE INDEX outbox_by_run ON ${s}.outbox (run_id, seq);`,
  (s) => `
  CREATE TABLE ${s}.rate_limits (
    key     text PRIMARY KEY,           -- the webhook's id
    tat     timestamptz NOT NULL,       -- GCRA's theoretical arrival time, on the server's clock
    allowed boolean NOT NULL            -- whether the last request could go
  );
  CREATE TABLE ${s}.circuits (
    webhook_id      text PRIMARY KEY,   -- a webhook that failed since its last success
    failures        integer NOT NULL,   -- failed attempts in a row, every process's
    opened_at       timestamptz,        -- set while its circuit is open
    probe_at        timestamptz NOT NULL, -- when the next probe may go
    probe_after_ms  float8 NOT NULL,    -- the wait before it, doubled by each failed probe
    probing_until   timestamptz,        -- a probe is out, claimed by one process, until then
    outage_reported boolean NOT NULL,   -- open past disableAfterMs, and reported
    last_change     text                -- what the last failure changed (opened, outage), for its process to report
  );`,
];

const DEFAULT_LEASE_MS = 15_000;
const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;
const DEFAULT_POLL_MS = 200;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
const QUEUE = "runhooks-deliveries";

/** Node ≥ 22.12: what pg-boss 12 runs on. */
function nodeProblem(version = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return undefined;
  return (
    `postgresBackend() needs Node ≥ 22.12 (its queue is pg-boss 12), and this is Node v${version}. ` +
    "Upgrade Node (22, 24 or 26), or use sqliteBackend() from runhooks/sqlite on this host; postgresStore() runs on Node 20 too."
  );
}

/**
 * A shared {@link Backend} in PostgreSQL (≥ 13): the run state in tables of the schema and the delivery
 * queue in pg-boss (≥ 12.10, its `key_strict_fifo` policy), so that the API replicas and runners of a
 * platform notify each event once, in order, whichever process saw the signal.
 *
 * - **Once across processes.** Each runner call's change is applied to the run's row under its lock, and
 *   its events written to the outbox, before the promise the run handle waits on resolves; processes fed
 *   the same run's signals fire each event once, share the `api_failure` throttle, and add up their
 *   statistics batches. The fan-out claims the event (`fanouts`) and queues its deliveries and their jobs
 *   in one transaction.
 * - **Order.** One pg-boss key per (webhook, run): one delivery of a lane at a time, in the order queued,
 *   across every process.
 * - **Shared per-webhook state.** Each webhook's rate limit holds across every process (one token
 *   bucket per webhook in the database); its failures add up in one circuit breaker, which opens for all
 *   and lets one probe out at a time; a webhook disabled after a 410 is disabled for all (the store).
 *   Past `maxQueued`, a process takes back from the webhook holding the most, as the memory queue does.
 * - **Takeover.** A killed process's outbox events are fanned out by another after `leaseMs`; its
 *   delivery in progress after pg-boss's heartbeat stops, continuing from the recorded attempts.
 * - **No secrets at rest** in the queue: URLs, configured headers and keys are read from the store at
 *   each attempt.
 *
 * Needs Node ≥ 22.12, and `pg` ^8 and `pg-boss` ^12.10 (optional peer dependencies:
 * `npm install pg pg-boss`). See docs/distributed.md.
 *
 * @throws ConfigError on Node < 22.12, without pg or pg-boss, or with wrong options; the message says
 *   what to do. A database it cannot use (unreachable, refused, older than PostgreSQL 13) is reported on
 *   the notifier's `error` channel when it starts: runner calls still return at once, and each delivery
 *   it cannot queue is reported dropped.
 *
 * @example
 * import { createNotifier } from "runhooks";
 * import { postgresBackend, postgresStore } from "runhooks/postgres";
 *
 * const notifier = createNotifier({
 *   backend: postgresBackend({ connectionString: process.env.DATABASE_URL }),
 *   store: postgresStore({ connectionString: process.env.DATABASE_URL }),
 * });
 */
export function postgresBackend(options: PostgresBackendOptions): Backend {
  const problem = nodeProblem();
  if (problem !== undefined) throw new ConfigError(problem);
  const settings = checkOptions(options);
  const connection = connect(options, "postgresBackend", 2);
  const name = `postgres (${connection.target}, schema ${connection.schemaName})`;
  const owner = registerOwner(connection, settings.leaseMs);
  const { report, attach } = heldReports();

  const ready = (async () => {
    await migrate(connection, "backend", MIGRATIONS, "postgresBackend");
    await owner.register();
  })().catch((error: unknown) => {
    throw connectionError(error, connection, "postgresBackend");
  });
  const boss = ready.then(() => startBoss(connection, settings.leaseMs, report));
  ready.catch(() => undefined);
  boss.catch(() => undefined);

  const parts: Parts = { connection, owner, name, settings, report, prunedAt: 0, closed: false };
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const once = (built: unknown): void => {
    checkServesOnce(name, "postgresBackend()", "the database", parts.closed, built !== undefined);
  };

  return {
    name,
    durable: true,
    runState(limits) {
      once(parts.runState);
      parts.runState = postgresRunState({
        connection,
        owner,
        ready,
        maxRuns: limits.maxRuns,
        giveUpMs: settings.leaseMs * 4,
        report,
      });
      return parts.runState;
    },
    queue(worker, onDrop, limits) {
      once(parts.queue);
      parts.queue = postgresQueue(
        {
          connection,
          boss,
          ownerId: owner.id,
          maxOrderWaitMs: settings.leaseMs * 2,
          queueName: QUEUE,
          pollMs: settings.pollMs,
          touchMs: Math.max(1000, Math.floor((heartbeatSeconds(settings.leaseMs) * 1000) / 3)),
          report,
        },
        worker,
        onDrop,
        limits,
      );
      return parts.queue;
    },
    rateLimits: () => sharedRateLimits(connection, ready),
    circuits(breaker, changed) {
      parts.circuits = sharedCircuits(connection, ready, breaker, changed);
      return parts.circuits;
    },
    async start(given) {
      parts.hooks = given;
      attach(given);
      try {
        await ready;
        await boss;
      } catch (error) {
        given.error(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (parts.closed) return;
      ticking = tick(parts);
      await ticking;
      timer = setInterval(
        () => {
          ticking = tick(parts);
        },
        Math.max(50, Math.floor(settings.leaseMs / 3)),
      ).unref();
    },
    async close() {
      if (parts.closed) return;
      parts.closed = true;
      if (timer) clearInterval(timer);
      await ticking;
      try {
        await parts.runState?.close();
        await parts.queue?.close();
        const started = await boss.catch(() => undefined);
        await started?.stop({ graceful: false, close: false });
        // What is left is claimable at once by the next process.
        await ready.then(
          () => owner.release(),
          () => undefined,
        );
      } catch (error) {
        report(storageError(connection, "close", "record what this process left", error));
      } finally {
        await connection.close().catch(() => undefined);
      }
    },
  };
}

/** What the backend's heartbeat works on: its parts, once the notifier built and started them. */
interface Parts {
  readonly connection: Connection;
  readonly owner: Owner;
  readonly name: string;
  readonly settings: { leaseMs: number; retentionMs: number };
  readonly report: (error: Error) => void;
  runState?: PostgresRunState;
  queue?: PostgresQueue;
  circuits?: SharedCircuits;
  hooks?: BackendHooks;
  prunedAt: number;
  closed: boolean;
}

/**
 * The heartbeat, every third of the lease: renews this process's lease, removes dead owners, fans out
 * the events they left, takes on their deliveries, forgets what others finished, and prunes hourly.
 */
async function tick(parts: Parts): Promise<void> {
  const { owner, runState, queue, hooks, settings } = parts;
  try {
    if ((await owner.beat()) === "lost")
      parts.report(
        new BackendError(
          "lease",
          `The ${parts.name} backend lost its lease (no heartbeat for ${settings.leaseMs} ms: was this process stalled?): another process may fan out its recorded events. Raise leaseMs if the event loop is often blocked this long.`,
        ),
      );
    await owner.reapDead();
    if (runState && hooks) for (const event of await runState.pending()) hooks.fanOut(event);
    await queue?.refresh();
    await queue?.adopt();
    await parts.circuits?.sync();
    if (Date.now() - parts.prunedAt > PRUNE_EVERY_MS) {
      parts.prunedAt = Date.now();
      await runState?.prune(parts.prunedAt - settings.retentionMs);
      await pruneRateLimits(parts.connection);
      await pruneBodies(parts.connection);
    }
  } catch (error) {
    if (!parts.closed)
      parts.report(
        storageError(
          parts.connection,
          "lease",
          "renew its lease or take over a dead process's events",
          error,
        ),
      );
  }
}

/** pg-boss's job heartbeat, in seconds: the lease, at least pg-boss's minimum of 10. */
function heartbeatSeconds(leaseMs: number): number {
  return Math.max(10, Math.ceil(leaseMs / 1000));
}

/** How often pg-boss looks for expired heartbeats, in seconds: a fifth of the heartbeat (2 s for 10 s). */
function superviseSeconds(leaseMs: number): number {
  return Math.max(1, Math.floor(heartbeatSeconds(leaseMs) / 5));
}

/** Starts pg-boss on the connection's pool, in the schema `<schema>_queue`, with the deliveries queue. */
async function startBoss(
  connection: Connection,
  leaseMs: number,
  report: (error: Error) => void,
): Promise<PgBoss> {
  const { PgBoss } = await import("pg-boss");
  const boss = new PgBoss({
    db: adapter(connection.pool),
    schema: `${connection.schemaName}_queue`,
    schedule: false,
    supervise: true,
    // Expired heartbeats are looked for this often (a supervise pass, of which one process per interval
    // does the monitoring): a killed process's delivery is taken over within its heartbeat plus this.
    // pg-boss's defaults (60 s) would add a minute to every takeover.
    superviseIntervalSeconds: superviseSeconds(leaseMs),
    monitorIntervalSeconds: superviseSeconds(leaseMs),
    // Completed jobs are deleted after deleteAfterSeconds by this sweep, which pg-boss runs daily by
    // default: the job table would hold a day of deliveries.
    maintenanceIntervalSeconds: 5 * 60,
  });
  boss.on("error", (error: Error) => {
    report(storageError(connection, "queue", "run pg-boss's maintenance", error));
  });
  // pg-boss creates its schema without a lock: processes starting at once would race on it. This lock,
  // held by one connection while pg-boss works on others, lets them in one at a time.
  const lock = await checkout(connection.pool).catch((error: unknown) => {
    throw connectionError(error, connection, "postgresBackend (pg-boss)");
  });
  const key = `runhooks pg-boss ${connection.schemaName}`;
  try {
    await lock.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
    await boss.start();
    await boss.createQueue(QUEUE, {
      policy: "key_strict_fifo",
      // Deliveries retry within one job (the notifier's retry policy); pg-boss retries a job only when
      // its worker died or handed it back, and a job must never end `failed`: that would block its lane.
      retryLimit: 1_000_000,
      retryDelay: 0,
      heartbeatSeconds: heartbeatSeconds(leaseMs),
      expireInSeconds: 24 * 60 * 60,
      deleteAfterSeconds: 60 * 60,
    });
  } catch (error) {
    throw connectionError(error, connection, "postgresBackend (pg-boss)");
  } finally {
    await lock.query("SELECT pg_advisory_unlock(hashtext($1))", [key]).then(
      () => lock.release(),
      () => lock.release(true),
    );
  }
  return boss;
}

function checkOptions(options: PostgresBackendOptions): {
  leaseMs: number;
  retentionMs: number;
  pollMs: number;
} {
  const given = options as Partial<PostgresBackendOptions>;
  try {
    createRequire(import.meta.url).resolve("pg-boss");
  } catch (error) {
    throw new ConfigError(
      "runhooks/postgres's postgresBackend() needs pg-boss (^12.10), an optional peer dependency: npm install pg-boss@^12",
      { cause: error },
    );
  }
  const duration = (field: "leaseMs" | "retentionMs" | "pollMs", fallback: number, min: number): number => {
    const value = given[field] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min)
      throw new ConfigError(
        `postgresBackend({ ${field} }): must be a number of milliseconds of at least ${min}, got ${String(value)}`,
      );
    return value;
  };
  return {
    leaseMs: duration("leaseMs", DEFAULT_LEASE_MS, 100),
    retentionMs: duration("retentionMs", DEFAULT_RETENTION_MS, 0),
    pollMs: duration("pollMs", DEFAULT_POLL_MS, 10),
  };
}
