import type { EventName } from "../events.js";
import type { WebhookRecord } from "../webhooks/model.js";
import type { SubscriptionStore, WebhookFilter } from "../webhooks/store/types.js";
import { registerCases, vitestApi } from "./_vitest.js";

/** The cases of {@link testStore}, by id: name one in `skip` to leave it out. */
export const STORE_CASES = {
  "crud.create-get": "get returns exactly what create stored",
  "crud.get-missing": "get of an unknown id resolves undefined",
  "crud.optional-fields": "absent optional fields come back absent, not null",
  "crud.secrets-verbatim":
    "URLs, secrets and header values are stored in full (masking is not the store's job)",
  "crud.long-url": "a 2048-character URL and unicode names survive the round trip",
  "crud.update": "update replaces the record and resolves true",
  "crud.update-missing": "update of an unknown id resolves false and stores nothing",
  "crud.remove": "remove deletes and resolves true, then false",
  "list.all-newest-first": "list() returns every webhook, most recently updated first",
  "list.filter-global": "list({ global }) keeps only global or only ad hoc webhooks",
  "list.filter-enabled": "list({ enabled }) keeps only enabled or only disabled webhooks",
  "list.filter-event": "list({ event }) keeps only webhooks subscribed to that event",
  "list.filter-ids": "list({ ids }) keeps only those ids; unknown ids are ignored; [] matches nothing",
  "list.filter-tenant":
    "list({ forTenant }) keeps untenanted webhooks plus that tenant's; null keeps untenanted only",
  "list.filter-combined": "every given filter field must match (AND)",
  "list.now":
    "listNow(), when the store has it, is a function that answers every filter as list() does, synchronously",
  "copies.returned": "changing a returned webhook never changes the store",
  "copies.stored": "changing an object after passing it to create or update never changes the store",
  "concurrency.creates": "50 concurrent creates are all stored",
} as const;

/** The id of one case of the store contract. */
export type StoreCaseId = keyof typeof STORE_CASES;

/** Options of {@link testStore}. */
export interface TestStoreOptions {
  /** Cases to skip, each with the reason (shown in the test name), e.g. `{ "concurrency.creates": "single connection" }`. */
  skip?: Partial<Record<StoreCaseId, string>>;
  /** Called after each case with the store it used, e.g. to close a connection or delete a file. */
  teardown?: (store: SubscriptionStore) => void | Promise<void>;
}

let sequence = 0;

/** A valid webhook record for store tests; every call gives a new id. Works with any test runner. */
export function sampleRecord(overrides: Partial<WebhookRecord> = {}): WebhookRecord {
  sequence += 1;
  const stamp = new Date(Date.UTC(2026, 0, 1, 0, 0, sequence % 60, sequence)).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`,
    name: `hook ${sequence}`,
    url: `https://hooks.example.com/services/T${sequence}/B${sequence}/secret${sequence}`,
    format: "json",
    events: ["started", "finished"],
    global: false,
    enabled: true,
    createdAt: stamp,
    updatedAt: stamp,
    ...overrides,
  };
}

/**
 * Registers the subscription-store contract as vitest tests: the rules every {@link SubscriptionStore}
 * must follow for runhooks to select webhooks correctly. Each case gets a fresh store from `createStore`.
 *
 * **Needs vitest** (an optional peer dependency, `npm install -D vitest`): call it at the top level of a
 * test file that vitest runs, or inside a `describe()`. vitest is looked up only when it is called, so the
 * rest of runhooks/testing works with any test runner. Without vitest, or outside a vitest run, it throws
 * an Error that starts `runhooks/testing: testStore() registers vitest tests; install vitest`.
 * {@link STORE_CASES} lists the rules, for reference with another runner.
 *
 * @throws Error when vitest is not installed or is not running this file.
 *
 * @example
 * import { testStore } from "runhooks/testing";
 * testStore("my postgres store", async () => createPgStore(await freshSchema()), {
 *   teardown: (store) => store.close(),
 * });
 */
export function testStore(
  label: string,
  createStore: () => SubscriptionStore | Promise<SubscriptionStore>,
  options: TestStoreOptions = {},
): void {
  const { afterEach, describe, it } = vitestApi("testStore()");
  describe(`SubscriptionStore contract: ${label}`, () => {
    const used: SubscriptionStore[] = [];
    afterEach(async () => {
      for (const store of used.splice(0)) await options.teardown?.(store);
    });
    const fresh = async (): Promise<SubscriptionStore> => {
      const store = await createStore();
      used.push(store);
      return store;
    };
    const cases = storeCases(fresh);

    registerCases(it, STORE_CASES, cases, options.skip);
  });
}

/**
 * @internal The contract's cases as plain async functions over a store factory, so that the contract
 * itself can be tested against stores that break it.
 */
export function storeCases(
  fresh: () => Promise<SubscriptionStore>,
): Record<StoreCaseId, () => Promise<void>> {
  const kit: CaseKit = { fresh, expect: vitestApi("testStore()").expect };
  return { ...crudCases(kit), ...listCases(kit), ...copyCases(kit) };
}

