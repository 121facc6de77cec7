/**
 * @internal The delivery queue of `sqliteBackend()`: the in-memory queue's lanes run the deliveries,
 * and each one is a row of `runhooks_deliveries` from the moment it is queued until it is done, so that
 * a later process resumes what this one left (with its attempt state) and two processes never hold the
 * same delivery (it carries its owner's id; see owners.ts).
 *
 * @module
 */
import type { BackendLimits } from "../types.js";
import {
  memoryQueue,
  type DeliveryQueue,
  type DeliveryWorker,
  type DropReason,
} from "../../delivery/queue.js";
import type { Delivery, DeliveryProgress } from "../../delivery/types.js";
import { deliveryFromRow, type DeliveryColumns } from "../_rows.js";
import { storageError, type Database, type Statement } from "./database.js";
import { takeOrphans, type Owner } from "./owners.js";

/** @internal The queue plus what the backend drives. */
export interface SqliteQueue extends DeliveryQueue {
  /** Takes over the deliveries of dead owners and runs them, oldest first. Returns how many. */
  claim(): number;
  /** The lease was lost: gives up, unreported, on what runs here (another backend owns it now). */
  lost(): void;
  /** Writes the fan-outs and finished deliveries not written yet. */
  flush(): void;
  /** Deletes the bodies no delivery in the file carries any more. */
  sweep(): void;
}

/** A row of `runhooks_deliveries` with its body, as better-sqlite3 returns it. */
type DeliveryRow = DeliveryColumns;

type Statements = ReturnType<typeof prepare>;

/** What the queue's hooks give it from the backend. */
interface QueueHooks {
  name: string;
  report: (error: Error) => void;
  /** Whether this process's run state recorded the event and handed it out (then it no longer holds it). */
  fannedOut: (eventId: string) => boolean;
}

/**
 * The writes that wait for the end of the current turn of the event loop, one transaction for all: the
 * fan-outs of events (their outbox rows stay open until written: a process killed first loses nothing,
 * the next one fans them out again, to the same delivery ids), and the deliveries finished here (killed
 * first, they are sent again: at least once).
 */
