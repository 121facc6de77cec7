/**
 * @internal The circuit breakers of `postgresBackend()`, shared by every process on the schema: one row
 * per failing webhook in `circuits`, on the server's clock. A webhook's failed attempts add up across
 * the processes; the one whose failure reaches `failures` opens the circuit (and reports it), and the
 * others hold their deliveries back too; a probe is claimed in the row, so one goes out at a time for
 * the whole fleet; the success that closes it deletes the row (and the process that made it reports it).
 *
 * Each process reads the rows into a cache with the backend's heartbeat (every third of `leaseMs`), and
 * after each of its own writes: `admit()` answers from it at once unless a probe is due, and a success
 * writes only for a webhook the cache holds. So a webhook that starts failing elsewhere is seen here
 * within a heartbeat, and a success here resets failures counted elsewhere once it is seen. While the
 * server is away, the cache stands as it was, and writes that fail are not retried (a breaker protects
 * endpoints; it is no record), and a probe is let through.
 *
 * @module
 */
import {
  openCircuits,
  RECHECK_WHILE_PROBING_MS,
  type CircuitBreaker,
  type CircuitChange,
  type ResolvedCircuitBreaker,
} from "../../delivery/circuit.js";
import type { Connection } from "./database.js";

/** @internal The shared breakers, plus what the backend's heartbeat drives. */
export interface SharedCircuits extends CircuitBreaker {
  /** Reads every circuit's row into the cache. */
  sync(): Promise<void>;
}

/** A row of `circuits`, times in ms since the epoch (the server's clock). */
interface Row {
  failures: number;
  openedAt: number | undefined;
  probeAt: number;
  probing: boolean;
}

// A probe whose process died without recording its outcome is given up after this long, and another
// process may probe: longer than any attempt's timeout.
const PROBE_CLAIM_MS = 120_000;

const COLUMNS = `webhook_id, failures,
  (EXTRACT(EPOCH FROM opened_at) * 1000)::float8 AS opened_at,
  (EXTRACT(EPOCH FROM probe_at) * 1000)::float8 AS probe_at,
  (probing_until IS NOT NULL AND probing_until > now()) AS probing`;

interface DbRow {
  webhook_id: string;
  failures: number;
  opened_at: number | null;
  probe_at: number;
  probing: boolean;
}

const fromDb = (row: DbRow): Row => ({
  failures: row.failures,
  openedAt: row.opened_at ?? undefined,
  probeAt: row.probe_at,
  probing: row.probing,
});

/**
 * One failed attempt, as one upsert: $2 failures open the circuit, $3 is the first wait before a probe,
 * $4 the longest, $5 `disableAfterMs`. What changed is worked out in the SET, from the row as it is once
 * this statement holds its lock (a concurrent failure's update included), so that exactly one process
 * reports each change.
 */
function failureSql(schema: string): string {
  return `INSERT INTO ${schema}.circuits AS c (webhook_id, failures, opened_at, probe_at, probe_after_ms,
         probing_until, outage_reported, last_change)
       VALUES ($1, 1, CASE WHEN $2 <= 1 THEN now() END, now() + $3 * interval '1 millisecond', $3, NULL, false,
         CASE WHEN $2 <= 1 THEN 'opened' END)
       ON CONFLICT (webhook_id) DO UPDATE SET
         last_change = CASE
           WHEN c.opened_at IS NULL AND c.failures + 1 >= $2 THEN 'opened'
           WHEN c.opened_at IS NOT NULL AND NOT c.outage_reported AND $5::float8 IS NOT NULL
             AND now() - c.opened_at >= $5::float8 * interval '1 millisecond' THEN 'outage'
           END,
         failures = c.failures + 1,
         opened_at = CASE WHEN c.opened_at IS NULL AND c.failures + 1 >= $2 THEN now() ELSE c.opened_at END,
         probe_after_ms = CASE WHEN c.opened_at IS NOT NULL AND c.probing_until IS NOT NULL
           THEN LEAST(c.probe_after_ms * 2, $4) ELSE c.probe_after_ms END,
         probe_at = CASE
           WHEN c.opened_at IS NULL AND c.failures + 1 >= $2 THEN now() + c.probe_after_ms * interval '1 millisecond'
           WHEN c.opened_at IS NOT NULL AND c.probing_until IS NOT NULL
             THEN now() + LEAST(c.probe_after_ms * 2, $4) * interval '1 millisecond'
           ELSE c.probe_at END,
         probing_until = CASE WHEN c.opened_at IS NOT NULL THEN NULL ELSE c.probing_until END,
         outage_reported = c.outage_reported OR (c.opened_at IS NOT NULL AND $5::float8 IS NOT NULL
           AND now() - c.opened_at >= $5::float8 * interval '1 millisecond')
       RETURNING ${COLUMNS}, probe_after_ms, last_change`;
}

