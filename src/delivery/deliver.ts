import { isRunhooksError } from "../errors.js";
import type { RateLimiter } from "./rate-limit.js";
import { signatureHeader } from "./signing.js";
import { DELIVERED, FAIL, RETRY, classifyStatus, type ResolvedRetry, type Verdict } from "./retry.js";
import type { WorkerContext } from "./queue.js";
import type { Delivery, DeliveryReport, Transport } from "./types.js";

/** @internal Counters behind `notifier.stats()`. */
export interface DeliveryCounters {
  attempts: number;
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
}

/** @internal What the worker needs from the notifier. */
export interface DelivererDeps {
  transport: Transport;
  retry: ResolvedRetry;
  limiter: RateLimiter;
  counters: DeliveryCounters;
  report: (report: DeliveryReport) => void;
  /** Whether anyone takes reports: building them costs, and most attempts succeed unobserved. */
  reporting: () => boolean;
  /** A 410 Gone: the notifier disables the webhook. */
  gone: (delivery: Delivery) => void;
  /** Whether the webhook went away (410) after this delivery was queued: then it is not sent. */
  isGone: (delivery: Delivery) => boolean;
}

interface Attempt {
  number: number;
  verdict: Verdict;
  status?: number | undefined;
  durationMs: number;
  error?: DeliveryReport["error"];
}

/** The webhook answered 410 to an earlier delivery: this one is not sent. */
class GoneWebhook extends Error {
  constructor() {
    super("webhook gone");
  }
}

/**
 * @internal Delivers one delivery: attempts with exponential backoff and jitter for retryable failures.
 * `Retry-After` (429/503) is waited out without using up a retry; time limits and the event's deadline
 * bound it all. Reports every attempt. Never rejects.
 */
export function createDeliverer(
  deps: DelivererDeps,
): (delivery: Delivery, context: WorkerContext) => Promise<void> {
  const { retry, counters } = deps;

  const sendOnce = async (delivery: Delivery, number: number, context: WorkerContext): Promise<Attempt> => {
    // Most formats are unlimited or under their limit: only wait (asynchronously) when told to.
    const wait = deps.limiter.take(delivery.webhookId, delivery.format, Date.now());
    if (wait > 0) {
      await pause(context, wait);
      await rateLimit(delivery, deps.limiter, context);
    }
    if (deps.isGone(delivery)) throw new GoneWebhook();
    counters.attempts += 1;
    const started = performance.now();
    // Timestamp and signature are per attempt: a receiver's replay window counts from this send.
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    const headers: Record<string, string> = {};
    for (const name in delivery.headers) headers[name] = delivery.headers[name] as string;
    headers["webhook-timestamp"] = String(timestamp);
    // A durable queue that stored the delivery as JSON gives `bytes` back as a plain object: use the text.
    const bytes = delivery.bytes instanceof Uint8Array ? delivery.bytes : undefined;
    if (delivery.signing && delivery.signing.length > 0) {
      headers["webhook-signature"] = signatureHeader(
        delivery.signing,
        delivery.id,
        timestamp,
        bytes ?? delivery.body,
        now,
      );
    }
    try {
      const response = await deps.transport.send({ url: delivery.url, headers, body: delivery.body, bytes });
      const verdict = classifyStatus(response.status, response.headers, Date.now());
      const attempt: Attempt = {
        number,
        verdict,
        status: response.status,
        durationMs: performance.now() - started,
      };
      if (verdict !== DELIVERED)
        attempt.error = { name: "HttpError", message: `${delivery.target} answered ${response.status}` };
      return attempt;
    } catch (error) {
      const summary = errorSummary(error, delivery.target);
      // A refused address is a decision, not an accident: trying again cannot help.
      const verdict = summary.code === "ERR_ADDRESS_BLOCKED" ? FAIL : RETRY;
      return { number, verdict, durationMs: performance.now() - started, error: summary };
    }
  };

  const finish = (delivery: Delivery, attempt: Attempt, reason?: string): void => {
    const ok = attempt.verdict.kind === "delivered";
    if (ok) counters.delivered += 1;
    else counters.failed += 1;
    const gone = attempt.verdict.kind === "disable";
    if (gone) deps.gone(delivery);
    if (!deps.reporting()) return;
    const report = attemptReport(delivery, attempt, ok ? "delivered" : "failed");
    if (!ok) report.reason = reason ?? reasonOf(attempt);
    if (gone) report.webhookDisabled = true;
    deps.report(report);
  };

  const dropGone = (delivery: Delivery): void => {
    counters.dropped += 1;
    deps.report(droppedReport(delivery, "gone"));
  };

  /** Why no further attempt follows this retryable failure, or `undefined` to go on. */
  const stopReason = (
    delivery: Delivery,
    attempt: Attempt,
    retriesLeft: number,
    firstAt: number,
  ): string | undefined => {
    const retryAfterMs = attempt.verdict.kind === "retry" ? attempt.verdict.retryAfterMs : undefined;
    const now = Date.now();
    if (retriesLeft <= 0) return "retries_exhausted";
    if (now - firstAt >= retry.maxElapsedMs) return "time_exhausted";
    if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs) return "retry_after_too_long";
    if (now + (retryAfterMs ?? 0) > delivery.deadlineAt) return "stale";
    return undefined;
  };

  // A plain loop rather than a retry library: most deliveries never retry, and for those that do the
  // loop costs a timer, where p-retry cost ~15 µs of CPU per retried delivery (docs/performance.md).
  return async (delivery, context) => {
    const firstAt = Date.now();
    let attempt: Attempt | undefined;
    let consumed = 0;
    try {
      for (let number = 1; ; number++) {
        attempt = await sendOnce(delivery, number, context);
        if (isAborted(context)) return;
        if (attempt.verdict.kind !== "retry") {
          finish(delivery, attempt);
          return;
        }
        const reason = stopReason(delivery, attempt, retry.retries - consumed, firstAt);
        if (reason !== undefined) {
          finish(delivery, attempt, reason);
          return;
        }
        const retryAfterMs = attempt.verdict.retryAfterMs;
        // A Retry-After shorter than the first backoff (0, or a date in the past) is no reason to hurry:
        // the normal backoff applies, and the retry counts.
        const honoured = retryAfterMs !== undefined && retryAfterMs >= retry.minDelayMs;
        counters.retried += 1;
        if (deps.reporting()) {
          const report = attemptReport(delivery, attempt, "retrying");
          if (honoured) report.nextAttemptInMs = retryAfterMs;
          deps.report(report);
        }
        await pause(context, honoured ? retryAfterMs : backoff(retry, consumed++));
        // The backoff may have outlived the event's usefulness.
        if (Date.now() > delivery.deadlineAt) {
          finish(delivery, attempt, "stale");
          return;
        }
      }
    } catch (error) {
      // Aborted (dropped or abandoned by the queue, which reported it): nothing more to say.
      if (isAborted(context)) return;
      if (error instanceof GoneWebhook) dropGone(delivery);
      // Anything else is a bug of ours (or a delivery a custom queue handed back broken); it still gets
      // its final report, never silence.
      else
        finish(
          delivery,
          attempt ?? { number: 1, verdict: FAIL, durationMs: 0, error: errorSummary(error, delivery.target) },
          "internal_error",
        );
    }
  };
}

