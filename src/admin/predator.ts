import { z } from "zod";
import { EVENT_NAMES } from "../events.js";
import type { Webhook, WebhookInput } from "../webhooks/model.js";
import { parsed, refused, type Dialect, type Parsed } from "./dialect.js";
import { toWireField } from "./wire.js";

/** Predator 1.7's answer for a webhook: its table's columns, then the events (`parseWebhook()`). */
export interface PredatorWebhookWire {
  id: string;
  name: string;
  /** The full URL: Predator's UI edits it. */
  url: string;
  global: boolean;
  format_type: string;
  created_at: string;
  updated_at: string;
  /** Left out for a webhook without a tenant. */
  context_id?: string | undefined;
  events: string[];
}

/** Predator's test message (`WEBHOOK_TEST_MESSAGE`). */
const PREDATOR_GREETING = "Hello From Predator! Wuff! Wuff!";
const GRAVATAR = "https://www.gravatar.com/avatar/af577df746d71dfc4a7ab9f76202f9b8?s=128";
const PREDATOR_FORMATS: readonly string[] = ["slack", "json", "teams", "discord"];
const PREDATOR_EVENTS = [
  "started",
  "finished",
  "in_progress",
  "api_failure",
  "failed",
  "aborted",
  "benchmark_passed",
  "benchmark_failed",
] as const satisfies readonly (typeof EVENT_NAMES)[number][];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * @internal Predator's wire (`compat: "predator"`): its fields and nothing else, full URLs, UUID ids, and
 * AJV's validation wording as express-ajv-swagger-validation words it. Bodies may carry any other field
 * (Predator's schemas allow them, and its UI sends back what a GET returned): they are ignored.
 */
export function predatorDialect(formats: readonly string[]): Dialect {
  // Enums in the order of Predator's openapi3.yaml, which its messages list them in.
  const ordered = [
    ...PREDATOR_FORMATS.filter((name) => formats.includes(name)),
    ...formats.filter((name) => !PREDATOR_FORMATS.includes(name)),
  ];
  const [first = "json", ...rest] = ordered;
  const format = z.enum([first, ...rest]);
  // Key order is AJV's `required` order, which sets the order of its messages.
  const webhook = z.looseObject({
    name: z.string(),
    url: z.string(),
    events: z.array(z.enum(PREDATOR_EVENTS)).min(1).superRefine(uniqueItems),
    format_type: format,
    global: z.boolean().optional(),
  });
  const test = z.looseObject({ format_type: format, url: z.string() });
  const fields = (body: z.output<typeof webhook>): Omit<WebhookInput, "global"> => ({
    name: body.name,
    url: body.url,
    format: body.format_type,
    events: body.events,
  });
  return {
    idProblem: (id) => (UUID.test(id) ? undefined : `path/webhook_id should match format "uuid"`),
    toWire: predatorWire,
    // Predator merges `{ global: false }` under the body on create.
    create: (body, tenant) =>
      ajv(webhook, body, (value) => ({
        ...fields(value),
        global: value.global ?? false,
        ...(tenant !== undefined && { tenant }),
      })),
    // Predator's PUT writes what the body has: the required fields, and `global` when given. What
    // Predator does not know (enabled, secret, headers) stays as it is.
    replace: (body) =>
      ajv(webhook, body, (value) => ({
        ...fields(value),
        ...(value.global !== undefined && { global: value.global }),
      })),
    patch: (body) =>
      ajv(webhook.partial(), body, (value) => ({
        ...(value.name !== undefined && { name: value.name }),
        ...(value.url !== undefined && { url: value.url }),
        ...(value.events !== undefined && { events: value.events }),
        ...(value.format_type !== undefined && { format: value.format_type }),
        ...(value.global !== undefined && { global: value.global }),
      })),
    testTarget: (body) =>
      ajv(test, body, (value) => {
        const greeting = predatorGreeting(value.format_type);
        return {
          url: value.url,
          format: value.format_type,
          ...(greeting !== undefined && { body: greeting }),
        };
      }),
    // Predator puts the error's message where no status came back.
    testResponse: (result) => ({
      webhook_status_code: result.status ?? result.error ?? "no response",
      is_successful: result.ok,
    }),
    // The wire field as the native dialect names it (`body.format_type…`), in AJV's path form.
    issue: (issue) => `${dataPath(toWireField(issue.path).split(".").slice(1))} ${issue.message}`,
    internalError: "Internal server error",
  };
}

function predatorWire(webhook: Webhook): PredatorWebhookWire {
  return {
    id: webhook.id,
    name: webhook.name,
    url: webhook.reveal().url,
    global: webhook.global,
    format_type: webhook.format,
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
    ...(webhook.tenant !== undefined && { context_id: webhook.tenant }),
    events: [...webhook.events],
  };
}

/**
 * Predator's test message in a built-in format (`formatSimpleMessage`). Teams gets it as an
 * Adaptive Card: Predator's `{ themeColor, text }` was an Office 365 connector card, which the Teams
 * Workflows that replaced those connectors refuse.
 */
function predatorGreeting(format: string): Record<string, unknown> | undefined {
  switch (format) {
    case "json":
      return { greeting: PREDATOR_GREETING };
    case "slack":
      return { text: PREDATOR_GREETING, icon_emoji: ":muscle:", username: "Predator" };
    case "discord":
      return { content: PREDATOR_GREETING, username: "Predator", avatar_url: GRAVATAR };
    case "teams":
      return {
        type: "message",
        attachments: [
          {
            contentType: "application/vnd.microsoft.card.adaptive",
            content: {
              type: "AdaptiveCard",
              version: "1.4",
              body: [{ type: "TextBlock", text: PREDATOR_GREETING, wrap: true }],
            },
          },
        ],
      };
    default:
      return undefined;
  }
}

function ajv<S extends z.ZodType, T>(schema: S, body: unknown, map: (value: z.output<S>) => T): Parsed<T> {
  const result = schema.safeParse(body);
  if (result.success) return parsed(map(result.data));
  return refused(result.error.issues.map((issue) => ajvMessage(issue, missing(body, issue.path))));
}

/** Whether the value at `path` is absent from the body (AJV's `required`, whatever zod calls it). */
function missing(body: unknown, path: readonly PropertyKey[]): boolean {
  let value = body;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return false;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === undefined && path.length > 0;
}

/** express-ajv-swagger-validation's data path: `body`, `body/events`, `body/events[0]`. */
function dataPath(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  if (head === undefined) return "body";
  return `body/${String(head)}${rest.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("")}`;
}

/** A zod issue in AJV 6's words, as Predator answers them. */
function ajvMessage(issue: z.core.$ZodIssue, absent: boolean): string {
  if (absent) {
    return `${dataPath(issue.path.slice(0, -1))} should have required property '${String(issue.path.at(-1))}'`;
  }
  switch (issue.code) {
    case "invalid_type":
      return `${dataPath(issue.path)} should be ${issue.expected}`;
    case "invalid_value":
      return `${dataPath(issue.path)} should be equal to one of the allowed values [${issue.values.map(String).join(",")}]`;
    case "too_small":
      return `${dataPath(issue.path)} should NOT have fewer than ${String(issue.minimum)} items`;
    default:
      return `${dataPath(issue.path)} ${issue.message}`;
  }
}

/** AJV's `uniqueItems`, with its message: it scans from the end and names the pair it found. */
function uniqueItems(items: readonly string[], ctx: z.RefinementCtx): void {
  const seen = new Map<string, number>();
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] ?? "";
    const j = seen.get(item);
    if (j !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `should NOT have duplicate items (items ## ${j} and ${i} are identical)`,
      });
      return;
    }
    seen.set(item, i);
  }
}
