/**
 * @internal The fan-out stage of `postgresBackend()`'s queue: the events' deliveries waiting to be
 * written, written once per turn of the event loop in one transaction (the `fanouts` row that claims
 * each event, so that a second fan-out of it in any process queues nothing; the delivery rows; their
 * pg-boss jobs), tried again while the server is away, and held back while an earlier event of their
 * run is another process's to fan out.
 *
 * @module
 */
import type { Db, PgBoss } from "pg-boss";
import type { Delivery } from "../../delivery/types.js";
import { BackendError } from "../../errors.js";
import { inTransaction, storageError, type Connection, type PostgresClient } from "./database.js";
import type { QueueContext } from "./queue.js";
import { takeBack } from "./overflow.js";
import { isTransient } from "./run-state.js";

/**
 * @internal An event's deliveries, to be written; `spill`: those past this process's room, each written
 * only if it can take one back (overflow.ts); `since`: when it first waited for an earlier event of its
 * run.
 */
export interface FanOut {
  readonly eventId: string;
  readonly deliveries: readonly Delivery[];
  readonly spill?: readonly Delivery[] | undefined;
  since?: number;
}

/** All the deliveries of a fan-out, spilled ones included. */
const allOf = (fanOut: FanOut): readonly Delivery[] =>
  fanOut.spill === undefined ? fanOut.deliveries : [...fanOut.deliveries, ...fanOut.spill];

/** What a fan-out transaction wrote, and what it took back or refused to make room. */
interface Written {
  /** The fan-outs claimed, with the spilled deliveries that took one back among their deliveries. */
  written: FanOut[];
  /** Deliveries taken back to make room (queued earlier, by this process). */
  evicted: Delivery[];
  /** Spilled deliveries for which none could be taken back. */
  refused: Delivery[];
}

/** @internal The fan-outs waiting to be written, and the write in progress. */
export interface FanOutWriter {
  /** Takes an event's deliveries; they are written at the end of this turn. */
  add(fanOut: FanOut): void;
  /** How many deliveries wait to be written. */
  readonly count: number;
  /** The deliveries waiting to be written. */
  waiting(): Delivery[];
  /** The write in progress, if one is. */
  readonly busy: Promise<void> | undefined;
  /** Writes what waits, now, once the write in progress is done (on close). */
  flush(): Promise<void>;
}

/** @internal What the writer tells its queue. */
export interface WriterHooks {
  /** A delivery is in the database: its job may run, here or elsewhere. */
  written(delivery: Delivery): void;
  /** A delivery could not be written at all, or found no room. */
  dropped(delivery: Delivery): void;
  /** A delivery written earlier was taken back to make room (overflow). */
  evicted(delivery: Delivery): void;
  /** A write ended (the queue's counts changed). */
  changed(): void;
  /** Whether the queue is closing: a write waiting for the server gives up. */
  halted(): boolean;
}

const RETRY_WRITE_MS = 500;

/** @internal The writer of `context`'s queue. */
export function fanOutWriter(context: QueueContext, hooks: WriterHooks): FanOutWriter {
  const { connection, report } = context;
  let waiting: FanOut[] = [];
  let busy: Promise<void> | undefined;
  let outage = false;

  /** Writes one batch; returns the fan-outs to write again (the server was away, or their run's earlier event is not out yet). */
  const writeBatch = async (batch: FanOut[]): Promise<{ again: FanOut[]; pauseMs: number }> => {
    try {
      const result = await writeFanOuts(connection, await context.boss, context, batch);
      outage = false;
      for (const { deliveries } of result.written) for (const delivery of deliveries) hooks.written(delivery);
      for (const delivery of result.evicted) hooks.evicted(delivery);
      for (const delivery of result.refused) hooks.dropped(delivery);
      // Held back: their deliveries must queue behind those of their run's earlier event.
      return { again: result.blocked, pauseMs: Math.max(5, Math.floor(context.pollMs / 2)) };
    } catch (error) {
      if (isTransient(error) && !hooks.halted()) {
        // The server is away: the fan-outs wait for it (their outbox rows stay open meanwhile).
        if (!outage) report(fanOutError(connection, batch.length, error, true));
        outage = true;
        return { again: batch, pauseMs: RETRY_WRITE_MS };
      }
      report(fanOutError(connection, batch.length, error, false));
      for (const fanOut of batch) for (const delivery of allOf(fanOut)) hooks.dropped(delivery);
      return { again: [], pauseMs: 0 };
    }
  };

  const write = async (): Promise<void> => {
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const { again, pauseMs } = await writeBatch(batch);
      if (again.length > 0) {
        waiting = [...again, ...waiting];
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        // Closing: a batch held back by an earlier event stays for the close's own flush.
        if (hooks.halted() && again !== batch) break;
      }
      hooks.changed();
    }
  };
  const schedule = (): void => {
    if (busy) return;
    busy = new Promise<void>((resolve) => setImmediate(resolve)).then(write).finally(() => {
      busy = undefined;
      if (waiting.length > 0) schedule();
    });
  };

  return {
    add(fanOut) {
      waiting.push(fanOut);
      schedule();
    },
    get count() {
      return waiting.reduce((n, fanOut) => n + fanOut.deliveries.length + (fanOut.spill?.length ?? 0), 0);
    },
    waiting: () => waiting.flatMap(allOf),
    get busy() {
      return busy;
    },
    async flush() {
      while (busy) await busy;
      if (waiting.length > 0) await write();
    },
  };
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
): Promise<Written & { blocked: FanOut[] }> {
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
  if (ready.length === 0) return { written: [], evicted: [], refused: [], blocked };
  const written = await inTransaction(connection.pool, (client) =>
    writeReady(client, schema, boss, context, ready),
  );
  return { ...written, blocked };
}

/** The transaction of {@link writeFanOuts}. */
async function writeReady(
  client: PostgresClient,
  schema: string,
  boss: PgBoss,
  { queueName, ownerId }: Pick<QueueContext, "queueName" | "ownerId">,
  batch: readonly FanOut[],
): Promise<Written> {
  const claimed = await client.query(
    `INSERT INTO ${schema}.fanouts (event_id, done_at) SELECT unnest($1::text[]), now()
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [batch.map((fanOut) => fanOut.eventId)],
  );
  const ours = new Set((claimed.rows as Array<{ event_id: string }>).map((row) => row.event_id));
  const made = await makeRoom(
    client,
    schema,
    ownerId,
    batch.filter((fanOut) => ours.delete(fanOut.eventId)),
  );
  const deliveries = made.written.flatMap((fanOut) => fanOut.deliveries);
  if (deliveries.length === 0) return made;
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
  return made;
}

/** Takes one back for each spilled delivery of the claimed fan-outs (overflow.ts), in their transaction. */
async function makeRoom(
  client: PostgresClient,
  schema: string,
  ownerId: string,
  claimed: readonly FanOut[],
): Promise<Written> {
  const made: Written = { written: [], evicted: [], refused: [] };
  for (const fanOut of claimed) {
    if (fanOut.spill === undefined) {
      made.written.push(fanOut);
      continue;
    }
    const admitted: Delivery[] = [];
    for (const delivery of fanOut.spill) {
      const victim = await takeBack(client, schema, ownerId, delivery);
      if (victim === undefined) made.refused.push(delivery);
      else {
        made.evicted.push(victim);
        admitted.push(delivery);
      }
    }
    made.written.push({ eventId: fanOut.eventId, deliveries: [...fanOut.deliveries, ...admitted] });
  }
  return made;
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
function uuidv7(): string {
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
