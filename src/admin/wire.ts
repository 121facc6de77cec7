import { z } from "zod";
import { EVENT_NAMES } from "../events.js";
import type { DeliveryReport } from "../delivery/types.js";
import type { Webhook, WebhookInput, WebhookPatch } from "../webhooks/model.js";

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
}

/** @internal */
export function toWire(webhook: Webhook): WebhookWire {
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
  };
}

// The wire schemas check only the shape; the notifier's own validation does the rest (and names the
// library field, which toWireField() maps back).
const base = {
  name: z.string(),
  url: z.string(),
  format_type: z.string(),
  events: z.array(z.string()),
  global: z.boolean(),
  enabled: z.boolean(),
  context_id: z.string().nullable(),
  secret: z.string().nullable(),
  headers: z.record(z.string(), z.string()).nullable(),
};

/** @internal POST and PUT: Predator's required fields. */
export const fullBodySchema = z.strictObject({
  name: base.name,
  url: base.url,
  format_type: base.format_type,
  events: base.events,
  global: base.global.optional(),
  enabled: base.enabled.optional(),
  context_id: base.context_id.optional(),
  secret: base.secret.optional(),
  headers: base.headers.optional(),
});

/** @internal PATCH: any subset. */
export const patchBodySchema = fullBodySchema.partial();

/** @internal */
export const testBodySchema = z.strictObject({ url: z.string(), format_type: z.string() });

/** @internal */
export const previewBodySchema = z.strictObject({ event: z.enum(EVENT_NAMES) });

/** @internal Wire body → library input. */
export function fromWire(body: z.output<typeof fullBodySchema>): WebhookInput {
  return {
    name: body.name,
    url: body.url,
    format: body.format_type,
    events: body.events as WebhookInput["events"],
    ...(body.global !== undefined && { global: body.global }),
    ...(body.enabled !== undefined && { enabled: body.enabled }),
    ...(body.context_id !== undefined && body.context_id !== null && { tenant: body.context_id }),
    ...(body.secret !== undefined && body.secret !== null && { secret: body.secret }),
    ...(body.headers !== undefined && body.headers !== null && { headers: body.headers }),
  };
}

/** @internal Wire patch → library patch (`null` clears). */
export function patchFromWire(body: z.output<typeof patchBodySchema>): WebhookPatch {
  return {
    ...(body.name !== undefined && { name: body.name }),
    ...(body.url !== undefined && { url: body.url }),
    ...(body.format_type !== undefined && { format: body.format_type }),
    ...(body.events !== undefined && { events: body.events as WebhookInput["events"] }),
    ...(body.global !== undefined && { global: body.global }),
    ...(body.enabled !== undefined && { enabled: body.enabled }),
    ...(body.context_id !== undefined && { tenant: body.context_id }),
    ...(body.secret !== undefined && { secret: body.secret }),
    ...(body.headers !== undefined && { headers: body.headers }),
  };
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
