import { hash } from "node:crypto";
import { USER_AGENT } from "../_version.js";
import { redactUrl } from "../errors.js";
import { SUPERSEDING_EVENTS, type RunEvent } from "../events.js";
import type { Rendered } from "../formatters/render.js";
import { secretKey, type SigningKey } from "../delivery/signing.js";
import type { DeliveryIdentity } from "../delivery/reports.js";
import type { Delivery, DeliveryTarget } from "../delivery/types.js";
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
  const id = deliveryId(event.id, webhook.id);
  // The message's own headers only: the webhook's configured ones come with its target at each attempt.
  let headers: Record<string, string>;
  if (Object.keys(rendered.headers).length === 0) {
    headers = { "content-type": rendered.contentType, "user-agent": USER_AGENT, "webhook-id": id };
  } else {
    headers = { ...rendered.headers };
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
    target: shownOf(webhook),
    headers,
    body: rendered.body,
    bytes: (rendered.bytes ??= utf8.encode(rendered.body)),
    format: webhook.format,
    queuedAt: Date.now(),
    deadlineAt,
    terminal: SUPERSEDING_EVENTS.has(event.event),
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
    target: shownOf(webhook),
    event: event.event,
    eventId: event.id,
    runId: event.run.id,
  };
}

/** @internal Where a webhook's deliveries go, and its `scheme://host` for reports. */
export interface ResolvedTarget extends DeliveryTarget {
  readonly shown: string;
}

// What each webhook needs for every attempt, worked out once per record. Only frozen records (such as
// the memory store's) are cached: they stay the same object while unchanged, and cannot change under us.
const targets = new WeakMap<WebhookRecord, ResolvedTarget>();

/** @internal The target of a webhook's deliveries: its URL, configured headers and signing keys. */
export function targetOf(webhook: WebhookRecord): ResolvedTarget {
  const cached = targets.get(webhook);
  if (cached) return cached;
  const url = new URL(webhook.url);
  const target: ResolvedTarget = {
    url,
    shown: redactUrl(url),
    headers: webhook.headers,
    signing: webhook.secret === undefined ? undefined : signingKeysOf(webhook),
  };
  if (Object.isFrozen(webhook)) targets.set(webhook, target);
  return target;
}

/**
 * The webhook's `scheme://host`, which a delivery keeps for its reports. A record that cannot be cached
 * gets its target worked out at each attempt: its signing keys are not derived here for nothing.
 */
function shownOf(webhook: WebhookRecord): string {
  return Object.isFrozen(webhook) ? targetOf(webhook).shown : redactUrl(new URL(webhook.url));
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
