import { countOption } from "../_check.js";
import { Lanes } from "./_lanes.js";
import type { Delivery, DeliveryProgress } from "./types.js";

/**
 * Holds deliveries until they are done. An interface so that a durable or shared queue (a database,
 * Redis) can replace the in-memory default without changing the notifier; `testQueue()` in
 * `runhooks/testing` checks an implementation.
 */
export interface DeliveryQueue {
  /**
   * Resumes what an earlier process left: a durable queue takes the deliveries that were pending or
   * retrying (or whose lease expired) and runs them. The notifier calls it once, right after building
   * the queue, without waiting; `flush()` and `close()` wait for it. Rejects only when the queue cannot
   * work at all (the notifier reports it).
   */
  start?(): Promise<void>;
  /**
   * Accepts the deliveries of one event (none, when no webhook matched) and records that the event's
   * fan-out is done. A durable queue commits both in one transaction before it returns, and queues
   * nothing when the event was fanned out already (by another process, or before a restart): each
   * event's deliveries are queued once. Never blocks on the network and never throws for delivery
   * problems.
   */
  enqueue(deliveries: readonly Delivery[], eventId: string): void;
  /** Deliveries waiting (not yet being attempted). */
  readonly queued: number;
  /** Deliveries waiting or being attempted. */
  readonly size: number;
  /** Resolves when nothing is queued or in flight (including what is enqueued meanwhile). */
  drain(): Promise<void>;
  /**
   * Gives up on everything not yet done in this process and returns it; their later outcomes are not
   * reported. Later enqueues are refused (reported as abandoned by the notifier). A durable queue keeps
   * them stored: a later process resumes them.
   */
  abandon(): Delivery[];
  /** Releases what the queue holds (files, connections, leases), after it drained or abandoned. */
  close?(): Promise<void>;
}

/** Why the queue dropped a delivery without sending it. */
export type DropReason = "superseded" | "stale" | "overflow";

/**
 * What a worker gets besides the delivery: whether the queue still wants the work, and how to wait.
 * A custom queue provides both.
 */
export interface WorkerContext {
  /**
   * True once the queue gave up on this work (the in-memory queue: `abandon()`, on `close()` after its
   * timeout; a durable one also when it lost the delivery's lease). The worker then stops without
   * reporting more: whoever abandoned it reports it.
   */
  readonly aborted: boolean;
  /**
   * Waits `ms` milliseconds (a backoff, a `Retry-After`, a rate limit). Rejects with an `Error` as soon
   * as the work is aborted, and at once if it already is. A queue that bounds the attempts in flight
   * lends the delivery's turn to another meanwhile and resolves once it has it back (the in-memory
   * queue's `maxInFlight`: waiting is not attempting).
   */
  sleep(ms: number): Promise<void>;
  /**
   * Optional: called after each failed attempt that will be retried, with how far the delivery got. A
   * durable queue records it and hands it back in `Delivery.progress` when it resumes the delivery in
   * another process, so the retry policy continues there.
   */
  progress?(progress: DeliveryProgress): void;
}

/** Does the work of one delivery: every attempt, and its reports. Never rejects. */
export type DeliveryWorker = (delivery: Delivery, context: WorkerContext) => Promise<void>;

/** @internal The default `maxQueued`. */
export const DEFAULT_MAX_QUEUED = 10_000;
/** @internal The default `maxInFlight`. */
export const DEFAULT_MAX_IN_FLIGHT = 128;

/** Options of the in-memory queue. */
export interface MemoryQueueOptions {
  /**
   * Deliveries that may wait or be attempted at once, across all webhooks. Past it, one is taken back
   * from the webhook holding the most: its oldest delivery of a non-terminal event (then its oldest of
   * any) that is not being attempted right now, waiting or backing off. Each drop is reported.
   * @default 10000
   */
  maxQueued?: number | undefined;
  /**
   * Deliveries attempted at once, across all webhooks. A delivery waiting out a backoff or a rate limit
   * does not count: only attempts do. The rest wait their turn in order, as queue entries rather than
   * as requests already built.
   * @default 128
   */
  maxInFlight?: number | undefined;
}

/**
 * @internal The in-memory queue. One lane per (webhook, run): a lane sends one delivery at a time, in
 * the order events fired, so a run's events reach a webhook in lifecycle order even while an earlier
 * one is retrying. Lanes run independently: a dead endpoint delays only its own lanes.
 * @throws {RangeError} when `maxQueued` or `maxInFlight` is not a whole number of 1 or more.
 */
export function memoryQueue(
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  options: MemoryQueueOptions = {},
  now: () => number = Date.now,
): DeliveryQueue {
  const maxQueued = countOption("maxQueued", options.maxQueued ?? DEFAULT_MAX_QUEUED);
  const maxInFlight = countOption("maxInFlight", options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const lanes = new Lanes({ worker, onDrop, maxQueued, maxInFlight, now });
  // A plain object over the lanes, so that the queue's surface is exactly the interface.
  return {
    enqueue: (deliveries) => {
      for (const delivery of deliveries) lanes.enqueue(delivery);
    },
    get queued() {
      return lanes.queued;
    },
    get size() {
      return lanes.size;
    },
    drain: () => lanes.drain(),
    abandon: () => lanes.abandon(),
  };
}
