import pRetry from "p-retry";
import type { CircuitBreaker } from "./circuit.js";
import type { RateLimiter } from "./rate-limit.js";
import { attemptReport, droppedReport, errorSummary, reasonOf, type Attempt } from "./reports.js";
import { DELIVERED, FAIL, RETRY, classifyStatus, type ResolvedRetry } from "./retry.js";
import type { DeliveryWorker, WorkerContext } from "./queue.js";
import { attemptRequest } from "./request.js";
import type { Delivery, DeliveryProgress, DeliveryReport, DeliveryTarget, Transport } from "./types.js";

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
  /** The circuit breakers, unless turned off. */
  circuits?: CircuitBreaker | undefined;
  /**
   * The webhook's target at attempt time, read from the store (synchronously when the store can), or
   * why there is none: it was `removed` or `disabled` since the delivery was queued. A rejection (the
   * store failed) makes the attempt a retryable failure.
   */
  resolve: (delivery: Delivery) => Resolution | Promise<Resolution>;
}

/** @internal Where a delivery goes now, or why it goes nowhere. */
export type Resolution = DeliveryTarget | "removed" | "disabled";

/** The attempts and retries made before this worker took the delivery, and when the first began. */
interface Earlier {
  readonly attempts: number;
  readonly retries: number;
  /** `Date.now()` of the first attempt (or of this worker's start, for a new delivery). */
  readonly startedAt: number;
}

/** How a delivery's attempts ended: the last one, and why none followed when the attempt does not say. */
interface Ending {
  attempt: Attempt;
  reason?: string | undefined;
}

/**
 * Ends a delivery without a further attempt, as dropped: its webhook answered 410 to an earlier delivery
 * (`gone`), was removed or disabled since (`removed`, `disabled`), or an open circuit held it back past
 * its event's deadline before any attempt (`stale`).
 */
class Unsent extends Error {
  constructor(readonly reason: "gone" | "removed" | "disabled" | "stale") {
    super(`not sent: ${reason}`);
  }
}

/**
 * Carries an attempt through p-retry, which handles only `Error`s. Nobody reads its stack, and capturing
 * one costs more than the rest of a retry's bookkeeping: it is made without.
 */
class AttemptError extends Error {
  readonly attempt: Attempt;
  constructor(attempt: Attempt, message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.attempt = attempt;
  }
}

/** A retryable failure: p-retry tries again unless it is out of retries or time. */
class RetryableAttempt extends AttemptError {
  constructor(attempt: Attempt) {
    super(attempt, "retryable attempt");
  }
}

/** Ends the retries for a reason p-retry has no notion of (`retry_after_too_long`, `stale`). */
class StopRetrying extends AttemptError {
  readonly reason: string;
  constructor(attempt: Attempt, reason: string) {
    super(attempt, reason);
    this.reason = reason;
  }
}

/**
 * @internal Delivers one delivery: the first attempt directly, then, after a retryable failure, p-retry
 * with exponential backoff and jitter. `Retry-After` (429/503) is waited out without using up a retry;
 * time limits and the event's deadline bound it all. Reports every attempt. Never rejects.
 */
export function createDeliverer(deps: DelivererDeps): DeliveryWorker {
  const { counters } = deps;

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

  return async (delivery, context) => {
    const resumed = delivery.progress;
    // What an earlier process did (nothing, for a new delivery): the counts go on from there. Time is
    // counted on the wall clock, which a delivery resumed in another process shares.
    const earlier: Earlier = {
      attempts: resumed?.attempts ?? 0,
      retries: resumed?.retriesUsed ?? 0,
      startedAt: resumed?.firstAttemptAt ?? Date.now(),
    };
    let last: Attempt | undefined;
    try {
      if (resumed !== undefined) await context.sleep(Math.max(0, resumed.nextAttemptAt - Date.now()));
      last = await attemptOnce(deps, delivery, earlier.attempts + 1, context);
      if (context.aborted) return;
      // Most deliveries end at their first attempt: p-retry takes over only after a retryable failure.
      // Wrapping every delivery in it cost ~2 µs of CPU each (+50%, with a stub transport).
      if (last.verdict.kind !== "retry") {
        finish(delivery, last);
        return;
      }
      const ending = await retryAfter(deps, delivery, context, last, earlier);
      if (!isAborted(context)) finish(delivery, ending.attempt, ending.reason);
    } catch (error) {
      // Aborted (dropped or abandoned by the queue, which reported it): nothing more to say.
      if (context.aborted) return;
      if (error instanceof Unsent) {
        counters.dropped += 1;
        deps.report(droppedReport(delivery, error.reason));
      }
      // Anything else is a bug of ours (or a delivery a custom queue handed back broken); it still gets
      // its final report, never silence.
      else
        finish(
          delivery,
          last ?? { number: 1, verdict: FAIL, durationMs: 0, error: errorSummary(error, delivery.target) },
          "internal_error",
        );
    }
  };
}

