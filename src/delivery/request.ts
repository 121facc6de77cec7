import { signatureHeader } from "./signing.js";
import type { Delivery, DeliveryTarget, TransportRequest } from "./types.js";

/**
 * @internal The request for one attempt of a delivery to its target: the target's and the delivery's headers plus `webhook-timestamp` and, when the
 * webhook has a secret, `webhook-signature`. Both are per attempt: a receiver's replay window counts from
 * this send.
 */
export function attemptRequest(delivery: Delivery, target: DeliveryTarget, now: number): TransportRequest {
  const timestamp = Math.floor(now / 1000);
  const headers: Record<string, string> = {};
  // The message's own headers (content type, webhook-id) win over the webhook's configured ones.
  for (const name in target.headers) headers[name] = target.headers[name] as string;
  for (const name in delivery.headers) headers[name] = delivery.headers[name] as string;
  headers["webhook-timestamp"] = String(timestamp);
  // A durable queue that stored the delivery as JSON gives `bytes` back as a plain object: use the text.
  const bytes = delivery.bytes instanceof Uint8Array ? delivery.bytes : undefined;
  if (target.signing && target.signing.length > 0) {
    headers["webhook-signature"] = signatureHeader(
      target.signing,
      delivery.id,
      timestamp,
      bytes ?? delivery.body,
      now,
    );
  }
  return { url: target.url, headers, body: delivery.body, bytes };
}
