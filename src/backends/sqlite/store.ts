import type { EventName } from "../../events.js";
import { ConfigError } from "../../errors.js";
import type { WebhookRecord } from "../../webhooks/model.js";
import type { SubscriptionStore, WebhookFilter } from "../../webhooks/store/types.js";
import { webhookFromColumns, webhookToColumns, type WebhookColumns } from "../_rows.js";
import { migrate, openDatabase, type Database, type Statement } from "./database.js";

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * Path of the SQLite database file, created with its tables when it does not exist; its directory must
   * exist. Relative paths resolve against the working directory. SQLite keeps `<file>-wal` and
   * `<file>-shm` beside it while it is open, so the process needs write permission on the directory too.
   * Other processes on the same host may open the same file.
   *
   * @example "./runhooks.db"
   */
  file: string;
}

/**
 * A {@link SubscriptionStore} kept in an SQLite file, from {@link sqliteStore}.
 *
 * Why the methods are async over a synchronous driver: the store contract is async so that network
 * databases (Postgres, MySQL) fit it; better-sqlite3 answers at once, and each method returns a promise
 * that is already settled, a failure as a rejection (never a synchronous throw), as an async driver would
 * report it. It has no `listNow()`: answering reads the file, and `listNow` is for stores that answer
 * from memory.
 */
export interface SqliteStore extends SubscriptionStore {
  /**
   * Closes the database connection. Call it after the notifier that uses the store is closed; any call
   * after it rejects. Calling it again does nothing.
   */
  close(): void;
}

/** A row of `runhooks_webhooks`: SQLite has no booleans, and the events are in their own table. */
type WebhookRow = Omit<WebhookColumns, "events" | "global" | "enabled"> & { global: number; enabled: number };

type SelectedRow = WebhookRow & { events: string };

/**
 * The store's schema, one migration per release that changes it (see `migrate`); append, never edit.
 * Version 1 keeps `IF NOT EXISTS`: a file written by the former `examples/sqlite-store` has these very
 * tables and opens as it is.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS runhooks_webhooks (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    url        TEXT NOT NULL,            -- TEXT, not VARCHAR(255): Teams Workflows URLs are long
    format     TEXT NOT NULL,
    global     INTEGER NOT NULL,
    enabled    INTEGER NOT NULL,
    secret     TEXT,
    previous_secret            TEXT,     -- during a secret rotation
    previous_secret_expires_at TEXT,
    headers    TEXT,                     -- JSON object
    tenant     TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS runhooks_webhook_events (
    webhook_id TEXT NOT NULL REFERENCES runhooks_webhooks(id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (webhook_id, event)
  );
  CREATE INDEX IF NOT EXISTS runhooks_webhook_events_by_event ON runhooks_webhook_events (event, webhook_id);
  CREATE INDEX IF NOT EXISTS runhooks_webhooks_by_global ON runhooks_webhooks (global, enabled);`,
];

const SELECT = `SELECT w.*, (SELECT json_group_array(event) FROM
    (SELECT event FROM runhooks_webhook_events WHERE webhook_id = w.id ORDER BY position)) AS events
  FROM runhooks_webhooks w`;
const ORDER = "ORDER BY w.updated_at DESC, w.id";

/**
 * A {@link SubscriptionStore} in an SQLite file (better-sqlite3), for webhooks that survive a restart
 * on one host. It opens the file (creating it and its tables, `runhooks_webhooks` and
 * `runhooks_webhook_events`, when needed) at once, so that a path it cannot use fails here rather than
 * at the first event. The database does the filtering: `list(filter)` is one indexed query.
 *
 * Needs better-sqlite3 ^12, an optional peer dependency (`npm install better-sqlite3@^12`).
 *
 * @throws ConfigError when better-sqlite3 is not installed or cannot load on this Node, or the file is
 *   not a database, is corrupt, read-only, locked by another process, in a directory that does not
 *   exist, or written by a newer runhooks; the message names the file and what to do.
 *
 * @example
 * import { createNotifier } from "runhooks";
 * import { sqliteStore } from "runhooks/sqlite";
 *
 * const store = sqliteStore({ file: "./runhooks.db" });
 * const notifier = createNotifier({ store });
 * // …
 * await notifier.close();
 * store.close();
 */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  const file = (options as Partial<SqliteStoreOptions> | undefined)?.file;
  if (typeof file !== "string" || file.trim() === "")
    throw new ConfigError(
      'sqliteStore({ file }): file must be the path of a database file, e.g. "./runhooks.db"',
    );
  const db = openDatabase(file, "sqliteStore");
  try {
    migrate(db, "store", MIGRATIONS);
  } catch (error) {
    db.close();
    throw error;
  }
  return storeOver(db);
}

