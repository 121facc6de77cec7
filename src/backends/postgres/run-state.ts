/**
 * @internal The run state of `postgresBackend()`: each run's snapshot in `runs`, and each event it fires
 * in `outbox`, written in the transaction that claims it, under the run's row lock. Every process fed
 * the same run's signals applies its changes to the same row, one at a time: an event is claimed once
 * across the fleet, the `api_failure` throttle is one, and the statistics batches of every process add
 * up in the row. A change that cannot be written because the server is away is tried again until it
 * can be (the run's later calls wait behind it), and only after `giveUpMs` applied in memory.
 *
 * @module
 */
import type { RunEvent } from "../../events.js";
import {
  snapshotFromJSON,
  snapshotToJSON,
  type RunChange,
  type RunSnapshot,
  type RunState,
} from "../../run-tracker.js";
import { errorCode, inTransaction, storageError, type Connection } from "./database.js";
import type { Owner } from "./owners.js";

/** @internal The run state plus what the backend drives. */
export interface PostgresRunState extends RunState {
  apply(runId: string, change: RunChange): Promise<readonly RunEvent[]>;
  /**
   * Takes over the events that no live backend holds (their process closed or died) and nobody fanned
   * out, and returns them in the order they fired.
   */
  pending(): Promise<readonly RunEvent[]>;
  /** Forgets fanned-out events and runs not updated since `before` (`Date.now()`). */
  prune(before: number): Promise<void>;
  /** Waits for the applies in flight; afterwards changes are applied in memory only. */
  close(): Promise<void>;
}

/** @internal What the run state needs from its backend. */
export interface RunStateContext {
  readonly connection: Connection;
  readonly owner: Owner;
  /** Resolves once the schema is ready and the owner registered; rejects when it never will be. */
  readonly ready: Promise<void>;
  readonly maxRuns: number;
  /** How long a change is retried while the server is unreachable before it is applied in memory. */
  readonly giveUpMs: number;
  readonly report: (error: Error) => void;
}

/** The change threw: the caller's error, never retried. */
class ChangeFailed extends Error {
  constructor(readonly error: unknown) {
    super("the change threw");
  }
}

/**
 * @internal Whether `error` means the server or the connection to it is away for now (restarting,
 * shutting down, unreachable, the connection dropped): worth another try once it is back.
 */
export function isTransient(error: unknown): boolean {
  const code = errorCode(error);
  if (/^(08|57P0)/.test(code)) return true;
  if (
    ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"].includes(
      code,
    )
  )
    return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
}

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

