import type { WebhookRecord } from "../model.js";
import type { SubscriptionStore, WebhookFilter } from "./types.js";

function freeze(record: WebhookRecord): WebhookRecord {
  const copy = structuredClone(record);
  Object.freeze(copy.events);
  if (copy.headers) Object.freeze(copy.headers);
  return Object.freeze(copy);
}

/**
 * A {@link SubscriptionStore} in process memory: the default. Nothing survives a restart.
 *
 * It hands out copies, so changing a returned webhook never changes the store.
 *
 * @example
 * const notifier = createNotifier({ store: memoryStore() });
 */
export function memoryStore(): SubscriptionStore {
  // Records are kept frozen: `get` and `list` hand out copies, `getNow` and `listNow` the records themselves.
  const webhooks = new Map<string, WebhookRecord>();
  const select = (filter: WebhookFilter | undefined): WebhookRecord[] => {
    const ids = filter?.ids ? new Set(filter.ids) : undefined;
    const out: WebhookRecord[] = [];
    if (ids && ids.size < webhooks.size) {
      for (const id of ids) {
        const webhook = webhooks.get(id);
        if (webhook && matches(webhook, filter)) out.push(webhook);
      }
    } else {
      for (const webhook of webhooks.values()) {
        if (ids && !ids.has(webhook.id)) continue;
        if (matches(webhook, filter)) out.push(webhook);
      }
    }
    return out.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  };
  const store: SubscriptionStore = {
    create(webhook) {
      webhooks.set(webhook.id, freeze(webhook));
      return Promise.resolve();
    },
    get(id) {
      const found = webhooks.get(id);
      return Promise.resolve(found ? structuredClone(found) : undefined);
    },
    list(filter) {
      return Promise.resolve(select(filter).map((webhook) => structuredClone(webhook)));
    },
    update(webhook) {
      if (!webhooks.has(webhook.id)) return Promise.resolve(false);
      webhooks.set(webhook.id, freeze(webhook));
      return Promise.resolve(true);
    },
    remove(id) {
      return Promise.resolve(webhooks.delete(id));
    },
  };
  // Not enumerable: a store built by spreading this one (`{ ...memoryStore(), list }`) must not
  // inherit a listing (or a lookup) that bypasses its own `list` (or `get`).
  Object.defineProperty(store, "listNow", { value: select });
  Object.defineProperty(store, "getNow", { value: (id: string) => webhooks.get(id) });
  return store;
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
