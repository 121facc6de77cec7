import type { EventName } from "../events.js";

/** One HTTP request a transport sends: always a POST. */
export interface TransportRequest {
  /** The parsed target URL. Never log it whole: for chat services the path or query is a credential. */
  url: URL;
  headers: Record<string, string>;
  body: string;
  /**
   * `body` as UTF-8, when the notifier has it encoded already (once per event and format, shared by
   * every webhook and every retry): send these bytes rather than encoding `body` again.
   */
  bytes?: Uint8Array | undefined;
}

/** What came back. The body is read only up to the transport's cap and is never echoed in reports. */
export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The first bytes of the response body (up to the transport's cap), as text. */
  body: string;
}

/**
 * Sends one request. `send` rejects only when no response arrived (network error, timeout); any
 * status code, 2xx or not, resolves. `httpTransport()` is the default.
 */
export interface Transport {
  /** Sends one request; resolves with any response, rejects only when none arrived. */
  send(request: TransportRequest): Promise<TransportResponse>;
  /** Releases sockets after in-flight requests complete. */
  close(): Promise<void>;
  /** Releases sockets now, failing in-flight requests. Used when `close()` times out. */
  destroy?(): Promise<void>;
}

/**
 * One delivery: an event formatted for one webhook. It holds what is safe to keep at rest: the webhook's
 * id but not its URL, headers or signing keys, which are credentials. Those are read from the store at
 * each attempt (`DeliveryTarget`), so a durable queue can store a delivery as it is, and a webhook
 * removed or disabled meanwhile is not sent to.
 */
export interface Delivery {
  /** The `webhook-id` header: the same on every attempt of this delivery, in every process. */
  readonly id: string;
  readonly event: EventName;
  readonly eventId: string;
  readonly runId: string;
  readonly webhookId: string;
  readonly webhookName: string;
  /** `scheme://host` of the target when it was queued, the only part of the URL that is shown. */
  readonly target: string;
  /**
   * The message's own headers: `content-type`, `user-agent`, `webhook-id` and the formatter's. Never the
   * webhook's configured headers (they may hold credentials): those come with the target at each attempt.
   */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** `body` as UTF-8, shared by every delivery of the same event and format. */
  readonly bytes?: Uint8Array | undefined;
  /** The format (for per-format rate limits). */
  readonly format: string;
  /** `Date.now()` when it was queued. */
  readonly queuedAt: number;
  /** `Date.now()` after which it is stale and dropped (the event's time plus its deadline). */
  readonly deadlineAt: number;
  /**
   * Whether the event supersedes a queued `in_progress` of its run: it says how the run ended, or is a
   * benchmark verdict (which comes right before `finished`).
   */
  readonly terminal: boolean;
  /**
   * Where earlier attempts left it, for a delivery a durable queue resumes (after a restart, or taken
   * over from a process that died): the attempts continue from there. Absent for a new delivery.
   */
  readonly progress?: DeliveryProgress | undefined;
}

/**
 * How far a delivery got: what a durable queue records after each failed attempt (`WorkerContext.progress`)
 * and hands back in `Delivery.progress`, so that the retry policy continues across processes.
 */
export interface DeliveryProgress {
  /** Attempts made so far (1 or more). */
  readonly attempts: number;
  /** Retries used, including the one scheduled next (a honoured `Retry-After` uses none). */
  readonly retriesUsed: number;
  /** `Date.now()` of the first attempt: the retry policy's `maxElapsedMs` counts from it. */
  readonly firstAttemptAt: number;
  /** `Date.now()` before which the next attempt must not start (the backoff or `Retry-After`). */
  readonly nextAttemptAt: number;
}

/**
 * Where a delivery goes, read from the store at attempt time: the webhook's URL, its configured headers
 * and its signing keys. Never stored with the delivery.
 */
export interface DeliveryTarget {
  /** The parsed URL. Never log it whole. */
  readonly url: URL;
  /** The webhook's configured headers, if any; the message's own headers win over them. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Keys to sign each attempt with (Standard Webhooks), when the webhook has a secret. */
  readonly signing?: ReadonlyArray<{ key: Buffer; until?: number | undefined }> | undefined;
}

/** How one attempt (or the whole delivery) ended. */
export type DeliveryOutcome =
  /** 2xx: delivered. */
  | "delivered"
  /** This attempt failed; another follows (`final: false`). */
  | "retrying"
  /** No 2xx, and no further attempt: see `reason`. */
  | "failed"
  /** Never sent, or not sent again: `reason` is `superseded`, `stale` or `overflow`. */
  | "dropped"
  /** The payload could not be built (the formatter threw); nothing was sent. */
  | "format_failed"
  /** `close()` gave up on it before it was delivered. */
  | "abandoned";

/**
 * A report for every attempt, final or not. Safe to log: the URL appears only as `scheme://host`, and
 * the response body is never included.
 */
export interface DeliveryReport {
  /** The `webhook-id` of the delivery. */
  deliveryId: string;
  webhookId: string;
  webhookName: string;
  /** `scheme://host` of the target. */
  target: string;
  event: EventName;
  eventId: string;
  runId: string;
  /** 1 for the first attempt; 0 when nothing was sent. */
  attempt: number;
  /** True when no further attempt of this delivery will follow. */
  final: boolean;
  ok: boolean;
  outcome: DeliveryOutcome;
  /** The HTTP status, when a response arrived. */
  status?: number | undefined;
  /** Time the attempt took, in milliseconds. */
  durationMs: number;
  /**
   * Why it ended this way, for `failed` and `dropped`: `http_<status>`, `network`, `retries_exhausted`,
   * `time_exhausted`, `retry_after_too_long`, `gone` (410: the webhook was disabled), `superseded`,
   * `stale`, `overflow`, `removed` (the webhook was deleted before the attempt), `disabled` (it was
   * disabled before the attempt).
   */
  reason?: string | undefined;
  /** For `retrying` after a `Retry-After`: milliseconds until the next attempt. */
  nextAttemptInMs?: number | undefined;
  /** True when this outcome disabled the webhook (410 Gone). */
  webhookDisabled?: boolean | undefined;
  /** What went wrong, when it did: the error's class, code and a message without secrets. */
  error?: { name: string; code?: string | undefined; message: string } | undefined;
}