/**
 * The attempts after a retryable first one, on p-retry. p-retry counts the retries (a honoured
 * `Retry-After` uses none: `shouldConsumeRetry`) and the time since the first attempt (`maxRetryTime`),
 * and gives up when either runs out. `shouldRetry`, which p-retry calls only while both last, adds the
 * limits p-retry has no notion of, then reports the failure and waits. The waits are not p-retry's own
 * (`minTimeout: 0`): its timer cannot lend the delivery's attempt slot to another, the context's sleep
 * does (and ends at once when the delivery is abandoned).
 *
 * A resumed delivery (`Delivery.progress`) continues the count: its attempt numbers, retries and time
 * go on from where the earlier process left them.
 *
 * Resolves with the last attempt and why no further one followed. Rejects when the webhook went away
 * (`Unsent`) or the queue aborted the work.
 */
async function retryAfter(
  deps: DelivererDeps,
  delivery: Delivery,
  context: WorkerContext,
  first: Attempt,
  earlier: Earlier,
): Promise<Ending> {
  const { retry } = deps;
  // p-retry counts only its own retries: those an earlier process used are taken off its budget.
  const retries = Math.max(0, retry.retries - earlier.retries);
  let last = first;
  let retriesLeft = retries;
  try {
    await pRetry(
      async (number) => {
        // Attempt 1 was made before p-retry started: it is p-retry's first failure.
        if (number === 1) throw new RetryableAttempt(first);
        last = await attemptOnce(deps, delivery, earlier.attempts + number, context, last);
        // Delivered, failed for good or aborted: p-retry resolves, and `last` says which.
        if (last.verdict.kind === "retry" && !context.aborted) throw new RetryableAttempt(last);
      },
      {
        retries,
        // Counted from the first attempt, which began before p-retry did (in another process, maybe).
        maxRetryTime: Math.max(0, retry.maxElapsedMs - (Date.now() - earlier.startedAt)),
        // No delay of p-retry's own: `beforeRetry` waits, through the context. Every option p-retry would
        // default is given: it copies the options and adds what is missing, and that growing copy cost
        // ~7 µs per call on Node 20, more than the rest of a retry.
        minTimeout: 0,
        maxTimeout: 0,
        factor: 1,
        randomize: false,
        onFailedAttempt: (state) => {
          // Only a retryable attempt is retried: anything else thrown (the webhook gone, an abort, a bug
          // of ours) ends the delivery at once.
          if (!(state.error instanceof RetryableAttempt)) throw state.error;
          retriesLeft = state.retriesLeft;
        },
        shouldConsumeRetry: ({ error }) => honouredRetryAfter(retry, attemptOf(error)) === undefined,
        shouldRetry: ({ error, retriesConsumed }) =>
          beforeRetry(deps, delivery, context, attemptOf(error), earlier, retriesConsumed),
      },
    );
    return { attempt: last };
  } catch (error) {
    if (error instanceof StopRetrying) return { attempt: error.attempt, reason: error.reason };
    // p-retry gave up by itself. Out of both? Then the retries are what ran out, as the policy reads.
    if (error instanceof RetryableAttempt)
      return { attempt: error.attempt, reason: retriesLeft > 0 ? "time_exhausted" : "retries_exhausted" };
    if (error instanceof Unsent || context.aborted) throw error;
    // A bug of ours: the delivery still ends with its last attempt's report.
    return { attempt: last, reason: "internal_error" };
  }
}

