import { hash } from "node:crypto";
import { z } from "zod";
import { ValidationError, toValidationError } from "../errors.js";
import { EVENT_LIMITS } from "../event-limits.js";
import { EVENT_NAMES } from "../events.js";
import type { WebhookChecks } from "./api.js";
import { unmask } from "./masks.js";
import { webhookInputSchema, type WebhookRecord } from "./model.js";
import { memoryStore } from "./store/memory.js";
import type { SubscriptionStore, WebhookFilter } from "./store/types.js";

// Inline webhooks are kept for this many at once; past it the oldest go first (a run that old is
// over: its deliveries then find the webhook removed and are dropped, reported).
const MAX_INLINE = 10_000;

const definitionSchema = webhookInputSchema.extend({
  id: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(EVENT_LIMITS.id, `must be at most ${EVENT_LIMITS.id} characters`)
    .optional(),
  name: webhookInputSchema.shape.name.optional(),
  events: webhookInputSchema.shape.events.optional(),
  global: webhookInputSchema.shape.global.unwrap().optional(),
});

/**
 * @internal Webhooks declared in code: in `createNotifier({ webhooks })` and inline in
 * `run({ webhooks })`. They live in memory, in front of the notifier's store (`store` is that
 * combination), so that the next event finds them without a round trip.
 */
export interface DeclaredWebhooks {
  /** The notifier's store with the declared webhooks in front: lists, gets and changes both. */
  readonly store: SubscriptionStore;
  /**
   * Checks a definition and returns its record, without keeping it yet: a run's info is checked whole
   * before any of it takes effect. `runId` for an inline definition (never global; its id derives
   * from the run too). @throws {ValidationError} naming the field under `root`.
   */
  check(definition: unknown, root: string, runId?: string): WebhookRecord;
  /** Keeps checked records (replacing one with the same id); inline ones are bounded. */
  keep(records: readonly WebhookRecord[], inline: boolean): void;
}

/** @internal */
export function declaredWebhooks(inner: SubscriptionStore, checks: WebhookChecks): DeclaredWebhooks {
  const declared = memoryStore();
  const inlineIds = new Set<string>();
  const check = (definition: unknown, root: string, runId?: string): WebhookRecord => {
    const parsed = definitionSchema.safeParse(definition);
    if (!parsed.success) throw toValidationError("webhook", root, parsed.error);
    const { id, name, events, global, ...data } = unmask("webhook", root, parsed.data, undefined);
    if (runId !== undefined) refuseInline(root, { id, global });
    checks.checkFormat(data.format, root);
    checks.checkUrl(data.url, root);
    const now = new Date().toISOString();
    return {
      ...data,
      id: id ?? derivedId(runId, data.url, data.format, name),
      name: name ?? new URL(data.url).host,
      events: [...(events ?? EVENT_NAMES)],
      global: runId === undefined && global !== false,
      createdAt: now,
      updatedAt: now,
    };
  };
  const keep = (records: readonly WebhookRecord[], inline: boolean): void => {
    for (const record of records) {
      // The same definition again (a run's info given twice) keeps the webhook as it is now: one a 410
      // disabled stays disabled.
      const current = declared.getNow?.(record.id);
      // The memory store keeps it at once; its promise only says so.
      if (current === undefined || !sameDefinition(current, record)) void declared.create(record);
      if (!inline) continue;
      inlineIds.delete(record.id);
      inlineIds.add(record.id);
      if (inlineIds.size > MAX_INLINE) {
        const oldest = inlineIds.values().next().value as string;
        inlineIds.delete(oldest);
        void declared.remove(oldest);
      }
    }
  };
  return { store: inFront(declared, inner), check, keep };
}

/**
 * @internal Refuses definitions that declare one webhook twice (the same id, given or derived): the
 * later one would silently replace the earlier. @throws {ValidationError} naming the later one's path.
 */
