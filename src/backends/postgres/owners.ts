/**
 * @internal Leases of `postgresBackend()` on the run state's outbox: each backend registers as an owner
 * in `owners` and keeps its row fresh (a heartbeat, on the server's clock, so that hosts with skewed
 * clocks agree); the outbox events it recorded carry its id. An owner whose heartbeat is older than its
 * lease is dead: its unfanned events are taken over by the next backend that looks. The deliveries are
 * pg-boss jobs, with pg-boss's own heartbeat.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Connection } from "./database.js";

/** @internal This backend's lease. */
export interface Owner {
  /** The id its outbox rows carry. */
  readonly id: string;
  /** Inserts its row. */
  register(): Promise<void>;
  /** Refreshes the heartbeat; registers again when the row is gone (another backend reaped it). */
  beat(): Promise<"kept" | "lost">;
  /** Removes dead owners' rows: their open outbox events then belong to nobody until claimed. */
  reapDead(): Promise<number>;
  /** Removes this owner's row: what it still holds is claimable at once. */
  release(): Promise<void>;
}

/** @internal An owner of `connection`'s schema with a lease of `leaseMs`. */
export function owner(connection: Connection, leaseMs: number): Owner {
  const { pool, schema } = connection;
  const id = randomUUID();
  const insert = (): Promise<unknown> =>
    pool.query(
      `INSERT INTO ${schema}.owners (owner, host, pid, heartbeat_at, lease_ms) VALUES ($1, $2, $3, now(), $4)
       ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now()`,
      [id, hostname(), process.pid, leaseMs],
    );
  return {
    id,
    register: async () => {
      await insert();
    },
    async beat() {
      const result = await pool.query(`UPDATE ${schema}.owners SET heartbeat_at = now() WHERE owner = $1`, [
        id,
      ]);
      if ((result.rowCount ?? 0) > 0) return "kept";
      await insert();
      return "lost";
    },
    async reapDead() {
      const result = await pool.query(
        `DELETE FROM ${schema}.owners WHERE heartbeat_at + lease_ms * interval '1 millisecond' < now()`,
      );
      return result.rowCount ?? 0;
    },
    release: async () => {
      await pool.query(`DELETE FROM ${schema}.owners WHERE owner = $1`, [id]);
    },
  };
}
