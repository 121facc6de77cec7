/**
 * @internal The delivery queue of `sqliteBackend()`: the in-memory queue's lanes run the deliveries,
 * and each one is a row of `runhooks_deliveries` from the moment it is queued until it is done, so that
 * a later process resumes what this one left (with its attempt state) and two processes never hold the
 * same delivery (it carries its owner's id; see owners.ts).
 *
 * @module
 */
import { BackendError, describe } from "../../errors.js";
import type { BackendLimits } from "../types.js";
import {
  memoryQueue,
  type DeliveryQueue,
  type DeliveryWorker,
  type DropReason,
} from "../../delivery/queue.js";
import type { Delivery, DeliveryProgress } from "../../delivery/types.js";
import type { EventName } from "../../events.js";
import type { Database, Statement } from "./database.js";
import type { Owner } from "./owners.js";

/** @internal The queue plus what the backend drives. */
export interface SqliteQueue extends DeliveryQueue {
  /** Takes over the deliveries of dead owners and runs them, oldest first. Returns how many. */
  claim(): number;
  /** The lease was lost: gives up, unreported, on what runs here (another backend owns it now). */
  lost(): void;
  /** Writes what finished since the last write. */
  flush(): void;
}

interface DeliveryRow {
  id: string;
  event: string;
  event_id: string;
  run_id: string;
  webhook_id: string;
  webhook_name: string;
  target: string;
  format: string;
  headers: string;
  body: string;
  queued_at: number;
  deadline_at: number;
  terminal: number;
  attempts: number | null;
  retries_used: number | null;
  first_attempt_at: number | null;
  next_attempt_at: number | null;
}

/** @internal The queue over `db`'s `runhooks_deliveries` (and the outbox's fan-out mark). */
export function sqliteQueue(
  db: Database,
  owner: Owner,
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  limits: BackendLimits,
  hooks: { name: string; report: (error: Error) => void; fannedOut: (eventId: string) => void },
): SqliteQueue {
  const statements = prepare(db);
  // Deliveries done here, deleted in one transaction once the current turn of the event loop ends.
  let finished: string[] = [];
  let flushing = false;

  const flush = (): void => {
    flushing = false;
    if (finished.length === 0) return;
    const ids = finished;
    finished = [];
    try {
      db.transaction(() => {
        for (const id of ids) statements.remove.run(id, owner.id);
      }).immediate();
    } catch (error) {
      hooks.report(
        new BackendError(
          "complete",
          `The ${hooks.name} backend could not record that ${ids.length} deliveries are done (${describe(error)}): a later process may send them again (receivers de-duplicate by webhook-id). Check the file, its directory and the disk.`,
          { cause: error },
        ),
      );
    }
  };
  const done = (delivery: Delivery): void => {
    finished.push(delivery.id);
    if (flushing) return;
    flushing = true;
    setImmediate(flush);
  };

  const inner = memoryQueue(
    async (delivery, context) => {
      // A lease that expired while this process stalled may be another's now: do not start an attempt.
      if (!owner.fresh()) {
        queue.lost();
        return;
      }
      await worker(delivery, {
        get aborted() {
          return context.aborted;
        },
        sleep: (ms) => context.sleep(ms),
        progress: (progress) => {
          context.progress?.(progress);
          recordProgress(delivery, progress);
        },
      });
      if (!context.aborted) done(delivery);
    },
    (delivery, reason) => {
      done(delivery);
      onDrop(delivery, reason);
    },
    { maxQueued: limits.maxQueued, maxInFlight: limits.maxInFlight },
  );

  const recordProgress = (delivery: Delivery, progress: DeliveryProgress): void => {
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
      hooks.report(
        new BackendError(
          "progress",
          `The ${hooks.name} backend could not record attempt ${progress.attempts} of delivery ${delivery.id} to webhook ${delivery.webhookId} (${delivery.target}) (${describe(error)}). Check the file, its directory and the disk.`,
          { cause: error },
        ),
      );
    }
  };

  const store = db.transaction((deliveries: readonly Delivery[], eventId: string): Delivery[] => {
    const at = Date.now();
    const marked = statements.markDone.run(at, eventId, owner.id).changes;
    if (marked === 0) {
      // Fanned out already (before a restart, or by the backend that owns the event now): queue nothing.
      if (statements.event.get(eventId) !== undefined) return [];
      // An event the run state did not record (one emitted on the bus): its mark, so that it too is
      // queued once.
      statements.mark.run(eventId, deliveries[0]?.runId ?? "", owner.id, at, at);
    }
    const fresh: Delivery[] = [];
    for (const delivery of deliveries) {
      if (statements.insert.run(...toRow(delivery, owner.id)).changes === 1) fresh.push(delivery);
    }
    return fresh;
  });

  const queue: SqliteQueue = {
    start: () => {
      queue.claim();
      return Promise.resolve();
    },
    enqueue(deliveries, eventId) {
      let fresh: readonly Delivery[];
      try {
        fresh = store.immediate(deliveries, eventId);
      } catch (error) {
        hooks.report(
          new BackendError(
            "enqueue",
            `The ${hooks.name} backend could not store the ${deliveries.length} deliveries of event ${eventId} (${describe(error)}): they are sent from this process's memory only, and a crash now would lose them. Check the file, its directory and the disk.`,
            { cause: error },
          ),
        );
        fresh = deliveries;
      }
      hooks.fannedOut(eventId);
      inner.enqueue(fresh, eventId);
    },
    get queued() {
      return inner.queued;
    },
    get size() {
      return inner.size;
    },
    // Once drained, what finished is written, so that the file says so when drain() resolves.
    drain: () => inner.drain().then(flush),
    abandon: () => inner.abandon(),
    claim() {
      const rows = db
        .transaction(() => {
          const claimed = statements.orphans.all();
          for (const row of claimed) statements.take.run(owner.id, row.id);
          return claimed;
        })
        .immediate();
      for (const row of rows) inner.enqueue([fromRow(row)], row.event_id);
      return rows.length;
    },
    lost() {
      inner.abandon();
      finished = [];
    },
    flush,
    close: () => {
      flush();
      return Promise.resolve();
    },
  };
  return queue;
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
  string,
  number,
  number,
  number,
  number | null,
  number | null,
  number | null,
  number | null,
];

