import { asStoreError } from "../errors.js";
import type { DelivererDeps } from "../delivery/deliver.js";
import type { Delivery } from "../delivery/types.js";
import type { WebhooksApi } from "../webhooks/api.js";
import type { Outlet } from "./channels.js";

/** @internal The 410 policy, as the deliverer sees it. */
export type GonePolicy = Pick<DelivererDeps, "gone" | "isGone">;

/**
 * @internal 410 Gone means the endpoint will never come back: stop sending to it, disable its webhook,
 * and say so. Deliveries queued before the 410 are dropped, not sent.
 */
export function gonePolicy(webhooks: WebhooksApi, outlet: Outlet): GonePolicy {
  // Webhooks that answered 410, and when.
  const goneAt = new Map<string, number>();

  const disable = async (delivery: Delivery): Promise<void> => {
    try {
      await webhooks.update(delivery.webhookId, { enabled: false });
      outlet.warn({
        code: "webhook_disabled",
        message: `Webhook ${delivery.webhookId} (${delivery.target}) answered 410 Gone and was disabled; re-enable it with webhooks.update(id, { enabled: true })`,
        webhookId: delivery.webhookId,
      });
    } catch (error) {
      outlet.error(asStoreError("update", error));
    }
  };

  return {
    gone(delivery) {
      if (goneAt.has(delivery.webhookId)) return;
      goneAt.set(delivery.webhookId, Date.now());
      void disable(delivery);
    },
    isGone(delivery) {
      const at = goneAt.get(delivery.webhookId);
      return at !== undefined && at >= delivery.queuedAt;
    },
  };
}
