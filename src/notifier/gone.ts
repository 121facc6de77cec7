import { asStoreError } from "../errors.js";
import type { DelivererDeps } from "../delivery/deliver.js";
import type { WebhooksApi } from "../webhooks/api.js";
import type { Outlet } from "./channels.js";

/** @internal The 410 policy: what the deliverer calls, and `giveUp` for the circuit breaker's outages. */
export interface GonePolicy extends Pick<DelivererDeps, "gone" | "isGone"> {
  /** Stops sending to a webhook for good, as a 410 does: disables it, says `why`, drops what is queued. */
  readonly giveUp: (webhookId: string, why: string) => void;
}

/**
 * @internal 410 Gone means the endpoint will never come back: stop sending to it, disable its webhook,
 * and say so. Deliveries queued before the 410 are dropped, not sent.
 */
export function gonePolicy(webhooks: WebhooksApi, outlet: Outlet): GonePolicy {
  // Webhooks that answered 410, and when.
  const goneAt = new Map<string, number>();
  const giveUp = (webhookId: string, why: string): void => {
    if (goneAt.has(webhookId)) return;
    goneAt.set(webhookId, Date.now());
    void disableWebhook(webhooks, outlet, webhookId, why);
  };
  return {
    giveUp,
    gone(delivery) {
      giveUp(delivery.webhookId, `(${delivery.target}) answered 410 Gone`);
    },
    isGone(delivery) {
      const at = goneAt.get(delivery.webhookId);
      return at !== undefined && at >= delivery.queuedAt;
    },
  };
}

/**
 * Disables a webhook the notifier gave up on and says why (`why` follows the webhook's id: "(host)
 * answered 410 Gone"). A store that fails the update is reported on the error channel.
 */
async function disableWebhook(
  webhooks: WebhooksApi,
  outlet: Outlet,
  webhookId: string,
  why: string,
): Promise<void> {
  try {
    await webhooks.update(webhookId, { enabled: false });
    outlet.warn({
      code: "webhook_disabled",
      message: `Webhook ${webhookId} ${why} and was disabled; re-enable it with webhooks.update(id, { enabled: true })`,
      webhookId,
    });
  } catch (error) {
    outlet.error(asStoreError("update", error));
  }
}
