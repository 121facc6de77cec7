import { StoreError, describe } from "../errors.js";
import type { RunEvent } from "../events.js";
import type { WebhookRecord } from "../webhooks/model.js";
import { validateRecords } from "../webhooks/store/validate.js";
import type { SubscriptionStore, WebhookFilter } from "../webhooks/store/types.js";

/** @internal The webhooks an event goes to, and what went wrong finding them. */
export interface Selection {
  targets: WebhookRecord[];
  /** Ad hoc ids the run named that the store does not know (deleted, mistyped). */
  unknownIds: string[];
  /** Store failures and invalid records. Each affects only its own part of the selection. */
  problems: StoreError[];
}

/**
 * @internal Resolves, at the moment the event fires, every enabled global webhook subscribed to it (of
 * the run's tenant or of none) plus every enabled webhook the run names that is subscribed to it.
 * A webhook that is both fires once. A failing query or a bad record never hides the other webhooks.
 */
export async function selectTargets(store: SubscriptionStore, event: RunEvent): Promise<Selection> {
  const ids = event.run.webhooks ?? [];
  const problems: StoreError[] = [];
  const [globals, named] = await Promise.all([
    query(store, globalFilter(event), problems),
    ids.length > 0 ? query(store, { ids }, problems) : Promise.resolve(undefined),
  ]);
  return combine(event, ids, globals, named, problems);
}

/**
 * @internal {@link selectTargets} without waiting, for a store that answers synchronously
 * (`SubscriptionStore.listNow`, as the in-memory store does): most events then go from `emit` to the
 * queue in one step. `undefined` for a store without it.
 */
export function selectTargetsNow(store: SubscriptionStore, event: RunEvent): Selection | undefined {
  if (store.listNow === undefined) return undefined;
  const ids = event.run.webhooks ?? [];
  const problems: StoreError[] = [];
  const globals = checkRows(store.listNow(globalFilter(event)), problems);
  const named = ids.length > 0 ? checkRows(store.listNow({ ids }), problems) : undefined;
  return combine(event, ids, globals, named, problems);
}

function globalFilter(event: RunEvent): WebhookFilter {
  return { global: true, enabled: true, event: event.event, forTenant: event.run.tenant ?? null };
}

function combine(
  event: RunEvent,
  ids: readonly string[],
  globals: readonly WebhookRecord[] | undefined,
  named: readonly WebhookRecord[] | undefined,
  problems: StoreError[],
): Selection {
  const targets = new Map<string, WebhookRecord>();
  for (const webhook of globals ?? []) {
    // Re-check what the store was asked for: a store that ignores part of the filter must not make a
    // webhook fire where it should not.
    if (
      webhook.global &&
      webhook.enabled &&
      webhook.events.includes(event.event) &&
      tenantFits(webhook, event)
    ) {
      targets.set(webhook.id, webhook);
    }
  }
  const found = new Set<string>();
  for (const webhook of named ?? []) {
    found.add(webhook.id);
    // A run names only webhooks of its own tenant (or of none): another tenant's counts as unknown.
    if (!tenantFits(webhook, event)) {
      found.delete(webhook.id);
      continue;
    }
    if (webhook.enabled && webhook.events.includes(event.event) && ids.includes(webhook.id)) {
      targets.set(webhook.id, webhook);
    }
  }
  // When the query for the named ids failed, nothing is known about them: report the failure, not them.
  const unknownIds = named === undefined ? [] : ids.filter((id) => !found.has(id));
  return { targets: [...targets.values()], unknownIds, problems };
}

function tenantFits(webhook: WebhookRecord, event: RunEvent): boolean {
  return webhook.tenant === undefined || webhook.tenant === event.run.tenant;
}

/** Resolves `undefined` when the query itself failed (the problem is recorded), else the valid rows. */
async function query(
  store: SubscriptionStore,
  filter: WebhookFilter,
  problems: StoreError[],
): Promise<WebhookRecord[] | undefined> {
  let rows: unknown;
  try {
    rows = await store.list(filter);
  } catch (error) {
    problems.push(new StoreError("list", describe(error), { cause: error }));
    return undefined;
  }
  return checkRows(rows, problems);
}

/** The valid rows of a listing; `undefined` (the problem recorded) when it is not a list at all. */
function checkRows(rows: unknown, problems: StoreError[]): WebhookRecord[] | undefined {
  if (!Array.isArray(rows)) {
    problems.push(new StoreError("list", "did not return an array"));
    return undefined;
  }
  const { records, problems: invalid } = validateRecords("list", rows);
  problems.push(...invalid);
  return records;
}
