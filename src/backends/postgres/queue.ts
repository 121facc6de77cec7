/**
 * @internal The delivery queue of `postgresBackend()`: each delivery is a row of `deliveries` (its body
 * in `bodies`, once per rendering) and a pg-boss job in a `key_strict_fifo` queue keyed by its lane,
 * `webhookId:runId`. pg-boss hands out one job per lane at a time, in the order they were queued, to
 * whichever process fetches it; a process killed mid-delivery stops its job's heartbeat, and pg-boss
 * hands the job to another one, which continues from the attempt state in the row.
 *
 * The fan-outs of one turn of the event loop are one transaction: the `fanouts` row that claims the
 * event (a second fan-out of it, in any process, queues nothing), the rows and the jobs.
 *
 * @module
 */
import type { Db, PgBoss } from "pg-boss";
import type { DeliveryQueue, DeliveryWorker, DropReason, WorkerContext } from "../../delivery/queue.js";
import type { Delivery, DeliveryProgress } from "../../delivery/types.js";
import type { EventName } from "../../events.js";
import type { BackendLimits } from "../types.js";
import { BackendError } from "../../errors.js";
import { inTransaction, storageError, type Connection, type PostgresClient } from "./database.js";
import { isTransient } from "./run-state.js";

/** @internal The queue plus what the backend drives. */
export interface PostgresQueue extends DeliveryQueue {
  start(): Promise<void>;
  close(): Promise<void>;
  /** Forgets the deliveries queued here that another process finished or dropped. */
  refresh(): Promise<void>;
  /**
   * Takes on the deliveries queued by processes that are gone (closed, or their lease expired), so that
   * `drain()` waits for them too. pg-boss hands their jobs to whichever process fetches them.
   */
  adopt(): Promise<void>;
}

/** @internal What the queue needs from its backend. */
export interface QueueContext {
  readonly connection: Connection;
  /** pg-boss, started, with the deliveries queue created; rejects when it never will be. */
  readonly boss: Promise<PgBoss>;
  readonly queueName: string;
  /**
   * How long a run's event waits for an earlier event of its run that another process recorded and has
   * not fanned out, before its deliveries are queued anyway (reported).
   */
  readonly maxOrderWaitMs: number;
  /** The backend's owner id, which the deliveries it queues carry. */
  readonly ownerId: string;
  /** How often an idle queue asks for jobs. */
  readonly pollMs: number;
  /** How often a job being worked on tells pg-boss it is (its heartbeat). */
  readonly touchMs: number;
  readonly report: (error: Error) => void;
}

interface DeliveryRow {
  seq: string;
  id: string;
  lane: string;
  event: string;
  event_id: string;
  run_id: string;
  webhook_id: string;
  webhook_name: string;
  target: string;
  format: string;
  headers: string;
  body: string;
  queued_at: string;
  deadline_at: string;
  terminal: boolean;
  attempts: number | null;
  retries_used: number | null;
  first_attempt_at: string | null;
  next_attempt_at: string | null;
}

interface Job {
  id: string;
  retryCount: number;
  data: { d: string };
}

interface Running {
  readonly job: Job;
  delivery?: Delivery;
  aborted: boolean;
  readonly abort: Set<() => void>;
  /** The progress writes of this delivery, in order. */
  progress: Promise<void>;
}

const FETCH_MAX = 100;
const RETRY_WRITE_MS = 500;

/** An event's deliveries, to be written; `since`: when it first waited for an earlier event of its run. */
interface FanOut {
  readonly eventId: string;
  readonly deliveries: readonly Delivery[];
  since?: number;
}

