/**
 * @internal The run state of `sqliteBackend()`: each run's snapshot in `runhooks_runs`, and each event
 * it fires in `runhooks_outbox`, written in the transaction that claims the event, before the runner's
 * call returns. A bounded cache in front answers `peek()` and spares a parse per call.
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
import { storageError, type Database, type Statement } from "./database.js";
import { takeOrphans, type Owner } from "./owners.js";

/** @internal The run state plus what the backend drives. */
export interface SqliteRunState extends RunState {
  /**
   * Takes over the events that no live backend holds (their process closed or died) and returns them,
   * in the order they fired. This backend's own events are never handed out again: one whose fan-out
   * could not be written stays in the file for the next process.
   */
  pending(): readonly RunEvent[];
  /**
   * The queue takes the event's fan-out: it is no longer this state's to hand out. True when this state
   * recorded it (or handed it out) in this process.
   */
  fannedOut(eventId: string): boolean;
  /** Writes the snapshots that changed in memory only (statistics batches). */
  save(): void;
  /** Forgets ended or idle runs and fanned-out events older than `before` (`Date.now()`). */
  prune(before: number): void;
  /** Saves what is unsaved; afterwards calls change memory only (the notifier is closed). */
  close(): void;
}

interface Cached {
  /** The row's version this snapshot was read at or written as. */
  version: number;
  snapshot: RunSnapshot;
  /**
   * Holds what a failed write could not record (events this process sent from memory): newer than the
   * row whatever its version, until written. Unsaved statistics alone do not pin: another process's
   * newer row wins over them.
   */
  pinned: boolean;
}

interface RunRow {
  version: number;
  snapshot: string;
}

const NO_EVENTS: readonly RunEvent[] = Object.freeze([]);

// How long a batch of statistics may stay in memory only: a killed process loses at most this much of
// a run's totals, never an event.
const SAVE_DELAY_MS = 1000;

type Statements = ReturnType<typeof prepare>;

/** The bounded cache of snapshots in front of the file, and the statistics it has not saved yet. */
interface SnapshotCache {
  get(runId: string): Cached | undefined;
  /** The run's row, parsed; `undefined` for a run the file does not have. */
  read(runId: string): Cached | undefined;
  /** Keeps `entry` as the run's latest (a run forgotten first has its unsaved totals written). */
  remember(runId: string, entry: Cached): void;
  /** Keeps `entry`, changed in memory only: saved within a second. */
  markUnsaved(runId: string, entry: Cached): void;
  /** Keeps `entry`, just written. */
  written(runId: string, entry: Cached): void;
  /** Writes what is unsaved. */
  save(): void;
  /** Saves, then keeps later changes in memory only (the notifier is closed). */
  close(): void;
  readonly closed: boolean;
}

function snapshotCache(
  db: Database,
  statements: Statements,
  maxRuns: number,
  name: string,
  report: (error: Error) => void,
): SnapshotCache {
  const cache = new Map<string, Cached>();
  const unsaved = new Set<string>();
  let saveTimer: NodeJS.Timeout | undefined;
  let closed = false;

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

  const writeUnsaved = db.transaction(() => {
    const at = Date.now();
    for (const runId of unsaved) {
      const entry = cache.get(runId);
      if (entry === undefined) continue;
      const version = statements.version.get(runId)?.version ?? 0;
      if (version !== entry.version && !entry.pinned) {
        // Another process wrote the run since: its state wins over these counters.
        cache.delete(runId);
        continue;
      }
      const json = snapshotToJSON(entry.snapshot);
      statements.upsert.run(runId, version + 1, entry.snapshot.phase, json, at);
      entry.version = version + 1;
      entry.pinned = false;
    }
  });

  const save = (): void => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = undefined;
    if (unsaved.size === 0) return;
    try {
      writeUnsaved.immediate();
      unsaved.clear();
    } catch (error) {
      const consequence = ": they are kept in memory and saved again in a second";
      report(
        storageError(name, "record", `save the statistics of ${unsaved.size} run(s)`, error, consequence),
      );
      if (!closed) saveTimer ??= setTimeout(save, SAVE_DELAY_MS).unref();
    }
  };

  return {
    get: (runId) => cache.get(runId),
    read(runId) {
      const row = statements.run.get(runId);
      return row && { version: row.version, snapshot: snapshotFromJSON(row.snapshot), pinned: false };
    },
    remember,
    markUnsaved(runId, entry) {
      remember(runId, entry);
      if (closed) return;
      unsaved.add(runId);
      saveTimer ??= setTimeout(save, SAVE_DELAY_MS).unref();
    },
    written(runId, entry) {
      unsaved.delete(runId);
      remember(runId, entry);
    },
    save,
    close() {
      save();
      closed = true;
      if (saveTimer) clearTimeout(saveTimer);
      saveTimer = undefined;
    },
    get closed() {
      return closed;
    },
  };
}

