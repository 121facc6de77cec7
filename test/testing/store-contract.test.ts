import { describe, expect, it } from "vitest";
import { storeCases, type StoreCaseId } from "../../src/testing/store-contract.js";
import type { WebhookRecord } from "../../src/webhooks/model.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import type { SubscriptionStore } from "../../src/webhooks/store/types.js";

// The contract is only worth something if it fails for stores that break it.
function broken(
  patch: (inner: SubscriptionStore, rows: Map<string, WebhookRecord>) => Partial<SubscriptionStore>,
) {
  return (): Promise<SubscriptionStore> => {
    const inner = memoryStore();
    const rows = new Map<string, WebhookRecord>();
    return Promise.resolve({ ...inner, ...patch(inner, rows) });
  };
}

const sharing = broken((_inner, rows) => ({
  create: (w) => Promise.resolve(void rows.set(w.id, w)),
  get: (id) => Promise.resolve(rows.get(id)),
  list: () => Promise.resolve([...rows.values()]),
  update: (w) => Promise.resolve(rows.has(w.id) && Boolean(rows.set(w.id, w))),
}));
const ignoresFilters = broken((inner) => ({ list: () => inner.list() }));
const substringEvents = broken((inner) => ({
  list: async (filter) => {
    const all = await inner.list({ ...filter, event: undefined });
    return filter?.event ? all.filter((w) => w.events.join(",").includes(filter.event!)) : all;
  },
}));
const exactTenant = broken((inner) => ({
  list: async (filter) => {
    const all = await inner.list({ ...filter, forTenant: undefined });
    return filter?.forTenant === undefined
      ? all
      : all.filter((w) => w.tenant === (filter.forTenant ?? undefined));
  },
}));
const nullsForAbsent = broken((inner) => ({
  get: async (id) => {
    const row = await inner.get(id);
    return row && ({ secret: null, headers: null, tenant: null, ...row } as unknown as WebhookRecord);
  },
}));
const truncatesUrls = broken((inner) => ({
  create: (w) => inner.create({ ...w, url: w.url.slice(0, 255) }),
}));
// listNow() (issue 18: the public form of the memory store's former private listing) must agree with list().
const emptyNow = broken(() => ({ listNow: () => [] }));
const asyncNow = broken((inner) => ({
  listNow: (filter) => inner.list(filter) as unknown as readonly WebhookRecord[],
}));
const unordered = broken((inner) => ({ list: async (f) => (await inner.list(f)).reverse() }));

describe("the store contract catches broken stores", () => {
  it.each<[string, () => Promise<SubscriptionStore>, StoreCaseId[]]>([
    ["a store that hands out its own objects", sharing, ["copies.returned", "copies.stored"]],
    [
      "a store that ignores filters",
      ignoresFilters,
      ["list.filter-global", "list.filter-event", "list.filter-ids", "list.filter-combined"],
    ],
    ["a store that matches events by substring", substringEvents, ["list.filter-event"]],
    ["a store that matches tenants exactly", exactTenant, ["list.filter-tenant"]],
    ["a store that returns null for absent fields", nullsForAbsent, ["crud.optional-fields"]],
    ["a store with a VARCHAR(255) url column", truncatesUrls, ["crud.long-url"]],
    ["a store that lists oldest first", unordered, ["list.all-newest-first"]],
    ["a store whose listNow() finds nothing", emptyNow, ["list.now"]],
    ["a store whose listNow() returns a promise", asyncNow, ["list.now"]],
  ])("%s", async (_label, factory, failing) => {
    const cases = storeCases(factory);
    for (const id of failing) await expect(cases[id](), id).rejects.toThrow();
  });
});
