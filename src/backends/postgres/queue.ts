/**
 * @internal The delivery queue of `postgresBackend()`: each delivery is a row of `deliveries` (its body
 * in `bodies`, once per rendering) and a pg-boss job in a `key_strict_fifo` queue keyed by its lane,
 * `webhookId:runId`. pg-boss hands out one job per lane at a time, in the order they were queued, to
 * whichever process fetches it; a process killed mid-delivery stops its job's heartbeat, and pg-boss
 * hands the job to another one, which continues from the attempt state in the row.
 *
 * Its stages: the fan-outs written once per turn (fan-out.ts), the fetch loop here, and each job from
 * fetched to completed (jobs.ts). It counts what this process queued or took on and has not seen
 * finish, for `size`, `queued` and `drain()`.
 *
 * @module
 */
import type { PgBoss } from "pg-boss";
import type { DeliveryQueue, DeliveryWorker, DropReason } from "../../delivery/queue.js";
import type { Delivery } from "../../delivery/types.js";
import type { BackendLimits } from "../types.js";
import { deliveryFromRow } from "../_rows.js";
import { storageError, type Connection } from "./database.js";
import { fanOutWriter, type WriterHooks } from "./fan-out.js";
import { splitOverflow } from "./overflow.js";
import {
  attempt,
  completer,
  loadDeliveries,
  LOST,
  runJob,
  type DeliveryRow,
  type Job,
  type JobDeps,
  type Running,
} from "./jobs.js";

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

const FETCH_MAX = 100;

/** Wakes what waits for the queue's counts to change (a write, a finished job, close), or for a timeout. */
function wakeups(): { wake(): void; wait(ms: number): Promise<void> } {
  const waiting = new Set<() => void>();
  return {
    wake() {
      for (const resolve of waiting) resolve();
      waiting.clear();
    },
    wait: (ms) =>
      new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        waiting.add(done);
      }),
  };
}

/** @internal The queue over the connection's tables and pg-boss. */
export function postgresQueue(
  context: QueueContext,
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  limits: BackendLimits,
): PostgresQueue {
  const { connection, report } = context;
  // The deliveries queued (or taken on) here and not known to be finished, and the jobs worked on here.
  const outstanding = new Map<string, Delivery>();
  const running = new Map<string, Running>();
  let loop: Promise<void> | undefined;
  let started = false;
  let stopped = false;
  let abandoned = false;
  // Read after an await: the closure hides from narrowing that close() may have set it meanwhile.
  const halted = (): boolean => stopped;
  let boss: PgBoss | undefined;
  const signal = wakeups();
  const writer = fanOutWriter(context, writerHooks(outstanding, onDrop, signal, halted));

  /** Deliveries worked on here that another process queued (not in `outstanding`), or in it. */
  const runningOf = (queuedHere: boolean): number => {
    let n = 0;
    for (const entry of running.values())
      if (entry.delivery && outstanding.has(entry.delivery.id) === queuedHere) n += 1;
    return n;
  };
  const size = (): number => writer.count + outstanding.size + runningOf(false);

  const fetchLoop = async (): Promise<void> => {
    boss = await context.boss;
    const finished = (id: string): boolean => outstanding.delete(id);
    const deps: JobDeps = { context, boss, worker, onDrop, finished, complete: completer(context, boss) };
    await fetchJobs(deps, running, limits.maxInFlight, signal, halted);
  };

  const idle = (): boolean => size() === 0 && writer.busy === undefined;

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
      const admitted = deliveries.slice(0, room);
      // Past the room, a delivery takes one back from the webhook holding the most (overflow.ts), in
      // the fan-out's transaction; or, when none could be better taken back, it is dropped now.
      let spill: Delivery[] | undefined;
      if (deliveries.length > room) {
        const held = [...outstanding.values(), ...writer.waiting(), ...admitted];
        const split = splitOverflow(deliveries.slice(room), held);
        for (const delivery of split.dropped) onDrop(delivery, "overflow");
        if (split.spill.length > 0) spill = split.spill;
      }
      // An event with no deliveries is still claimed: another process must not fan it out again.
      writer.add({ eventId, deliveries: admitted, spill });
    },
    get queued() {
      return writer.count + outstanding.size - runningOf(true);
    },
    get size() {
      return size();
    },
    async drain() {
      let checkedAt = Date.now();
      while (!idle()) {
        const busy = writer.busy;
        if (busy) await busy;
        else await signal.wait(context.pollMs);
        // What another process runs finishes there: look it up now and then.
        if (Date.now() - checkedAt > context.pollMs * 2 && outstanding.size > running.size) {
          checkedAt = Date.now();
          await this.refresh();
        }
      }
    },
    abandon() {
      abandoned = true;
      const left = leftBehind(running, outstanding, writer.waiting());
      signal.wake();
      return left;
    },
    async adopt() {
      const room = limits.maxQueued - size();
      if (room <= 0 || halted()) return;
      await context.boss;
      for (const delivery of await adoptOrphans(connection, context.ownerId, room))
        outstanding.set(delivery.id, delivery);
    },
    async refresh() {
      if (outstanding.size === 0) return;
      const ids = [...outstanding.keys()];
      const present = await stillQueued(connection, ids);
      for (const id of ids) if (!present.has(id)) outstanding.delete(id);
      signal.wake();
    },
    async close() {
      stopped = true;
      signal.wake();
      await loop;
      // Fan-outs still waiting are written (a later process runs them), then the jobs abandoned here are
      // handed back at once rather than after their heartbeat stops.
      await writer.flush();
      if (boss) await handBack(boss, context, [...running.values()]);
      running.clear();
    },
  };
}

