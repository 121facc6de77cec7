/**
 * @internal The run state of `sqliteBackend()`: each run's snapshot in `runhooks_runs`, and each event
 * it fires in `runhooks_outbox`, written in the transaction that claims the event, before the runner's
 * call returns. A bounded cache in front answers `peek()` and spares a parse per call.
 *
 * @module
 */
import { BackendError, describe } from "../../errors.js";
import type { RunEvent } from "../../events.js";
import {
  snapshotFromJSON,
  snapshotToJSON,
  type RunChange,
  type RunSnapshot,
  type RunState,
} from "../../run-tracker.js";
import type { Database, Statement } from "./database.js";
import type { Owner } from "./owners.js";

/** @internal The run state plus what the backend drives. */
export interface SqliteRunState extends RunState {
  /**
   * Takes over the events of dead owners and returns them, with this backend's own events whose fan-out
   * it has not started, in the order they fired.
   */
  pending(): readonly RunEvent[];
  /** The queue recorded the event's fan-out: it is no longer this process's to fan out. */
  fannedOut(eventId: string): void;
  /** Writes the snapshots that changed in memory only (statistics batches). */
  save(): void;
  /** Forgets ended or idle runs and fanned-out events older than `before` (`Date.now()`). */
  prune(before: number): void;
}

interface Cached {
  /** The row's version this snapshot was read at or written as. */
  version: number;
  snapshot: RunSnapshot;
  /** Changed in memory, not written yet: newer than the row, whatever its version. */
  unsaved: boolean;
}

interface RunRow {
  version: number;
  snapshot: string;
}

// How long a batch of statistics may stay in memory only: a killed process loses at most this much of
// a run's totals, never an event.
const SAVE_DELAY_MS = 1000;

/** @internal The run state over `db`'s `runhooks_runs` and `runhooks_outbox` tables. */
export function sqliteRunState(
  db: Database,
  owner: Owner,
  maxRuns: number,
  name: string,
  report: (error: Error) => void,
): SqliteRunState {
  const statements = prepare(db);
  const cache = new Map<string, Cached>();
  const unsaved = new Set<string>();
  // Events this process recorded and is fanning out: pending() does not hand them out again.
  const inHand = new Set<string>();
  let saveTimer: NodeJS.Timeout | undefined;

  const remember = (runId: string, entry: Cached): void => {
    cache.delete(runId);
    cache.set(runId, entry);
    if (cache.size <= maxRuns) return;
    const oldest = cache.keys().next();
    if (oldest.done === true) return;
    // A run forgotten with unsaved totals is written first: the cache must not be their only copy.
    if (unsaved.has(oldest.value)) save();
    cache.delete(oldest.value);
  };

  const read = (runId: string): Cached | undefined => {
    const row = statements.run.get(runId);
    return row && { version: row.version, snapshot: snapshotFromJSON(row.snapshot), unsaved: false };
  };

  const record = db.transaction((runId: string, change: RunChange) => {
    const version = statements.version.get(runId)?.version ?? 0;
    let entry = cache.get(runId);
    if (entry === undefined || (entry.version !== version && !entry.unsaved)) entry = read(runId);
    const before = entry?.snapshot;
    const result = change(before);
    const at = Date.now();
    if (result.events.length === 0 && result.snapshot === before && entry !== undefined) {
      // A statistics batch changed the counters in place and fired nothing: saved within a second.
      markUnsaved(runId, entry);
      return result;
    }
    statements.upsert.run(runId, version + 1, result.snapshot.phase, snapshotToJSON(result.snapshot), at);
    for (const event of result.events) {
      statements.outbox.run(event.id, runId, JSON.stringify(event), owner.id, at);
      inHand.add(event.id);
    }
    unsaved.delete(runId);
    remember(runId, { version: version + 1, snapshot: result.snapshot, unsaved: false });
    return result;
  });

  const markUnsaved = (runId: string, entry: Cached): void => {
    entry.unsaved = true;
    unsaved.add(runId);
    remember(runId, entry);
    saveTimer ??= setTimeout(save, SAVE_DELAY_MS).unref();
  };

  const save = (): void => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = undefined;
    if (unsaved.size === 0) return;
    try {
      db.transaction(() => {
        const at = Date.now();
        for (const runId of unsaved) {
          const entry = cache.get(runId);
          if (entry === undefined) continue;
          const json = snapshotToJSON(entry.snapshot);
          const row = statements.save.get(entry.snapshot.phase, json, at, runId);
          entry.version = row?.version ?? entry.version;
          entry.unsaved = false;
        }
      }).immediate();
      unsaved.clear();
    } catch (error) {
      report(
        new BackendError(
          "record",
          `The ${name} backend could not save the statistics of ${unsaved.size} run(s) (${describe(error)}): they are kept in memory and saved again in a second. Check the file, its directory and the disk.`,
          { cause: error },
        ),
      );
      saveTimer ??= setTimeout(save, SAVE_DELAY_MS).unref();
    }
  };

  const unrecorded = (runId: string, error: unknown): BackendError =>
    new BackendError(
      "record",
      `The ${name} backend could not record a call of run ${runId} (${describe(error)}): its events go out from this process's memory only, and a crash now would lose them. Check the file, its directory and the disk.`,
      { cause: error },
    );

  return {
    apply(runId, change) {
      // The change runs inside the transaction. If it threw, that is the caller's error and nothing was
      // written; if it ran and the commit failed, its result stands (run again, a statistics batch
      // would count twice) and lives in memory until a later write succeeds.
      const ran: { result?: ReturnType<RunChange>; threw?: true } = {};
      const tracked: RunChange = (before) => {
        try {
          return (ran.result = change(before));
        } catch (error) {
          ran.threw = true;
          throw error;
        }
      };
      try {
        return record.immediate(runId, tracked).events;
      } catch (error) {
        if (ran.threw) throw error;
        report(unrecorded(runId, error));
        const entry = cache.get(runId);
        const result = ran.result ?? change(entry?.snapshot);
        markUnsaved(runId, { version: entry?.version ?? 0, snapshot: result.snapshot, unsaved: true });
        return result.events;
      }
    },
    peek(runId) {
      const entry = cache.get(runId);
      if (entry) return entry.snapshot;
      try {
        const found = read(runId);
        if (found) remember(runId, found);
        return found?.snapshot;
      } catch {
        // peek() must not throw: a run the file cannot tell about is one this process does not know.
        return undefined;
      }
    },
    pending() {
      const rows = db
        .transaction(() => {
          statements.claimEvents.run(owner.id);
          return statements.open.all(owner.id);
        })
        .immediate();
      const events: RunEvent[] = [];
      for (const row of rows) {
        if (inHand.has(row.event_id)) continue;
        inHand.add(row.event_id);
        events.push(JSON.parse(row.event) as RunEvent);
      }
      return events;
    },
    fannedOut(eventId) {
      inHand.delete(eventId);
    },
    save,
    prune(before) {
      db.transaction(() => {
        statements.pruneEvents.run(before);
        statements.pruneRuns.run(before);
      }).immediate();
    },
  };
}

