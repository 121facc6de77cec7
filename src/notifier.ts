import { hash, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { SafeEmitter, type Listener } from "./_emitter.js";
import { USER_AGENT } from "./_version.js";
import { createInternalBus, type EventBus } from "./bus.js";
import {
  ConfigError,
  FormatError,
  ValidationError,
  StoreError,
  describe,
  isRunhooksError,
  redactUrl,
  toValidationError,
  type RunhooksError,
} from "./errors.js";
import {
  EVENT_NAMES,
  isEventName,
  runEventSchema,
  runInfoSchema,
  type EventName,
  type RunEvent,
  type RunInfo,
} from "./events.js";
import type { FormatterDefinition } from "./formatters/define.js";
import { createRegistry, type FormatterRegistry } from "./formatters/registry.js";
import { render, type Rendered } from "./formatters/render.js";
import type { FormatContext, Formatter } from "./formatters/types.js";
import { sampleEvents } from "./testing/fixtures.js";
import { httpTransport } from "./delivery/http-transport.js";
import {
  createDeliverer,
  droppedReport,
  errorSummary,
  reportOf,
  type DeliveryCounters,
} from "./delivery/deliver.js";
import { memoryQueue, type DeliveryQueue, type DropReason, type QueueFactory } from "./delivery/queue.js";
import { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimit } from "./delivery/rate-limit.js";
import { addressPolicy, type AddressPolicy, type NetworkOptions } from "./delivery/address-guard.js";
import { secretKey, signatureHeader, type SigningKey } from "./delivery/signing.js";
import { DEFAULT_DEADLINES, resolveRetry, type ResolvedRetry, type RetryOptions } from "./delivery/retry.js";
import type { Delivery, DeliveryReport, Transport } from "./delivery/types.js";
import { createRunHandle, memoryRunState, type IgnoredCall, type RunHandle } from "./run-tracker.js";
import { createWebhooksApi, type WebhooksApi } from "./webhooks/api.js";
import { webhookInputSchema, type WebhookRecord } from "./webhooks/model.js";
import { selectTargets, selectTargetsNow, type Selection } from "./webhooks/select.js";
import { memoryStore } from "./webhooks/store/memory.js";
import type { SubscriptionStore } from "./webhooks/store/types.js";

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /**
   * Where webhooks are kept.
   * @default memoryStore()
   */
  store?: SubscriptionStore | undefined;
  /**
   * Extra formats, registered for this notifier only (`json`, `slack`, `teams` and `discord` are built
   * in). A formatter named like a built-in replaces it only with `replace: true`.
   */
  formatters?: ReadonlyArray<Formatter | FormatterDefinition> | undefined;
  /** How messages show names, numbers and times. */
  display?: DisplayOptions | undefined;
  /** How failed deliveries are retried; see {@link RetryOptions} for the defaults. */
  retry?: RetryOptions | undefined;
  /**
   * How late a delivery may still go out, per event, in milliseconds after the event. Later, it is
   * dropped and reported as `stale`. Defaults: `in_progress` 2 min, `started` 30 min, `api_failure`
   * 15 min, terminal events 24 h.
   */
  deadlines?: Partial<Record<EventName, number>> | undefined;
  /**
   * Requests per second per webhook, by format: `{ perSecond, burst }`, or `null` for no limit.
   * Defaults: slack 1/s (burst 3), teams 4/s, discord 0.5/s (burst 5), json unlimited.
   */
  rateLimits?: Record<string, RateLimit | null> | undefined;
  /**
   * Deliveries that may wait at once. Past it, the oldest non-terminal ones are dropped and reported:
   * memory stays bounded while an endpoint is down.
   * @default 10000
   */
  maxQueued?: number | undefined;
  /**
   * Deliveries attempted at once, across all webhooks (those waiting out a backoff do not count). A
   * fan-out to many webhooks proceeds this many at a time.
   * @default 128
   */
  maxInFlight?: number | undefined;
  /**
   * Builds the delivery queue, replacing the in-memory one (for a durable or shared queue). It gets
   * the worker that delivers one delivery, and the function to report a drop.
   */
  queue?: QueueFactory | undefined;
  /**
   * How requests are sent.
   * @default httpTransport({ network })
   */
  transport?: Transport | undefined;
  /**
   * Which addresses webhooks may point at. By default only public ones: webhook URLs with a private,
   * loopback or link-local IP are refused when created, and the default transport refuses such
   * addresses at connect time. Tests and demos on 127.0.0.1 pass `{ allowPrivate: true }`.
   */
  network?: NetworkOptions | undefined;
  /** Receives what the notifier has to say: deliveries at debug, warnings and errors. Never given a secret. */
  logger?: Logger | undefined;
  /**
   * After an `api_failure`, further 5xx responses of the run are collected for this many milliseconds
   * and sent with the next `api_failure`, so a failing system does not flood the channel.
   * @default 300000 (5 minutes)
   */
  apiFailureCooldownMs?: number | undefined;
}