/** What the fan-out writer's outcomes change here: the deliveries outstanding, drops, the waiters. */
function writerHooks(
  outstanding: Map<string, Delivery>,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  signal: ReturnType<typeof wakeups>,
  halted: () => boolean,
): WriterHooks {
  return {
    written: (delivery) => outstanding.set(delivery.id, delivery),
    dropped: (delivery) => {
      onDrop(delivery, "overflow");
    },
    evicted: (delivery) => {
      outstanding.delete(delivery.id);
      onDrop(delivery, "overflow");
    },
    changed: () => {
      signal.wake();
    },
    halted,
  };
}

/**
 * What an abandoned queue leaves: the jobs worked on here, stopped, then what else it queued or took on,
 * then what waits to be written, each once.
 */
function leftBehind(
  running: ReadonlyMap<string, Running>,
  outstanding: ReadonlyMap<string, Delivery>,
  unwritten: readonly Delivery[],
): Delivery[] {
  const left: Delivery[] = [];
  for (const entry of running.values()) {
    entry.controller.abort();
    if (entry.delivery) left.push(entry.delivery);
  }
  const runningIds = new Set(left.map((d) => d.id));
  for (const delivery of outstanding.values()) if (!runningIds.has(delivery.id)) left.push(delivery);
  left.push(...unwritten);
  return left;
}

/**
 * Asks pg-boss for as many jobs as there are free attempt slots, and works on each; waits for a slot,
 * or (with nothing to fetch) for the next poll, until the queue halts.
 */
