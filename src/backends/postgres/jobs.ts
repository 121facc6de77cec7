/**
 * @internal The job stage of `postgresBackend()`'s queue: one pg-boss job, from fetched to completed.
 * It reads the delivery's row, drops it when stale or superseded, runs the worker (its attempts, with
 * their backoffs, within the one job, whose heartbeat it keeps), records the attempt state after each
 * failed attempt, and completes the job in the transaction that deletes the row.
 *
 * @module
 */
import { setTimeout as delay } from "node:timers/promises";
import type { PgBoss } from "pg-boss";
import { BackendError } from "../../errors.js";
import type { DeliveryWorker, DropReason, WorkerContext } from "../../delivery/queue.js";
import type { Delivery, DeliveryProgress } from "../../delivery/types.js";
import { deliveryFromRow, type DeliveryColumns } from "../_rows.js";
import { inTransaction, storageError, type Connection } from "./database.js";
import { isTransient } from "./run-state.js";
import { adapter } from "./fan-out.js";
import type { QueueContext } from "./queue.js";

/** @internal A delivery's row, its body joined in. */
export interface DeliveryRow extends DeliveryColumns {
  seq: string;
  lane: string;
}

/** @internal A pg-boss job of the deliveries queue: its data names the delivery's row. */
export interface Job {
  id: string;
  retryCount: number;
  data: { d: string };
}

/** @internal A job this process is working on. */
export interface Running {
  readonly job: Job;
  delivery?: Delivery;
  /** Aborted when the queue gives the work up (abandon): the worker stops, its sleep ends. */
  readonly controller: AbortController;
  /** The progress writes of this delivery, in order. */
  progress: Promise<void>;
  /** Set once its work here is over: it is being completed, or was given up. */
  settled?: boolean;
}

/** @internal What a job needs from its queue. */
export interface JobDeps {
  readonly context: QueueContext;
  readonly boss: PgBoss;
  readonly worker: DeliveryWorker;
  readonly onDrop: (delivery: Delivery, reason: DropReason) => void;
  /** The delivery's row is gone: it is no longer the queue's to wait for. */
  readonly finished: (deliveryId: string) => void;
  /** Deletes the job's row and completes it (batched: see {@link completer}); whether it committed. */
  readonly complete: (entry: Running) => Promise<boolean>;
}

/** @internal The job's id and attempt, which settle it (and only the attempt that was fetched). */
export function attempt(job: Job): { id: string; retryCount: number } {
  return { id: job.id, retryCount: job.retryCount };
}

/**
 * @internal Works on one fetched job, given its delivery's row (read with the others fetched with it),
 * until it is completed, or given up (abandoned).
 */
export async function runJob(deps: JobDeps, entry: Running, row: DeliveryRow | undefined): Promise<void> {
  const { context } = deps;
  const { job } = entry;
  const touch = setInterval(() => {
    void heartbeat(deps, entry);
  }, context.touchMs);
  try {
    if (row === undefined) {
      // Finished by a process killed before it completed the job: nothing to send.
      await finish(deps, entry);
      return;
    }
    const delivery = deliveryFromRow(row);
    entry.delivery = delivery;
    if (Date.now() > delivery.deadlineAt) {
      await finish(deps, entry, "stale");
      return;
    }
    if (delivery.event === "in_progress" && (await supersededIn(context.connection, row))) {
      await finish(deps, entry, "superseded");
      return;
    }
    await deps.worker(delivery, workerContext(deps, entry, delivery));
    if (!entry.controller.signal.aborted) await finish(deps, entry);
  } catch (error) {
    context.report(storageError(context.connection, "complete", `run delivery job ${job.id}`, error));
  } finally {
    entry.settled = true;
    clearInterval(touch);
  }
}

/** @internal The abort reason of a job pg-boss gave to another process. */
export const LOST = "lost";