function storeOver(db: Database): SqliteStore {
  const insertWebhook = db.prepare<[WebhookRow]>(`
    INSERT INTO runhooks_webhooks (id, name, url, format, global, enabled, secret, previous_secret,
      previous_secret_expires_at, headers, tenant, created_at, updated_at)
    VALUES (@id, @name, @url, @format, @global, @enabled, @secret, @previous_secret,
      @previous_secret_expires_at, @headers, @tenant, @created_at, @updated_at)`);
  const updateWebhook = db.prepare<[WebhookRow]>(`
    UPDATE runhooks_webhooks SET name = @name, url = @url, format = @format, global = @global, enabled = @enabled,
      secret = @secret, previous_secret = @previous_secret, previous_secret_expires_at = @previous_secret_expires_at,
      headers = @headers, tenant = @tenant, created_at = @created_at, updated_at = @updated_at
    WHERE id = @id`);
  const insertEvent = db.prepare<[string, string, number]>(
    "INSERT INTO runhooks_webhook_events (webhook_id, event, position) VALUES (?, ?, ?)",
  );
  const deleteEvents = db.prepare<[string]>("DELETE FROM runhooks_webhook_events WHERE webhook_id = ?");
  const deleteWebhook = db.prepare<[string]>("DELETE FROM runhooks_webhooks WHERE id = ?");
  const selectOne = db.prepare<[string], SelectedRow>(`${SELECT} WHERE w.id = ?`);

  // One prepared statement per filter shape (which fields are given), keyed by its WHERE clause: at most
  // 3 × 3 × 3 × 2 × 2 shapes, since `ids` is one JSON parameter however many ids it holds.
  const listStatements = new Map<string, Statement<unknown[], SelectedRow>>();
  const statementFor = (where: string): Statement<unknown[], SelectedRow> => {
    let statement = listStatements.get(where);
    if (statement === undefined) {
      statement = db.prepare<unknown[], SelectedRow>(`${SELECT} ${where} ${ORDER}`);
      listStatements.set(where, statement);
    }
    return statement;
  };

  const writeEvents = (id: string, events: readonly EventName[]): void => {
    deleteEvents.run(id);
    events.forEach((event, position) => insertEvent.run(id, event, position));
  };
  const create = db.transaction((record: WebhookRecord) => {
    insertWebhook.run(toRow(record));
    writeEvents(record.id, record.events);
  });
  const update = db.transaction((record: WebhookRecord): boolean => {
    if (updateWebhook.run(toRow(record)).changes === 0) return false;
    writeEvents(record.id, record.events);
    return true;
  });

  const select = (filter: WebhookFilter = {}): WebhookRecord[] => {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      where.push("w.id IN (SELECT value FROM json_each(?))");
      params.push(JSON.stringify(filter.ids));
    }
    if (filter.global !== undefined) {
      where.push("w.global = ?");
      params.push(filter.global ? 1 : 0);
    }
    if (filter.enabled !== undefined) {
      where.push("w.enabled = ?");
      params.push(filter.enabled ? 1 : 0);
    }
    if (filter.event !== undefined) {
      where.push(
        "EXISTS (SELECT 1 FROM runhooks_webhook_events e WHERE e.webhook_id = w.id AND e.event = ?)",
      );
      params.push(filter.event);
    }
    if (filter.forTenant === null) where.push("w.tenant IS NULL");
    else if (filter.forTenant !== undefined) {
      where.push("(w.tenant IS NULL OR w.tenant = ?)");
      params.push(filter.forTenant);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    return statementFor(clause)
      .all(...params)
      .map(fromRow);
  };

  return {
    create: (record) => settle(() => create(record)),
    get: (id) => settle(() => optional(selectOne.get(id))),
    list: (filter) => settle(() => select(filter)),
    update: (record) => settle(() => update(record)),
    remove: (id) => settle(() => deleteWebhook.run(id).changes > 0),
    close: () => {
      if (db.open) db.close();
    },
  };
}

function optional(row: SelectedRow | undefined): WebhookRecord | undefined {
  return row === undefined ? undefined : fromRow(row);
}

/** Runs `fn` now; what it throws becomes a rejection, as an async driver would report it. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function toRow(record: WebhookRecord): WebhookRow {
  const { events: _events, ...columns } = webhookToColumns(record);
  return { ...columns, global: record.global ? 1 : 0, enabled: record.enabled ? 1 : 0 };
}

function fromRow(row: SelectedRow): WebhookRecord {
  return webhookFromColumns({
    ...row,
    events: JSON.parse(row.events) as EventName[],
    global: row.global === 1,
    enabled: row.enabled === 1,
  });
}
