import { z } from "zod";
import { EVENT_NAMES, type EventName } from "../events.js";

/** A subscription: where to send which events, in which format. */
export interface Webhook {
  /** Assigned by the notifier on create. */
  id: string;
  /** A human name, shown in delivery reports and in the admin. */
  name: string;
  /**
   * Where to POST. A credential for Slack, Teams and Discord: runhooks shows only its scheme and host
   * in errors, reports and logs.
   */
  url: string;
  /** The name of a registered formatter: `json` built in; more in later versions or your own. */
  format: string;
  /** The events it fires for: non-empty, no duplicates. */
  events: EventName[];
  /** Fires for every run (of its tenant, if it has one). Otherwise it fires only for runs that name it. */
  global: boolean;
  /** A disabled webhook never fires. */
  enabled: boolean;
  /** A Standard Webhooks signing secret (`whsec_…`). */
  secret?: string | undefined;
  /** Extra request headers, e.g. `Authorization`. Values are treated as secrets. */
  headers?: Record<string, string> | undefined;
  /** Tenant it belongs to; a global webhook with a tenant fires only for that tenant's runs. */
  tenant?: string | undefined;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
}

/** What `notifier.webhooks.create()` takes. */
export interface WebhookInput {
  name: string;
  url: string;
  format: string;
  events: EventName[];
  /** @default false */
  global?: boolean | undefined;
  /** @default true */
  enabled?: boolean | undefined;
  secret?: string | undefined;
  headers?: Record<string, string> | undefined;
  tenant?: string | undefined;
}

/**
 * What `notifier.webhooks.update()` takes: any subset of the fields of {@link WebhookInput}. A field that
 * is absent or `undefined` stays as it is.
 */
export type WebhookPatch = { [K in keyof WebhookInput]?: WebhookInput[K] | undefined };

export const MAX_URL_LENGTH = 2048;

// Headers runhooks sets itself; letting a webhook override them would break delivery or signing.
const RESERVED_HEADERS = new Set([
  "content-type",
  "content-length",
  "transfer-encoding",
  "host",
  "connection",
  "user-agent",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
]);

const urlSchema = z
  .string()
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an absolute http: or https: URL" });
      return;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      ctx.addIssue({ code: "custom", message: "must use http: or https:" });
    }
    if (url.username !== "" || url.password !== "") {
      ctx.addIssue({ code: "custom", message: "must not contain a user name or password; use headers" });
    }
  });

const eventsSchema = z
  .array(z.enum(EVENT_NAMES, { error: `must be one of ${EVENT_NAMES.join(", ")}` }))
  .min(1, "must name at least one event")
  .refine((events) => new Set(events).size === events.length, "must not repeat an event");

const headersSchema = z
  .record(
    z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "header names are HTTP tokens")
      .max(100)
      .refine(
        (name) => !RESERVED_HEADERS.has(name.toLowerCase()),
        "is set by runhooks and cannot be overridden",
      ),
    z
      .string()
      .max(4096)
      .regex(/^[^\r\n\0]*$/, "header values cannot contain line breaks"),
  )
  .refine((headers) => Object.keys(headers).length <= 20, "at most 20 headers");

const fields = {
  name: z.string().trim().min(1, "must not be empty").max(200),
  url: urlSchema,
  format: z.string().min(1, "must not be empty").max(100),
  events: eventsSchema,
  global: z.boolean(),
  enabled: z.boolean(),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, "must be whsec_ followed by base64 (24 bytes or more)"),
  headers: headersSchema,
  tenant: z.string().trim().min(1).max(256),
};

/** @internal */
export const webhookInputSchema = z.strictObject({
  name: fields.name,
  url: fields.url,
  format: fields.format,
  events: fields.events,
  global: fields.global.default(false),
  enabled: fields.enabled.default(true),
  secret: fields.secret.optional(),
  headers: fields.headers.optional(),
  tenant: fields.tenant.optional(),
});

/** @internal */
export const webhookPatchSchema = z.strictObject({
  name: fields.name.optional(),
  url: fields.url.optional(),
  format: fields.format.optional(),
  events: fields.events.optional(),
  global: fields.global.optional(),
  enabled: fields.enabled.optional(),
  secret: fields.secret.optional(),
  headers: fields.headers.optional(),
  tenant: fields.tenant.optional(),
});

/** @internal What a store must give back. Checked on every read: a store is outside code. */
export const storedWebhookSchema = z.object({
  id: z.string().min(1).max(256),
  name: z.string().max(200),
  url: fields.url,
  format: fields.format,
  events: fields.events,
  global: z.boolean(),
  enabled: z.boolean(),
  secret: fields.secret.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  tenant: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
