import { ConfigError } from "../../errors.js";
import type { WebhookRecord } from "../../webhooks/model.js";
import type { SubscriptionStore, WebhookFilter } from "../../webhooks/store/types.js";
import { webhookFromColumns, webhookToColumns, type WebhookColumns } from "../_rows.js";
import {
  connect,
  migrate,
  type Connection,
  type Migration,
  type PostgresConnectionOptions,
} from "./database.js";

/** Options of {@link postgresStore}: where the database is ({@link PostgresConnectionOptions}). */
export type PostgresStoreOptions = PostgresConnectionOptions;

/**
 * A {@link SubscriptionStore} kept in PostgreSQL, from {@link postgresStore}: every replica and runner
 * that connects to the same database and schema sees the same webhooks.
 */
export interface PostgresStore extends SubscriptionStore {
  /**
   * Resolves once the schema is ready (created or migrated on first use); rejects with a
   * `ConfigError` that names the database and what to do when it cannot be reached or used. Every
   * method waits for it, so calling it is optional: await it at startup to fail there rather than at the
   * first event or admin request.
   */
  ready(): Promise<void>;
  /**
   * Closes the pool runhooks made from `connectionString` (a given `pool` is left open). Call it after
   * the notifier that uses the store is closed; any call after it rejects. Calling it again does nothing.
   */
  close(): Promise<void>;
}

/**
 * The store's schema, one migration per release that changes it; append, never edit. Times stay text
 * (ISO 8601, as the records carry them) so that they come back exactly as they went in, and sort as
 * they do; headers stay JSON text, since `jsonb` would reorder their keys.
 */
const MIGRATIONS: readonly Migration[] = [
  (s) => `
  CREATE TABLE ${s}.webhooks (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    url        text NOT NULL,
    format     text NOT NULL,
    events     text[] NOT NULL,         -- in the order the webhook lists them
    global     boolean NOT NULL,
    enabled    boolean NOT NULL,
    secret     text,
    previous_secret            text,    -- during a secret rotation
    previous_secret_expires_at text,
    headers    text,                    -- JSON object
    tenant     text,
    created_at text NOT NULL,
    updated_at text NOT NULL
  );
  CREATE INDEX webhooks_by_event ON ${s}.webhooks USING gin (events);
  CREATE INDEX webhooks_by_global ON ${s}.webhooks (global, enabled);
  CREATE INDEX webhooks_by_updated ON ${s}.webhooks (updated_at DESC, id);`,
];

const COLUMNS =
  "id, name, url, format, events, global, enabled, secret, previous_secret, previous_secret_expires_at, headers, tenant, created_at, updated_at";

/**
 * A {@link SubscriptionStore} in PostgreSQL (node-postgres), for webhooks shared by several processes
 * and hosts: API replicas, runners and the admin page all read and write the same table. The database
 * does the filtering: `list(filter)` is one indexed query. The schema (`runhooks` unless `schema` says
 * otherwise) and its `webhooks` table are created on first use; call {@link PostgresStore.ready} to do
 * that at startup.
 *
 * Needs pg ^8, an optional peer dependency (`npm install pg@^8`), and PostgreSQL ≥ 13. It runs on every
 * Node line runhooks supports; `postgresBackend()` needs Node ≥ 22.12.
 *
 * @throws ConfigError when the options are wrong (no `connectionString` or `pool`, both, a bad
 *   `schema`) or pg is not installed; the message says what to give or install.
 *
 * @example
 * import { createNotifier } from "runhooks";
 * import { postgresStore } from "runhooks/postgres";
 *
 * const store = postgresStore({ connectionString: process.env.DATABASE_URL });
 * await store.ready(); // optional: fail at startup when the database cannot be used
 * const notifier = createNotifier({ store });
 * // …
 * await notifier.close();
 * await store.close();
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  const connection = connect(options, "postgresStore");
  const ready = migrate(connection, "store", MIGRATIONS, "postgresStore");
  // Reported by whichever call awaits it; no unhandled rejection when none does.
  ready.catch(() => undefined);
  let closed = false;
  const use = async <T>(body: (connection: Connection) => Promise<T>): Promise<T> => {
    if (closed) throw new ConfigError("postgresStore: the store is closed; make a new one");
    await ready;
    return body(connection);
  };
  return {
    ready: () => ready,
    create: (record) => use((c) => create(c, record)),
    get: (id) => use((c) => get(c, id)),
    list: (filter) => use((c) => list(c, filter)),
    update: (record) => use((c) => update(c, record)),
    remove: (id) =>
      use(async (c) => {
        const result = await c.pool.query(`DELETE FROM ${c.schema}.webhooks WHERE id = $1`, [id]);
        return (result.rowCount ?? 0) > 0;
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      await ready.catch(() => undefined);
      await connection.close();
    },
  };
}

async function create(connection: Connection, record: WebhookRecord): Promise<void> {
  await connection.pool.query(
    `INSERT INTO ${connection.schema}.webhooks (${COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    toValues(record),
  );
}

async function update(connection: Connection, record: WebhookRecord): Promise<boolean> {
  const result = await connection.pool.query(
    `UPDATE ${connection.schema}.webhooks SET name = $2, url = $3, format = $4, events = $5, global = $6,
       enabled = $7, secret = $8, previous_secret = $9, previous_secret_expires_at = $10, headers = $11,
       tenant = $12, created_at = $13, updated_at = $14
     WHERE id = $1`,
    toValues(record),
  );
  return (result.rowCount ?? 0) > 0;
}

async function get(connection: Connection, id: string): Promise<WebhookRecord | undefined> {
  const result = await connection.pool.query(
    `SELECT ${COLUMNS} FROM ${connection.schema}.webhooks WHERE id = $1`,
    [id],
  );
  const row = result.rows[0] as WebhookColumns | undefined;
  return row === undefined ? undefined : webhookFromColumns(row);
}

async function list(connection: Connection, filter: WebhookFilter = {}): Promise<WebhookRecord[]> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.ids !== undefined) {
    if (filter.ids.length === 0) return [];
    where.push(`id = ANY(${param([...filter.ids])}::text[])`);
  }
  if (filter.global !== undefined) where.push(`global = ${param(filter.global)}`);
  if (filter.enabled !== undefined) where.push(`enabled = ${param(filter.enabled)}`);
  // `@>` rather than `= ANY(events)`: the GIN index answers it.
  if (filter.event !== undefined) where.push(`events @> ARRAY[${param(filter.event)}::text]`);
  if (filter.forTenant === null) where.push("tenant IS NULL");
  else if (filter.forTenant !== undefined)
    where.push(`(tenant IS NULL OR tenant = ${param(filter.forTenant)})`);
  const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
  const result = await connection.pool.query(
    `SELECT ${COLUMNS} FROM ${connection.schema}.webhooks ${clause} ORDER BY updated_at DESC, id`,
    values,
  );
  return (result.rows as WebhookColumns[]).map(webhookFromColumns);
}

/** The record's columns in the order of {@link COLUMNS}. */
function toValues(record: WebhookRecord): unknown[] {
  const c = webhookToColumns(record);
  return [
    c.id,
    c.name,
    c.url,
    c.format,
    [...c.events],
    c.global,
    c.enabled,
    c.secret,
    c.previous_secret,
    c.previous_secret_expires_at,
    c.headers,
    c.tenant,
    c.created_at,
    c.updated_at,
  ];
}
