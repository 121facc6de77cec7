import type { EventName } from "../../events.js";
import type { WebhookRecord } from "../model.js";

/**
 * Which webhooks `list` returns. Every given field must match (AND); an absent field does not filter.
 * A database adapter should translate this into its query, so selection scales with the database.
 */
export interface WebhookFilter {
  /** Only webhooks with one of these ids. An empty array matches nothing. */
  ids?: readonly string[] | undefined;
  /** Only global (`true`) or only ad hoc (`false`) webhooks. */
  global?: boolean | undefined;
  /** Only webhooks subscribed to this event. */
  event?: EventName | undefined;
  /** Only enabled (`true`) or only disabled (`false`) webhooks. */
  enabled?: boolean | undefined;
  /**
   * Only webhooks that fire for runs of this tenant: those without a tenant, plus those of this tenant.
   * `null`: only webhooks without a tenant.
   */
  forTenant?: string | null | undefined;
}

/**
 * Where webhooks live. Implement it for your database; `memoryStore()` is the default.
 *
 * Every method but the optional `listNow` and `getNow` is async, and any may throw: the notifier turns a failure into an `error` report and the
 * runner is never affected. Records go in and come out whole (secrets and full URLs included: masking
 * is the notifier's job, not the store's).
 */
export interface SubscriptionStore {
  /** Stores a new webhook. Its id is new. */
  create(webhook: WebhookRecord): Promise<void>;
  /** The webhook with this id, or `undefined`. */
  get(id: string): Promise<WebhookRecord | undefined>;
  /** The webhooks that match `filter` (all of them without one), most recently updated first. */
  list(filter?: WebhookFilter): Promise<WebhookRecord[]>;
  /**
   * Optional: the same answer as `list`, synchronously, for a store that has its webhooks in memory
   * (the in-memory store; a cache in front of a database). When a store has it, the notifier selects
   * each event's webhooks with it, so that an event goes from the runner's call to the delivery queue
   * without a round trip through the promise queue. It may return the records it keeps rather than
   * copies: the notifier never changes them, and keeps what it works out from a frozen record for as
   * long as that same object comes back. Leave it out when answering needs I/O.
   */
  listNow?(filter?: WebhookFilter): readonly WebhookRecord[];
  /**
   * Optional: the same answer as `get`, synchronously, for a store that has its webhooks in memory. The
   * notifier reads each delivery's target (URL, headers, keys) from the store at every attempt: with
   * `getNow` that costs no round trip. The same rules as `listNow`: it may return the record it keeps,
   * and should be left out when answering needs I/O.
   */
  getNow?(id: string): WebhookRecord | undefined;
  /** Replaces the stored webhook with the same id. Resolves `false` when there is none. */
  update(webhook: WebhookRecord): Promise<boolean>;
  /** Deletes the webhook. Resolves `false` when there was none. */
  remove(id: string): Promise<boolean>;
}
