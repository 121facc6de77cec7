import type { DeliveryQueue } from "../../src/delivery/queue.js";

/**
 * A queue that hands every call to `inner` (its counts read through at each access), with the members
 * `patch` gives in their place. `start` and `close` are only those of `patch`: a wrapper says what its
 * queue starts and releases.
 */
export function forwarding(inner: DeliveryQueue, patch: Partial<DeliveryQueue> = {}): DeliveryQueue {
  const queue: DeliveryQueue = {
    enqueue: (deliveries, eventId) => {
      inner.enqueue(deliveries, eventId);
    },
    get queued() {
      return inner.queued;
    },
    get size() {
      return inner.size;
    },
    drain: () => inner.drain(),
    abandon: () => inner.abandon(),
  };
  // Descriptors, not a spread: a patched count may be a getter, read at each access too.
  return Object.defineProperties(queue, Object.getOwnPropertyDescriptors(patch));
}