/**
 * @internal The wait before retry number `consumed + 1`: the first backoff doubled per retry already used, times
 * a random jitter from 1 to 2, at most `maxDelayMs`.
 */
export function backoff(retry: ResolvedRetry, consumed: number): number {
  return Math.min(Math.round((Math.random() + 1) * retry.minDelayMs * 2 ** consumed), retry.maxDelayMs);
}

/**
 * @internal A report about `delivery`: which delivery it is, then how this attempt ended. Built as one
 * literal (reports go out for every attempt when anyone listens, so no spreads); optional fields are
 * added by the caller.
 */
export function reportOf(
  delivery: Pick<Delivery, "id" | "webhookId" | "webhookName" | "target" | "event" | "eventId" | "runId">,
  attempt: number,
  outcome: DeliveryReport["outcome"],
  durationMs: number,
): DeliveryReport {
  return {
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    webhookName: delivery.webhookName,
    target: delivery.target,
    event: delivery.event,
    eventId: delivery.eventId,
    runId: delivery.runId,
    attempt,
    final: outcome !== "retrying",
    ok: outcome === "delivered",
    outcome,
    durationMs,
  };
}

/** @internal The final report of a delivery that was never sent (or not sent again). */
export function droppedReport(delivery: Delivery, reason: string): DeliveryReport {
  const report = reportOf(delivery, 0, "dropped", 0);
  report.reason = reason;
  return report;
}

/** The report of an attempt that was made. */
function attemptReport(
  delivery: Delivery,
  attempt: Attempt,
  outcome: DeliveryReport["outcome"],
): DeliveryReport {
  const report = reportOf(delivery, attempt.number, outcome, attempt.durationMs);
  if (attempt.status !== undefined) report.status = attempt.status;
  if (attempt.error) report.error = attempt.error;
  return report;
}

function reasonOf(attempt: Attempt): string {
  if (attempt.verdict.kind === "disable") return "gone";
  return attempt.status === undefined
    ? attempt.error?.code === "ERR_ADDRESS_BLOCKED"
      ? "blocked"
      : "network"
    : `http_${attempt.status}`;
}

/** @internal A report-safe summary of whatever a transport threw. */
export function errorSummary(error: unknown, target: string): NonNullable<DeliveryReport["error"]> {
  if (isRunhooksError(error)) return { name: error.name, code: error.code, message: error.message };
  // Not one of ours: keep only the class name, since a foreign message may quote the full URL.
  const name = error instanceof Error ? error.name : "Error";
  return { name, message: `Request to ${target} failed (${name})` };
}

async function rateLimit(delivery: Delivery, limiter: RateLimiter, context: WorkerContext): Promise<void> {
  for (;;) {
    const wait = limiter.take(delivery.webhookId, delivery.format, Date.now());
    if (wait === 0) return;
    await pause(context, wait);
  }
}

/** Waits, ending early (rejecting) when the queue aborts the work: the queue's own sleep if it has one. */
function pause(context: WorkerContext, ms: number): Promise<void> {
  return context.sleep ? context.sleep(ms) : sleep(ms, context.signal);
}

/**
 * A function, not a property read, so that TypeScript does not carry an old narrowing across awaits.
 * `aborted` first: reading `signal` may create it.
 */
function isAborted(context: WorkerContext): boolean {
  return context.aborted ?? context.signal.aborted;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
