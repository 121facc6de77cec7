import { Circuits, type CircuitBreaker, type CircuitChange } from "../delivery/circuit.js";
import { formatDuration } from "../formatters/_text.js";
import { createDeliverer, type DeliveryCounters, type Resolution } from "../delivery/deliver.js";
import type { DeliveryQueue, DropReason } from "../delivery/queue.js";
import { RateLimiter } from "../delivery/rate-limit.js";
import { droppedReport } from "../delivery/reports.js";
import type { Delivery } from "../delivery/types.js";
import { targetOf } from "../dispatch/build.js";
import type { WebhookRecord } from "../webhooks/model.js";
import type { SubscriptionStore } from "../webhooks/store/types.js";
import type { Outlet } from "./channels.js";
import type { GonePolicy } from "./gone.js";
import { asConfigError, type ResolvedOptions } from "./options.js";

/**
 * @internal The delivery half of the pipeline: the worker that attempts one delivery (retries, rate
 * limits, the 410 policy, its target read from the store) and the backend's queue that runs it.
 */
export function createDeliveryQueue(
  options: ResolvedOptions,
  outlet: Outlet,
  counters: DeliveryCounters,
  gone: GonePolicy,
  circuits: CircuitBreaker | undefined,
): DeliveryQueue {
  const worker = createDeliverer({
    transport: options.transport,
    retry: options.retry,
    limiter: new RateLimiter(options.rateLimits, options.backend.rateLimits?.()),
    counters,
    report: outlet.report,
    reporting: outlet.reporting,
    gone: gone.gone,
    isGone: gone.isGone,
    circuits,
    resolve: resolver(options.store),
  });
  const onDrop = (delivery: Delivery, reason: DropReason): void => {
    counters.dropped += 1;
    outlet.report(droppedReport(delivery, reason));
  };
  return asConfigError(() => options.backend.queue(worker, onDrop, options.limits));
}

/**
 * Reads a delivery's target from the store at attempt time: the webhook as it is now, so that a URL
 * changed meanwhile is used, and one removed or disabled is not sent to. Synchronous with `getNow`.
 */
function resolver(store: SubscriptionStore): (delivery: Delivery) => Resolution | Promise<Resolution> {
  const check = (record: WebhookRecord | undefined): Resolution =>
    record === undefined ? "removed" : record.enabled ? targetOf(record) : "disabled";
  const getNow = store.getNow?.bind(store);
  if (getNow) return (delivery) => check(getNow(delivery.webhookId));
  return (delivery) => store.get(delivery.webhookId).then(check);
}

/**
 * @internal The circuit breakers, unless turned off, the backend's shared ones when it has them: each
 * change is a warning, and an outage past `disableAfterMs` gives the webhook up as a 410 does (disabled,
 * its queued deliveries dropped).
 */
export function createCircuits(
  options: ResolvedOptions,
  outlet: Outlet,
  gone: GonePolicy,
): CircuitBreaker | undefined {
  const breaker = options.circuitBreaker;
  if (breaker === undefined) return undefined;
  const changed = (change: CircuitChange): void => {
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
  };
  const circuits: CircuitBreaker =
    asConfigError(() => options.backend.circuits?.(breaker, changed)) ?? new Circuits(breaker, changed);
  return circuits;
}
