import type { Delivery } from "./types.js";

/**
 * Holds deliveries until they are done. An interface so that a durable or shared queue (a database,
 * Redis) can replace the in-memory default without changing the notifier.
 */
export interface DeliveryQueue {
  /** Accepts a delivery. Never blocks and never throws for delivery problems. */
  enqueue(delivery: Delivery): void;
  /** Deliveries queued or in flight. */
  readonly size: number;
  /** Resolves when nothing is queued or in flight (including what is enqueued meanwhile). */
  drain(): Promise<void>;
  /** Gives up on everything not yet done and returns it; their later outcomes are not reported. */
  abandon(): Delivery[];
}

/** @internal Does the work of one delivery: every attempt, and its reports. Never rejects. */
export type DeliveryWorker = (delivery: Delivery, isAbandoned: () => boolean) => Promise<void>;

/**
 * @internal The in-memory queue: each delivery starts at once and is tracked until its worker settles.
 */
export function memoryQueue(worker: DeliveryWorker): DeliveryQueue {
  const active = new Set<Delivery>();
  const abandoned = new WeakSet<Delivery>();
  let waiters: Array<() => void> = [];

  const settle = (delivery: Delivery): void => {
    active.delete(delivery);
    if (active.size === 0) {
      const done = waiters;
      waiters = [];
      for (const resolve of done) resolve();
    }
  };

  return {
    enqueue(delivery) {
      active.add(delivery);
      void worker(delivery, () => abandoned.has(delivery)).finally(() => {
        settle(delivery);
      });
    },
    get size() {
      return active.size;
    },
    drain() {
      if (active.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    abandon() {
      const left = [...active];
      for (const delivery of left) {
        abandoned.add(delivery);
        settle(delivery);
      }
      return left;
    },
  };
}