/** @internal The run state over `db`'s `runhooks_runs` and `runhooks_outbox` tables. */
export function sqliteRunState(
  db: Database,
  owner: Owner,
  maxRuns: number,
  name: string,
  report: (error: Error) => void,
): SqliteRunState {
  const statements = prepare(db);
  const cache = snapshotCache(db, statements, maxRuns, name, report);
  // Events this process recorded or took over, until the queue takes their fan-out.
  const inHand = new Set<string>();

  const record = db.transaction((runId: string, change: RunChange) => {
    const version = statements.version.get(runId)?.version ?? 0;
    let entry = cache.get(runId);
    // Another process wrote the run since: its row wins over this one's unsaved counters (at most a
    // second of statistics), so that an event it claimed is not claimed again here.
    if (entry === undefined || (entry.version !== version && !entry.pinned)) entry = cache.read(runId);
    const before = entry?.snapshot;
    const result = change(before);
    const at = Date.now();
    if (result.events.length === 0 && result.snapshot === before && entry !== undefined) {
      // A statistics batch changed the counters in place and fired nothing: saved within a second.
      cache.markUnsaved(runId, entry);
      return { result, written: undefined };
    }
    statements.upsert.run(runId, version + 1, result.snapshot.phase, snapshotToJSON(result.snapshot), at);
    for (const event of result.events)
      statements.outbox.run(event.id, runId, JSON.stringify(event), owner.id, at);
    return { result, written: { version: version + 1, snapshot: result.snapshot, pinned: false } };
  });

  /** A change's result that only memory holds, until a later write of the run succeeds. */
  const keep = (runId: string, result: ReturnType<RunChange>): ReturnType<RunChange> => {
    const entry = cache.get(runId);
    cache.markUnsaved(runId, { version: entry?.version ?? 0, snapshot: result.snapshot, pinned: true });
    return result;
  };
  const inMemory = (runId: string, change: RunChange): readonly RunEvent[] =>
    keep(runId, change(cache.get(runId)?.snapshot)).events;

  return {
    apply(runId, change) {
      if (cache.closed) return inMemory(runId, change);
      if (countedInMemory(cache, statements, runId, change)) return NO_EVENTS;
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
        const { result, written } = record.immediate(runId, tracked);
        if (written) {
          cache.written(runId, written);
          for (const event of result.events) inHand.add(event.id);
        }
        return result.events;
      } catch (error) {
        if (ran.threw) throw error;
        report(unrecorded(name, runId, error));
        return ran.result ? keep(runId, ran.result).events : inMemory(runId, change);
      }
    },
    peek(runId) {
      const entry = cache.get(runId);
      if (entry) return entry.snapshot;
      try {
        const found = cache.read(runId);
        if (found) cache.remember(runId, found);
        return found?.snapshot;
      } catch {
        // peek() must not throw: a run the file cannot tell about is one this process does not know.
        return undefined;
      }
    },
    pending() {
      const rows = takeOrphans(
        db,
        owner,
        statements.orphanEvents,
        statements.takeEvent,
        (row) => row.event_id,
      );
      return rows.map((row) => {
        inHand.add(row.event_id);
        return JSON.parse(row.event) as RunEvent;
      });
    },
    fannedOut: (eventId) => inHand.delete(eventId),
    save: () => {
      cache.save();
    },
    close: () => {
      cache.close();
    },
    prune(before) {
      db.transaction(() => {
        statements.pruneEvents.run(before);
        statements.pruneRuns.run(before);
      }).immediate();
    },
  };
}

/**
 * A statistics batch on a run this process has current (the row's version unchanged) is counted in
 * memory, without the write lock: true when `change` changed the counters in place and fired nothing.
 * Anything else it would do must be atomic: the change runs again inside the transaction (the
 * notifier's changes are pure except for that in-place count).
 */
function countedInMemory(
  cache: SnapshotCache,
  statements: Statements,
  runId: string,
  change: RunChange,
): boolean {
  const entry = cache.get(runId);
  if (entry === undefined) return false;
  let version: number;
  try {
    version = statements.version.get(runId)?.version ?? 0;
  } catch {
    return false;
  }
  if (version !== entry.version && !entry.pinned) return false;
  const result = change(entry.snapshot);
  if (result.events.length > 0 || result.snapshot !== entry.snapshot) return false;
  cache.markUnsaved(runId, entry);
  return true;
}

/** The report of a runner call the file could not record. */
function unrecorded(name: string, runId: string, error: unknown): Error {
  return storageError(
    name,
    "record",
    `record a call of run ${runId}`,
    error,
    ": its events go out from this process's memory only, and a crash now would lose them",
  );
}

function prepare(db: Database): {
  version: Statement<[string], { version: number }>;
  run: Statement<[string], RunRow>;
  upsert: Statement<[string, number, string, string, number]>;
  outbox: Statement<[string, string, string, string, number]>;
  orphanEvents: Statement<[], { event_id: string; event: string }>;
  takeEvent: Statement<[string, string]>;
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
    // OR IGNORE: an event id is its run, name and sequence; a second record of it is the same event.
    outbox: db.prepare(
      `INSERT OR IGNORE INTO runhooks_outbox (event_id, run_id, event, owner, fired_at) VALUES (?, ?, ?, ?, ?)`,
    ),
    orphanEvents: db.prepare(
      `SELECT event_id, event FROM runhooks_outbox
       WHERE done_at IS NULL AND owner NOT IN (SELECT owner FROM runhooks_owners) ORDER BY seq`,
    ),
    takeEvent: db.prepare("UPDATE runhooks_outbox SET owner = ? WHERE event_id = ?"),
    pruneEvents: db.prepare("DELETE FROM runhooks_outbox WHERE done_at IS NOT NULL AND done_at < ?"),
    pruneRuns: db.prepare("DELETE FROM runhooks_runs WHERE updated_at < ?"),
  };
}
