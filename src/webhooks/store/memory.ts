import type { WebhookRecord } from "../model.js";
import type { SubscriptionStore, WebhookFilter } from "./types.js";

/**
 * A {@link SubscriptionStore} in process memory: the default. Nothing survives a restart.
 *
 * It hands out copies, so changing a returned webhook never changes the store.
 *
 * @example
 * const notifier = createNotifier({ store: memoryStore() });
 */
export function memoryStore(): SubscriptionStore {
  const webhooks = new Map<string, WebhookRecord>();
  return {
    create(webhook) {
      webhooks.set(webhook.id, structuredClone(webhook));
      return Promise.resolve();
    },
    get(id) {
      const found = webhooks.get(id);
      return Promise.resolve(found ? structuredClone(found) : undefined);
    },
    list(filter) {
      const ids = filter?.ids ? new Set(filter.ids) : undefined;
      const out: WebhookRecord[] = [];
      for (const webhook of webhooks.values()) {
        if (ids && !ids.has(webhook.id)) continue;
        if (matches(webhook, filter)) out.push(structuredClone(webhook));
      }
      out.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
      return Promise.resolve(out);
    },
    update(webhook) {
      if (!webhooks.has(webhook.id)) return Promise.resolve(false);
      webhooks.set(webhook.id, structuredClone(webhook));
      return Promise.resolve(true);
    },
    remove(id) {
      return Promise.resolve(webhooks.delete(id));
    },
  };
}

/** @internal The filter semantics of {@link WebhookFilter}, for stores that filter in memory. */
export function matches(webhook: WebhookRecord, filter: WebhookFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.global !== undefined && webhook.global !== filter.global) return false;
  if (filter.enabled !== undefined && webhook.enabled !== filter.enabled) return false;
  if (filter.event !== undefined && !webhook.events.includes(filter.event)) return false;
  if (filter.forTenant !== undefined && webhook.tenant !== undefined && webhook.tenant !== filter.forTenant) {
    return false;
  }
  return true;
}
