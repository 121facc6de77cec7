import { inspect } from "node:util";
import { z } from "zod";
import { EVENT_LIMITS } from "../event-limits.js";
import { EVENT_NAMES, type EventName } from "../events.js";

/**
 * A webhook as stores hold it: every field in full, secrets included. Only stores and code that sends
 * see this shape; the notifier's API hands out {@link Webhook} views that mask the credentials.
 */
export interface WebhookRecord {
  /** Assigned by the notifier on create (a UUID). */
  id: string;
  /** A human name, shown in delivery reports and in the admin. */
  name: string;
  /** Where to POST. A credential for Slack, Teams and Discord. */
  url: string;
  /** The name of a registered formatter, e.g. `json`. */
  format: string;
  /** The events it fires for: non-empty, no duplicates. */
  events: EventName[];
  /** Fires for every run (of its tenant, if it has one). Otherwise it fires only for runs that name it. */
  global: boolean;
  /** A disabled webhook never fires. */
  enabled: boolean;
  /** A Standard Webhooks signing secret (`whsec_…`). */
  secret?: string | undefined;
  /** The secret before the last rotation; messages are signed with both until `previousSecretExpiresAt`. */
  previousSecret?: string | undefined;
  /** ISO 8601: when the previous secret stops signing. */
  previousSecretExpiresAt?: string | undefined;
  /** Extra request headers, e.g. `Authorization`. Values are treated as secrets. */
  headers?: Record<string, string> | undefined;
  /** Tenant it belongs to; a global webhook with a tenant fires only for that tenant's runs. */
  tenant?: string | undefined;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
}

/**
 * A webhook as `notifier.webhooks` returns it: safe to log, print and serialise. The URL shows only its
 * scheme and host (`https://hooks.slack.com/***`), header values are `***`, and the secret is not
 * included at all. `reveal()` is the explicit way to the full values, for code that needs them.
 */
export interface Webhook {
  readonly id: string;
  readonly name: string;
  /** The masked URL: scheme and host, then `/***` when the URL has a path or query. */
  readonly url: string;
  readonly format: string;
  readonly events: readonly EventName[];
  readonly global: boolean;
  readonly enabled: boolean;
  /** Whether a signing secret is set (its value is only in `reveal()`). */
  readonly hasSecret: boolean;
  /** During a secret rotation: when the previous secret stops signing (ISO 8601). */
  readonly secretRotationEndsAt?: string | undefined;
  /** Header names with masked values. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly tenant?: string | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The full record, URL, secret and header values included. Treat the result as a credential. */
  reveal(): WebhookRecord;
  /** The masked fields, as plain data. */
  toJSON(): WebhookJSON;
}

/** What `JSON.stringify(webhook)` gives: the masked fields. */
export type WebhookJSON = Omit<Webhook, "reveal" | "toJSON" | "events" | "headers"> & {
  events: EventName[];
  headers?: Record<string, string> | undefined;
};

/** The mask that replaces secret values. */
export const MASK = "***";

/** Masks a URL to `scheme://host/***` (or `scheme://host/` when it has no path or query). */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = (parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search !== "";
    return `${parsed.protocol}//${parsed.host}/${hidden ? MASK : ""}`;
  } catch {
    return MASK;
  }
}

/** @internal Wraps a record in a frozen, masked view. */
export function toWebhook(record: WebhookRecord): Webhook {
  const full = structuredClone(record);
  const json: WebhookJSON = {
    id: full.id,
    name: full.name,
    url: maskUrl(full.url),
    format: full.format,
    events: [...full.events],
    global: full.global,
    enabled: full.enabled,
    hasSecret: full.secret !== undefined,
    ...(full.previousSecretExpiresAt !== undefined && { secretRotationEndsAt: full.previousSecretExpiresAt }),
    ...(full.headers && { headers: Object.fromEntries(Object.keys(full.headers).map((k) => [k, MASK])) }),
    ...(full.tenant !== undefined && { tenant: full.tenant }),
    createdAt: full.createdAt,
    updatedAt: full.updatedAt,
  };
  const view = {
    ...json,
    events: Object.freeze([...json.events]),
    ...(json.headers && { headers: Object.freeze({ ...json.headers }) }),
  };
  Object.defineProperties(view, {
    reveal: { value: () => structuredClone(full), enumerable: false },
    toJSON: { value: () => structuredClone(json), enumerable: false },
    [inspect.custom]: { value: () => json, enumerable: false },
  });
  return Object.freeze(view) as unknown as Webhook;
}