/**
 * Tells pg-boss the job is still worked on. When pg-boss no longer has it as this attempt's (this
 * process was stalled past the heartbeat, and another process took the job over), the work stops here:
 * the other process sends the delivery, under the same webhook-id.
 */
async function heartbeat(deps: JobDeps, entry: Running): Promise<void> {
  const { context, boss } = deps;
  let affected: number | undefined;
  try {
    affected = ((await boss.touch(context.queueName, attempt(entry.job))) as { affected?: number }).affected;
  } catch {
    // A heartbeat that could not be sent says nothing of the claim: the next one tells.
    return;
  }
  if (affected !== 0 || entry.settled === true || entry.controller.signal.aborted) return;
  entry.controller.abort(LOST);
  const delivery = entry.delivery;
  const what = delivery
    ? `delivery ${delivery.id} to webhook ${delivery.webhookId} (${delivery.target})`
    : `delivery job ${entry.job.id}`;
  context.report(
    new BackendError(
      "lease",
      `This process lost ${what}: its heartbeat stopped for longer than pg-boss waits (was the event loop blocked?), and another process took it over and sends it. This process stopped working on it; the receiver may get it twice, under one webhook-id.`,
    ),
  );
}

function workerContext(deps: JobDeps, entry: Running, delivery: Delivery): WorkerContext {
  const { context } = deps;
  const { signal } = entry.controller;
  return {
    get aborted() {
      return signal.aborted;
    },
    // After a wait (a backoff, a rate limit, an open circuit), the job is checked before the next
    // attempt: a process stalled meanwhile past its heartbeat must not send what another one took over.
    sleep: async (ms) => {
      await delay(ms, undefined, { signal });
      await heartbeat(deps, entry);
      signal.throwIfAborted();
    },
    progress: (progress) => {
      entry.progress = entry.progress.then(() =>
        recordProgress(context.connection, delivery, progress, context.report),
      );
    },
  };
}

/**
 * Deletes the delivery's row and completes the job, once its progress is written; reports a drop. One
 * whose completion failed stays the queue's to wait for: pg-boss hands it out again.
 */
async function finish(deps: JobDeps, entry: Running, reason?: DropReason): Promise<void> {
  // From here, a heartbeat that finds the job gone is this completion, not another process's takeover.
  entry.settled = true;
  await entry.progress;
  if (!(await deps.complete(entry))) return;
  deps.finished(entry.job.data.d);
  if (reason && entry.delivery) deps.onDrop(entry.delivery, reason);
}

/**
 * @internal Completes jobs in one transaction per turn of the event loop, one after the other: their
 * rows deleted (and their bodies, once no row carries them), their jobs completed. A delivery is one
 * transaction less than alone, and a busy queue completes many at once. Resolves whether it committed;
 * a batch the server refused while away is tried once more after a pause.
 */
