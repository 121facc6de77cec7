import { createDeliverer, type DeliveryCounters } from "../delivery/deliver.js";
import { memoryQueue, type DeliveryQueue, type DropReason } from "../delivery/queue.js";
import { RateLimiter } from "../delivery/rate-limit.js";
import { droppedReport } from "../delivery/reports.js";
import type { Delivery } from "../delivery/types.js";
import type { Outlet } from "./channels.js";
import type { GonePolicy } from "./gone.js";
import { asConfigError, type ResolvedOptions } from "./options.js";

/**
 * @internal The delivery half of the pipeline: the worker that attempts one delivery (retries, rate
 * limits, the 410 policy) and the queue that runs it, the in-memory one or the user's.
 */
export function createDeliveryQueue(
  options: ResolvedOptions,
  outlet: Outlet,
  counters: DeliveryCounters,
  gone: GonePolicy,
): DeliveryQueue {
  const worker = createDeliverer({
    transport: options.transport,
    retry: options.retry,
    limiter: new RateLimiter(options.rateLimits),
    counters,
    report: outlet.report,
    reporting: outlet.reporting,
    ...gone,
  });
  const onDrop = (delivery: Delivery, reason: DropReason): void => {
    counters.dropped += 1;
    outlet.report(droppedReport(delivery, reason));
  };
  return asConfigError(() =>
    options.queue
      ? options.queue(worker, onDrop)
      : memoryQueue(worker, onDrop, { maxQueued: options.maxQueued, maxInFlight: options.maxInFlight }),
  );
}
