import type { DeliveryQueue, DeliveryWorker, DropReason } from "../delivery/queue.js";
import type { CircuitBreaker, CircuitChange, ResolvedCircuitBreaker } from "../delivery/circuit.js";
import type { SharedRateLimits } from "../delivery/rate-limit.js";
import type { Delivery } from "../delivery/types.js";
import type { RunEvent } from "../events.js";
import type { RunState } from "../run-tracker.js";

/** The notifier's limits a backend's in-memory parts keep to (the `createNotifier()` options). */
export interface BackendLimits {
  /** Deliveries that may wait or be attempted at once (`maxQueued`). */
  readonly maxQueued: number;
  /** Attempts in flight at once (`maxInFlight`). */
  readonly maxInFlight: number;
  /** Runs whose state is kept in memory (`maxRuns`). */
  readonly maxRuns: number;
}

/** What a backend may call on its notifier once started. */
export interface BackendHooks {
  /**
   * Fans out an event the run state recorded but nobody fanned out (found on start, or taken over from
   * a process whose lease expired): selects its webhooks and queues its deliveries, once.
   */
  fanOut(event: RunEvent): void;
  /** Reports a storage problem on the notifier's `error` channel. */
  error(error: Error): void;
}

/**
 * Where a notifier keeps what must outlive one call: the delivery queue (with attempt state and leases)
 * and the run state (which events of a run fired, the `api_failure` throttle, the run's totals).
 * `memoryBackend()` is the default; `sqliteBackend({ file })` (`runhooks/sqlite`) survives a killed
 * process. `testQueue()` and `testRunState()` in `runhooks/testing` check an implementation.
 */
export interface Backend {
  /** For messages: `memory`, `sqlite (./runhooks.db)`. Never a credential. */
  readonly name: string;
  /**
   * True when the run state records each event before the runner's call returns (an outbox): the
   * notifier then selects webhooks, formats and queues after the call, never within it.
   */
  readonly durable: boolean;
  /** Builds the run state. Called once, by `createNotifier()`. */
  runState(limits: BackendLimits): RunState;
  /**
   * Builds the delivery queue around the notifier's worker; `onDrop` reports a delivery dropped unsent.
   * Called once, by `createNotifier()`.
   */
  queue(
    worker: DeliveryWorker,
    onDrop: (delivery: Delivery, reason: DropReason) => void,
    limits: BackendLimits,
  ): DeliveryQueue;
  /**
   * The per-webhook rate limits' token buckets, for a backend that several processes share: each
   * webhook's limit (Slack's one message a second) then holds across all of them. Without it each
   * process keeps its own. Called once, by `createNotifier()`.
   */
  rateLimits?(): SharedRateLimits;
  /**
   * The circuit breakers, for a backend that several processes share: a webhook's failures add up
   * across them, its circuit opens for all, and one probe at a time goes out. Without it each process
   * keeps its own. Called once, by `createNotifier()`, unless `circuitBreaker: false`; `changed` reports
   * a change this process made.
   */
  circuits?(options: ResolvedCircuitBreaker, changed: (change: CircuitChange) => void): CircuitBreaker;
  /**
   * Resumes what an earlier process left: fans out pending events and starts the queue (`start()`).
   * Called once, right after the notifier is built, without waiting; `flush()` waits for it.
   */
  start?(hooks: BackendHooks): Promise<void>;
  /** Releases files and connections, after the queue closed. `notifier.close()` calls it. */
  close?(): Promise<void>;
}
