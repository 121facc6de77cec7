/**
 * A SubscriptionStore over SQLite (better-sqlite3), the worked example of docs/custom-store.md.
 *
 * The database does the filtering: `list(filter)` becomes one SQL query, with an index on the
 * webhook/event mapping, as a production adapter for Postgres or MySQL would.
 */
import Database from "better-sqlite3";
import type { EventName, SubscriptionStore, WebhookFilter, WebhookRecord } from "runhooks";

/** A SubscriptionStore you can also close. */
export interface SqliteStore extends SubscriptionStore {
  close(): void;
}

interface WebhookRow {
  id: string;
  name: string;
  url: string;
  format: string;
  global: number;
  enabled: number;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  headers: string | null;
  tenant: string | null;
  created_at: string;
  updated_at: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS runhooks_webhooks (
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
  CREATE INDEX IF NOT EXISTS runhooks_webhooks_by_global ON runhooks_webhooks (global, enabled);
`;

/**
 * Opens (and if needed creates) the webhook tables in the SQLite database at `filename`.
 *
 * @example
 * const notifier = createNotifier({ store: sqliteStore("./webhooks.db") });
 */
export function sqliteStore(filename: string): SqliteStore {
  const db = new Database(filename);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.exec(SCHEMA);

  const insertWebhook = db.prepare(`
    INSERT INTO runhooks_webhooks (id, name, url, format, global, enabled, secret, previous_secret,
      previous_secret_expires_at, headers, tenant, created_at, updated_at)
    VALUES (@id, @name, @url, @format, @global, @enabled, @secret, @previous_secret,
      @previous_secret_expires_at, @headers, @tenant, @created_at, @updated_at)`);
  const updateWebhook = db.prepare(`
    UPDATE runhooks_webhooks SET name = @name, url = @url, format = @format, global = @global, enabled = @enabled,
      secret = @secret, previous_secret = @previous_secret, previous_secret_expires_at = @previous_secret_expires_at,
      headers = @headers, tenant = @tenant, created_at = @created_at, updated_at = @updated_at
    WHERE id = @id`);
  const insertEvent = db.prepare(
    "INSERT INTO runhooks_webhook_events (webhook_id, event, position) VALUES (?, ?, ?)",
  );
  const deleteEvents = db.prepare("DELETE FROM runhooks_webhook_events WHERE webhook_id = ?");
  const deleteWebhook = db.prepare("DELETE FROM runhooks_webhooks WHERE id = ?");

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
      where.push(`w.id IN (${filter.ids.map(() => "?").join(", ")})`);
      params.push(...filter.ids);
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
    const rows = db
      .prepare(
        `SELECT w.*, (SELECT json_group_array(event) FROM
           (SELECT event FROM runhooks_webhook_events WHERE webhook_id = w.id ORDER BY position)) AS events
         FROM runhooks_webhooks w
         ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY w.updated_at DESC, w.id`,
      )
      .all(...params) as Array<WebhookRow & { events: string }>;
    return rows.map(fromRow);
  };

  // better-sqlite3 is synchronous; the store contract is async so that network databases fit it too.
  // `settle` turns a thrown error into a rejection, as an async database driver would report it.
  return {
    create: (record) => settle(() => create(record)),
    get: (id) => settle(() => select({ ids: [id] })[0]),
    list: (filter) => settle(() => select(filter)),
    update: (record) => settle(() => update(record)),
    remove: (id) => settle(() => deleteWebhook.run(id).changes > 0),
    close: () => {
      db.close();
    },
  };
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function toRow(record: WebhookRecord): WebhookRow {
  return {
    id: record.id,
    name: record.name,
    url: record.url,
    format: record.format,
    global: record.global ? 1 : 0,
    enabled: record.enabled ? 1 : 0,
    secret: record.secret ?? null,
    previous_secret: record.previousSecret ?? null,
    previous_secret_expires_at: record.previousSecretExpiresAt ?? null,
    headers: record.headers ? JSON.stringify(record.headers) : null,
    tenant: record.tenant ?? null,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

function fromRow(row: WebhookRow & { events: string }): WebhookRecord {
  // SQL answers NULL for "absent"; the store contract wants absent fields left out.
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    format: row.format,
    events: JSON.parse(row.events) as EventName[],
    global: row.global === 1,
    enabled: row.enabled === 1,
    ...(row.secret !== null && { secret: row.secret }),
    ...(row.previous_secret !== null && { previousSecret: row.previous_secret }),
    ...(row.previous_secret_expires_at !== null && {
      previousSecretExpiresAt: row.previous_secret_expires_at,
    }),
    ...(row.headers !== null && { headers: JSON.parse(row.headers) as Record<string, string> }),
    ...(row.tenant !== null && { tenant: row.tenant }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