/**
 * What `notifier.webhooks.create()` takes. A masked value (a URL as a {@link Webhook} view shows it,
 * `https://host/***`, or a header value `***`) is refused: masks are never stored.
 */
export interface WebhookInput {
  name: string;
  url: string;
  format: string;
  events: readonly EventName[];
  /** @default false */
  global?: boolean | undefined;
  /** @default true */
  enabled?: boolean | undefined;
  secret?: string | undefined;
  headers?: Record<string, string> | undefined;
  tenant?: string | undefined;
}

/**
 * A webhook declared in code instead of created through `notifier.webhooks`: in
 * `createNotifier({ webhooks: [...] })` (global unless it says `global: false`) or inline in
 * `run({ webhooks: [...] })` (for that run only, never global). It is validated when declared (a bad one
 * throws, naming its field) and usable at once: the next event can go to it, with no store round trip.
 * It lives in the notifier's memory, beside the store's webhooks: `notifier.webhooks` lists and changes
 * it like them (a change lasts until the process exits), and another process knows it only if it
 * declares it too.
 */
export interface WebhookDefinition extends Omit<WebhookInput, "name" | "events"> {
  /**
   * A stable id, so that the same declaration means the same webhook in every process (a durable or
   * shared backend's deliveries name it). Default: derived from the URL, format and name (and, inline, the run; an inline definition cannot give one).
   */
  id?: string | undefined;
  /** @default the URL's host */
  name?: string | undefined;
  /** @default all eight events */
  events?: readonly EventName[] | undefined;
}

/**
 * What `notifier.webhooks.update()` takes: any subset of the fields of {@link WebhookInput}. A field that
 * is absent or `undefined` stays as it is; `null` clears `secret`, `headers` or `tenant`.
 *
 * Masked values mean "unchanged": the URL of a masked view (`https://hooks.slack.com/***`) keeps the
 * stored URL, and a header value `***` keeps that header's stored value. So a view can be sent back
 * edited, `update(id, { ...webhook, name: "renamed" })`, without losing a credential; its read-only
 * fields ({@link WebhookViewFields}) are accepted and ignored.
 */
export type WebhookPatch = {
  [K in Exclude<keyof WebhookInput, "secret" | "headers" | "tenant">]?: WebhookInput[K] | undefined;
} & {
  secret?: string | null | undefined;
  headers?: Readonly<Record<string, string>> | null | undefined;
  tenant?: string | null | undefined;
} & WebhookViewFields;

/**
 * The read-only fields of a {@link Webhook} view, which `update()` accepts so that an edited view can be
 * passed back whole. They are ignored, except `id`, which must be the webhook's own.
 */
export interface WebhookViewFields {
  readonly id?: string | undefined;
  readonly hasSecret?: boolean | undefined;
  readonly secretRotationEndsAt?: string | undefined;
  readonly createdAt?: string | undefined;
  readonly updatedAt?: string | undefined;
}

export const MAX_URL_LENGTH = 2048;

// One character of an RFC 3986 component: unreserved, sub-delims, `extra`, or a %XX escape.
const URI_CHAR = (extra: string): string => `[A-Za-z0-9\\-._~!$&'()*+,;=${extra}]|%[0-9A-Fa-f]{2}`;

/**
 * @internal The limits a webhook's fields are checked against, one constant each: the zod schemas below
 * and the admin's OpenAPI document are both written from them.
 */
export const WEBHOOK_RULES = {
  nameMaxLength: 200,
  // The run's tenant it is matched against has the same limit.
  tenantMaxLength: EVENT_LIMITS.id,
  headerNameMaxLength: 100,
  headerValueMaxLength: 4096,
  maxHeaders: 20,
  headerName: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/,
  headerValue: /^[^\r\n\0]*$/,
  secret: /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/,
  // An http(s) URI as RFC 3986 writes it, without user info. The WHATWG parser would quietly
  // percent-encode what this refuses; refusing it keeps the stored URL the one the user wrote, and the
  // admin's OpenAPI document states the same pattern.
  httpUri: new RegExp(
    `^[hH][tT][tT][pP][sS]?://(\\[[0-9A-Fa-f:.]+\\]|(${URI_CHAR("")})+)(:[0-9]*)?` +
      `(/(${URI_CHAR(":@")})*)*(\\?(${URI_CHAR(":@/?")})*)?(#(${URI_CHAR(":@/?")})*)?$`,
  ),
  // Headers runhooks sets itself; letting a webhook override them would break delivery or signing.
  reservedHeaders: [
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "user-agent",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
  ],
} as const;

