import { createHash } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { SafeEmitter, type Listener } from "./_emitter.js";
import { USER_AGENT } from "./_version.js";
import { createInternalBus, type EventBus } from "./bus.js";
import {
  ConfigError,
  FormatError,
  StoreError,
  describe,
  isRunhooksError,
  redactUrl,
  toValidationError,
  type RunhooksError,
} from "./errors.js";
import { EVENT_NAMES, runInfoSchema, type RunEvent, type RunInfo } from "./events.js";
import { createRegistry, type FormatterRegistry } from "./formatters/registry.js";
import type { Formatter } from "./formatters/types.js";
import { httpTransport } from "./delivery/http-transport.js";
import { memoryQueue, type DeliveryQueue } from "./delivery/queue.js";
import type { Delivery, DeliveryReport, Transport } from "./delivery/types.js";
import { createRunHandle, memoryRunState, type IgnoredCall, type RunHandle } from "./run-tracker.js";
import { createWebhooksApi, type WebhooksApi } from "./webhooks/api.js";
import type { WebhookRecord } from "./webhooks/model.js";
import { selectTargets } from "./webhooks/select.js";
import { memoryStore } from "./webhooks/store/memory.js";
import type { SubscriptionStore } from "./webhooks/store/types.js";

/** Options of {@link createNotifier}. */
export interface NotifierOptions {
  /**
   * Where webhooks are kept.
   * @default memoryStore()
   */
  store?: SubscriptionStore | undefined;
  /** Extra formats, registered for this notifier only. `json` is built in. */
  formatters?: readonly Formatter[] | undefined;
  /**
   * How requests are sent.
   * @default httpTransport()
   */
  transport?: Transport | undefined;
  /**
   * After an `api_failure`, further 5xx responses of the run are collected for this many milliseconds
   * and sent with the next `api_failure`, so a failing system does not flood the channel.
   * @default 300000 (5 minutes)
   */
  apiFailureCooldownMs?: number | undefined;
}

/** Something non-fatal the operator may want to know. */
export interface NotifierWarning {
  /**
   * - `run_call_ignored`: a runner call would have broken the lifecycle and was ignored.
   * - `unknown_webhook`: a run named a webhook id the store does not know; the others still fired.
   * - `closed`: an event fired after `close()`; it was not delivered.
   */
  code: "run_call_ignored" | "unknown_webhook" | "closed";
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
  const transport = options.transport ?? httpTransport();
  const cooldown = options.apiFailureCooldownMs ?? DEFAULT_API_FAILURE_COOLDOWN_MS;
  if (!Number.isFinite(cooldown) || cooldown < 0) {
    throw new ConfigError("apiFailureCooldownMs: must be a finite number of milliseconds, 0 or more");
  }

  const channels: SafeEmitter<NotifierChannels> = new SafeEmitter<NotifierChannels>((error) => {
    if (error.channel !== "error" && channels.listenerCount("error") > 0) channels.emit("error", error);
    else process.emitWarning(error.message, { code: "RUNHOOKS_LISTENER_ERROR" });
  });
  const reportError = (error: RunhooksError): void => {
    if (channels.listenerCount("error") > 0) channels.emit("error", error);
    else process.emitWarning(error.message, { code: "RUNHOOKS_ERROR" });
  };
  const report = (delivery: DeliveryReport): void => {
    channels.emit("delivery", delivery);
  };
  const warn = (warning: NotifierWarning): void => {
    channels.emit("warning", warning);
  };

  const { bus, publish } = createInternalBus();
  bus.on("error", reportError);
  const runState = memoryRunState();
  const queue: DeliveryQueue = memoryQueue((delivery, isAbandoned) =>
    attempt(delivery, transport, (r) => {
      if (!isAbandoned()) report(r);
    }),
  );

  // Events of one run are dispatched one after another, so that a slow store lookup for an early
  // event cannot let a later event of the same run overtake it.
  const chains = new Map<string, Promise<void>>();
  const selecting = new Set<Promise<void>>();
  let closed = false;
  let closing: Promise<FlushResult> | undefined;

