import { BackendError, ConfigError } from "../../errors.js";
import type { Backend, BackendHooks } from "../types.js";
import { checkServesOnce, heldReports } from "../_serving.js";
import { migrate, openDatabase, storageError, type Database } from "./database.js";
import { registerOwner, type Owner } from "./owners.js";
import { sqliteQueue, type SqliteQueue } from "./queue.js";
import { sqliteRunState, type SqliteRunState } from "./run-state.js";

/** Options of {@link sqliteBackend}. */
export interface SqliteBackendOptions {
  /**
   * Path of the SQLite database file, created with its tables when it does not exist; its directory must
   * exist. It may be the file of `sqliteStore()` too (the tables do not overlap). Other processes on this
   * host may use the same file: each delivery is held by one of them at a time.
   *
   * @example "./runhooks.db"
   */
  file: string;
  /**
   * How long a process's hold on its deliveries and events lasts without a heartbeat (one every third
   * of it). A process that died on this host is taken over at once; one on another host, or one whose
   * event loop stalled this long, after it.
   * @default 15000
   */
  leaseMs?: number | undefined;
  /**
   * How long the file keeps what is finished: fanned-out events (to see what was sent), and the state
   * of runs not updated since (a runner replaying the calls of an older run then fires its events again).
   * @default 86400000 (24 h)
   */
  retentionMs?: number | undefined;
}

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runhooks_owners (
    owner        TEXT PRIMARY KEY,
    host         TEXT NOT NULL,        -- hostname and pid namespace
    pid          INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,     -- Date.now()
    lease_ms     INTEGER NOT NULL      -- dead once heartbeat_at + lease_ms has passed
  );
  CREATE TABLE runhooks_runs (
    run_id     TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,       -- bumped by every write: a process's cached copy is current if equal
    phase      TEXT NOT NULL,
    snapshot   TEXT NOT NULL,          -- JSON (snapshotToJSON)
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE runhooks_outbox (
    seq      INTEGER PRIMARY KEY,      -- the order events fired in
    event_id TEXT NOT NULL UNIQUE,
    run_id   TEXT NOT NULL,
    event    TEXT NOT NULL,            -- JSON: the event as the webhooks get it
    owner    TEXT NOT NULL,            -- the process that fans it out
    fired_at INTEGER NOT NULL,
    done_at  INTEGER                   -- when its deliveries were queued; NULL while pending
  );
  CREATE INDEX runhooks_outbox_open ON runhooks_outbox (owner, seq) WHERE done_at IS NULL;
  CREATE TABLE runhooks_deliveries (
    seq          INTEGER PRIMARY KEY,  -- the order they were queued in
    id           TEXT NOT NULL UNIQUE, -- the webhook-id
    owner        TEXT NOT NULL,
    event        TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    webhook_id   TEXT NOT NULL,        -- the URL, headers and secret stay in the store
    webhook_name TEXT NOT NULL,
    target       TEXT NOT NULL,        -- scheme://host only
    format       TEXT NOT NULL,
    headers      TEXT NOT NULL,        -- JSON: the message's own headers, never the webhook's
    body_id      INTEGER NOT NULL,     -- runhooks_bodies: one body for every delivery of one rendering
    queued_at    INTEGER NOT NULL,
    deadline_at  INTEGER NOT NULL,
    terminal     INTEGER NOT NULL,
    attempts     INTEGER,              -- NULL until an attempt failed and will be retried
    retries_used INTEGER,
    first_attempt_at INTEGER,
    next_attempt_at  INTEGER
  );
  CREATE TABLE runhooks_bodies (
    id   INTEGER PRIMARY KEY,
    body TEXT NOT NULL                 -- what the webhooks receive; deleted once no delivery carries it
  );`,
];

const DEFAULT_LEASE_MS = 15_000;
const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;
// Finished rows are pruned on start and then every this often.
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * A durable {@link Backend}: the delivery queue and the run state in an SQLite file (better-sqlite3), so
 * that a runner killed mid-run loses nothing. Each event is committed to the file (its outbox) before
 * the runner's call that fired it returns; its fan-out and deliveries follow from the file. A notifier
 * created later on the same file resumes what was pending or retrying, with its attempt counts and
 * next-attempt times; a restarted runner that replays its calls does not fire `started` again.
 *
 * Delivery is at least once: a process killed between a 2xx and recording it sends that delivery again,
 * with the same `webhook-id`, which a de-duplicating receiver drops. See docs/durable.md.
 *
 * Needs better-sqlite3 ^12, an optional peer dependency (`npm install better-sqlite3@^12`).
 *
 * @throws ConfigError when better-sqlite3 is not installed or cannot load on this Node, the options are
 *   wrong, or the file is not a database, is corrupt, read-only, locked by another process, in a
 *   directory that does not exist, or written by a newer runhooks; the message names the file and what
 *   to do.
 *
 * @example
 * import { createNotifier } from "runhooks";
 * import { sqliteBackend, sqliteStore } from "runhooks/sqlite";
 *
 * const notifier = createNotifier({
 *   backend: sqliteBackend({ file: "./runhooks.db" }),
 *   store: sqliteStore({ file: "./runhooks.db" }),
 * });
 */
export function sqliteBackend(options: SqliteBackendOptions): Backend {
  const { file, leaseMs, retentionMs } = checkOptions(options);
  const name = `sqlite (${file})`;
  const db = openDatabase(file, "sqliteBackend");
  let owner: Owner;
  try {
    migrate(db, "backend", MIGRATIONS);
    owner = registerOwner(db, leaseMs);
  } catch (error) {
    db.close();
    throw error;
  }
  return assemble(db, owner, { name, leaseMs, retentionMs });
}

function assemble(
  db: Database,
  owner: Owner,
  settings: { name: string; leaseMs: number; retentionMs: number },
): Backend {
  const { name, leaseMs, retentionMs } = settings;
  let hooks: BackendHooks | undefined;
  const { report, attach } = heldReports();
  let runState: SqliteRunState | undefined;
  let queue: SqliteQueue | undefined;
  let timer: NodeJS.Timeout | undefined;
  let prunedAt = 0;
  let closed = false;

  /** Fans out the events this backend holds and nobody fanned out (its own, or taken over). */
  const resume = (): void => {
    if (!runState || !hooks) return;
    for (const event of runState.pending()) hooks.fanOut(event);
  };

  const tick = (): void => {
    try {
      if (!owner.beat()) {
        report(
          new BackendError(
            "lease",
            `The ${name} backend lost its lease (no heartbeat for ${leaseMs} ms: was this process stalled?): another process took over its deliveries, and this one stopped sending them. Raise leaseMs if the event loop is often blocked this long.`,
          ),
        );
        queue?.lost();
        owner.renew();
      }
      // What dead processes held, and what closed ones left, is this one's now.
      db.transaction(() => owner.reapDead()).immediate();
      queue?.claim();
      resume();
      queue?.sweep();
      if (Date.now() - prunedAt > PRUNE_EVERY_MS) {
        prunedAt = Date.now();
        runState?.prune(prunedAt - retentionMs);
      }
    } catch (error) {
      report(storageError(name, "lease", "renew its lease or take over a dead process's deliveries", error));
    }
  };

  const once = (built: unknown): void => {
    checkServesOnce(name, "sqliteBackend()", "the file", closed, built !== undefined);
  };

  return {
    name,
    durable: true,
    runState(limits) {
      once(runState);
      runState = sqliteRunState(db, owner, limits.maxRuns, name, report);
      return runState;
    },
    queue(worker, onDrop, limits) {
      once(queue);
      queue = sqliteQueue(
        db,
        owner,
        worker,
        onDrop,
        { ...limits, leaseMs },
        {
          name,
          report,
          fannedOut: (eventId) => runState?.fannedOut(eventId) ?? false,
        },
      );
      return queue;
    },
    start(given) {
      hooks = given;
      attach(given);
      // The queue started just before (the notifier starts both in one go): the deliveries left go
      // back on their lanes before the events left are fanned out behind them.
      tick();
      timer = setInterval(tick, Math.max(10, Math.floor(leaseMs / 3))).unref();
      return Promise.resolve();
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      if (timer) clearInterval(timer);
      try {
        queue?.flush();
        queue?.sweep();
        runState?.close();
        // What is left is claimable at once by the next process on this file.
        owner.release();
      } catch (error) {
        report(storageError(name, "close", "record what this process left", error));
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
  };
}

function checkOptions(options: SqliteBackendOptions): {
  file: string;
  leaseMs: number;
  retentionMs: number;
} {
  const given = options as Partial<SqliteBackendOptions> | undefined;
  const file = given?.file;
  if (typeof file !== "string" || file.trim() === "")
    throw new ConfigError(
      'sqliteBackend({ file }): file must be the path of a database file, e.g. "./runhooks.db"',
    );
  const duration = (field: "leaseMs" | "retentionMs", fallback: number, min: number): number => {
    const value = given?.[field] ?? fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min)
      throw new ConfigError(
        `sqliteBackend({ ${field} }): must be a number of milliseconds of at least ${min}, got ${String(value)}`,
      );
    return value;
  };
  return {
    file,
    leaseMs: duration("leaseMs", DEFAULT_LEASE_MS, 100),
    retentionMs: duration("retentionMs", DEFAULT_RETENTION_MS, 0),
  };
}