const RESERVED_HEADERS = new Set<string>(WEBHOOK_RULES.reservedHeaders);

/**
 * A webhook URL: absolute http(s), no user name or password. `written` (what create and update take) also
 * wants it written as RFC 3986 writes a URI; records already stored are read without that, so a URL an
 * earlier version took keeps working.
 */
const urlSchema = (rule: "written" | "stored") =>
  z
    .string()
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .superRefine((value, ctx) => {
      const problem = urlProblem(value, rule);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    });

/** @internal What is wrong with a webhook URL, or `undefined`. */
export function urlProblem(value: string, rule: "written" | "stored"): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute http: or https: URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must use http: or https:";
  if (url.username !== "" || url.password !== "")
    return "must not contain a user name or password; use headers";
  if (rule === "written" && !WEBHOOK_RULES.httpUri.test(value)) {
    return 'must be a URI as RFC 3986 writes one: percent-encode (%XX) spaces, non-ASCII text and characters such as < > " { } | \\ ^ ` [ ]';
  }
  return undefined;
}

const eventsSchema = z
  .array(z.enum(EVENT_NAMES, { error: `must be one of ${EVENT_NAMES.join(", ")}` }))
  .min(1, "must name at least one event")
  .refine((events) => new Set(events).size === events.length, "must not repeat an event");

const headersSchema = z
  .record(
    z
      .string()
      .regex(WEBHOOK_RULES.headerName, "header names are HTTP tokens")
      .max(WEBHOOK_RULES.headerNameMaxLength)
      .refine(
        (name) => !RESERVED_HEADERS.has(name.toLowerCase()),
        "is set by runhooks and cannot be overridden",
      ),
    z
      .string()
      .max(WEBHOOK_RULES.headerValueMaxLength)
      .regex(WEBHOOK_RULES.headerValue, "header values cannot contain line breaks"),
  )
  .refine(
    (headers) => Object.keys(headers).length <= WEBHOOK_RULES.maxHeaders,
    `at most ${WEBHOOK_RULES.maxHeaders} headers`,
  );

const fields = {
  // The length is the one sent (as the OpenAPI document states it); the stored name is trimmed.
  name: z.string().max(WEBHOOK_RULES.nameMaxLength).trim().min(1, "must not be empty"),
  url: urlSchema("written"),
  format: z.string().min(1, "must not be empty").max(100),
  events: eventsSchema,
  global: z.boolean(),
  enabled: z.boolean(),
  secret: z.string().regex(WEBHOOK_RULES.secret, "must be whsec_ followed by base64 (24 bytes or more)"),
  headers: headersSchema,
  tenant: z.string().max(WEBHOOK_RULES.tenantMaxLength).trim().min(1),
};

/** @internal */
export const webhookInputSchema = z.strictObject({
  name: fields.name,
  url: fields.url,
  format: fields.format,
  events: fields.events.readonly(),
  global: fields.global.default(false),
  enabled: fields.enabled.default(true),
  secret: fields.secret.optional(),
  headers: fields.headers.optional(),
  tenant: fields.tenant.optional(),
});

/** @internal */
export const webhookPatchSchema = z.strictObject({
  name: fields.name.optional(),
  // A URL given back unchanged is fine as it was stored; a new one must be written (api.ts checks).
  url: urlSchema("stored").optional(),
  format: fields.format.optional(),
  events: fields.events.optional(),
  global: fields.global.optional(),
  enabled: fields.enabled.optional(),
  secret: fields.secret.nullable().optional(),
  headers: fields.headers.nullable().optional(),
  tenant: fields.tenant.nullable().optional(),
  // A view's read-only fields, so an edited view can be sent back whole; api.ts drops them.
  id: z.string().optional(),
  hasSecret: z.boolean().optional(),
  secretRotationEndsAt: z.string().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});

/** @internal What a store must give back. Checked on every read: a store is outside code. */
export const storedWebhookSchema = z.object({
  id: z.string().min(1).max(256),
  name: z.string().max(200),
  url: urlSchema("stored"),
  format: fields.format,
  events: fields.events,
  global: z.boolean(),
  enabled: z.boolean(),
  secret: fields.secret.optional(),
  previousSecret: fields.secret.optional(),
  previousSecretExpiresAt: z.string().optional(),
  // The same rules as on create: a record edited in the database must not override content-type.
  headers: fields.headers.optional(),
  tenant: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
