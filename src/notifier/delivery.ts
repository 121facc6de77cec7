import { Circuits } from "../delivery/circuit.js";
import { formatDuration } from "../formatters/_text.js";
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
  circuits: Circuits | undefined,
): DeliveryQueue {
  const worker = createDeliverer({
    transport: options.transport,
    retry: options.retry,
    limiter: new RateLimiter(options.rateLimits),
    counters,
    report: outlet.report,
    reporting: outlet.reporting,
    gone: gone.gone,
    isGone: gone.isGone,
    circuits,
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

/**
 * @internal The circuit breakers, unless turned off: each change is a warning, and an outage past
 * `disableAfterMs` gives the webhook up as a 410 does (disabled, its queued deliveries dropped).
 */
export function createCircuits(
  options: ResolvedOptions,
  outlet: Outlet,
  gone: GonePolicy,
): Circuits | undefined {
  const breaker = options.circuitBreaker;
  if (breaker === undefined) return undefined;
  const circuits: Circuits = new Circuits(breaker, (change) => {
    const who = `Webhook ${change.webhookId} (${change.target})`;
    if (change.change === "opened") {
      outlet.warn({
        code: "circuit_open",
        message: `${who} failed ${change.failures} attempts in a row: its circuit is open; its deliveries are held back, and one is sent as a probe in ${Math.round((change.probeInMs ?? 0) / 1000)} s`,
        webhookId: change.webhookId,
      });
    } else if (change.change === "closed") {
      outlet.warn({
        code: "circuit_closed",
        message: `${who} answered a probe: its circuit is closed, and its held-back deliveries go out`,
        webhookId: change.webhookId,
      });
    } else {
      gone.giveUp(
        change.webhookId,
        `(${change.target}) kept failing with its circuit open for ${formatDuration(breaker.disableAfterMs ?? 0)}`,
      );
      // Its held-back deliveries go on at once, to be dropped as gone.
      circuits.forget(change.webhookId);
    }
  });
  return circuits;
}