  const dispatch = async (event: RunEvent): Promise<void> => {
    const selection = await selectTargets(store, event);
    for (const problem of selection.problems) reportError(problem);
    for (const id of selection.unknownIds) {
      warn({
        code: "unknown_webhook",
        message: `Run ${event.run.id} names webhook ${id}, which does not exist; the other webhooks still fire`,
        runId: event.run.id,
        webhookId: id,
      });
    }
    for (const webhook of selection.targets) {
      const delivery = buildDelivery(event, webhook, registry);
      if (delivery instanceof FormatError) report(formatFailure(event, webhook, delivery));
      else queue.enqueue(delivery);
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
    const next = (chains.get(runId) ?? Promise.resolve()).then(
      () => dispatch(event),
      () => dispatch(event),
    );
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
      const left = queue.abandon();
      for (const delivery of left) report(abandonedReport(delivery));
      await (transport.destroy ?? transport.close)();
      return { drained: false, pending: left.length };
    })();
    return closing;
  };

  const webhooks = createWebhooksApi(store, registry, reportError);

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

/** Formats the event for one webhook; a formatter failure is returned, not thrown. */
function buildDelivery(
  event: RunEvent,
  webhook: WebhookRecord,
  registry: FormatterRegistry,
): Delivery | FormatError {
  const formatter = registry.get(webhook.format);
  if (!formatter) return new FormatError(webhook.format, "no formatter with this name is registered");
  let body: string;
  let extraHeaders: Record<string, string> | undefined;
  try {
    const message = formatter.format(event, { webhook: { id: webhook.id, name: webhook.name } });
    body = typeof message.body === "string" ? message.body : JSON.stringify(message.body);
    extraHeaders = message.headers;
  } catch (error) {
    return new FormatError(webhook.format, describe(error), { cause: error });
  }
  const url = new URL(webhook.url);
  const headers: Record<string, string> = {
    ...webhook.headers,
    ...extraHeaders,
    "content-type": formatter.contentType ?? "application/json",
    "user-agent": USER_AGENT,
  };
  const id = deliveryId(event.id, webhook.id);
  headers["webhook-id"] = id;
  return {
    id,
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: redactUrl(url),
    url,
    headers,
    body,
    queuedAt: Date.now(),
  };
}

/** The `webhook-id` of one event's delivery to one webhook: stable across attempts and processes. */
function deliveryId(eventId: string, webhookId: string): string {
  return `msg_${createHash("sha256").update(`${eventId}\u0000${webhookId}`).digest("base64url").slice(0, 26)}`;
}

/** One attempt: send, classify, report. Never rejects. */
async function attempt(
  delivery: Delivery,
  transport: Transport,
  report: (r: DeliveryReport) => void,
): Promise<void> {
  const started = performance.now();
  const headers = { ...delivery.headers, "webhook-timestamp": String(Math.floor(Date.now() / 1000)) };
  const base = reportBase(delivery);
  try {
    const response = await transport.send({ url: delivery.url, headers, body: delivery.body });
    const ok = response.status >= 200 && response.status < 300;
    report({
      ...base,
      attempt: 1,
      final: true,
      ok,
      outcome: ok ? "delivered" : "failed",
      status: response.status,
      durationMs: performance.now() - started,
      ...(ok
        ? {}
        : { error: { name: "HttpError", message: `${delivery.target} answered ${response.status}` } }),
    });
  } catch (error) {
    report({
      ...base,
      attempt: 1,
      final: true,
      ok: false,
      outcome: "failed",
      durationMs: performance.now() - started,
      error: errorSummary(error, delivery.target),
    });
  }
}

function reportBase(
  delivery: Delivery,
): Pick<
  DeliveryReport,
  "deliveryId" | "webhookId" | "webhookName" | "target" | "event" | "eventId" | "runId"
> {
  return {
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    webhookName: delivery.webhookName,
    target: delivery.target,
    event: delivery.event,
    eventId: delivery.eventId,
    runId: delivery.runId,
  };
}

function errorSummary(error: unknown, target: string): NonNullable<DeliveryReport["error"]> {
  if (isRunhooksError(error)) return { name: error.name, code: error.code, message: error.message };
  // Not one of ours: keep only the class name, since a foreign message may quote the full URL.
  const name = error instanceof Error ? error.name : "Error";
  return { name, message: `Request to ${target} failed (${name})` };
}

function formatFailure(event: RunEvent, webhook: WebhookRecord, error: FormatError): DeliveryReport {
  return {
    deliveryId: deliveryId(event.id, webhook.id),
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: redactUrl(webhook.url),
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
    attempt: 0,
    final: true,
    ok: false,
    outcome: "format_failed",
    durationMs: 0,
    error: { name: error.name, code: error.code, message: error.message },
  };
}

function abandonedReport(delivery: Delivery): DeliveryReport {
  return {
    ...reportBase(delivery),
    attempt: 0,
    final: true,
    ok: false,
    outcome: "abandoned",
    durationMs: Date.now() - delivery.queuedAt,
    error: { name: "Abandoned", message: "close() timed out before this delivery was done" },
  };
}