export function refuseRepeats(entries: ReadonlyArray<{ record: WebhookRecord; path: string }>): void {
  const seen = new Map<string, string>();
  for (const { record, path } of entries) {
    const first = seen.get(record.id);
    if (first !== undefined) {
      throw new ValidationError("webhook", [
        {
          path,
          message: `declares webhook ${record.id} again, as ${first} does (the same id, or the same URL, format and name); make them one, or tell them apart`,
        },
      ]);
    }
    seen.set(record.id, path);
  }
}

/** An inline definition's fields that only a declared webhook may have. @throws {ValidationError} */
function refuseInline(root: string, fields: { id: string | undefined; global: boolean | undefined }): void {
  const problem =
    fields.global === true
      ? {
          path: `${root}.global`,
          message:
            "an inline webhook fires for its run only; declare a global one in createNotifier({ webhooks })",
        }
      : fields.id !== undefined
        ? {
            path: `${root}.id`,
            message:
              "an inline webhook's id derives from its run; declare the webhook in createNotifier({ webhooks }) to give it an id",
          }
        : undefined;
  if (problem) throw new ValidationError("webhook", [problem]);
}

/** Whether two records declare the same webhook: everything but its state (enabled) and times. */
function sameDefinition(a: WebhookRecord, b: WebhookRecord): boolean {
  // Field by field in one order: a record that went through the API comes back with its keys reordered.
  const definition = (r: WebhookRecord): string =>
    JSON.stringify([r.name, r.url, r.format, r.events, r.global, r.secret, r.tenant]) +
    JSON.stringify(Object.entries(r.headers ?? {}).sort(([x], [y]) => (x < y ? -1 : 1)));
  return definition(a) === definition(b);
}

/** The same declaration gives the same id in every process (a shared backend's deliveries name it). */
function derivedId(runId: string | undefined, url: string, format: string, name: string | undefined): string {
  const digest = hash("sha256", JSON.stringify([runId ?? null, url, format, name ?? null]), "base64url");
  return `wh_${digest.slice(0, 26)}`;
}

/**
 * `front` (an in-memory store) in front of `back`: a record of `front` shadows one of `back` with the
 * same id, changes go to the store holding the record, and new records go to `back`.
 */
function inFront(front: SubscriptionStore, back: SubscriptionStore): SubscriptionStore {
  const listFront = front.listNow?.bind(front) ?? ((): readonly WebhookRecord[] => []);
  const getFront = front.getNow?.bind(front) ?? ((): undefined => undefined);
  // A record of `front` hides the one of `back` with its id whatever the filter: otherwise a listing
  // the front record does not match (another event, disabled) would bring the hidden one back.
  const merge = (
    mine: readonly WebhookRecord[],
    theirs: readonly WebhookRecord[],
  ): readonly WebhookRecord[] => {
    const hidden = theirs.some((record) => getFront(record.id) !== undefined);
    if (mine.length === 0 && !hidden) return theirs;
    return [...mine, ...(hidden ? theirs.filter((record) => getFront(record.id) === undefined) : theirs)];
  };
  const store: SubscriptionStore = {
    create: (webhook) => back.create(webhook),
    get: async (id) => structuredCopy(getFront(id)) ?? back.get(id),
    list: async (filter?: WebhookFilter) => [
      ...merge(
        listFront(filter).map((record) => structuredClone(record)),
        await back.list(filter),
      ),
    ],
    update: (webhook) => (getFront(webhook.id) ? front.update(webhook) : back.update(webhook)),
    // Removing a declared webhook does not bring back a stored one it hid: both go.
    remove: async (id) => {
      const declared = getFront(id) !== undefined && (await front.remove(id));
      return (await back.remove(id)) || declared;
    },
  };
  const listNow = back.listNow?.bind(back);
  const getNow = back.getNow?.bind(back);
  // Only when the store behind has them: otherwise its lookups need I/O, and so do the combined ones.
  if (listNow)
    Object.defineProperty(store, "listNow", {
      value: (f?: WebhookFilter) => merge(listFront(f), listNow(f)),
    });
  if (getNow) Object.defineProperty(store, "getNow", { value: (id: string) => getFront(id) ?? getNow(id) });
  return store;
}

function structuredCopy(record: WebhookRecord | undefined): WebhookRecord | undefined {
  return record === undefined ? undefined : structuredClone(record);
}