async function fetchJobs(
  deps: JobDeps,
  running: Map<string, Running>,
  maxInFlight: number,
  signal: ReturnType<typeof wakeups>,
  halted: () => boolean,
): Promise<void> {
  const { context, boss } = deps;
  const { queueName } = context;
  while (!halted()) {
    const free = maxInFlight - running.size;
    if (free <= 0) {
      await signal.wait(context.pollMs);
      continue;
    }
    let jobs: Job[];
    try {
      jobs = await boss.fetch<{ d: string }>(queueName, { batchSize: Math.min(free, FETCH_MAX) });
    } catch (error) {
      if (!halted())
        context.report(storageError(context.connection, "fetch", "fetch deliveries from pg-boss", error));
      await signal.wait(context.pollMs * 5);
      continue;
    }
    const rows = await readFetched(context, boss, jobs, halted);
    if (rows === undefined) {
      await signal.wait(context.pollMs * 5);
      continue;
    }
    if (halted()) {
      // Fetched while closing: handed back at once.
      if (jobs.length > 0) await boss.fail(queueName, jobs.map(attempt)).catch(() => undefined);
      break;
    }
    for (const job of jobs) {
      const entry: Running = { job, controller: new AbortController(), progress: Promise.resolve() };
      running.set(job.id, entry);
      void runJob(deps, entry, rows.get(job.data.d)).finally(() => {
        // Abandoned ones stay, for close() to hand back; a lost one is another process's now.
        if (!entry.controller.signal.aborted || entry.controller.signal.reason === LOST)
          running.delete(job.id);
        signal.wake();
      });
    }
    if (jobs.length === 0) await signal.wait(context.pollMs);
  }
}

/**
 * The rows of fetched jobs, read in one statement rather than one per job; `undefined` when they cannot
 * be read: the jobs are then handed back at once (reported), for this process or another to fetch again.
 */
async function readFetched(
  context: QueueContext,
  boss: PgBoss,
  jobs: readonly Job[],
  halted: () => boolean,
): Promise<Map<string, DeliveryRow> | undefined> {
  if (jobs.length === 0) return new Map();
  try {
    return await loadDeliveries(
      context.connection,
      jobs.map((job) => job.data.d),
    );
  } catch (error) {
    if (!halted())
      context.report(storageError(context.connection, "fetch", "read the deliveries fetched", error));
    await boss.fail(context.queueName, jobs.map(attempt)).catch(() => undefined);
    return undefined;
  }
}

/**
 * Takes on, for this owner, up to `room` deliveries whose owner is gone (closed, or its lease expired),
 * oldest first; SKIP LOCKED: two processes looking at once take different ones.
 */
async function adoptOrphans(connection: Connection, ownerId: string, room: number): Promise<Delivery[]> {
  const { schema } = connection;
  const result = await connection.pool.query(
    `WITH taken AS (
       UPDATE ${schema}.deliveries d SET owner = $1
       WHERE d.id IN (
         SELECT x.id FROM ${schema}.deliveries x
         WHERE NOT EXISTS (SELECT 1 FROM ${schema}.owners w WHERE w.owner = x.owner)
         ORDER BY x.seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING d.*)
     SELECT taken.*, b.body FROM taken JOIN ${schema}.bodies b ON b.id = taken.body_id ORDER BY taken.seq`,
    [ownerId, room],
  );
  return (result.rows as DeliveryRow[]).map(deliveryFromRow);
}

/** Which of `ids` still have a row: the others were finished or dropped, here or elsewhere. */
async function stillQueued(connection: Connection, ids: readonly string[]): Promise<Set<string>> {
  const result = await connection.pool.query(
    `SELECT id FROM ${connection.schema}.deliveries WHERE id = ANY($1::text[])`,
    [ids],
  );
  return new Set((result.rows as Array<{ id: string }>).map((row) => row.id));
}

/**
 * Hands the jobs abandoned here back to pg-boss once their progress is written: failed, they are
 * retried at once by whichever process fetches them, rather than after their heartbeat stops.
 */
async function handBack(boss: PgBoss, context: QueueContext, left: readonly Running[]): Promise<void> {
  await Promise.all(left.map((entry) => entry.progress));
  if (left.length === 0) return;
  await boss
    .fail(
      context.queueName,
      left.map((entry) => attempt(entry.job)),
    )
    .catch((error: unknown) => {
      context.report(
        storageError(context.connection, "close", `hand back ${left.length} delivery jobs`, error),
      );
    });
}