function toRow(delivery: Delivery, owner: string): InsertParams {
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
    delivery.body,
    delivery.queuedAt,
    delivery.deadlineAt,
    delivery.terminal ? 1 : 0,
    progress?.attempts ?? null,
    progress?.retriesUsed ?? null,
    progress?.firstAttemptAt ?? null,
    progress?.nextAttemptAt ?? null,
  ];
}

function fromRow(row: DeliveryRow): Delivery {
  const progress =
    row.attempts === null
      ? undefined
      : {
          attempts: row.attempts,
          retriesUsed: row.retries_used ?? 0,
          firstAttemptAt: row.first_attempt_at ?? row.queued_at,
          nextAttemptAt: row.next_attempt_at ?? 0,
        };
  return {
    id: row.id,
    event: row.event as EventName,
    eventId: row.event_id,
    runId: row.run_id,
    webhookId: row.webhook_id,
    webhookName: row.webhook_name,
    target: row.target,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    format: row.format,
    queuedAt: row.queued_at,
    deadlineAt: row.deadline_at,
    terminal: row.terminal === 1,
    ...(progress && { progress }),
  };
}

function prepare(db: Database): {
  insert: Statement<InsertParams>;
  remove: Statement<[string, string]>;
  progress: Statement<[number, number, number, number, string, string]>;
  markDone: Statement<[number, string, string]>;
  event: Statement<[string], { done_at: number | null }>;
  mark: Statement<[string, string, string, number, number]>;
  orphans: Statement<[], DeliveryRow>;
  take: Statement<[string, string]>;
} {
  return {
    insert: db.prepare(
      `INSERT OR IGNORE INTO runhooks_deliveries (id, owner, event, event_id, run_id, webhook_id,
         webhook_name, target, format, headers, body, queued_at, deadline_at, terminal, attempts,
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
    mark: db.prepare(
      `INSERT INTO runhooks_outbox (event_id, run_id, event, owner, fired_at, done_at)
       VALUES (?, ?, 'null', ?, ?, ?)`,
    ),
    // In the order they were queued: a lane's deliveries go back on it in their order.
    orphans: db.prepare(
      `SELECT * FROM runhooks_deliveries
       WHERE owner NOT IN (SELECT owner FROM runhooks_owners) ORDER BY seq`,
    ),
    take: db.prepare("UPDATE runhooks_deliveries SET owner = ? WHERE id = ?"),
  };
}