/** @internal `connection`'s shared breakers, used once `ready` (the schema is migrated) resolves. */
export function sharedCircuits(
  connection: Connection,
  ready: Promise<unknown>,
  options: ResolvedCircuitBreaker,
  changed: (change: CircuitChange) => void,
): SharedCircuits {
  const { pool, schema } = connection;
  const cache = new Map<string, Row>();
  const query = async (sql: string, values: unknown[]): Promise<DbRow[]> => {
    await ready;
    return (await pool.query(sql, values)).rows as DbRow[];
  };
  const keep = (webhookId: string, row: DbRow | undefined): void => {
    if (row === undefined) cache.delete(webhookId);
    else cache.set(webhookId, fromDb(row));
  };

  return {
    get open() {
      let n = 0;
      for (const row of cache.values()) if (row.openedAt !== undefined) n += 1;
      return n;
    },
    admit(webhookId, now) {
      const row = cache.get(webhookId);
      if (row?.openedAt === undefined) return 0;
      if (row.probing) return RECHECK_WHILE_PROBING_MS;
      if (now < row.probeAt) return row.probeAt - now;
      return claimProbe(webhookId);
    },
    record(webhookId, target, failed) {
      const write = failed
        ? recordFailure(webhookId, target)
        : cache.has(webhookId)
          ? recordSuccess(webhookId, target)
          : undefined;
      // Not retried: see the module's comment.
      write?.catch(() => undefined);
    },
    forget(webhookId) {
      cache.delete(webhookId);
      query(`DELETE FROM ${schema}.circuits WHERE webhook_id = $1`, [webhookId]).catch(() => undefined);
    },
    list: () => openCircuits(cache),
    async sync() {
      const rows = await query(`SELECT ${COLUMNS} FROM ${schema}.circuits`, []);
      cache.clear();
      for (const row of rows) keep(row.webhook_id, row);
    },
  };

  /** Claims the probe of an open circuit past its wait: 0 for the one process that gets it. */
  async function claimProbe(webhookId: string): Promise<number> {
    try {
      const rows = await query(
        `UPDATE ${schema}.circuits SET probing_until = now() + $2 * interval '1 millisecond'
         WHERE webhook_id = $1 AND opened_at IS NOT NULL AND probe_at <= now()
           AND (probing_until IS NULL OR probing_until <= now())
         RETURNING ${COLUMNS}`,
        [webhookId, PROBE_CLAIM_MS],
      );
      if (rows[0] !== undefined) {
        keep(webhookId, rows[0]);
        return 0;
      }
      // Another process probes, or the circuit closed meanwhile: look again as the row says, with the
      // wait on the server's clock (this host's may be ahead of it).
      const now = (await query(
        `SELECT ${COLUMNS}, GREATEST(1, EXTRACT(EPOCH FROM probe_at - now()) * 1000)::float8 AS wait_ms
         FROM ${schema}.circuits WHERE webhook_id = $1`,
        [webhookId],
      )) as Array<DbRow & { wait_ms: number }>;
      keep(webhookId, now[0]);
      const row = now[0];
      if (row?.opened_at == null) return 0;
      return row.probing ? RECHECK_WHILE_PROBING_MS : Math.ceil(row.wait_ms);
    } catch {
      return 0;
    }
  }

  async function recordFailure(webhookId: string, target: string): Promise<void> {
    const rows = await query(failureSql(schema), [
      webhookId,
      options.failures,
      options.probeAfterMs,
      options.maxProbeAfterMs,
      options.disableAfterMs,
    ]);
    const row = rows[0] as (DbRow & { probe_after_ms: number; last_change: string | null }) | undefined;
    if (row === undefined) return;
    keep(webhookId, row);
    if (row.last_change === "opened")
      changed({ webhookId, target, change: "opened", failures: row.failures, probeInMs: row.probe_after_ms });
    if (row.last_change === "outage")
      changed({ webhookId, target, change: "outage", failures: row.failures });
  }

  async function recordSuccess(webhookId: string, target: string): Promise<void> {
    const rows = await query(`DELETE FROM ${schema}.circuits WHERE webhook_id = $1 RETURNING ${COLUMNS}`, [
      webhookId,
    ]);
    cache.delete(webhookId);
    const row = rows[0];
    if (row?.opened_at != null) changed({ webhookId, target, change: "closed", failures: row.failures });
  }
}
