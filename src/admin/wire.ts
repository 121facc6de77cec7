import { z } from "zod";
import { EVENT_NAMES } from "../events.js";
import type { CircuitState } from "../delivery/circuit.js";
import type { DeliveryReport } from "../delivery/types.js";
import type { Webhook, WebhookInput, WebhookPatch } from "../webhooks/model.js";
import { parsed, refused, type Dialect, type Parsed } from "./dialect.js";

/** A webhook on the wire: Predator's snake_case field names, credentials masked. */
export interface WebhookWire {
  id: string;
  name: string;
  /** Masked: scheme and host only. */
  url: string;
  format_type: string;
  events: string[];
  global: boolean;
  enabled: boolean;
  /** Predator's tenant field. */
  context_id?: string | undefined;
  has_secret: boolean;
  /** Header names, values masked. */
  headers?: Record<string, string> | undefined;
  created_at: string;
  updated_at: string;
  /** Present while the webhook's circuit is open: its deliveries are held back (docs/delivery.md). */
  circuit?: CircuitWire | undefined;
}

/** An open circuit on the wire. */
export interface CircuitWire {
  /** `open`: deliveries held back; `probing`: one is being sent to test the endpoint. */
  state: "open" | "probing";
  opened_at: string;
  /** Failed attempts in a row. */
  failures: number;
  /** When the next probe may go. */
  probe_at: string;
}

/** @internal */
export function toWire(webhook: Webhook, circuit?: CircuitState): WebhookWire {
  return {
    id: webhook.id,
    name: webhook.name,
    url: webhook.url,
    format_type: webhook.format,
    events: [...webhook.events],
    global: webhook.global,
    enabled: webhook.enabled,
    ...(webhook.tenant !== undefined && { context_id: webhook.tenant }),
    has_secret: webhook.hasSecret,
    ...(webhook.headers && { headers: { ...webhook.headers } }),
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
    ...(circuit && {
      circuit: {
        state: circuit.state,
        opened_at: circuit.openedAt,
        failures: circuit.failures,
        probe_at: circuit.probeAt,
      },
    }),
  };
}

// The wire schemas check only the shape; the notifier's own validation does the rest (and names the
// library field, which toWireField() maps back).
const fields = {
  name: z.string(),
  url: z.string(),
  format_type: z.string(),
  events: z.array(z.string()),
  global: z.boolean(),
  enabled: z.boolean(),
  secret: z.string().nullable(),
  headers: z.record(z.string(), z.string()).nullable(),
};

// What a GET answers beside the writable fields, so a body a GET returned can be sent back edited. The
// tenant is the request's (x-context-id), never a body's: context_id is ignored like the rest.
const readOnly = {
  id: z.string().optional(),
  has_secret: z.boolean().optional(),
  context_id: z.string().nullable().optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  circuit: z.unknown().optional(),
};

/** POST and PUT: Predator's required fields. */
const fullBodySchema = z.strictObject({
  name: fields.name,
  url: fields.url,
  format_type: fields.format_type,
  events: fields.events,
  global: fields.global.optional(),
  enabled: fields.enabled.optional(),
  secret: fields.secret.optional(),
  headers: fields.headers.optional(),
  ...readOnly,
});

/** PATCH: any subset. */
const patchBodySchema = fullBodySchema.partial();

const testBodySchema = z.strictObject({ url: z.string(), format_type: z.string() });

/** @internal */
export const previewBodySchema = z.strictObject({ event: z.enum(EVENT_NAMES) });

type FullBody = z.output<typeof fullBodySchema>;
type PatchBody = z.output<typeof patchBodySchema>;

/** Wire body → library input, in the request's tenant. */
function fromWire(body: FullBody, tenant: string | undefined): WebhookInput {
  return {
    name: body.name,
    url: body.url,
    format: body.format_type,
    events: body.events as WebhookInput["events"],
    ...(body.global !== undefined && { global: body.global }),
    ...(body.enabled !== undefined && { enabled: body.enabled }),
    ...(tenant !== undefined && { tenant }),
    ...(body.secret !== undefined && body.secret !== null && { secret: body.secret }),
    ...(body.headers !== undefined && body.headers !== null && { headers: body.headers }),
  };
}

