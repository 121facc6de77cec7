/**
 * @internal Leases of `sqliteBackend()`: each backend registers as an owner in `runhooks_owners` and
 * keeps its row fresh (a heartbeat); the deliveries and outbox events it took carry its id. A backend
 * whose heartbeat is older than the lease, or whose process is gone from this host, is dead: its rows
 * are taken over by the next backend that looks.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { Database, Statement } from "./database.js";

/** @internal This backend's lease. */
export interface Owner {
  /** The id the rows it holds carry; a new one after the lease was lost. */
  readonly id: string;
  /** `Date.now()` of the last heartbeat that found its row. */
  readonly beatAt: number;
  /** Refreshes the heartbeat. False when the row is gone: another backend took the lease over. */
  beat(): boolean;
  /**
   * Refreshes the heartbeat when more than a third of the lease went by since the last one, so that an
   * attempt is not started on a lease that may have expired. False when it was lost.
   */
  fresh(): boolean;
  /** Registers again under a new id (after the lease was lost). */
  renew(): void;
  /**
   * Removes the rows of dead owners, in the caller's transaction: their deliveries and events then
   * belong to nobody, and the caller claims them. Returns how many it removed.
   */
  reapDead(): number;
  /** Removes this owner's row: what it still holds is claimable at once. */
  release(): void;
}

interface OwnerRow {
  owner: string;
  host: string;
  pid: number;
  heartbeat_at: number;
  lease_ms: number;
}

// The owners registered by this process. A row with this host and pid that is not one of them was left
// by an earlier process that had the same pid (a restarted container's runner is often pid 1 again).
const LOCAL_OWNERS = new Set<string>();

/**
 * This host, as pids see it: the hostname plus the pid namespace, so that two containers sharing a
 * hostname (host networking) do not take each other's pids for their own.
 */
function thisHost(): string {
  try {
    return `${hostname()} ${readlinkSync("/proc/self/ns/pid")}`;
  } catch {
    return hostname();
  }
}

/** @internal Registers a new owner in `db`. */
export function registerOwner(db: Database, leaseMs: number, now: () => number = Date.now): Owner {
  const host = thisHost();
  const insert = db.prepare(
    "INSERT INTO runhooks_owners (owner, host, pid, heartbeat_at, lease_ms) VALUES (?, ?, ?, ?, ?)",
  );
  const heartbeat: Statement<[number, string]> = db.prepare(
    "UPDATE runhooks_owners SET heartbeat_at = ? WHERE owner = ?",
  );
  const others: Statement<[string], OwnerRow> = db.prepare(
    "SELECT owner, host, pid, heartbeat_at, lease_ms FROM runhooks_owners WHERE owner <> ?",
  );
  const remove: Statement<[string]> = db.prepare("DELETE FROM runhooks_owners WHERE owner = ?");
  let id = "";
  let beatAt = 0;
  const register = (): void => {
    LOCAL_OWNERS.delete(id);
    id = randomUUID();
    beatAt = now();
    insert.run(id, host, process.pid, beatAt, leaseMs);
    LOCAL_OWNERS.add(id);
  };
  register();

  const owner: Owner = {
    get id() {
      return id;
    },
    get beatAt() {
      return beatAt;
    },
    beat() {
      const at = now();
      if (heartbeat.run(at, id).changes === 0) return false;
      beatAt = at;
      return true;
    },
    fresh() {
      return now() - beatAt <= leaseMs / 3 || owner.beat();
    },
    renew: register,
    reapDead() {
      const at = now();
      let reaped = 0;
      for (const row of others.all(id)) {
        // Each owner by its own lease: a process with a long one is not reaped by one with a short one.
        if (row.heartbeat_at + row.lease_ms < at || !alive(row, host))
          reaped += remove.run(row.owner).changes;
      }
      return reaped;
    },
    release() {
      remove.run(id);
      LOCAL_OWNERS.delete(id);
    },
  };
  return owner;
}

/**
 * @internal Takes over the rows no live owner holds, in one immediate transaction: `select` lists them
 * (in the order they go back), `take` gives each to `owner`. Returns the rows taken.
 */
export function takeOrphans<Row>(
  db: Database,
  owner: Owner,
  select: Statement<[], Row>,
  take: Statement<[string, string]>,
  key: (row: Row) => string,
): Row[] {
  return db
    .transaction(() => {
      const rows = select.all();
      for (const row of rows) take.run(owner.id, key(row));
      return rows;
    })
    .immediate();
}

/** False when the owner's process is certainly gone: on this host, and its pid is not running it. */
function alive(row: OwnerRow, host: string): boolean {
  if (row.host !== host) return true;
  if (row.pid === process.pid) return LOCAL_OWNERS.has(row.owner);
  return processAlive(row.pid);
}

/** Whether a process with this pid runs here (a process we may not signal still runs). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