type Expect = ReturnType<typeof vitestApi>["expect"];

/** What every group of cases gets. */
interface CaseKit {
  readonly fresh: () => Promise<SubscriptionStore>;
  readonly expect: Expect;
}

type Cases<Prefix extends string> = Record<Extract<StoreCaseId, `${Prefix}.${string}`>, () => Promise<void>>;

const ids = (rows: readonly WebhookRecord[]): string[] => rows.map((row) => row.id).sort();

async function seed(store: SubscriptionStore, records: WebhookRecord[]): Promise<void> {
  for (const record of records) await store.create(structuredClone(record));
}

/** Create, get, update and remove. */
function crudCases({ fresh, expect }: CaseKit): Cases<"crud"> {
  return {
    "crud.create-get": async () => {
      const store = await fresh();
      const record = sampleRecord({ global: true, tenant: "acme", events: ["api_failure"] });
      await store.create(structuredClone(record));
      expect(await store.get(record.id)).toEqual(record);
    },
    "crud.get-missing": async () => {
      const store = await fresh();
      expect(await store.get("00000000-0000-4000-8000-ffffffffffff")).toBeUndefined();
    },
    "crud.optional-fields": async () => {
      const store = await fresh();
      const record = sampleRecord();
      await store.create(structuredClone(record));
      const back = await store.get(record.id);
      expect(back).toEqual(record);
      for (const key of [
        "secret",
        "headers",
        "tenant",
        "previousSecret",
        "previousSecretExpiresAt",
      ] as const) {
        expect(back?.[key] ?? undefined, `${key} should be absent`).toBeUndefined();
        expect(back?.[key], `${key} should not be null`).not.toBeNull();
      }
    },
    "crud.secrets-verbatim": async () => {
      const store = await fresh();
      const record = sampleRecord({
        url: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?x=1&sig=abc%2F",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        previousSecret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        previousSecretExpiresAt: "2026-01-02T00:00:00.000Z",
        headers: { Authorization: "Bearer s3cr3t", "X-Api-Key": "k" },
      });
      await store.create(structuredClone(record));
      expect(await store.get(record.id)).toEqual(record);
      expect(await store.list({ ids: [record.id] })).toEqual([record]);
    },
    "crud.long-url": async () => {
      const store = await fresh();
      const url = `https://example.com/${"a".repeat(2048 - "https://example.com/".length)}`;
      const record = sampleRecord({ url, name: "負荷テスト 🚀 <b>&amp;</b>" });
      await store.create(structuredClone(record));
      const back = await store.get(record.id);
      expect(back?.url).toHaveLength(2048);
      expect(back).toEqual(record);
    },
    "crud.update": async () => {
      const store = await fresh();
      const record = sampleRecord({ tenant: "acme" });
      await store.create(structuredClone(record));
      const changed: WebhookRecord = {
        ...record,
        name: "renamed",
        events: ["failed"],
        enabled: false,
        global: true,
        tenant: undefined,
        updatedAt: "2027-01-01T00:00:00.000Z",
      };
      delete changed.tenant;
      expect(await store.update(structuredClone(changed))).toBe(true);
      expect(await store.get(record.id)).toEqual(changed);
    },
    "crud.update-missing": async () => {
      const store = await fresh();
      const record = sampleRecord();
      expect(await store.update(record)).toBe(false);
      expect(await store.get(record.id)).toBeUndefined();
      expect(await store.list()).toEqual([]);
    },
    "crud.remove": async () => {
      const store = await fresh();
      const [a, b] = [sampleRecord(), sampleRecord()];
      await seed(store, [a, b]);
      expect(await store.remove(a.id)).toBe(true);
      expect(await store.get(a.id)).toBeUndefined();
      expect(await store.remove(a.id)).toBe(false);
      expect(ids(await store.list())).toEqual([b.id]);
    },
  };
}

