/**
 * @internal Rows of SQL tables to runhooks' objects and back, shared by the SQLite and PostgreSQL
 * backends and stores: SQL answers NULL where a field is absent, and each driver has its own types for
 * integers and booleans (better-sqlite3: numbers and 0/1; node-postgres: BIGINT as a string, booleans).
 *
 * @module
 */
import type { Delivery, DeliveryProgress } from "../delivery/types.js";
import type { EventName } from "../events.js";
import type { WebhookRecord } from "../webhooks/model.js";

/** An integer column as a driver returns it (node-postgres gives BIGINT as a string). */
type Integer = number | string;

/** @internal A delivery's columns (its body joined in), as the backends store them. */
export interface DeliveryColumns {
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
  queued_at: Integer;
  deadline_at: Integer;
  terminal: boolean | number;
  attempts: number | null;
  retries_used: number | null;
  first_attempt_at: Integer | null;
  next_attempt_at: Integer | null;
}

/** @internal The delivery a row holds, with its attempt state as `progress` once it has one. */
export function deliveryFromRow(row: DeliveryColumns): Delivery {
  const progress: DeliveryProgress | undefined =
    row.attempts === null
      ? undefined
      : {
          attempts: row.attempts,
          retriesUsed: row.retries_used ?? 0,
          firstAttemptAt: Number(row.first_attempt_at ?? row.queued_at),
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
    terminal: row.terminal === true || row.terminal === 1,
    ...(progress && { progress }),
  };
}

/** @internal A webhook's columns, with booleans and its events decoded by the driver's store. */
export interface WebhookColumns {
  id: string;
  name: string;
  url: string;
  format: string;
  events: readonly EventName[];
  global: boolean;
  enabled: boolean;
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  /** JSON object, as text. */
  headers: string | null;
  tenant: string | null;
  created_at: string;
  updated_at: string;
}

/** @internal A record's columns: absent fields as NULL, headers as JSON text. */
export function webhookToColumns(record: WebhookRecord): WebhookColumns {
  return {
    id: record.id,
    name: record.name,
    url: record.url,
    format: record.format,
    events: record.events,
    global: record.global,
    enabled: record.enabled,
    secret: record.secret ?? null,
    previous_secret: record.previousSecret ?? null,
    previous_secret_expires_at: record.previousSecretExpiresAt ?? null,
    headers: record.headers ? JSON.stringify(record.headers) : null,
    tenant: record.tenant ?? null,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

/** @internal The record in a row; the store contract wants absent fields left out, not NULL. */
export function webhookFromColumns(row: WebhookColumns): WebhookRecord {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    format: row.format,
    events: [...row.events],
    global: row.global,
    enabled: row.enabled,
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
