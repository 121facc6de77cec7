import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { isIP } from "node:net";
import type { AddressPolicy } from "../delivery/address-guard.js";
import { generateSecret } from "../delivery/signing.js";
import { StoreError, ValidationError, describe, toValidationError, type RunhooksError } from "../errors.js";
import type { FormatterRegistry } from "../formatters/registry.js";
import {
  toWebhook,
  urlProblem,
  webhookInputSchema,
  webhookPatchSchema,
  type Webhook,
  type WebhookInput,
  type WebhookPatch,
  type WebhookRecord,
} from "./model.js";
import type { SubscriptionStore, WebhookFilter } from "./store/types.js";
import { unmask } from "./masks.js";
import { validateRecords } from "./store/validate.js";

/**
 * Create, read, update and delete webhooks. Every input is validated before it reaches the store, and
 * every answer from the store is validated before it is returned. Webhooks come back as masked
 * {@link Webhook} views; `webhook.reveal()` gives the full record.
 */
export interface WebhooksApi {
  /**
   * Validates and stores a new webhook; resolves with it, id and timestamps assigned.
   * @throws {ValidationError} naming the field (never repeating the URL or a secret); nothing is stored.
   * @throws {StoreError} when the store fails.
   */
  create(input: WebhookInput): Promise<Webhook>;
  /**
   * The webhook with this id, or `undefined` (also when `scope` names another tenant).
   * @throws {StoreError} when the store fails.
   */
  get(id: string, scope?: WebhookScope): Promise<Webhook | undefined>;
  /**
   * Webhooks matching `filter` (all without one), most recently updated first. Records the store
   * returns broken are left out and reported on the notifier's `error` channel.
   */
  list(filter?: WebhookFilter): Promise<Webhook[]>;
  /**
   * Applies `patch`; resolves with the result, or `undefined` when there is no such webhook (or it
   * belongs to another tenant than `scope` names). Takes effect for the next event that fires, including
   * events of runs under way. Masked values in the patch keep the stored ones (see {@link WebhookPatch}).
   * @throws {ValidationError} naming the field; nothing is changed then.
   */
  update(id: string, patch: WebhookPatch, scope?: WebhookScope): Promise<Webhook | undefined>;
  /**
   * Deletes the webhook; resolves `false` when there was none (or it belongs to another tenant than
   * `scope` names). Runs that name it then report it unknown.
   */
  remove(id: string, scope?: WebhookScope): Promise<boolean>;
  /**
   * Replaces the signing secret (with `secret`, or a new random one) and keeps signing with the old one
   * too for `graceMs`, so receivers can switch without losing messages. Resolves with the webhook and
   * the new secret, or `undefined` when there is no such webhook.
   */
  rotateSecret(
    id: string,
    options?: RotateSecretOptions,
  ): Promise<{ webhook: Webhook; secret: string } | undefined>;
}

/**
 * Limits `get`, `update` and `remove` to one tenant's webhooks, for code that acts for a tenant (the
 * admin API does): a webhook of another tenant, or of none, is treated as missing.
 */
export interface WebhookScope {
  /** Only a webhook of this tenant. Absent: any webhook. */
  tenant?: string | undefined;
}

/** Options of `webhooks.rotateSecret()`. */
export interface RotateSecretOptions {
  /** The new secret; a random one when absent. */
  secret?: string | undefined;
  /**
   * How long the old secret keeps signing, in milliseconds.
   * @default 86400000 (24 hours)
   */
  graceMs?: number | undefined;
}

/** @internal */
export function createWebhooksApi(
  store: SubscriptionStore,
  registry: FormatterRegistry,
  reportError: (error: RunhooksError) => void,
  policy: AddressPolicy,
): WebhooksApi {
  const { checkUrl, checkFormat } = webhookChecks(registry, policy);
  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw new StoreError(operation, describe(error), { cause: error });
    }
  };
  const readOne = async (id: string, scope?: WebhookScope): Promise<WebhookRecord | undefined> => {
    // Typed loosely on purpose: SQL adapters tend to answer `null` for "none".
    const row: unknown = await call("get", () => store.get(id));
    if (row === undefined || row === null) return undefined;
    const { records, problems } = validateRecords("get", [row]);
    if (problems[0]) throw problems[0];
    const record = records[0];
    if (record && scope?.tenant !== undefined && record.tenant !== scope.tenant) return undefined;
    return record;
  };

  return {
    async create(input) {
      const parsed = webhookInputSchema.safeParse(input);
      if (!parsed.success) throw toValidationError("webhook", "webhook", parsed.error);
      const data = unmask("webhook", "webhook", parsed.data, undefined);
      checkFormat(data.format, "webhook");
      checkUrl(data.url, "webhook");
      const now = new Date().toISOString();
      const record: WebhookRecord = {
        id: randomUUID(),
        ...data,
        events: [...data.events],
        createdAt: now,
        updatedAt: now,
      };
      await call("create", () => store.create(structuredClone(record)));
      return toWebhook(record);
    },
    async get(id, scope) {
      const record = await readOne(id, scope);
      return record && toWebhook(record);
    },
    async list(filter) {
      const { records, problems } = validateRecords("list", await call("list", () => store.list(filter)));
      for (const problem of problems) reportError(problem);
      return records.map(toWebhook);
    },
    async update(id, patch, scope) {
      const parsed = webhookPatchSchema.safeParse(patch);
      if (!parsed.success) throw toValidationError("webhook update", "patch", parsed.error);
      const fields = withoutViewFields(id, parsed.data);
      checkFormat(fields.format ?? undefined, "patch");
      const current = await readOne(id, scope);
      if (!current) return undefined;
      const data = unmask("webhook update", "patch", fields, current);
      // A stored URL sent back unchanged is not checked again against today's rules.
      if (data.url !== current.url) {
        // Create's schema checks how a URL is written; a patch's takes a stored URL sent back as it is.
        assertWritten(data.url, "patch");
        checkUrl(data.url, "patch");
      }
      const stored = patched(current, data);
      const found = await call("update", () => store.update(structuredClone(stored)));
      return found ? toWebhook(stored) : undefined;
    },
    async remove(id, scope) {
      if (scope?.tenant !== undefined && !(await readOne(id, scope))) return false;
      return call("remove", () => store.remove(id));
    },
    async rotateSecret(id, options = {}) {
      const { secret, graceMs } = rotation(options);
      const current = await readOne(id);
      if (!current) return undefined;
      const now = Date.now();
      const next: WebhookRecord = { ...current, secret, updatedAt: new Date(now).toISOString() };
      if (current.secret !== undefined && graceMs > 0) {
        next.previousSecret = current.secret;
        next.previousSecretExpiresAt = new Date(now + graceMs).toISOString();
      } else {
        delete next.previousSecret;
        delete next.previousSecretExpiresAt;
      }
      const found = await call("update", () => store.update(structuredClone(next)));
      return found ? { webhook: toWebhook(next), secret } : undefined;
    },
  };
}