/** @internal The queue over the connection's tables and pg-boss. */
export function postgresQueue(
  context: QueueContext,
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  limits: BackendLimits,
): PostgresQueue {
  const { connection, queueName, report } = context;
  const { pool, schema } = connection;
  // Fan-outs not written yet, and the deliveries queued here and not known to be finished.
  let unwritten: FanOut[] = [];
  let unwrittenCount = 0;
  const outstanding = new Map<string, Delivery>();
  const running = new Map<string, Running>();
  let writing: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let started = false;
  let stopped = false;
  let abandoned = false;
  // Read after an await: the closure hides from narrowing that close() may have set it meanwhile.
  const halted = (): boolean => stopped;
  let boss: PgBoss | undefined;
  const wakers = new Set<() => void>();
  const wake = (): void => {
    for (const resolve of wakers) resolve();
    wakers.clear();
  };
  const waitForWake = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakers.delete(done);
        resolve();
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      wakers.add(done);
    });

  const size = (): number => {
    let extra = 0;
    for (const entry of running.values())
      if (entry.delivery && !outstanding.has(entry.delivery.id)) extra += 1;
    return unwrittenCount + outstanding.size + extra;
  };
  const queued = (): number => {
    let active = 0;
    for (const entry of running.values())
      if (entry.delivery && outstanding.has(entry.delivery.id)) active += 1;
    return unwrittenCount + outstanding.size - active;
  };

  let outage = false;
  const write = async (): Promise<void> => {
    while (unwritten.length > 0) {
      const batch = unwritten;
      unwritten = [];
      let blocked: FanOut[] = [];
      try {
        const b = await context.boss;
        const result = await writeFanOuts(connection, b, context, batch);
        blocked = result.blocked;
        outage = false;
        for (const { deliveries } of result.written)
          for (const delivery of deliveries) outstanding.set(delivery.id, delivery);
      } catch (error) {
        if (isTransient(error) && !halted()) {
          // The server is away: the fan-outs wait for it (their outbox rows stay open meanwhile).
          unwritten = [...batch, ...unwritten];
          if (!outage) report(fanOutError(connection, batch.length, error, true));
          outage = true;
          await new Promise((resolve) => setTimeout(resolve, RETRY_WRITE_MS));
          continue;
        }
        report(fanOutError(connection, batch.length, error, false));
        for (const { deliveries } of batch) for (const delivery of deliveries) onDrop(delivery, "overflow");
      } finally {
        unwrittenCount = unwritten.reduce((n, { deliveries }) => n + deliveries.length, 0);
      }
      if (blocked.length > 0) {
        // An earlier event of their run is not fanned out yet (another process holds it): they wait for
        // it, so that their deliveries queue behind its deliveries.
        unwritten = [...blocked, ...unwritten];
        unwrittenCount = unwritten.reduce((n, { deliveries }) => n + deliveries.length, 0);
        await new Promise((resolve) => setTimeout(resolve, Math.max(5, Math.floor(context.pollMs / 2))));
        if (halted()) break;
      }
      wake();
    }
  };
  const scheduleWrite = (): void => {
    if (writing) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(write).finally(() => {
      writing = undefined;
      if (unwritten.length > 0) scheduleWrite();
    });
  };

  const finish = async (entry: Running, reason?: DropReason): Promise<void> => {
    const b = boss;
    if (!b) return;
    await entry.progress;
    const id = entry.job.data.d;
    try {
      await inTransaction(pool, async (client) => {
        await client.query(
          `WITH gone AS (DELETE FROM ${schema}.deliveries WHERE id = $1 RETURNING body_id)
           DELETE FROM ${schema}.bodies b USING gone WHERE b.id = gone.body_id
             AND NOT EXISTS (SELECT 1 FROM ${schema}.deliveries d WHERE d.body_id = gone.body_id AND d.id <> $1)`,
          [id],
        );
        await b.complete(queueName, { id: entry.job.id, retryCount: entry.job.retryCount }, null, {
          db: adapter(client),
        });
      });
    } catch (error) {
      report(
        storageError(
          connection,
          "complete",
          `record that delivery ${id} is done`,
          error,
          ": pg-boss hands it out again once its heartbeat stops, and it is sent again (receivers de-duplicate by webhook-id)",
        ),
      );
    }
    outstanding.delete(id);
    if (reason && entry.delivery) onDrop(entry.delivery, reason);
  };

  const context_ = (entry: Running, delivery: Delivery): WorkerContext => ({
    get aborted() {
      return entry.aborted;
    },
    sleep: (ms) =>
      new Promise<void>((resolve, reject) => {
        if (entry.aborted) {
          reject(new Error("the delivery was abandoned"));
          return;
        }
        const cancel = (): void => {
          clearTimeout(timer);
          reject(new Error("the delivery was abandoned"));
        };
        const timer = setTimeout(() => {
          entry.abort.delete(cancel);
          resolve();
        }, ms);
        entry.abort.add(cancel);
      }),
    progress: (progress) => {
      entry.progress = entry.progress.then(() => recordProgress(connection, delivery, progress, report));
    },
  });

  const work = async (entry: Running): Promise<void> => {
    const { job } = entry;
    const b = boss;
    if (!b) return;
    const touch = setInterval(() => {
      b.touch(queueName, { id: job.id, retryCount: job.retryCount }).catch(() => undefined);
    }, context.touchMs);
    try {
      const row = await loadDelivery(connection, job.data.d);
      if (row === undefined) {
        // Finished by a process killed before it completed the job: nothing to send.
        await finish(entry);
        return;
      }
      const delivery = fromRow(row);
      entry.delivery = delivery;
      if (Date.now() > delivery.deadlineAt) {
        await finish(entry, "stale");
        return;
      }
      if (delivery.event === "in_progress" && (await supersededIn(connection, row))) {
        await finish(entry, "superseded");
        return;
      }
      await worker(delivery, context_(entry, delivery));
      if (!entry.aborted) await finish(entry);
    } catch (error) {
      report(storageError(connection, "complete", `run delivery job ${job.id}`, error));
    } finally {
      clearInterval(touch);
      if (!entry.aborted) running.delete(job.id);
      wake();
    }
  };

  const fetchLoop = async (): Promise<void> => {
    const b = await context.boss;
    boss = b;
    while (!stopped) {
      const free = limits.maxInFlight - running.size;
      if (free <= 0) {
        await waitForWake(context.pollMs);
        continue;
      }
      let jobs: Job[];
      try {
        jobs = await b.fetch<{ d: string }>(queueName, { batchSize: Math.min(free, FETCH_MAX) });
      } catch (error) {
        if (!halted()) report(storageError(connection, "fetch", "fetch deliveries from pg-boss", error));
        await waitForWake(context.pollMs * 5);
        continue;
      }
      if (halted()) {
        // Fetched while closing: handed back at once.
        if (jobs.length > 0) await b.fail(queueName, jobs.map(attempt)).catch(() => undefined);
        break;
      }
      for (const job of jobs) {
        const entry: Running = { job, aborted: false, abort: new Set(), progress: Promise.resolve() };
        running.set(job.id, entry);
        void work(entry);
      }
      if (jobs.length === 0) await waitForWake(context.pollMs);
    }
  };

  const idle = (): boolean => size() === 0 && writing === undefined;

  return {
    start() {
      if (started) return loop ?? Promise.resolve();
      started = true;
      loop = fetchLoop().catch((error: unknown) => {
        report(storageError(connection, "start", "start taking deliveries from pg-boss", error));
      });
      return context.boss.then(() => this.adopt());
    },
    enqueue(deliveries, eventId) {
      if (abandoned || stopped) return;
      const room = Math.max(0, limits.maxQueued - size());
      const accepted = deliveries.slice(0, room);
      for (const delivery of deliveries.slice(room)) onDrop(delivery, "overflow");
      // An event with no deliveries is still claimed: another process must not fan it out again.
      unwritten.push({ eventId, deliveries: accepted });
      unwrittenCount += accepted.length;
      scheduleWrite();
    },
    get queued() {
      return queued();
    },
    get size() {
      return size();
    },
    async drain() {
      let checkedAt = Date.now();
      while (!idle()) {
        if (writing) await writing;
        else await waitForWake(context.pollMs);
        // What another process runs finishes there: look it up now and then.
        if (Date.now() - checkedAt > context.pollMs * 2 && outstanding.size > running.size) {
          checkedAt = Date.now();
          await this.refresh();
        }
      }
    },
    abandon() {
      abandoned = true;
      const left: Delivery[] = [];
      for (const entry of running.values()) {
        entry.aborted = true;
        for (const cancel of entry.abort) cancel();
        if (entry.delivery) left.push(entry.delivery);
      }
      const runningIds = new Set(left.map((d) => d.id));
      for (const delivery of outstanding.values()) if (!runningIds.has(delivery.id)) left.push(delivery);
      for (const { deliveries } of unwritten) left.push(...deliveries);
      wake();
      return left;
    },
    async adopt() {
      const room = limits.maxQueued - size();
      if (room <= 0 || halted()) return;
      await context.boss;
      const result = await pool.query(
        `WITH taken AS (
           UPDATE ${schema}.deliveries d SET owner = $1
           WHERE d.id IN (
             SELECT x.id FROM ${schema}.deliveries x
             WHERE NOT EXISTS (SELECT 1 FROM ${schema}.owners w WHERE w.owner = x.owner)
             ORDER BY x.seq LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING d.*)
         SELECT taken.*, b.body FROM taken JOIN ${schema}.bodies b ON b.id = taken.body_id ORDER BY taken.seq`,
        [context.ownerId, room],
      );
      for (const row of result.rows as DeliveryRow[]) outstanding.set(row.id, fromRow(row));
    },
    async refresh() {
      if (outstanding.size === 0) return;
      const ids = [...outstanding.keys()];
      const result = await pool.query(`SELECT id FROM ${schema}.deliveries WHERE id = ANY($1::text[])`, [
        ids,
      ]);
      const present = new Set((result.rows as Array<{ id: string }>).map((row) => row.id));
      for (const id of ids) if (!present.has(id)) outstanding.delete(id);
      wake();
    },
    async close() {
      stopped = true;
      wake();
      await loop;
      // Fan-outs still waiting are written (a later process runs them), then the jobs abandoned here are
      // handed back at once rather than after their heartbeat stops.
      while (writing) await writing;
      if (unwritten.length > 0) await write();
      const left = [...running.values()];
      await Promise.all(left.map((entry) => entry.progress));
      if (boss && left.length > 0)
        await boss
          .fail(
            queueName,
            left.map((entry) => attempt(entry.job)),
          )
          .catch((error: unknown) => {
            report(storageError(connection, "close", `hand back ${left.length} delivery jobs`, error));
          });
      running.clear();
    },
  };
}