/**
 * p-retry's `shouldRetry`, for a retryable failure with a retry and time left: ends the retries when the
 * server asks for a longer wait than `maxRetryAfterMs` or the next attempt would come too late for the
 * event; otherwise counts and reports the failure as retrying, tells the queue how far the delivery got
 * (a durable queue records it), waits (the `Retry-After`, else the backoff for the retries used) and
 * checks the deadline again.
 */
async function beforeRetry(
  deps: DelivererDeps,
  delivery: Delivery,
  context: WorkerContext,
  attempt: Attempt,
  earlier: Earlier,
  retriesConsumed: number,
): Promise<boolean> {
  const { retry } = deps;
  const retryAfterMs = attempt.verdict.kind === "retry" ? attempt.verdict.retryAfterMs : undefined;
  if (retryAfterMs !== undefined && retryAfterMs > retry.maxRetryAfterMs)
    throw new StopRetrying(attempt, "retry_after_too_long");
  if (Date.now() + (retryAfterMs ?? 0) > delivery.deadlineAt) throw new StopRetrying(attempt, "stale");
  const honoured = honouredRetryAfter(retry, attempt);
  deps.counters.retried += 1;
  if (deps.reporting()) {
    const report = attemptReport(delivery, attempt, "retrying");
    if (honoured !== undefined) report.nextAttemptInMs = honoured;
    deps.report(report);
  }
  const used = earlier.retries + retriesConsumed;
  const wait = honoured ?? backoff(retry, used);
  if (context.progress) {
    const progress: DeliveryProgress = {
      attempts: attempt.number,
      retriesUsed: honoured === undefined ? used + 1 : used,
      firstAttemptAt: earlier.startedAt,
      nextAttemptAt: Date.now() + wait,
    };
    context.progress(progress);
  }
  await context.sleep(wait);
  // The wait may have outlived the event's usefulness.
  if (Date.now() > delivery.deadlineAt) throw new StopRetrying(attempt, "stale");
  return true;
}

/**
 * The `Retry-After` wait to honour after `attempt`, or `undefined` for the normal backoff. One shorter
 * than the first backoff (0, or a date in the past) is no reason to hurry: the backoff applies, and the
 * retry counts.
 */
function honouredRetryAfter(retry: ResolvedRetry, attempt: Attempt): number | undefined {
  const retryAfterMs = attempt.verdict.kind === "retry" ? attempt.verdict.retryAfterMs : undefined;
  return retryAfterMs !== undefined && retryAfterMs >= retry.minDelayMs ? retryAfterMs : undefined;
}

/** The attempt p-retry's callbacks are about: `onFailedAttempt` lets only a `RetryableAttempt` through. */
function attemptOf(error: Error): Attempt {
  if (error instanceof RetryableAttempt) return error.attempt;
  throw error;
}

/** A function, not a property read, so that TypeScript does not carry an old narrowing across awaits. */
function isAborted(context: WorkerContext): boolean {
  return context.aborted;
}

/**
 * @internal The wait before retry number `consumed + 1`: the first backoff doubled per retry already used,
 * times a random jitter from 1 to 2, at most `maxDelayMs`. p-retry's own formula (`minTimeout`, `factor: 2`,
 * `randomize`, `maxTimeout`), computed here because the wait is ours.
 */
export function backoff(retry: ResolvedRetry, consumed: number): number {
  return Math.min(Math.round((Math.random() + 1) * retry.minDelayMs * 2 ** consumed), retry.maxDelayMs);
}

/**
 * One attempt: waits for the rate limit, sends (signed per attempt) and classifies the answer. Throws
 * `Unsent` when the webhook went away meanwhile, and the context's rejection when the work is aborted
 * while it waits; a transport's failure is the attempt's result, not a throw.
 */
