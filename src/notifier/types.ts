import type { CircuitState } from "../delivery/circuit.js";
import type { Listener } from "../_emitter.js";
import type { EventBus } from "../bus.js";
import type { RunhooksError } from "../errors.js";
import type { EventName, RunEvent, RunInfo } from "../events.js";
import type { DeliveryReport } from "../delivery/types.js";
import type { RunHandle } from "../run-tracker.js";
import type { WebhooksApi } from "../webhooks/api.js";

/** What `notifier.preview()` returns: exactly what would be sent, without sending it. */
export interface Preview {
  format: string;
  /** The request body. */
  body: string;
  /** Its size in bytes (UTF-8). */
  size: number;
  /**
   * The request headers, without the per-delivery ones (`webhook-id`, `webhook-timestamp`,
   * `webhook-signature`) and without the webhook's own headers.
   */
  headers: Record<string, string>;
  /** What a person should know: text that was cut, a body over the format's limit. */
  warnings: string[];
}

/** Where `notifier.test()` sends. */
export interface TestTarget {
  url: string;
  format: string;
  /** Extra headers, as a webhook would have. */
  headers?: Record<string, string> | undefined;
  /** A `whsec_` secret to sign the test message with. */
  secret?: string | undefined;
  /**
   * The message to send instead of the format's rendering of a sample `started` event: an object is sent
   * as JSON, a string as it is (`application/json` either way). The admin's Predator mode sends
   * Predator's greeting this way.
   */
  body?: string | Readonly<Record<string, unknown>> | undefined;
}

/** What `notifier.test()` found. */
export interface TestResult {
  /** A 2xx answer. */
  ok: boolean;
  /** The HTTP status, or `null` when no response came. */
  status: number | null;
  durationMs: number;
  /** Why it failed, without the URL's path or the response body. */
  error?: string | undefined;
}

/** What `notifier.stats()` returns. */
export interface NotifierStats {
  /** Requests sent (every attempt). */
  sent: number;
  /** Deliveries that got a 2xx. */
  delivered: number;
  /** Attempts that failed and were retried. */
  retried: number;
  /** Deliveries that finally failed (including format failures). */
  failed: number;
  /** Deliveries dropped unsent: superseded, stale or over the queue cap. */
  dropped: number;
  /** Deliveries waiting for their first attempt now. */
  queued: number;
  /**
   * Deliveries started and not done: being attempted now, or between attempts (waiting out a backoff,
   * a rate limit or an open circuit). `queued + inFlight` is what counts against `maxQueued`.
   */
  inFlight: number;
  /** Webhooks whose circuit is open now: their deliveries are held back (see `circuits()`). */
  openCircuits: number;
}

/** Something non-fatal the operator may want to know. */
export interface NotifierWarning {
  /**
   * - `run_call_ignored`: a runner call would have broken the lifecycle and was ignored.
   * - `unknown_webhook`: a run named a webhook id the store does not know; the others still fired.
   * - `closed`: an event fired after `close()`; it was not delivered.
   * - `webhook_disabled`: an endpoint answered 410 Gone, or its circuit stayed open past
   *   `circuitBreaker.disableAfterMs`, so its webhook was disabled.
   * - `circuit_open`: a webhook failed `circuitBreaker.failures` attempts in a row; its deliveries are
   *   held back and one probe at a time tests it.
   * - `circuit_closed`: a probe got an answer; the held-back deliveries go out.
   */
  code:
    | "run_call_ignored"
    | "unknown_webhook"
    | "closed"
    | "webhook_disabled"
    | "circuit_open"
    | "circuit_closed";
  message: string;
  runId?: string | undefined;
  webhookId?: string | undefined;
}

/** What `notifier.on()` can listen to. */
export interface NotifierChannels {
  /** Every attempt's outcome, final or not. */
  delivery: DeliveryReport;
  /** Non-fatal problems: ignored runner calls, unknown webhook ids. */
  warning: NotifierWarning;
  /** Failures outside a single delivery: a store that throws, a listener that throws. */
  error: RunhooksError;
}

/** Options of `flush()`. */
export interface FlushOptions {
  /** Stop waiting after this many milliseconds. Without it, waits until everything is done. */
  timeoutMs?: number | undefined;
}

/** Options of `close()`. */
export interface CloseOptions {
  /**
   * How long to wait for queued deliveries before abandoning them.
   * @default 30000
   */
  timeoutMs?: number | undefined;
}

/** What `flush()` and `close()` resolve with. */
export interface FlushResult {
  /** True when everything queued was done in time. */
  drained: boolean;
  /** Deliveries still queued or in flight when it returned (for `close()`: abandoned and reported). */
  pending: number;
}

/** The notifier: webhooks, runs, and their deliveries. Create one per process with {@link createNotifier}. */
export interface Notifier {
  /** The event bus. Listen to lifecycle events, or emit your own (the raw path, not de-duplicated). */
  readonly bus: EventBus;
  /** Manage webhooks. */
  readonly webhooks: WebhooksApi;
  /**
   * Starts tracking a run. Calling it again with the same run id returns a handle on the same run:
   * events that already fired do not fire again.
   * @throws {ValidationError} for invalid run info, naming the field.
   */
  run(info: RunInfo): RunHandle;
  /**
   * Renders an event in a format without sending it. Pass an event, or an event name for a sample
   * event of that kind.
   * @throws {ValidationError} for an unknown format or an invalid event.
   * @throws {FormatError} when the formatter throws.
   */
  preview(event: RunEvent | EventName, format: string): Preview;
  /**
   * Sends one test message to a URL in a format, now, without saving anything: Predator's "test
   * webhook". One attempt, no retries; the address guard applies; the response body is never returned.
   * @throws {ValidationError} for an invalid URL or an unknown format.
   */
  test(target: TestTarget): Promise<TestResult>;
  /** The names of the formats webhooks of this notifier can use: the built-ins, then the registered ones. */
  formats(): string[];
  /** Counters since the notifier was created, and what is queued now. */
  stats(): NotifierStats;
  /** The webhooks whose circuit is open now, and when each one's next probe may go. */
  circuits(): CircuitState[];
  /** Listens to deliveries, warnings or errors; returns a function that stops listening. */
  on<K extends keyof NotifierChannels>(channel: K, listener: Listener<NotifierChannels[K]>): () => void;
  /** Stops listening. */
  off<K extends keyof NotifierChannels>(channel: K, listener: Listener<NotifierChannels[K]>): void;
  /** Waits until every event fired so far is delivered (or has finally failed). */
  flush(options?: FlushOptions): Promise<FlushResult>;
  /**
   * Stops accepting events, waits for queued deliveries (up to `timeoutMs`), reports every delivery it
   * had to abandon, and releases sockets. Never hangs on a dead endpoint. Idempotent.
   */
  close(options?: CloseOptions): Promise<FlushResult>;
  /** Same as `close()`, for `await using notifier = createNotifier()`. */
  [Symbol.asyncDispose](): Promise<void>;
}