function attempt(job: Job): { id: string; retryCount: number } {
  return { id: job.id, retryCount: job.retryCount };
}

/**
 * @internal pg-boss's database adapter over a pool or one connection: over a connection, its statements
 * join that connection's transaction.
 */
export function adapter(on: Pick<PostgresClient, "query">): Db {
  return { executeSql: (text, values) => on.query(text, values) };
}

/**
 * Writes fan-outs in one transaction: claims each event in `fanouts` (an event claimed before, here or
 * in another process, queues nothing), stores each distinct body once, the deliveries, and their jobs.
 *
 * A run's event waits (`blocked`) while an earlier event of its run is recorded and not fanned out, by
 * another process: pg-boss orders a lane by the time the transaction that queued each job began, so
 * the later event's transaction must begin after the earlier one's committed. It waits at most
 * `maxWaitMs`, then goes out anyway and is reported (its process may have failed to look up webhooks).
 */
async function writeFanOuts(
  connection: Connection,
  boss: PgBoss,
  context: Pick<QueueContext, "queueName" | "ownerId" | "maxOrderWaitMs" | "report">,
  batch: readonly FanOut[],
): Promise<{ written: FanOut[]; blocked: FanOut[] }> {
  const { schema } = connection;
  const waiting = await connection.pool.query(
    `SELECT o.event_id, e.event_id AS earlier FROM ${schema}.outbox o
     JOIN ${schema}.outbox e ON e.run_id = o.run_id AND e.seq < o.seq
     WHERE o.event_id = ANY($1::text[]) AND e.event_id <> ALL($1::text[])
       AND NOT EXISTS (SELECT 1 FROM ${schema}.fanouts f WHERE f.event_id = e.event_id)`,
    [batch.map((fanOut) => fanOut.eventId)],
  );
  const earlier = new Map(
    (waiting.rows as Array<{ event_id: string; earlier: string }>).map((r) => [r.event_id, r.earlier]),
  );
  const now = Date.now();
  const blocked: FanOut[] = [];
  const ready: FanOut[] = [];
  for (const fanOut of batch) {
    const before = earlier.get(fanOut.eventId);
    if (before === undefined) ready.push(fanOut);
    else if (now - (fanOut.since ??= now) < context.maxOrderWaitMs) blocked.push(fanOut);
    else {
      context.report(
        new BackendError(
          "enqueue",
          `The postgres backend queued the deliveries of event ${fanOut.eventId} although the earlier event ${before} of its run was still not fanned out after ${context.maxOrderWaitMs} ms: they may arrive before that event's. The process that recorded it may have failed to look up its webhooks (see its error reports); it is fanned out by another process once that one stops.`,
        ),
      );
      ready.push(fanOut);
    }
  }
  if (ready.length === 0) return { written: [], blocked };
  const written = await inTransaction(connection.pool, (client) =>
    writeReady(client, schema, boss, context, ready),
  );
  return { written, blocked };
}

