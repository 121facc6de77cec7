import { signatureHeader } from "./signing.js";
import type { Delivery, TransportRequest } from "./types.js";

/**
 * @internal The request for one attempt of a delivery: its headers plus `webhook-timestamp` and, when the
 * webhook has a secret, `webhook-signature`. Both are per attempt: a receiver's replay window counts from
 * this send.
 */
export function attemptRequest(delivery: Delivery, now: number): TransportRequest {
  const timestamp = Math.floor(now / 1000);
  const headers: Record<string, string> = {};
  for (const name in delivery.headers) headers[name] = delivery.headers[name] as string;
  headers["webhook-timestamp"] = String(timestamp);
  // A durable queue that stored the delivery as JSON gives `bytes` back as a plain object: use the text.
  const bytes = delivery.bytes instanceof Uint8Array ? delivery.bytes : undefined;
  if (delivery.signing && delivery.signing.length > 0) {
    headers["webhook-signature"] = signatureHeader(
      delivery.signing,
      delivery.id,
      timestamp,
      bytes ?? delivery.body,
      now,
    );
  }
  return { url: delivery.url, headers, body: delivery.body, bytes };
}
