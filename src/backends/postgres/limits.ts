/**
 * @internal The per-webhook rate limits of `postgresBackend()`, shared by every process on the schema:
 * one row per webhook in `rate_limits`, updated by one statement under the row's lock, on the server's
 * clock (hosts with skewed clocks agree).
 *
 * The bucket is kept as GCRA's theoretical arrival time (`tat`): the time at which the bucket would be
 * full again if every token taken so far had been spaced `1 / perSecond` apart. A request may go when
 * `tat` is at most `(burst - 1) / perSecond` ahead of now, which is the token bucket of `RateLimiter`
 * with one timestamp instead of a count and a time.
 *
 * @module
 */
import type { RateLimit, SharedRateLimits } from "../../delivery/rate-limit.js";
import type { Connection } from "./database.js";

/** @internal `connection`'s shared buckets, used once `ready` (the schema is migrated) resolves. */
export function sharedRateLimits(connection: Connection, ready: Promise<unknown>): SharedRateLimits {
  const { pool, schema } = connection;
  // $2: the interval between tokens, $3: how far ahead of now `tat` may be for a request to go (ms).
  const sql = `
    INSERT INTO ${schema}.rate_limits AS r (key, tat, allowed)
    VALUES ($1, statement_timestamp() + $2 * interval '1 millisecond', true)
    ON CONFLICT (key) DO UPDATE SET
      allowed = GREATEST(r.tat, statement_timestamp()) <= statement_timestamp() + $3 * interval '1 millisecond',
      tat = CASE
        WHEN GREATEST(r.tat, statement_timestamp()) <= statement_timestamp() + $3 * interval '1 millisecond'
        THEN GREATEST(r.tat, statement_timestamp()) + $2 * interval '1 millisecond'
        ELSE r.tat END
    RETURNING allowed, EXTRACT(EPOCH FROM (tat - statement_timestamp())) * 1000 AS ahead_ms`;
  return {
    async take(key: string, limit: RateLimit): Promise<number> {
      await ready;
      const intervalMs = 1000 / limit.perSecond;
      const toleranceMs = (limit.burst - 1) * intervalMs;
      const { rows } = await pool.query(sql, [key, intervalMs, toleranceMs]);
      const row = rows[0] as { allowed: boolean; ahead_ms: string | number } | undefined;
      if (row === undefined || row.allowed) return 0;
      return Math.max(1, Math.ceil(Number(row.ahead_ms) - toleranceMs));
    },
  };
}

/** @internal Forgets the buckets that are full again: the same as no row. */
export async function pruneRateLimits(connection: Connection): Promise<void> {
  await connection.pool.query(`DELETE FROM ${connection.schema}.rate_limits WHERE tat < now()`);
}