/**
 * PUT → library patch: a replacement of every field a GET shows, so those left out take their
 * defaults. The secret, which a GET never shows, is kept unless the body sets it or clears it (`null`).
 */
function replaceFromWire(body: FullBody): WebhookPatch {
  return {
    ...patchFromWire(body),
    global: body.global ?? false,
    enabled: body.enabled ?? true,
    headers: body.headers ?? null,
  };
}

/** Wire patch → library patch (`null` clears). */
function patchFromWire(body: PatchBody): WebhookPatch {
  return {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.url !== undefined && { url: body.url }),
    ...(body.format_type !== undefined && { format: body.format_type }),
    ...(body.events !== undefined && { events: body.events as WebhookInput["events"] }),
    ...(body.global !== undefined && { global: body.global }),
    ...(body.enabled !== undefined && { enabled: body.enabled }),
    ...(body.secret !== undefined && { secret: body.secret }),
    ...(body.headers !== undefined && { headers: body.headers }),
  };
}

/** @internal A zod issue of a wire body: `body.events.0 …`, `body has unknown fields: …`. */
export function wireBodyIssue(issue: z.core.$ZodIssue): string {
  const path = ["body", ...issue.path.map(String)].join(".");
  return issue.code === "unrecognized_keys"
    ? `${path} has unknown fields: ${issue.keys.join(", ")}`
    : `${path} ${issue.message}`;
}

const ID = /^[A-Za-z0-9_-]{1,256}$/;

/** @internal runhooks' own wire: masked webhooks, secrets and headers, PATCH semantics. */
export const nativeDialect: Dialect = {
  idProblem: (id) =>
    ID.test(id) ? undefined : "path.webhook_id should be 1-256 letters, digits, '-' or '_'",
  toWire,
  create: (body, tenant) => shaped(fullBodySchema, body, (value) => fromWire(value, tenant)),
  replace: (body) => shaped(fullBodySchema, body, replaceFromWire),
  patch: (body) => shaped(patchBodySchema, body, patchFromWire),
  testTarget: (body) =>
    shaped(testBodySchema, body, (value) => ({ url: value.url, format: value.format_type })),
  testResponse: (result) => ({
    webhook_status_code: result.status,
    is_successful: result.ok,
    ...(result.error !== undefined && { error: result.error }),
  }),
  issue: (issue) => `${toWireField(issue.path)} ${issue.message}`,
  internalError: "Internal error",
};

function shaped<S extends z.ZodType, T>(schema: S, body: unknown, map: (value: z.output<S>) => T): Parsed<T> {
  const result = schema.safeParse(body);
  return result.success ? parsed(map(result.data)) : refused(result.error.issues.map(wireBodyIssue));
}

const LIBRARY_TO_WIRE: Record<string, string> = { format: "format_type", tenant: "context_id" };

/** @internal `webhook.format` → `body.format_type`. */
export function toWireField(path: string): string {
  const [, field, ...rest] = path.split(".");
  if (field === undefined) return "body";
  return ["body", LIBRARY_TO_WIRE[field] ?? field, ...rest].join(".");
}

/** A delivery report on the wire: what the admin shows of one attempt. */
export interface DeliveryWire {
  at: string;
  delivery_id: string;
  event: string;
  run_id: string;
  attempt: number;
  final: boolean;
  ok: boolean;
  outcome: string;
  reason?: string | undefined;
  status?: number | undefined;
  target: string;
  duration_ms: number;
  error?: string | undefined;
}

/** @internal */
export function deliveryToWire(report: DeliveryReport, at: number): DeliveryWire {
  return {
    at: new Date(at).toISOString(),
    delivery_id: report.deliveryId,
    event: report.event,
    run_id: report.runId,
    attempt: report.attempt,
    final: report.final,
    ok: report.ok,
    outcome: report.outcome,
    ...(report.reason !== undefined && { reason: report.reason }),
    ...(report.status !== undefined && { status: report.status }),
    target: report.target,
    duration_ms: Math.round(report.durationMs * 10) / 10,
    ...(report.error && { error: report.error.message }),
  };
}