/** The transaction of {@link writeFanOuts}; returns the fan-outs it claimed. */
async function writeReady(
  client: PostgresClient,
  schema: string,
  boss: PgBoss,
  { queueName, ownerId }: Pick<QueueContext, "queueName" | "ownerId">,
  batch: readonly FanOut[],
): Promise<FanOut[]> {
  const claimed = await client.query(
    `INSERT INTO ${schema}.fanouts (event_id, done_at) SELECT unnest($1::text[]), now()
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [batch.map((fanOut) => fanOut.eventId)],
  );
  const ours = new Set((claimed.rows as Array<{ event_id: string }>).map((row) => row.event_id));
  const written = batch.filter((fanOut) => ours.delete(fanOut.eventId));
  const deliveries = written.flatMap((fanOut) => fanOut.deliveries);
  if (deliveries.length === 0) return written;
  // One body per rendering: one event to 1,000 webhooks of one format shares one string.
  const bodies = [...new Set(deliveries.map((delivery) => delivery.body))];
  const inserted = await client.query(
    `INSERT INTO ${schema}.bodies (body) SELECT b FROM unnest($1::text[]) WITH ORDINALITY AS t(b, n) ORDER BY n RETURNING id`,
    [bodies],
  );
  const bodyIds = new Map(bodies.map((body, i) => [body, (inserted.rows[i] as { id: string }).id]));
  const jobIds = deliveries.map(() => uuidv7());
  await client.query(
    `INSERT INTO ${schema}.deliveries (owner, id, job_id, lane, event, event_id, run_id, webhook_id, webhook_name,
       target, format, headers, body_id, queued_at, deadline_at, terminal, attempts, retries_used,
       first_attempt_at, next_attempt_at)
     SELECT $20, * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[],
       $15::boolean[], $16::int[], $17::int[], $18::bigint[], $19::bigint[])`,
    [...columns(deliveries, jobIds, bodyIds), ownerId],
  );
  await boss.insert(
    queueName,
    deliveries.map((delivery, i) => ({
      id: jobIds[i] as string,
      data: { d: delivery.id },
      singletonKey: lane(delivery),
    })),
    { db: adapter(client) },
  );
  return written;
}

function columns(
  deliveries: readonly Delivery[],
  jobIds: readonly string[],
  bodyIds: Map<string, string>,
): unknown[][] {
  const pick = <T>(fn: (delivery: Delivery) => T): T[] => deliveries.map(fn);
  return [
    pick((d) => d.id),
    [...jobIds],
    pick(lane),
    pick((d) => d.event),
    pick((d) => d.eventId),
    pick((d) => d.runId),
    pick((d) => d.webhookId),
    pick((d) => d.webhookName),
    pick((d) => d.target),
    pick((d) => d.format),
    pick((d) => JSON.stringify(d.headers)),
    pick((d) => bodyIds.get(d.body)),
    pick((d) => d.queuedAt),
    pick((d) => d.deadlineAt),
    pick((d) => d.terminal),
    pick((d) => d.progress?.attempts ?? null),
    pick((d) => d.progress?.retriesUsed ?? null),
    pick((d) => d.progress?.firstAttemptAt ?? null),
    pick((d) => d.progress?.nextAttemptAt ?? null),
  ];
}

/** The lane of a delivery, pg-boss's key: one at a time, in order, per (webhook, run). */
function lane(delivery: Delivery): string {
  return `${delivery.webhookId}:${delivery.runId}`;
}

async function loadDelivery(connection: Connection, id: string): Promise<DeliveryRow | undefined> {
  const { schema } = connection;
  const result = await connection.pool.query(
    `SELECT d.*, b.body FROM ${schema}.deliveries d JOIN ${schema}.bodies b ON b.id = d.body_id WHERE d.id = $1`,
    [id],
  );
  return result.rows[0] as DeliveryRow | undefined;
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

function fromRow(row: DeliveryRow): Delivery {
  const progress: DeliveryProgress | undefined =
    row.attempts === null
      ? undefined
      : {
          attempts: row.attempts,
          retriesUsed: row.retries_used ?? 0,
          firstAttemptAt: Number(row.first_attempt_at ?? 0),
          nextAttemptAt: Number(row.next_attempt_at ?? 0),
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
    queuedAt: Number(row.queued_at),
    deadlineAt: Number(row.deadline_at),
    terminal: row.terminal,
    ...(progress && { progress }),
  };
}

function fanOutError(connection: Connection, events: number, error: unknown, retrying: boolean): Error {
  return storageError(
    connection,
    "enqueue",
    `write the fan-out of ${events} events`,
    error,
    retrying
      ? ": it is written once the server answers again (the events' outbox rows stay open meanwhile)"
      : ": their deliveries are dropped here; the run's events stay in the outbox and a later process fans them out",
  );
}

let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562), increasing within this process: pg-boss orders a lane's jobs queued in one
 * transaction by their id, so their ids must sort in the order they were queued.
 */
export function uuidv7(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = Math.floor(Math.random() * 0x400);
  } else counter += 1;
  if (counter > 0xfff) {
    // 4,096 ids in one millisecond: borrow the next one.
    lastMs += 1;
    counter = 0;
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