function deferredWrites(
  db: Database,
  statements: Statements,
  owner: Owner,
  hooks: QueueHooks,
): {
  fanOut(eventId: string, deliveries: readonly Delivery[], ours: boolean): void;
  /** Whether the event's fan-out waits to be written (one asked twice in a turn is queued once). */
  waiting(eventId: string): boolean;
  done(delivery: Delivery): void;
  flush(): void;
  /** Forgets what waits (the lease was lost: it is another backend's to write). */
  clear(): void;
} {
  let fanOuts: Array<{ eventId: string; deliveries: readonly Delivery[]; ours: boolean }> = [];
  const unwritten = new Set<string>();
  let finished = new Set<string>();
  let scheduled = false;

  const write = db.transaction((writes: typeof fanOuts, ids: Set<string>) => {
    const at = Date.now();
    // A body once per write however many deliveries carry it (one event to 1,000 webhooks of one
    // format shares one rendering, and so one string).
    const bodies = new Map<string, number>();
    const bodyId = (body: string): number => {
      let id = bodies.get(body);
      if (id === undefined) {
        id = Number(statements.body.run(body).lastInsertRowid);
        bodies.set(body, id);
      }
      return id;
    };
    for (const { eventId, deliveries, ours } of writes) {
      // No row changed: the event is another backend's now (this one lost its lease, or another
      // process queued the same bus event first), and so is its fan-out.
      const marked = ours
        ? statements.markDone.run(at, eventId, owner.id)
        : statements.mark.run(eventId, deliveries[0]?.runId ?? "", owner.id, at, at);
      if (marked.changes === 0) continue;
      for (const delivery of deliveries) {
        // Finished before it was written: nothing to write, nothing to delete.
        if (!ids.delete(delivery.id))
          statements.insert.run(...toRow(delivery, owner.id, bodyId(delivery.body)));
      }
    }
    for (const id of ids) statements.remove.run(id, owner.id);
  });

  const flush = (): void => {
    scheduled = false;
    if (fanOuts.length === 0 && finished.size === 0) return;
    const writes = fanOuts;
    const ids = finished;
    fanOuts = [];
    finished = new Set();
    unwritten.clear();
    try {
      write.immediate(writes, ids);
    } catch (error) {
      hooks.report(
        storageError(
          hooks.name,
          "complete",
          `write the fan-out of ${writes.length} events and ${ids.size} finished deliveries`,
          error,
          ": their deliveries go out from this process's memory. A crash now would lose those of events emitted on the bus (the run's events stay in the outbox and go out again), and a later process may send finished ones again (receivers de-duplicate by webhook-id)",
        ),
      );
    }
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  return {
    fanOut(eventId, deliveries, ours) {
      fanOuts.push({ eventId, deliveries, ours });
      unwritten.add(eventId);
      schedule();
    },
    waiting: (eventId) => unwritten.has(eventId),
    done(delivery) {
      finished.add(delivery.id);
      schedule();
    },
    flush,
    clear() {
      fanOuts = [];
      unwritten.clear();
      finished.clear();
    },
  };
}

/** @internal The queue over `db`'s `runhooks_deliveries` (and the outbox's fan-out mark). */
export function sqliteQueue(
  db: Database,
  owner: Owner,
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  limits: BackendLimits & { leaseMs: number },
  hooks: QueueHooks,
): SqliteQueue {
  const statements = prepare(db);
  const writes = deferredWrites(db, statements, owner, hooks);

  /**
   * Whether this backend still holds its lease, checked before each attempt: one that expired while the
   * process stalled may be another's now. A heartbeat that cannot be written is reported, and the lease
   * trusted for as long as it lasts.
   */
  const holding = (): boolean => {
    let held: boolean;
    try {
      held = owner.fresh();
    } catch (error) {
      const consequence = ": past it, another process on the file may take its deliveries over";
      hooks.report(storageError(hooks.name, "lease", "renew its lease", error, consequence));
      held = Date.now() - owner.beatAt < limits.leaseMs;
    }
    if (!held) queue.lost();
    return held;
  };

  const inner = memoryQueue(
    async (delivery, context) => {
      if (!holding()) return;
      await worker(delivery, {
        get aborted() {
          return context.aborted;
        },
        sleep: async (ms) => {
          await context.sleep(ms);
          // The next attempt follows: the lease may have gone while this one waited.
          if (!holding()) throw new Error("the lease on this delivery was lost");
        },
        progress: (progress) => {
          context.progress?.(progress);
          // The delivery's row first, if it is still to be written.
          writes.flush();
          recordProgress(statements, owner, hooks, delivery, progress);
        },
      });
      if (!context.aborted) writes.done(delivery);
    },
    (delivery, reason) => {
      writes.done(delivery);
      onDrop(delivery, reason);
    },
    { maxQueued: limits.maxQueued, maxInFlight: limits.maxInFlight },
  );

  const queue: SqliteQueue = {
    start: () => {
      try {
        queue.claim();
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    enqueue(deliveries, eventId) {
      // Recorded (or taken over) by this process's run state and handed out once: nobody else fans it
      // out while this backend holds its lease. Any other event (one emitted on the bus, or asked
      // again) is queued unless the file or this turn's writes say it was fanned out already.
      const ours = hooks.fannedOut(eventId);
      if (!ours && (writes.waiting(eventId) || fannedOutBefore(statements, hooks, eventId))) return;
      writes.fanOut(eventId, deliveries, ours);
      inner.enqueue(deliveries, eventId);
    },
    get queued() {
      return inner.queued;
    },
    get size() {
      return inner.size;
    },
    // Once drained, what finished is written, so that the file says so when drain() resolves.
    drain: () =>
      inner.drain().then(() => {
        writes.flush();
      }),
    abandon: () => inner.abandon(),
    claim() {
      const rows = takeOrphans(db, owner, statements.orphans, statements.take, (row) => row.id);
      for (const row of rows) inner.enqueue([deliveryFromRow(row)], row.event_id);
      return rows.length;
    },
    lost() {
      inner.abandon();
      writes.clear();
    },
    flush: () => {
      writes.flush();
    },
    sweep() {
      statements.sweep.run();
    },
    close: () => {
      writes.flush();
      return Promise.resolve();
    },
  };
  return queue;
}

/** Records how far a delivery got, so that a later process continues its retries from there. */
function recordProgress(
  statements: Statements,
  owner: Owner,
  hooks: QueueHooks,
  delivery: Delivery,
  progress: DeliveryProgress,
): void {
  try {
    statements.progress.run(
      progress.attempts,
      progress.retriesUsed,
      progress.firstAttemptAt,
      progress.nextAttemptAt,
      delivery.id,
      owner.id,
    );
  } catch (error) {
    // Only the retry state is lost: a later process starts the delivery's retries over.
    const what = `record attempt ${progress.attempts} of delivery ${delivery.id} to webhook ${delivery.webhookId} (${delivery.target})`;
    hooks.report(storageError(hooks.name, "progress", what, error));
  }
}

/** Whether the file says the event was fanned out (or is being, by another process). */
function fannedOutBefore(statements: Statements, hooks: QueueHooks, eventId: string): boolean {
  try {
    return statements.event.get(eventId) !== undefined;
  } catch (error) {
    // Cannot tell: queue it (at least once) and say so.
    const what = `read whether event ${eventId} was fanned out already`;
    const consequence = ": its deliveries are queued, and may go out twice";
    hooks.report(storageError(hooks.name, "enqueue", what, error, consequence));
    return false;
  }
}

type InsertParams = [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number | null,
  number | null,
  number | null,
  number | null,
];

function toRow(delivery: Delivery, owner: string, bodyId: number): InsertParams {
  const progress = delivery.progress;
  return [
    delivery.id,
    owner,
    delivery.event,
    delivery.eventId,
    delivery.runId,
    delivery.webhookId,
    delivery.webhookName,
    delivery.target,
    delivery.format,
    JSON.stringify(delivery.headers),
    bodyId,
    delivery.queuedAt,
    delivery.deadlineAt,
    delivery.terminal ? 1 : 0,
    progress?.attempts ?? null,
    progress?.retriesUsed ?? null,
    progress?.firstAttemptAt ?? null,
    progress?.nextAttemptAt ?? null,
  ];
}

function prepare(db: Database): {
  insert: Statement<InsertParams>;
  remove: Statement<[string, string]>;
  progress: Statement<[number, number, number, number, string, string]>;
  markDone: Statement<[number, string, string]>;
  event: Statement<[string], { done_at: number | null }>;
  mark: Statement<[string, string, string, number, number]>;
  orphans: Statement<[], DeliveryRow>;
  body: Statement<[string]>;
  sweep: Statement<[]>;
  take: Statement<[string, string]>;
} {
  return {
    insert: db.prepare(
      `INSERT OR IGNORE INTO runhooks_deliveries (id, owner, event, event_id, run_id, webhook_id,
         webhook_name, target, format, headers, body_id, queued_at, deadline_at, terminal, attempts,
         retries_used, first_attempt_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    remove: db.prepare("DELETE FROM runhooks_deliveries WHERE id = ? AND owner = ?"),
    progress: db.prepare(
      `UPDATE runhooks_deliveries SET attempts = ?, retries_used = ?, first_attempt_at = ?,
         next_attempt_at = ? WHERE id = ? AND owner = ?`,
    ),
    markDone: db.prepare(
      "UPDATE runhooks_outbox SET done_at = ? WHERE event_id = ? AND owner = ? AND done_at IS NULL",
    ),
    event: db.prepare("SELECT done_at FROM runhooks_outbox WHERE event_id = ?"),
    // An event the run state did not record (emitted on the bus): its mark, so that it is queued once.
    mark: db.prepare(
      `INSERT OR IGNORE INTO runhooks_outbox (event_id, run_id, event, owner, fired_at, done_at)
       VALUES (?, ?, 'null', ?, ?, ?)`,
    ),
    // In the order they were queued: a lane's deliveries go back on it in their order.
    orphans: db.prepare(
      `SELECT d.*, b.body FROM runhooks_deliveries d JOIN runhooks_bodies b ON b.id = d.body_id
       WHERE d.owner NOT IN (SELECT owner FROM runhooks_owners) ORDER BY d.seq`,
    ),
    body: db.prepare("INSERT INTO runhooks_bodies (body) VALUES (?)"),
    sweep: db.prepare(
      "DELETE FROM runhooks_bodies WHERE id NOT IN (SELECT body_id FROM runhooks_deliveries)",
    ),
    take: db.prepare("UPDATE runhooks_deliveries SET owner = ? WHERE id = ?"),
  };
}