/** Listing and its filters. */
function listCases({ fresh, expect }: CaseKit): Cases<"list"> {
  return {
    "list.all-newest-first": async () => {
      const store = await fresh();
      const old = sampleRecord({ updatedAt: "2026-01-01T00:00:00.000Z" });
      const newest = sampleRecord({ updatedAt: "2026-03-01T00:00:00.000Z" });
      const middle = sampleRecord({ updatedAt: "2026-02-01T00:00:00.000Z" });
      await seed(store, [old, newest, middle]);
      expect((await store.list()).map((r) => r.id)).toEqual([newest.id, middle.id, old.id]);
    },
    "list.filter-global": async () => {
      const store = await fresh();
      const [g, a] = [sampleRecord({ global: true }), sampleRecord({ global: false })];
      await seed(store, [g, a]);
      expect(ids(await store.list({ global: true }))).toEqual([g.id]);
      expect(ids(await store.list({ global: false }))).toEqual([a.id]);
    },
    "list.filter-enabled": async () => {
      const store = await fresh();
      const [on, off] = [sampleRecord({ enabled: true }), sampleRecord({ enabled: false })];
      await seed(store, [on, off]);
      expect(ids(await store.list({ enabled: true }))).toEqual([on.id]);
      expect(ids(await store.list({ enabled: false }))).toEqual([off.id]);
    },
    "list.filter-event": async () => {
      const store = await fresh();
      const events: EventName[][] = [
        ["started"],
        ["started", "finished"],
        ["benchmark_failed"],
        ["in_progress"],
      ];
      const records = events.map((e) => sampleRecord({ events: e }));
      await seed(store, records);
      expect(ids(await store.list({ event: "started" }))).toEqual(ids(records.slice(0, 2)));
      expect(ids(await store.list({ event: "benchmark_failed" }))).toEqual(ids(records.slice(2, 3)));
      // An event name that is a prefix or suffix of another must not match it.
      expect(await store.list({ event: "failed" })).toEqual([]);
      expect(await store.list({ event: "aborted" })).toEqual([]);
    },
    "list.filter-ids": async () => {
      const store = await fresh();
      const [a, b, c] = [sampleRecord(), sampleRecord(), sampleRecord()];
      await seed(store, [a, b, c]);
      expect(ids(await store.list({ ids: [a.id, c.id, "00000000-0000-4000-8000-ffffffffffff"] }))).toEqual(
        ids([a, c]),
      );
      expect(await store.list({ ids: [] })).toEqual([]);
    },
    "list.filter-tenant": async () => {
      const store = await fresh();
      const none = sampleRecord();
      const acme = sampleRecord({ tenant: "acme" });
      const other = sampleRecord({ tenant: "other" });
      await seed(store, [none, acme, other]);
      expect(ids(await store.list({ forTenant: "acme" }))).toEqual(ids([none, acme]));
      expect(ids(await store.list({ forTenant: null }))).toEqual([none.id]);
      expect(ids(await store.list({ forTenant: "nobody" }))).toEqual([none.id]);
    },
    "list.filter-combined": async () => {
      const store = await fresh();
      const match = sampleRecord({ global: true, enabled: true, events: ["finished"], tenant: "acme" });
      const records = [
        match,
        sampleRecord({ global: false, enabled: true, events: ["finished"], tenant: "acme" }),
        sampleRecord({ global: true, enabled: false, events: ["finished"], tenant: "acme" }),
        sampleRecord({ global: true, enabled: true, events: ["started"], tenant: "acme" }),
        sampleRecord({ global: true, enabled: true, events: ["finished"], tenant: "other" }),
      ];
      await seed(store, records);
      const filter = { global: true, enabled: true, event: "finished", forTenant: "acme" } as const;
      expect(ids(await store.list(filter))).toEqual([match.id]);
      expect(await store.list({ ...filter, ids: ids(records.slice(1, 2)) })).toEqual([]);
    },
    "list.now": async () => {
      const store = await fresh();
      expect(
        store.listNow === undefined || typeof store.listNow === "function",
        "listNow is absent or a function",
      ).toBe(true);
      if (store.listNow === undefined) return;
      const records = [
        sampleRecord({ global: true, events: ["finished"], tenant: "acme" }),
        sampleRecord({ global: true, enabled: false, events: ["finished"] }),
        sampleRecord({ global: false, events: ["started"] }),
      ];
      await seed(store, records);
      const filters: Array<WebhookFilter | undefined> = [
        undefined,
        { global: true, enabled: true, event: "finished", forTenant: "acme" },
        { global: true, enabled: true, event: "finished", forTenant: null },
        { ids: ids(records.slice(1)) },
        { ids: [] },
      ];
      for (const filter of filters) {
        const now = store.listNow(filter);
        expect(Array.isArray(now), "listNow returns an array, not a promise").toBe(true);
        expect([...now], JSON.stringify(filter ?? {})).toEqual(await store.list(filter));
      }
    },
  };
}

/** What the store keeps is its own; concurrent writes. */
function copyCases({ fresh, expect }: CaseKit): Cases<"copies" | "concurrency"> {
  return {
    "copies.returned": async () => {
      const store = await fresh();
      const record = sampleRecord({ headers: { A: "1" } });
      await store.create(structuredClone(record));
      const got = await store.get(record.id);
      if (got) {
        got.name = "mutated";
        got.events.push("failed");
        if (got.headers) got.headers.A = "2";
      }
      const [listed] = await store.list();
      if (listed) listed.events.length = 0;
      expect(await store.get(record.id)).toEqual(record);
    },
    "copies.stored": async () => {
      const store = await fresh();
      const record = sampleRecord();
      const input = structuredClone(record);
      await store.create(input);
      input.events.push("failed");
      input.name = "mutated";
      expect(await store.get(record.id)).toEqual(record);
      const update = { ...structuredClone(record), name: "second" };
      await store.update(update);
      update.events.length = 0;
      expect((await store.get(record.id))?.events).toEqual(record.events);
    },
    "concurrency.creates": async () => {
      const store = await fresh();
      const records = Array.from({ length: 50 }, () => sampleRecord({ global: true }));
      await Promise.all(records.map((r) => store.create(structuredClone(r))));
      expect(ids(await store.list({ global: true }))).toEqual(ids(records));
    },
  };
}