/** Where the notifier logs. Any of the methods may be left out. Messages and data never hold a secret. */
export interface Logger {
  /** Every delivery report. */
  debug?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
  /** Not used yet; accepted so that common loggers fit. */
  info?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
  /** Warnings: ignored runner calls, unknown webhook ids, disabled webhooks. */
  warn?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
  /** Errors: a store or a listener that failed. */
  error?: ((message: string, data?: Record<string, unknown>) => void) | undefined;
}

/** How messages show names, numbers and times. */
export interface DisplayOptions {
  /**
   * The product name in message footers, e.g. your runner's name.
   * @default "runhooks"
   */
  productName?: string | undefined;
  /**
   * Locale for numbers (a BCP 47 tag).
   * @default "en-US"
   */
  locale?: string | undefined;
  /**
   * IANA time zone for times in messages.
   * @default "UTC"
   */
  timeZone?: string | undefined;
}

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
  /** Deliveries waiting now. */
  queued: number;
  /** Deliveries being attempted now. */
  inFlight: number;
}

/** Something non-fatal the operator may want to know. */
export interface NotifierWarning {
  /**
   * - `run_call_ignored`: a runner call would have broken the lifecycle and was ignored.
   * - `unknown_webhook`: a run named a webhook id the store does not know; the others still fired.
   * - `closed`: an event fired after `close()`; it was not delivered.
   * - `webhook_disabled`: an endpoint answered 410 Gone, so its webhook was disabled.
   */
  code: "run_call_ignored" | "unknown_webhook" | "closed" | "webhook_disabled";
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

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const DEFAULT_API_FAILURE_COOLDOWN_MS = 5 * 60_000;

/**
 * Creates a notifier: the webhooks feature of a load-test runner in one object.
 *
 * @example
 * const notifier = createNotifier();
 * await notifier.webhooks.create({ name: "ci", url, format: "json", events: ["finished"], global: true });
 * const run = notifier.run({ id: "run-42", testId: "t-7", name: "checkout" });
 * run.started();
 * run.finished();
 * await notifier.close();
 */
export function createNotifier(options: NotifierOptions = {}): Notifier {
  const store = options.store ?? memoryStore();
  const registry = createRegistry(options.formatters);
  let policy: AddressPolicy;
  try {
    policy = addressPolicy(options.network);
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  const transport = options.transport ?? httpTransport({ network: options.network });
  const cooldown = options.apiFailureCooldownMs ?? DEFAULT_API_FAILURE_COOLDOWN_MS;
  const display = resolveDisplay(options.display);
  let retry: ResolvedRetry;
  try {
    retry = resolveRetry(options.retry);
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  const deadlines = { ...DEFAULT_DEADLINES, ...options.deadlines };
  for (const [name, ms] of Object.entries(deadlines)) {
    if (!isEventName(name) || typeof ms !== "number" || !(ms > 0)) {
      throw new ConfigError(
        `deadlines.${name}: must be an event name with a positive number of milliseconds`,
      );
    }
  }
  if (!Number.isFinite(cooldown) || cooldown < 0) {
    throw new ConfigError("apiFailureCooldownMs: must be a finite number of milliseconds, 0 or more");
  }

  const channels: SafeEmitter<NotifierChannels> = new SafeEmitter<NotifierChannels>((error) => {
    if (error.channel !== "error" && channels.listenerCount("error") > 0) channels.emit("error", error);
    else process.emitWarning(error.message, { code: "RUNHOOKS_LISTENER_ERROR" });
  });
  const reportError = (error: RunhooksError): void => {
    safeLog(options.logger, "error", error.message, { code: error.code, name: error.name });
    if (channels.listenerCount("error") > 0) channels.emit("error", error);
    else if (!options.logger?.error) process.emitWarning(error.message, { code: "RUNHOOKS_ERROR" });
  };
  const logger = options.logger;
  const report = (delivery: DeliveryReport): void => {
    channels.emit("delivery", delivery);
    safeLog(logger, "debug", `delivery ${delivery.outcome}`, { ...delivery });
  };
  const warn = (warning: NotifierWarning): void => {
    channels.emit("warning", warning);
    safeLog(logger, "warn", warning.message, { code: warning.code });
  };

  const webhooks = createWebhooksApi(store, registry, reportError, policy);
  const { bus, publish } = createInternalBus();
  bus.on("error", reportError);
  const runState = memoryRunState();
  const counters: DeliveryCounters = { attempts: 0, delivered: 0, retried: 0, failed: 0, dropped: 0 };
  // Webhooks that answered 410, and when: deliveries queued before that are dropped, not sent.
  const goneAt = new Map<string, number>();
  const rateLimits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };
  for (const [format, limit] of Object.entries(rateLimits)) {
    if (limit !== null && !(limit.perSecond > 0 && Number.isFinite(limit.perSecond) && limit.burst >= 1)) {
      throw new ConfigError(`rateLimits.${format}: needs perSecond > 0 and burst >= 1, or null for no limit`);
    }
  }
  const deliverer = createDeliverer({
    transport,
    retry,
    limiter: new RateLimiter(rateLimits),
    counters,
    report,
    reporting: () => channels.listenerCount("delivery") > 0 || typeof options.logger?.debug === "function",
    gone: (delivery) => {
      if (goneAt.has(delivery.webhookId)) return;
      goneAt.set(delivery.webhookId, Date.now());
      void disableGone(delivery);
    },
    isGone: (delivery) => {
      const at = goneAt.get(delivery.webhookId);
      return at !== undefined && at >= delivery.queuedAt;
    },
  });
  const onDrop = (delivery: Delivery, reason: DropReason): void => {
    counters.dropped += 1;
    report(droppedReport(delivery, reason));
  };
  let queue: DeliveryQueue;
  try {
    queue = options.queue
      ? options.queue(deliverer, onDrop)
      : memoryQueue(deliverer, onDrop, { maxQueued: options.maxQueued, maxInFlight: options.maxInFlight });
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }

  // 410 Gone: the endpoint will never come back; stop sending to it and say so.
  const disableGone = async (delivery: Delivery): Promise<void> => {
    try {
      await webhooks.update(delivery.webhookId, { enabled: false });
      warn({
        code: "webhook_disabled",
        message: `Webhook ${delivery.webhookId} (${delivery.target}) answered 410 Gone and was disabled; re-enable it with webhooks.update(id, { enabled: true })`,
        webhookId: delivery.webhookId,
      });
    } catch (error) {
      reportError(
        isRunhooksError(error) ? error : new StoreError("update", describe(error), { cause: error }),
      );
    }
  };

  // Events of one run are dispatched one after another, so that a slow store lookup for an early
  // event cannot let a later event of the same run overtake it.
  const chains = new Map<string, Promise<void>>();
  const selecting = new Set<Promise<void>>();
  let closed = false;
  let abandoned = false;
  let abandonedLate = 0;
  let closing: Promise<FlushResult> | undefined;
  // Runs whose unknown ad hoc ids were already reported (once per run and id, not once per event).
  const warnedUnknown = new Set<string>();

  const dispatch = async (event: RunEvent): Promise<void> => {
    deliverTo(event, await selectTargets(store, event));
  };

  const deliverTo = (event: RunEvent, selection: Selection): void => {
    for (const problem of selection.problems) reportError(problem);
    for (const id of selection.unknownIds) {
      const key = `${event.run.id}\u0000${id}`;
      if (warnedUnknown.has(key)) continue;
      warnedUnknown.add(key);
      if (warnedUnknown.size > 10_000) warnedUnknown.clear();
      warn({
        code: "unknown_webhook",
        message: `Run ${event.run.id} names webhook ${id}, which does not exist; the other webhooks still fire`,
        runId: event.run.id,
        webhookId: id,
      });
    }
    const rendered = new Map<string, Rendered | FormatError>();
    const context = formatContext(display, event.run.links);
    const deadlineAt = (Date.parse(event.at) || Date.now()) + deadlines[event.event];
    for (const webhook of selection.targets) {
      const message = renderFor(event, webhook, registry, context, rendered);
      if (message instanceof FormatError) {
        counters.failed += 1;
        report(formatFailure(event, webhook, message));
      } else if (abandoned) {
        // close() already gave up: a lookup that finished afterwards must not start a delivery.
        report(abandonedReport(buildDelivery(event, webhook, message, deadlineAt)));
        abandonedLate += 1;
      } else queue.enqueue(buildDelivery(event, webhook, message, deadlineAt));
    }
  };

  const onEvent = (event: RunEvent): void => {
    if (closed) {
      warn({
        code: "closed",
        message: `The notifier is closed; ${event.event} of run ${event.run.id} was not delivered`,
        runId: event.run.id,
      });
      return;
    }
    const runId = event.run.id;
    const previous = chains.get(runId);
    if (previous === undefined) {
      // The in-memory store answers at once: select, format and queue now, with no promise in between.
      let selection: Selection | undefined;
      try {
        selection = selectTargetsNow(store, event);
        if (selection) deliverTo(event, selection);
      } catch (error) {
        reportError(
          isRunhooksError(error) ? error : new StoreError("select", describe(error), { cause: error }),
        );
        return;
      }
      if (selection) return;
    }
    // Without an earlier event of the run still being dispatched, start at once.
    const next = previous
      ? previous.then(
          () => dispatch(event),
          () => dispatch(event),
        )
      : dispatch(event);
    const tracked = next.then(undefined, (error: unknown) => {
      reportError(
        isRunhooksError(error) ? error : new StoreError("select", describe(error), { cause: error }),
      );
    });
    chains.set(runId, tracked);
    selecting.add(tracked);
    void tracked.finally(() => {
      selecting.delete(tracked);
      if (chains.get(runId) === tracked) chains.delete(runId);
    });
  };
  for (const name of EVENT_NAMES) bus.on(name, onEvent);

  const drainAll = async (): Promise<void> => {
    while (selecting.size > 0 || queue.size > 0) {
      await Promise.all(selecting);
      await queue.drain();
    }
  };

  const flush = async (flushOptions: FlushOptions = {}): Promise<FlushResult> => {
    const timeoutMs = flushOptions.timeoutMs;
    if (timeoutMs === undefined) {
      await drainAll();
      return { drained: true, pending: 0 };
    }
    const timer = new AbortController();
    const drained = await Promise.race([
      drainAll().then(() => true),
      delay(timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    return { drained, pending: drained ? 0 : queue.size + selecting.size };
  };

  const close = (closeOptions: CloseOptions = {}): Promise<FlushResult> => {
    closing ??= (async () => {
      closed = true;
      const result = await flush({ timeoutMs: closeOptions.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS });
      if (result.drained) {
        await transport.close();
        return result;
      }
      abandoned = true;
      const left = queue.abandon();
      for (const delivery of left) report(abandonedReport(delivery));
      await (transport.destroy ?? transport.close)();
      // Lookups still running report their deliveries as abandoned when they finish; wait a little for
      // them, but never hang on a store that does not answer.
      const timer = new AbortController();
      await Promise.race([
        Promise.all(selecting),
        delay(1000, undefined, { signal: timer.signal }).catch(() => undefined),
      ]);
      timer.abort();
      return { drained: false, pending: left.length + abandonedLate + selecting.size };
    })();
    return closing;
  };

  return {
    bus,
    webhooks,
    run(info) {
      const parsed = runInfoSchema.safeParse(info);
      if (!parsed.success) throw toValidationError("run info", "info", parsed.error);
      return createRunHandle(parsed.data, {
        state: runState,
        publish,
        apiFailureCooldownMs: cooldown,
        ignored: (call: IgnoredCall) => {
          warn({
            code: "run_call_ignored",
            message: `run.${call.call}() on run ${call.runId} was ignored: ${call.reason}`,
            runId: call.runId,
          });
        },
      });
    },
    preview(event, format) {
      const formatter = registry.get(format);
      if (!formatter) {
        throw new ValidationError("preview", [
          {
            path: "format",
            message: `unknown format "${format}"; registered formats: ${[...registry.keys()].join(", ")}`,
          },
        ]);
      }
      let full: RunEvent;
      if (typeof event === "string") {
        if (!isEventName(event)) {
          throw new ValidationError("preview", [
            { path: "event", message: `must be one of ${EVENT_NAMES.join(", ")}` },
          ]);
        }
        full = sampleEvents()[event];
      } else {
        const parsed = runEventSchema.safeParse(event);
        if (!parsed.success) throw toValidationError("event", "event", parsed.error);
        full = parsed.data as unknown as RunEvent;
      }
      const context = formatContext(display, full.run.links);
      const rendered = render(
        formatter,
        full,
        formatter.perWebhook ? { ...context, webhook: { id: "preview", name: "preview" } } : context,
      );
      return {
        format,
        body: rendered.body,
        size: rendered.size,
        headers: { ...rendered.headers, "content-type": rendered.contentType, "user-agent": USER_AGENT },
        warnings: rendered.warnings,
      };
    },
    async test(target) {
      const parsed = webhookInputSchema
        .pick({ url: true, format: true, headers: true, secret: true })
        .safeParse(withoutBody(target));
      if (!parsed.success) throw toValidationError("test target", "target", parsed.error);
      const { url, format, headers, secret } = parsed.data;
      // The same checks as a webhook gets on create: a registered format, an allowed address.
      const probe = createWebhooksApi(memoryStore(), registry, reportError, policy);
      await probe.create({ name: "test", url, format, events: ["started"], ...(headers && { headers }) });
      const event: RunEvent = {
        ...sampleEvents().started,
        id: `evt_test_${randomUUID()}`,
        at: new Date().toISOString(),
        run: { id: "runhooks-test", testId: "test", name: `Test message from ${display.productName}` },
      };
      const formatter = registry.get(format);
      if (!formatter) throw new ConfigError(`format "${format}" disappeared from the registry`);
      const message = target.body;
      const rendered =
        message === undefined
          ? render(formatter, event, formatContext(display, undefined))
          : {
              body: typeof message === "string" ? message : JSON.stringify(message),
              headers: {},
              contentType: "application/json",
            };
      const started = performance.now();
      const id = `msg_test_${randomUUID()}`;
      const timestamp = Math.floor(Date.now() / 1000);
      const requestHeaders: Record<string, string> = {
        ...headers,
        ...rendered.headers,
        "content-type": rendered.contentType,
        "user-agent": USER_AGENT,
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
      };
      if (secret !== undefined) {
        requestHeaders["webhook-signature"] = signatureHeader(
          [{ key: secretKey(secret) }],
          id,
          timestamp,
          rendered.body,
          Date.now(),
        );
      }
      try {
        const response = await transport.send({
          url: new URL(url),
          headers: requestHeaders,
          body: rendered.body,
        });
        const ok = response.status >= 200 && response.status < 300;
        return {
          ok,
          status: response.status,
          durationMs: performance.now() - started,
          ...(!ok && { error: `answered ${response.status}` }),
        };
      } catch (error) {
        return {
          ok: false,
          status: null,
          durationMs: performance.now() - started,
          error: errorSummary(error, redactUrl(url)).message,
        };
      }
    },
    formats: () => [...registry.keys()],
    stats: () => ({
      sent: counters.attempts,
      delivered: counters.delivered,
      retried: counters.retried,
      failed: counters.failed,
      dropped: counters.dropped,
      queued: queue.queued,
      inFlight: queue.size - queue.queued,
    }),
    on: (channel, listener) => channels.on(channel, listener),
    off: (channel, listener) => {
      channels.off(channel, listener);
    },
    flush,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

/**
 * Renders the event for one webhook. A rendering is shared by every webhook of the same format (the
 * expensive part, formatting and serialising, happens once per event and format), unless the formatter
 * needs the webhook itself. A failure is returned, not thrown.
 */
function renderFor(
  event: RunEvent,
  webhook: WebhookRecord,
  registry: FormatterRegistry,
  context: FormatContext,
  cache: Map<string, Rendered | FormatError>,
): Rendered | FormatError {
  const formatter = registry.get(webhook.format);
  if (!formatter) return new FormatError(webhook.format, "no formatter with this name is registered");
  const cached = formatter.perWebhook ? undefined : cache.get(formatter.name);
  if (cached) return cached;
  let result: Rendered | FormatError;
  try {
    result = render(
      formatter,
      event,
      formatter.perWebhook ? { ...context, webhook: { id: webhook.id, name: webhook.name } } : context,
    );
    if (result.overLimit !== undefined) {
      result = new FormatError(
        formatter.name,
        `the body is ${result.size} bytes, over the format's ${result.overLimit}-byte limit`,
      );
    }
  } catch (error) {
    result =
      error instanceof FormatError
        ? error
        : new FormatError(formatter.name, describe(error), { cause: error });
  }
  if (!formatter.perWebhook) cache.set(formatter.name, result);
  return result;
}

// Not Buffer.from: a small Buffer is a slice of a shared 8 KB pool, and a queued delivery holding one
// would keep the whole pool alive; an encoded array owns exactly its bytes.
const utf8 = new TextEncoder();

/** One delivery of a rendered message to one webhook. */
function buildDelivery(
  event: RunEvent,
  webhook: WebhookRecord,
  rendered: Rendered,
  deadlineAt: number,
): Delivery {
  const derived = derive(webhook);
  const id = deliveryId(event.id, webhook.id);
  let headers: Record<string, string>;
  if (webhook.headers === undefined && Object.keys(rendered.headers).length === 0) {
    headers = { "content-type": rendered.contentType, "user-agent": USER_AGENT, "webhook-id": id };
  } else {
    headers = { ...webhook.headers, ...rendered.headers };
    headers["content-type"] = rendered.contentType;
    headers["user-agent"] = USER_AGENT;
    headers["webhook-id"] = id;
  }
  return {
    id,
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: derived.target,
    url: derived.url,
    headers,
    body: rendered.body,
    bytes: (rendered.bytes ??= utf8.encode(rendered.body)),
    format: webhook.format,
    queuedAt: Date.now(),
    deadlineAt,
    terminal: TERMINAL.has(event.event),
    signing: derived.signing,
  };
}

interface Derived {
  url: URL;
  target: string;
  signing?: SigningKey[] | undefined;
}

// What each webhook needs for every delivery, worked out once per record. Only frozen records (the
// memory store's) are cached: they stay the same object while unchanged, and cannot change under us.
const derivedCache = new WeakMap<WebhookRecord, Derived>();

function derive(webhook: WebhookRecord): Derived {
  const cached = derivedCache.get(webhook);
  if (cached) return cached;
  const url = new URL(webhook.url);
  const derived: Derived = { url, target: redactUrl(url) };
  if (webhook.secret !== undefined) derived.signing = signingKeysOf(webhook);
  if (Object.isFrozen(webhook)) derivedCache.set(webhook, derived);
  return derived;
}

// A terminal delivery supersedes a queued in_progress; benchmark verdicts end the run as well.
const TERMINAL: ReadonlySet<EventName> = new Set([
  "aborted",
  "failed",
  "finished",
  "benchmark_passed",
  "benchmark_failed",
]);

function signingKeysOf(webhook: WebhookRecord): SigningKey[] {
  const keys: SigningKey[] = [];
  if (webhook.secret !== undefined) keys.push({ key: secretKey(webhook.secret) });
  if (webhook.previousSecret !== undefined) {
    const until = Date.parse(webhook.previousSecretExpiresAt ?? "");
    if (Number.isFinite(until)) keys.push({ key: secretKey(webhook.previousSecret), until });
  }
  return keys;
}

/**
 * Calls the logger as a method (loggers such as pino need their `this`). A logger that throws must not
 * break delivery.
 */
function safeLog(
  logger: Logger | undefined,
  level: "debug" | "warn" | "error",
  message: string,
  data: Record<string, unknown>,
): void {
  try {
    logger?.[level]?.(message, data);
  } catch {
    // Logging is best effort.
  }
}

/** The `webhook-id` of one event's delivery to one webhook: stable across attempts and processes. */
function deliveryId(eventId: string, webhookId: string): string {
  return `msg_${hash("sha256", `${eventId}\u0000${webhookId}`, "base64url").slice(0, 26)}`;
}

function formatFailure(event: RunEvent, webhook: WebhookRecord, error: FormatError): DeliveryReport {
  const identity = {
    id: deliveryId(event.id, webhook.id),
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: redactUrl(webhook.url),
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
  };
  const report = reportOf(identity, 0, "format_failed", 0);
  report.error = { name: error.name, code: error.code, message: error.message };
  return report;
}

function abandonedReport(delivery: Delivery): DeliveryReport {
  const report = reportOf(delivery, 0, "abandoned", Date.now() - delivery.queuedAt);
  report.error = { name: "Abandoned", message: "close() timed out before this delivery was done" };
  return report;
}

/** What a formatter is told besides the event; built for every event, so written out, not spread. */
function formatContext(
  display: Omit<FormatContext, "links" | "webhook">,
  links: FormatContext["links"] | undefined,
): FormatContext {
  return {
    productName: display.productName,
    locale: display.locale,
    timeZone: display.timeZone,
    links: links ?? [],
  };
}

function resolveDisplay(display: DisplayOptions = {}): Omit<FormatContext, "links" | "webhook"> {
  const productName = display.productName ?? "runhooks";
  const locale = display.locale ?? "en-US";
  const timeZone = display.timeZone ?? "UTC";
  if (typeof productName !== "string" || productName.trim() === "" || productName.length > 100) {
    throw new ConfigError("display.productName: must be a non-empty string of at most 100 characters");
  }
  try {
    new Intl.NumberFormat(locale);
  } catch {
    throw new ConfigError(`display.locale: "${locale}" is not a valid locale tag, e.g. en-US`);
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new ConfigError(`display.timeZone: "${timeZone}" is not an IANA time zone, e.g. Europe/Berlin`);
  }
  return { productName, locale, timeZone };
}

/** A test target without its message: the rest is checked as a webhook's fields are. */
function withoutBody(target: TestTarget): Omit<TestTarget, "body"> {
  const { body: _message, ...where } = target;
  return where;
}