export function completer(context: QueueContext, boss: PgBoss): (entry: Running) => Promise<boolean> {
  const { connection } = context;
  const { schema } = connection;
  let pending: Array<{ entry: Running; done: (completed: boolean) => void }> = [];
  let previous = Promise.resolve();
  const write = (batch: ReadonlyArray<{ entry: Running }>, ids: readonly string[]): Promise<void> =>
    inTransaction(connection.pool, async (client) => {
      await client.query(
        `WITH gone AS (DELETE FROM ${schema}.deliveries WHERE id = ANY($1::text[]) RETURNING body_id)
         DELETE FROM ${schema}.bodies b USING (SELECT DISTINCT body_id FROM gone) g WHERE b.id = g.body_id
           AND NOT EXISTS (SELECT 1 FROM ${schema}.deliveries d
                           WHERE d.body_id = g.body_id AND d.id <> ALL($1::text[]))`,
        [ids],
      );
      await boss.complete(
        context.queueName,
        batch.map(({ entry }) => attempt(entry.job)),
        null,
        { db: adapter(client) },
      );
    });
  const complete = async (batch: ReadonlyArray<{ entry: Running }>): Promise<boolean> => {
    const ids = batch.map(({ entry }) => entry.job.data.d);
    try {
      await write(batch, ids).catch(async (error: unknown) => {
        if (!isTransient(error)) throw error;
        await delay(RETRY_COMPLETE_MS);
        await write(batch, ids);
      });
      return true;
    } catch (error) {
      const what = ids.length === 1 ? `delivery ${ids[0] ?? ""} is` : `${ids.length} deliveries are`;
      context.report(
        storageError(
          connection,
          "complete",
          `record that ${what} done`,
          error,
          ": pg-boss hands them out again once their heartbeat stops, and they are sent again (receivers de-duplicate by webhook-id)",
        ),
      );
      return false;
    }
  };
  return (entry) =>
    new Promise<boolean>((resolve) => {
      pending.push({ entry, done: resolve });
      if (pending.length > 1) return;
      previous = previous
        .then(() => new Promise<void>((next) => setImmediate(next)))
        .then(async () => {
          const batch = pending;
          pending = [];
          let completed = false;
          try {
            completed = await complete(batch);
          } finally {
            for (const { done } of batch) done(completed);
          }
        })
        // A batch's failure is reported in complete(): the next batches go on.
        .catch(() => undefined);
    });
}

const RETRY_COMPLETE_MS = 500;

/**
 * @internal Deletes the bodies no delivery carries. Two processes finishing the last two deliveries of a
 * body at once each see the other's row, and neither deletes it; a body is committed with its
 * deliveries, so one without any is unused for good.
 */
export async function pruneBodies(connection: Connection): Promise<void> {
  const { schema } = connection;
  await connection.pool.query(
    `DELETE FROM ${schema}.bodies b WHERE NOT EXISTS (SELECT 1 FROM ${schema}.deliveries d WHERE d.body_id = b.id)`,
  );
}

/**
 * @internal The delivery rows of `ids` that are still there, with their bodies, by id; marked `taken`,
 * under their row locks, so that overflow never takes back a delivery whose job is being worked on
 * (overflow.ts): a row it is deleting is waited for, and then not returned.
 */
export async function loadDeliveries(
  connection: Connection,
  ids: readonly string[],
): Promise<Map<string, DeliveryRow>> {
  const { schema } = connection;
  const result = await connection.pool.query(
    `UPDATE ${schema}.deliveries d SET taken = true FROM ${schema}.bodies b
     WHERE d.id = ANY($1::text[]) AND b.id = d.body_id RETURNING d.*, b.body`,
    [ids],
  );
  return new Map((result.rows as DeliveryRow[]).map((row) => [row.id, row]));
}

/** Whether a terminal delivery was queued behind this `in_progress` in its lane: it is superseded. */
async function supersededIn(connection: Connection, row: DeliveryRow): Promise<boolean> {
  const { schema } = connection;
  const result = await connection.pool.query(
    `SELECT 1 FROM ${schema}.deliveries WHERE lane = $1 AND terminal AND seq > $2 LIMIT 1`,
    [row.lane, row.seq],
  );
  return result.rows.length > 0;
}

async function recordProgress(
  connection: Connection,
  delivery: Delivery,
  progress: DeliveryProgress,
  report: (error: Error) => void,
): Promise<void> {
  try {
    await connection.pool.query(
      `UPDATE ${connection.schema}.deliveries SET attempts = $2, retries_used = $3, first_attempt_at = $4,
         next_attempt_at = $5 WHERE id = $1`,
      [delivery.id, progress.attempts, progress.retriesUsed, progress.firstAttemptAt, progress.nextAttemptAt],
    );
  } catch (error) {
    const what = `record attempt ${progress.attempts} of delivery ${delivery.id} to webhook ${delivery.webhookId} (${delivery.target})`;
    report(storageError(connection, "progress", what, error));
  }
}