/** @internal The run state over the connection's `runs` and `outbox` tables. */
export function postgresRunState(context: RunStateContext): PostgresRunState {
  const { connection, owner, maxRuns, giveUpMs, report } = context;
  const { pool, schema } = connection;
  // The last snapshot seen of each run, for peek(), bounded like the in-memory state.
  const known = new Map<string, RunSnapshot>();
  const remember = (runId: string, snapshot: RunSnapshot): void => {
    known.delete(runId);
    known.set(runId, snapshot);
    if (known.size > maxRuns) {
      const oldest = known.keys().next();
      if (oldest.done !== true) known.delete(oldest.value);
    }
  };
  // Each run's calls, one after another: a call's transaction starts once the one before it settled.
  const chains = new Map<string, Promise<unknown>>();
  let closed = false;

  const inMemory = (runId: string, change: RunChange): readonly RunEvent[] => {
    const result = change(known.get(runId));
    remember(runId, result.snapshot);
    return result.events;
  };

  const applyNow = async (runId: string, change: RunChange): Promise<readonly RunEvent[]> => {
    try {
      await context.ready;
    } catch {
      // The backend never started (reported there): the run goes on in memory.
      return inMemory(runId, change);
    }
    const started = Date.now();
    let wait = RETRY_FIRST_MS;
    let reported = false;
    for (;;) {
      if (closed) return inMemory(runId, change);
      try {
        const result = await recordChange(connection, owner.id, runId, change);
        remember(runId, result.snapshot);
        return result.events;
      } catch (error) {
        if (error instanceof ChangeFailed) throw error.error;
        const retry = isTransient(error) && Date.now() - started + wait <= giveUpMs;
        if (!retry || !reported) {
          reported = true;
          report(unrecorded(connection, runId, error, retry, giveUpMs));
        }
        if (!retry) return inMemory(runId, change);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    }
  };

  return {
    apply(runId, change) {
      const previous = chains.get(runId);
      const next =
        previous === undefined ? applyNow(runId, change) : previous.then(() => applyNow(runId, change));
      const tail = next.then(
        () => undefined,
        () => undefined,
      );
      chains.set(runId, tail);
      void tail.then(() => {
        if (chains.get(runId) === tail) chains.delete(runId);
      });
      return next;
    },
    peek: (runId) => known.get(runId),
    async pending() {
      await context.ready;
      return takeOrphanEvents(connection, owner.id);
    },
    async prune(before) {
      const at = new Date(before);
      await pool.query(
        `DELETE FROM ${schema}.outbox o USING ${schema}.fanouts f WHERE f.event_id = o.event_id AND f.done_at < $1`,
        [at],
      );
      await pool.query(`DELETE FROM ${schema}.fanouts WHERE done_at < $1`, [at]);
      await pool.query(`DELETE FROM ${schema}.runs WHERE updated_at < $1`, [at]);
    },
    async close() {
      while (chains.size > 0) await Promise.all([...chains.values()]);
      closed = true;
    },
  };
}

/** The report of a runner call the database could not record (yet). */
function unrecorded(
  connection: Connection,
  runId: string,
  error: unknown,
  retrying: boolean,
  giveUpMs: number,
): Error {
  const consequence = retrying
    ? `: it is tried again until the server answers (for up to ${giveUpMs} ms), and the run's later calls wait behind it`
    : ": its events go out from this process's memory only, other processes do not see them, and a crash now would lose them";
  return storageError(connection, "record", `record a call of run ${runId}`, error, consequence);
}

/**
 * Applies `change` to the run's row in one transaction, under the row's lock (a second process's change
 * of the run waits), and writes the events it fired to the outbox, owned by `ownerId`.
 */
function recordChange(
  connection: Connection,
  ownerId: string,
  runId: string,
  change: RunChange,
): Promise<ReturnType<RunChange>> {
  const { schema } = connection;
  return inTransaction(connection.pool, async (client) => {
    // Locks the run's row, creating it when new.
    const locked = await client.query(
      `INSERT INTO ${schema}.runs (run_id, version, phase, snapshot, updated_at) VALUES ($1, 0, '', NULL, now())
       ON CONFLICT (run_id) DO UPDATE SET run_id = excluded.run_id RETURNING snapshot`,
      [runId],
    );
    const json = (locked.rows[0] as { snapshot: string | null } | undefined)?.snapshot ?? null;
    const before = json === null ? undefined : snapshotFromJSON(json);
    let result: ReturnType<RunChange>;
    try {
      result = change(before);
    } catch (error) {
      throw new ChangeFailed(error);
    }
    await client.query(
      `WITH run AS (
         UPDATE ${schema}.runs SET version = version + 1, phase = $2, snapshot = $3, updated_at = now()
         WHERE run_id = $1)
       INSERT INTO ${schema}.outbox (event_id, run_id, event, owner)
       SELECT id, $1, event, $4 FROM unnest($5::text[], $6::text[]) WITH ORDINALITY AS e(id, event, n)
       ORDER BY n
       ON CONFLICT (event_id) DO NOTHING`,
      [
        runId,
        result.snapshot.phase,
        snapshotToJSON(result.snapshot),
        ownerId,
        result.events.map((event) => event.id),
        result.events.map((event) => JSON.stringify(event)),
      ],
    );
    return result;
  });
}

/**
 * Takes, for `ownerId`, the open events (nobody fanned them out) of owners that are gone, and returns
 * them in the order they fired; SKIP LOCKED: two backends looking at once take different events.
 */
async function takeOrphanEvents(connection: Connection, ownerId: string): Promise<RunEvent[]> {
  const { schema } = connection;
  const result = await connection.pool.query(
    `UPDATE ${schema}.outbox o SET owner = $1
     WHERE o.event_id IN (
       SELECT event_id FROM ${schema}.outbox x
       WHERE NOT EXISTS (SELECT 1 FROM ${schema}.fanouts f WHERE f.event_id = x.event_id)
         AND NOT EXISTS (SELECT 1 FROM ${schema}.owners w WHERE w.owner = x.owner)
       FOR UPDATE SKIP LOCKED)
     RETURNING o.seq, o.event`,
    [ownerId],
  );
  return (result.rows as Array<{ seq: string; event: string }>)
    .sort((a, b) => Number(a.seq) - Number(b.seq))
    .map((row) => JSON.parse(row.event) as RunEvent);
}