/** @internal The checks of a new webhook beyond its schema, shared by `create()` and declared webhooks. */
export interface WebhookChecks {
  /** @throws {ValidationError} naming `root.url` when the URL is an IP literal in a refused range. */
  readonly checkUrl: (url: string | undefined, root: string) => void;
  /** @throws {ValidationError} naming `root.format` when no formatter has that name. */
  readonly checkFormat: (format: string | undefined, root: string) => void;
}

/** @internal */
export function webhookChecks(registry: FormatterRegistry, policy: AddressPolicy): WebhookChecks {
  // IP-literal URLs in a refused range are refused now, not at the first delivery; host names are
  // checked at connect time (their addresses can change).
  const checkUrl = (url: string | undefined, root: string): void => {
    if (url === undefined) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    const range = isIP(host) ? policy.refusal(host) : undefined;
    if (range !== undefined) {
      throw new ValidationError("webhook", [
        {
          path: `${root}.url`,
          message: `points at a ${range} address (${host}); allow it with createNotifier({ network: { allowPrivate: true } }) or network.allow`,
        },
      ]);
    }
  };
  const checkFormat = (format: string | undefined, root: string): void => {
    if (format !== undefined && !registry.has(format)) {
      throw new ValidationError("webhook", [
        {
          path: `${root}.format`,
          message: `unknown format "${format}"; registered formats: ${[...registry.keys()].join(", ")}`,
        },
      ]);
    }
  };
  return { checkUrl, checkFormat };
}

/** A new URL must be written as RFC 3986 writes a URI. @throws {ValidationError} naming `root.url`. */
function assertWritten(url: string | undefined, root: string): void {
  const problem = url === undefined ? undefined : urlProblem(url, "written");
  if (problem !== undefined)
    throw new ValidationError("webhook", [{ path: `${root}.url`, message: problem }]);
}

/** The options of a secret rotation, defaults applied. @throws {ValidationError} naming the option. */
function rotation(options: RotateSecretOptions): { secret: string; graceMs: number } {
  const secret = options.secret ?? generateSecret();
  const graceMs = options.graceMs ?? 24 * 3_600_000;
  if (!webhookInputSchema.shape.secret.safeParse(secret).success) {
    throw new ValidationError("secret rotation", [
      { path: "options.secret", message: "must be whsec_ followed by base64 (24 bytes or more)" },
    ]);
  }
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new ValidationError("secret rotation", [
      { path: "options.graceMs", message: "must be 0 or more milliseconds" },
    ]);
  }
  return { secret, graceMs };
}

type ParsedPatch = z.output<typeof webhookPatchSchema>;

/** A patch without the read-only fields of a view, which may come with it; `id` must be the webhook's. */
function withoutViewFields(
  id: string,
  patch: ParsedPatch,
): Omit<ParsedPatch, "id" | "hasSecret" | "secretRotationEndsAt" | "createdAt" | "updatedAt"> {
  const {
    id: viewId,
    hasSecret: _h,
    secretRotationEndsAt: _s,
    createdAt: _c,
    updatedAt: _u,
    ...fields
  } = patch;
  if (viewId !== undefined && viewId !== id) {
    throw new ValidationError("webhook update", [
      { path: "patch.id", message: "is another webhook's id; ids cannot change" },
    ]);
  }
  return fields;
}

/** The record after a checked patch: given fields replace, `null` clears `secret`, `headers` or `tenant`. */
function patched(current: WebhookRecord, patch: ReturnType<typeof withoutViewFields>): WebhookRecord {
  const { secret, headers, tenant, ...rest } = patch;
  const next: WebhookRecord = { ...current, ...definedOnly(rest), updatedAt: new Date().toISOString() };
  const clearable = { secret, headers, tenant };
  for (const key of ["secret", "headers", "tenant"] as const) {
    const value = clearable[key];
    if (value === null) next[key] = undefined;
    else if (value !== undefined) Object.assign(next, { [key]: value });
  }
  return withoutUndefined(next);
}

/** The fields of a patch that were given (`undefined` means "leave as it is"). */
function definedOnly<T extends object>(patch: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  for (const key in patch) {
    const value = patch[key];
    if (value !== undefined) out[key] = value as Exclude<T[typeof key], undefined>;
  }
  return out;
}

/** Stores get absent optional fields, not `undefined` ones (a cleared field disappears). */
function withoutUndefined(record: WebhookRecord): WebhookRecord {
  return JSON.parse(JSON.stringify(record)) as WebhookRecord;
}
