import { EVENT_NAMES } from "../events.js";

const webhookId = {
  name: "webhook_id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[A-Za-z0-9_-]{1,256}$" },
};
const json = (schema: unknown): unknown => ({ "application/json": { schema } });
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const errors = {
  "400": { description: "Input validation error", content: json(ref("ValidationError")) },
  "401": { description: "Not authorized (no body)" },
};
const notFound = { "404": { description: "Not found", content: json(ref("NotFound")) } };

/**
 * The OpenAPI 3.1 description of the admin REST API, served at `<basePath>/openapi.json` and committed
 * as docs/openapi.json (a test keeps both, and real responses, in agreement).
 */
export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "runhooks admin API",
    version: "1",
    description:
      "Webhook management compatible with Predator's /v1/webhooks API (snake_case fields, format_type, the same status codes and error shapes), plus deliveries, preview and PATCH. URLs and secret header values are always masked in responses.",
  },
  paths: {
    "/v1/webhooks": {
      get: {
        summary: "List webhooks, most recently updated first",
        parameters: [{ name: "x-context-id", in: "header", required: false, schema: { type: "string" } }],
        responses: {
          "200": { description: "Webhooks", content: json({ type: "array", items: ref("Webhook") }) },
          "401": errors["401"],
        },
      },
      post: {
        summary: "Create a webhook",
        requestBody: { required: true, content: json(ref("WebhookInput")) },
        responses: { "201": { description: "Created", content: json(ref("Webhook")) }, ...errors },
      },
    },
    "/v1/webhooks/test": {
      post: {
        summary: "Send a test message to a URL in a format, without saving anything",
        requestBody: { required: true, content: json(ref("TestRequest")) },
        responses: {
          "200": {
            description: "The result (also when the target failed)",
            content: json(ref("TestResponse")),
          },
          ...errors,
        },
      },
    },
    "/v1/webhooks/{webhook_id}": {
      parameters: [webhookId],
      get: {
        summary: "Get a webhook",
        responses: {
          "200": { description: "The webhook", content: json(ref("Webhook")) },
          ...errors,
          ...notFound,
        },
      },
      put: {
        summary: "Replace a webhook (full body, as in Predator)",
        requestBody: { required: true, content: json(ref("WebhookInput")) },
        responses: {
          "200": { description: "Updated", content: json(ref("Webhook")) },
          ...errors,
          ...notFound,
        },
      },
      patch: {
        summary: "Change some fields of a webhook (null clears secret, headers or context_id)",
        requestBody: { required: true, content: json(ref("WebhookPatch")) },
        responses: {
          "200": { description: "Updated", content: json(ref("Webhook")) },
          ...errors,
          ...notFound,
        },
      },
      delete: {
        summary: "Delete a webhook",
        responses: { "204": { description: "Deleted" }, ...errors, ...notFound },
      },
    },
    "/v1/webhooks/{webhook_id}/deliveries": {
      parameters: [webhookId],
      get: {
        summary: "Recent delivery reports of a webhook, newest first",
        responses: {
          "200": { description: "Reports", content: json({ type: "array", items: ref("Delivery") }) },
          ...errors,
          ...notFound,
        },
      },
    },
    "/v1/webhooks/{webhook_id}/preview": {
      parameters: [webhookId],
      post: {
        summary: "The payload this webhook would receive for a sample event",
        requestBody: { required: true, content: json(ref("PreviewRequest")) },
        responses: {
          "200": { description: "The payload", content: json(ref("Preview")) },
          ...errors,
          ...notFound,
        },
      },
    },
  },
  components: {
    schemas: {
      Event: { type: "string", enum: [...EVENT_NAMES] },
      Webhook: {
        type: "object",
        required: [
          "id",
          "name",
          "url",
          "format_type",
          "events",
          "global",
          "enabled",
          "has_secret",
          "created_at",
          "updated_at",
        ],
        additionalProperties: false,
        properties: {
          id: { type: "string" },
          name: { type: "string" },
          url: {
            type: "string",
            description: "Masked: scheme and host, then /*** when there is a path or query",
          },
          format_type: { type: "string" },
          events: { type: "array", items: ref("Event"), minItems: 1 },
          global: { type: "boolean" },
          enabled: { type: "boolean" },
          context_id: { type: "string" },
          has_secret: { type: "boolean" },
          headers: { type: "object", additionalProperties: { type: "string", const: "***" } },
          created_at: { type: "string", format: "date-time" },
          updated_at: { type: "string", format: "date-time" },
        },
      },
      WebhookInput: {
        type: "object",
        required: ["name", "url", "format_type", "events"],
        additionalProperties: false,
        properties: {
          name: { type: "string" },
          url: { type: "string", maxLength: 2048 },
          format_type: { type: "string" },
          events: { type: "array", items: ref("Event"), minItems: 1, uniqueItems: true },
          global: { type: "boolean" },
          enabled: { type: "boolean" },
          context_id: { type: ["string", "null"] },
          secret: { type: ["string", "null"], pattern: "^whsec_" },
          headers: { type: ["object", "null"], additionalProperties: { type: "string" } },
        },
      },
      WebhookPatch: {
        type: "object",
        additionalProperties: false,
        properties: {
          name: { type: "string" },
          url: { type: "string", maxLength: 2048 },
          format_type: { type: "string" },
          events: { type: "array", items: ref("Event"), minItems: 1, uniqueItems: true },
          global: { type: "boolean" },
          enabled: { type: "boolean" },
          context_id: { type: ["string", "null"] },
          secret: { type: ["string", "null"] },
          headers: { type: ["object", "null"], additionalProperties: { type: "string" } },
        },
      },
      TestRequest: {
        type: "object",
        required: ["url", "format_type"],
        additionalProperties: false,
        properties: { url: { type: "string" }, format_type: { type: "string" } },
      },
      TestResponse: {
        type: "object",
        required: ["webhook_status_code", "is_successful"],
        additionalProperties: false,
        properties: {
          webhook_status_code: { type: ["integer", "null"] },
          is_successful: { type: "boolean" },
          error: { type: "string" },
        },
      },
      PreviewRequest: {
        type: "object",
        required: ["event"],
        additionalProperties: false,
        properties: { event: ref("Event") },
      },
      Preview: {
        type: "object",
        required: ["format_type", "body", "size", "headers", "warnings"],
        additionalProperties: false,
        properties: {
          format_type: { type: "string" },
          body: {},
          size: { type: "integer" },
          headers: { type: "object", additionalProperties: { type: "string" } },
          warnings: { type: "array", items: { type: "string" } },
        },
      },
      Delivery: {
        type: "object",
        required: [
          "at",
          "delivery_id",
          "event",
          "run_id",
          "attempt",
          "final",
          "ok",
          "outcome",
          "target",
          "duration_ms",
        ],
        additionalProperties: false,
        properties: {
          at: { type: "string", format: "date-time" },
          delivery_id: { type: "string" },
          event: ref("Event"),
          run_id: { type: "string" },
          attempt: { type: "integer" },
          final: { type: "boolean" },
          ok: { type: "boolean" },
          outcome: {
            type: "string",
            enum: ["delivered", "retrying", "failed", "format_failed", "dropped", "abandoned"],
          },
          reason: { type: "string" },
          status: { type: "integer" },
          target: { type: "string" },
          duration_ms: { type: "number" },
          error: { type: "string" },
        },
      },
      ValidationError: {
        type: "object",
        required: ["message", "validation_errors"],
        additionalProperties: false,
        properties: {
          message: { const: "Input validation error" },
          validation_errors: { type: "array", items: { type: "string" } },
        },
      },
      NotFound: {
        type: "object",
        required: ["message"],
        additionalProperties: false,
        properties: { message: { const: "Not found" } },
      },
    },
  },
} as const;