async function attemptOnce(
  deps: DelivererDeps,
  delivery: Delivery,
  number: number,
  context: WorkerContext,
  previous?: Attempt,
): Promise<Attempt> {
  // Most formats are unlimited or under their limit: only wait (asynchronously) when told to.
  const taken = deps.limiter.take(delivery.webhookId, delivery.format, Date.now());
  const wait = typeof taken === "number" ? taken : await taken;
  if (wait > 0) {
    await context.sleep(wait);
    await rateLimit(delivery, deps.limiter, context);
  }
  if (deps.isGone(delivery)) throw new Unsent("gone");
  let target: Resolution;
  const resolving = performance.now();
  try {
    const resolved = deps.resolve(delivery);
    target = resolved instanceof Promise ? await resolved : resolved;
  } catch (error) {
    // The store failed: nothing was sent, and nothing is known of the endpoint. Try again later.
    const durationMs = performance.now() - resolving;
    return { number, verdict: RETRY, durationMs, error: errorSummary(error, delivery.target) };
  }
  if (typeof target === "string") throw new Unsent(target);
  // Taken back while it waited for its token or its target (a durable queue's job given to another
  // process, an overflow): not sent. Past this point nothing may throw between a probe's admission and
  // its send: the circuit waits for its outcome.
  if (context.aborted) throw new Error("aborted before its attempt");
  if (deps.circuits) await heldBack(deps, deps.circuits, delivery, context, previous);
  deps.counters.attempts += 1;
  const started = performance.now();
  const request = attemptRequest(delivery, target, Date.now());
  try {
    const response = await deps.transport.send(request);
    const verdict = classifyStatus(response.status, response.headers, Date.now());
    const attempt: Attempt = {
      number,
      verdict,
      status: response.status,
      durationMs: performance.now() - started,
    };
    if (verdict !== DELIVERED)
      attempt.error = { name: "HttpError", message: `${delivery.target} answered ${response.status}` };
    // The endpoint is there unless it answered with a server error; a 429 is an answer too.
    deps.circuits?.record(
      delivery.webhookId,
      delivery.target,
      verdict.kind === "retry" && response.status !== 429,
      Date.now(),
    );
    return attempt;
  } catch (error) {
    const summary = errorSummary(error, delivery.target);
    // A refused address is a decision, not an accident: trying again cannot help. Nothing was sent,
    // so it says nothing of the endpoint either.
    const blocked = summary.code === "ERR_ADDRESS_BLOCKED";
    if (!blocked) deps.circuits?.record(delivery.webhookId, delivery.target, true, Date.now());
    return {
      number,
      verdict: blocked ? FAIL : RETRY,
      durationMs: performance.now() - started,
      error: summary,
    };
  }
}

/**
 * Holds a delivery back while its webhook's circuit is open, waiting through the context (so the wait
 * can be taken back, and lends the attempt slot). Past the event's deadline it gives up: as stale after
 * an earlier attempt, else as a delivery dropped unsent (`Unsent("stale")`).
 */
async function heldBack(
  deps: DelivererDeps,
  circuits: CircuitBreaker,
  delivery: Delivery,
  context: WorkerContext,
  previous: Attempt | undefined,
): Promise<void> {
  const admit = (): number | Promise<number> => circuits.admit(delivery.webhookId, Date.now());
  let admitted = admit();
  for (let wait = typeof admitted === "number" ? admitted : await admitted; wait > 0;) {
    await context.sleep(wait);
    if (deps.isGone(delivery)) throw new Unsent("gone");
    if (Date.now() > delivery.deadlineAt)
      throw previous ? new StopRetrying(previous, "stale") : new Unsent("stale");
    admitted = admit();
    wait = typeof admitted === "number" ? admitted : await admitted;
  }
}

async function rateLimit(delivery: Delivery, limiter: RateLimiter, context: WorkerContext): Promise<void> {
  for (;;) {
    const wait = await limiter.take(delivery.webhookId, delivery.format, Date.now());
    if (wait === 0) return;
    await context.sleep(wait);
  }
}
