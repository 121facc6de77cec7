import { hash } from "node:crypto";
import { USER_AGENT } from "../_version.js";
import { redactUrl } from "../errors.js";
import { SUPERSEDING_EVENTS, type RunEvent } from "../events.js";
import type { Rendered } from "../formatters/render.js";
import { secretKey, type SigningKey } from "../delivery/signing.js";
import type { DeliveryIdentity } from "../delivery/reports.js";
import type { Delivery } from "../delivery/types.js";
import type { WebhookRecord } from "../webhooks/model.js";

// Not Buffer.from: a small Buffer is a slice of a shared 8 KB pool, and a queued delivery holding one
// would keep the whole pool alive; an encoded array owns exactly its bytes.
const utf8 = new TextEncoder();

/**
 * @internal One delivery of a rendered message to one webhook: every delivery the notifier makes, and
 * `notifier.test()`'s message, is built here.
 */
export function buildDelivery(
  event: RunEvent,
  webhook: WebhookRecord,
  rendered: Rendered,
  deadlineAt: number,
): Delivery {
  const derived = derive(webhook);
  const id = deliveryId(event.id, webhook.id);
  let headers: Record<string, string>;
  if (webhook.headers === undefined && Object.keys(rendered.headers).length === 0) {
    headers = { "content-type": rendered.contentType, "user-agent": USER_AGENT, "webhook-id": id };
  } else {
    headers = { ...webhook.headers, ...rendered.headers };
    headers["content-type"] = rendered.contentType;
    headers["user-agent"] = USER_AGENT;
    headers["webhook-id"] = id;
  }
  return {
    id,
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: derived.target,
    url: derived.url,
    headers,
    body: rendered.body,
    bytes: (rendered.bytes ??= utf8.encode(rendered.body)),
    format: webhook.format,
    queuedAt: Date.now(),
    deadlineAt,
    terminal: SUPERSEDING_EVENTS.has(event.event),
    signing: derived.signing,
  };
}

/** The `webhook-id` of one event's delivery to one webhook: stable across attempts and processes. */
function deliveryId(eventId: string, webhookId: string): string {
  return `msg_${hash("sha256", `${eventId}\u0000${webhookId}`, "base64url").slice(0, 26)}`;
}

/** @internal Which delivery a report is about, for a delivery that could not be built. */
export function deliveryIdentity(event: RunEvent, webhook: WebhookRecord): DeliveryIdentity {
  return {
    id: deliveryId(event.id, webhook.id),
    webhookId: webhook.id,
    webhookName: webhook.name,
    target: derive(webhook).target,
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
  };
}

interface Derived {
  url: URL;
  target: string;
  signing?: SigningKey[] | undefined;
}

// What each webhook needs for every delivery, worked out once per record. Only frozen records (such as
// the memory store's) are cached: they stay the same object while unchanged, and cannot change under us.
const derivedCache = new WeakMap<WebhookRecord, Derived>();

function derive(webhook: WebhookRecord): Derived {
  const cached = derivedCache.get(webhook);
  if (cached) return cached;
  const url = new URL(webhook.url);
  const derived: Derived = { url, target: redactUrl(url) };
  if (webhook.secret !== undefined) derived.signing = signingKeysOf(webhook);
  if (Object.isFrozen(webhook)) derivedCache.set(webhook, derived);
  return derived;
}

function signingKeysOf(webhook: WebhookRecord): SigningKey[] {
  const keys: SigningKey[] = [];
  if (webhook.secret !== undefined) keys.push({ key: secretKey(webhook.secret) });
  if (webhook.previousSecret !== undefined) {
    const until = Date.parse(webhook.previousSecretExpiresAt ?? "");
    if (Number.isFinite(until)) keys.push({ key: secretKey(webhook.previousSecret), until });
  }
  return keys;
}
