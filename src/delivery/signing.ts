import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { RunhooksError } from "../errors.js";

const PREFIX = "whsec_";

/**
 * Makes a new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64.
 *
 * @example
 * await notifier.webhooks.create({ name: "ci", url, format: "json", events: ["finished"], secret: generateSecret() });
 */
export function generateSecret(): string {
  return `${PREFIX}${randomBytes(32).toString("base64")}`;
}

/** @internal A decoded signing key, and until when it may sign (a rotated-out secret's grace period). */
export interface SigningKey {
  key: Buffer;
  until?: number | undefined;
}

/** @internal The key bytes of a `whsec_` secret. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
}

/**
 * @internal The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per key
 * still valid at `now`, space-separated (several during a secret rotation).
 */
export function signatureHeader(
  keys: readonly SigningKey[],
  id: string,
  timestamp: number,
  body: string | Uint8Array,
  now: number,
): string {
  const prefix = `${id}.${timestamp}.`;
  const parts: string[] = [];
  for (const { key, until } of keys) {
    if (until !== undefined && now > until) continue;
    parts.push(`v1,${createHmac("sha256", key).update(prefix).update(body).digest("base64")}`);
  }
  return parts.join(" ");
}

/** Why {@link verifyWebhook} rejected a request. */
export class WebhookVerificationError extends RunhooksError {
  constructor(message: string) {
    super(message, "ERR_WEBHOOK_VERIFICATION");
    this.name = "WebhookVerificationError";
  }
}

/** True for a {@link WebhookVerificationError} (checks `name` too, for errors from another copy). */
export function isVerificationError(error: unknown): error is WebhookVerificationError {
  return (
    error instanceof WebhookVerificationError ||
    (error instanceof Error && error.name === "WebhookVerificationError")
  );
}

/** Options of {@link verifyWebhook}. */
export interface VerifyOptions {
  /**
   * How far `webhook-timestamp` may be from now, in seconds, either way. Older messages are rejected
   * as replays.
   * @default 300
   */
  toleranceSec?: number | undefined;
  /** The current time in milliseconds (for tests). @default Date.now() */
  now?: number | undefined;
}

/** Request headers as node:http, fetch or a plain object give them. */
export type HeadersLike = Headers | Readonly<Record<string, string | string[] | undefined>>;

/**
 * Verifies a Standard Webhooks request on the receiving side: the `webhook-signature` must match the
 * `webhook-id`, `webhook-timestamp` and raw body under one of `secrets` (compared in constant time), and
 * the timestamp must be within `toleranceSec` of now. Returns the parsed JSON body.
 *
 * Pass the raw body exactly as received: re-serialised JSON will not match.
 *
 * @throws {WebhookVerificationError} saying which check failed.
 * @example
 * const event = verifyWebhook(process.env.WEBHOOK_SECRET!, req.headers, rawBody);
 */
export function verifyWebhook(
  secrets: string | readonly string[],
  headers: HeadersLike,
  body: string | Uint8Array,
  options: VerifyOptions = {},
): unknown {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header");
  }
  if (!/^\d+$/.test(timestamp))
    throw new WebhookVerificationError("webhook-timestamp is not a number of seconds");
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSec ?? 300;
  const sentAt = Number(timestamp);
  if (sentAt < now - tolerance)
    throw new WebhookVerificationError("webhook-timestamp is too old (a replay?)");
  if (sentAt > now + tolerance)
    throw new WebhookVerificationError("webhook-timestamp is too far in the future");

  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  const content = `${id}.${timestamp}.${text}`;
  const given = signatures
    .split(" ")
    .filter((part) => part.startsWith("v1,"))
    .map((part) => Buffer.from(part.slice(3), "base64"));
  for (const secret of typeof secrets === "string" ? [secrets] : secrets) {
    const expected = createHmac("sha256", secretKey(secret)).update(content).digest();
    if (
      given.some((signature) => signature.length === expected.length && timingSafeEqual(signature, expected))
    ) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new WebhookVerificationError("the signature matches but the body is not JSON");
      }
    }
  }
  throw new WebhookVerificationError("no signature matches");
}

function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | string[] | undefined>>;
  const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}