function prepare(db: Database): {
  version: Statement<[string], { version: number }>;
  run: Statement<[string], RunRow>;
  upsert: Statement<[string, number, string, string, number]>;
  save: Statement<[string, string, number, string], { version: number }>;
  outbox: Statement<[string, string, string, string, number]>;
  claimEvents: Statement<[string]>;
  open: Statement<[string], { event_id: string; event: string }>;
  pruneEvents: Statement<[number]>;
  pruneRuns: Statement<[number]>;
} {
  return {
    version: db.prepare("SELECT version FROM runhooks_runs WHERE run_id = ?"),
    run: db.prepare("SELECT version, snapshot FROM runhooks_runs WHERE run_id = ?"),
    upsert: db.prepare(
      `INSERT INTO runhooks_runs (run_id, version, phase, snapshot, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET version = excluded.version, phase = excluded.phase,
         snapshot = excluded.snapshot, updated_at = excluded.updated_at`,
    ),
    save: db.prepare(
      `UPDATE runhooks_runs SET version = version + 1, phase = ?, snapshot = ?, updated_at = ?
       WHERE run_id = ? RETURNING version`,
    ),
    // OR IGNORE: an event id is its run, name and sequence; a second record of it is the same event.
    outbox: db.prepare(
      `INSERT OR IGNORE INTO runhooks_outbox (event_id, run_id, event, owner, fired_at) VALUES (?, ?, ?, ?, ?)`,
    ),
    claimEvents: db.prepare(
      `UPDATE runhooks_outbox SET owner = ?
       WHERE done_at IS NULL AND owner NOT IN (SELECT owner FROM runhooks_owners)`,
    ),
    open: db.prepare(
      "SELECT event_id, event FROM runhooks_outbox WHERE owner = ? AND done_at IS NULL ORDER BY seq",
    ),
    pruneEvents: db.prepare("DELETE FROM runhooks_outbox WHERE done_at IS NOT NULL AND done_at < ?"),
    pruneRuns: db.prepare("DELETE FROM runhooks_runs WHERE updated_at < ?"),
  };
}
