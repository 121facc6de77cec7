import { EVENT_NAMES } from "../events.js";
import { BUILT_IN_FORMATS } from "../formatters/registry.js";
import { MASK, MAX_URL_LENGTH, WEBHOOK_RULES } from "../webhooks/model.js";
import { routeSegments, routes, type OperationDoc, type SchemaName } from "./routes.js";

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** The formats `format_type` may name: the notifier's (`notifier.formats()`). */
  formats: readonly string[];
  /** Describe Predator's wire instead of runhooks' own (see `AdminOptions.compat`). */
  compat?: "predator" | undefined;
}

/** A JSON Schema, as plain data. */
type Schema = Record<string, unknown>;

/** The names of `components.schemas`: the operations' (from the routes table) and those the schemas share. */
type ComponentName = SchemaName | "Event" | "Format" | "ValidationError" | "NotFound" | "Message";

/** An OpenAPI 3.1 document, as plain data: the parts code reads typed, the rest as JSON. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  security: Array<Record<string, string[]>>;
  /** Path → path item (`parameters`, then one operation per method). */
  paths: Record<string, Record<string, unknown>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
}

const json = (schema: unknown): Schema => ({ "application/json": { schema } });
const ref = (name: ComponentName): Schema => ({ $ref: `#/components/schemas/${name}` });
const message = (text: string, schema: ComponentName = "Message"): Schema => ({
  description: text,
  content: json(ref(schema)),
});

// JSON Schema patterns have no flags: a case-insensitive word is written as [cC][oO]…. (The reserved
// header names have no character that needs escaping.)
const anyCase = (word: string): string =>
  word.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
const escape = (re: RegExp): string => re.source;

/** The rules every stored URL meets: what `webhooks.create()` checks before its address guard. */
function urlSchema(masked: "refused" | "kept"): Schema {
  return {
    type: "string",
    format: "uri",
    maxLength: MAX_URL_LENGTH,
    // http(s), a host without a user name or password, as RFC 3986 writes it.
    pattern: escape(WEBHOOK_RULES.httpUri),
    ...(masked === "refused"
      ? {
          not: { pattern: `^[^/]*//[^/]*/\\*\\*\\*$` },
          description:
            "The full URL (a masked one, scheme://host/***, is refused). An IP literal in a range the notifier refuses (private, loopback, link-local, metadata) is refused too; host names are checked when a delivery connects.",
        }
      : {
          description:
            "The full URL, or the masked one a GET shows (scheme://host/***) to keep the stored URL. The same rules as on create apply to a new URL.",
        }),
  };
}

function headersSchema(masked: "refused" | "kept"): Schema {
  const value: Schema = {
    type: "string",
    maxLength: WEBHOOK_RULES.headerValueMaxLength,
    pattern: escape(WEBHOOK_RULES.headerValue).replace("\\0", "\\u0000"),
    ...(masked === "refused"
      ? { not: { const: MASK } }
      : { description: `${MASK} keeps the stored value of that header (the webhook must have it)` }),
  };
  return {
    type: ["object", "null"],
    maxProperties: WEBHOOK_RULES.maxHeaders,
    propertyNames: {
      maxLength: WEBHOOK_RULES.headerNameMaxLength,
      pattern: escape(WEBHOOK_RULES.headerName),
      not: { pattern: `^(${WEBHOOK_RULES.reservedHeaders.map(anyCase).join("|")})$` },
    },
    additionalProperties: value,
    description:
      "Extra request headers; names are HTTP tokens, except those runhooks sets itself. null clears.",
  };
}

const NAME: Schema = { type: "string", pattern: "\\S", maxLength: WEBHOOK_RULES.nameMaxLength };
const EVENTS: Schema = { type: "array", items: ref("Event"), minItems: 1, uniqueItems: true };
const SECRET: Schema = {
  type: ["string", "null"],
  pattern: escape(WEBHOOK_RULES.secret),
  description: "A Standard Webhooks signing secret: whsec_ and base64 of 24 bytes or more. null clears.",
};
// What a GET answers beside the writable fields: accepted in a body so it can be sent back, and ignored.
const READ_ONLY: Schema = {
  id: { type: "string", readOnly: true },
  has_secret: { type: "boolean", readOnly: true },
  context_id: {
    type: ["string", "null"],
    readOnly: true,
    description: "Ignored: a webhook's tenant is the x-context-id of the request that created it.",
  },
  created_at: { type: "string", readOnly: true },
  updated_at: { type: "string", readOnly: true },
  circuit: { readOnly: true },
};

function nativeBody(masked: "refused" | "kept", required: boolean): Schema {
  return {
    type: "object",
    ...(required && { required: ["name", "url", "format_type", "events"] }),
    additionalProperties: false,
    properties: {
      name: NAME,
      url: urlSchema(masked),
      format_type: ref("Format"),
      events: EVENTS,
      global: { type: "boolean" },
      enabled: { type: "boolean" },
      secret: SECRET,
      headers: headersSchema(masked),
      ...READ_ONLY,
    },
  };
}

function predatorBody(masked: "refused" | "kept", required: boolean): Schema {
  return {
    type: "object",
    ...(required && { required: ["name", "url", "events", "format_type"] }),
    description: "Predator's webhook. Other fields are ignored, as Predator ignores them.",
    properties: {
      name: NAME,
      url: urlSchema(masked),
      events: EVENTS,
      format_type: ref("Format"),
      global: { type: "boolean" },
    },
  };
}

const NATIVE_WEBHOOK: Schema = {
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
    url: { type: "string", description: "Masked: scheme and host, then /*** when there is a path or query" },
    format_type: { type: "string" },
    events: { type: "array", items: ref("Event"), minItems: 1 },
    global: { type: "boolean" },
    enabled: { type: "boolean" },
    context_id: { type: "string", description: "The tenant; left out when there is none" },
    has_secret: { type: "boolean" },
    headers: { type: "object", additionalProperties: { type: "string", const: MASK } },
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" },
    circuit: {
      type: "object",
      description: "Present while the webhook's circuit is open: its deliveries are held back",
      required: ["state", "opened_at", "failures", "probe_at"],
      additionalProperties: false,
      properties: {
        state: { enum: ["open", "probing"] },
        opened_at: { type: "string", format: "date-time" },
        failures: { type: "integer", minimum: 1 },
        probe_at: { type: "string", format: "date-time" },
      },
    },
  },
};

const PREDATOR_WEBHOOK: Schema = {
  type: "object",
  required: ["id", "name", "url", "global", "format_type", "created_at", "updated_at", "events"],
  additionalProperties: false,
  properties: {
    id: { type: "string", format: "uuid" },
    name: { type: "string" },
    url: { type: "string", description: "The full URL, as Predator answers it" },
    global: { type: "boolean" },
    format_type: { type: "string" },
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" },
    context_id: { type: "string", description: "The tenant; left out when there is none" },
    events: { type: "array", items: ref("Event"), minItems: 1 },
  },
};

const NATIVE_TEST_RESPONSE: Schema = {
  type: "object",
  required: ["webhook_status_code", "is_successful"],
  additionalProperties: false,
  properties: {
    webhook_status_code: { type: ["integer", "null"], description: "null when no response came" },
    is_successful: { type: "boolean", description: "A 2xx answer" },
    error: { type: "string" },
  },
};

const PREDATOR_TEST_RESPONSE: Schema = {
  type: "object",
  required: ["webhook_status_code", "is_successful"],
  additionalProperties: false,
  properties: {
    webhook_status_code: {
      type: ["integer", "string"],
      description: "The HTTP status, or (as Predator) the error's message when no response came",
    },
    is_successful: { type: "boolean", description: "A 2xx answer" },
  },
};

/** The document's `components.schemas`: every name an operation in the routes table uses is one of them. */
function schemas(options: OpenApiOptions): Record<ComponentName, Schema> {
  const predator = options.compat === "predator";
  const [first = "json", ...others] = options.formats;
  return {
    Event: { type: "string", enum: [...EVENT_NAMES] },
    Format: { type: "string", enum: [first, ...others], description: "A format the notifier has registered" },
    Webhook: predator ? PREDATOR_WEBHOOK : NATIVE_WEBHOOK,
    WebhookInput: predator ? predatorBody("refused", true) : nativeBody("refused", true),
    WebhookReplace: predator ? predatorBody("kept", true) : nativeBody("kept", true),
    WebhookPatch: predator ? predatorBody("kept", false) : nativeBody("kept", false),
    TestRequest: {
      type: "object",
      required: ["url", "format_type"],
      ...(predator
        ? { description: "Other fields (the rest of a webhook) are ignored, as Predator ignores them." }
        : { additionalProperties: false }),
      properties: { url: urlSchema("refused"), format_type: ref("Format") },
    },
    TestResponse: predator ? PREDATOR_TEST_RESPONSE : NATIVE_TEST_RESPONSE,
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
    Delivery: DELIVERY,
    ValidationError: {
      type: "object",
      required: ["message", "validation_errors"],
      additionalProperties: false,
      properties: {
        message: { const: "Input validation error" },
        validation_errors: { type: "array", items: { type: "string" }, minItems: 1 },
      },
    },
    NotFound: {
      type: "object",
      required: ["message"],
      additionalProperties: false,
      properties: { message: { const: "Not found" } },
    },
    Message: {
      type: "object",
      required: ["message"],
      additionalProperties: false,
      properties: { message: { type: "string" } },
    },
  };
}

const DELIVERY: Schema = {
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
};

/**
 * The parameters and answers the document repeats, for one wire (runhooks' own or Predator's): the parts
 * of a path item or an operation that follow from the route's shape rather than from its `doc`.
 */
interface Shared {
  predator: boolean;
  tenant: Schema;
  webhookId: Schema;
  /** What any operation may answer: the admin's own refusals before or around the handler. */
  common: Schema;
  /** What an operation that reads a body may answer, from `readJson`. */
  withBody: Schema;
  /** What an operation on a path with an id may answer: the webhook is missing or another tenant's. */
  missing: Schema;
}

function shared(predator: boolean): Shared {
  return {
    predator,
    tenant: {
      name: "x-context-id",
      in: "header",
      required: false,
      description:
        "The tenant (Predator's context id): the request sees, changes and creates this tenant's webhooks only; without it, every webhook. When authorize() pins a tenant, a different value is refused with 403.",
      schema: { type: "string", minLength: 1, maxLength: WEBHOOK_RULES.tenantMaxLength },
    },
    webhookId: {
      name: "webhook_id",
      in: "path",
      required: true,
      schema: predator
        ? { type: "string", format: "uuid" }
        : { type: "string", pattern: "^[A-Za-z0-9_-]{1,256}$" },
    },
    common: {
      "400": message("Input validation error", "ValidationError"),
      "401": { description: "Not authorized (no body)" },
      "403": message("x-context-id names another tenant than authorize() pinned"),
      "500": message(predator ? "Internal server error" : "Internal error"),
    },
    withBody: {
      "413": message("Body over maxBodyBytes"),
      "415": message("Not application/json"),
    },
    missing: { "404": message("Not found", "NotFound") },
  };
}

/** The document's `paths`: one path item per route of the table the admin dispatches on, in its order. */
function paths(options: OpenApiOptions): OpenApiDocument["paths"] {
  const docs = shared(options.compat === "predator");
  return Object.fromEntries(
    routes.map((route) => {
      const segments = routeSegments(route);
      const hasId = segments.includes(":id");
      const item: Record<string, unknown> = {
        parameters: hasId ? [docs.webhookId, docs.tenant] : [docs.tenant],
      };
      for (const [method, { doc }] of Object.entries(route.methods)) {
        item[method.toLowerCase()] = operation(doc, hasId, docs);
      }
      // The route's `:id` is the `webhook_id` parameter, Predator's name for it.
      const path = ["/v1/webhooks", ...segments.map((part) => (part === ":id" ? "{webhook_id}" : part))];
      return [path.join("/"), item];
    }),
  );
}

function operation(doc: OperationDoc, hasId: boolean, docs: Shared): Schema {
  const { status, description, schema, list } = doc.ok;
  const answer =
    schema === undefined
      ? { description }
      : { description, content: json(list ? { type: "array", items: ref(schema) } : ref(schema)) };
  return {
    summary: docs.predator ? (doc.predatorSummary ?? doc.summary) : doc.summary,
    ...(doc.body !== undefined && { requestBody: { required: true, content: json(ref(doc.body)) } }),
    responses: {
      [status]: answer,
      ...docs.common,
      ...(hasId && docs.missing),
      ...(doc.body !== undefined && docs.withBody),
    },
  };
}

/**
 * The OpenAPI 3.1 description of the admin REST API for a notifier's formats, in runhooks' own wire or
 * Predator's. Every rule the server enforces on a body is in it, so a request valid against it is never
 * refused. The admin serves its own at `<basePath>openapi.json`.
 */
export function buildOpenApiDocument(options: OpenApiOptions): OpenApiDocument {
  const predator = options.compat === "predator";
  return {
    openapi: "3.1.0",
    info: {
      title: predator ? "runhooks admin API (Predator mode)" : "runhooks admin API",
      version: "1",
      description: predator
        ? "Predator 1.7's /v1/webhooks API: its fields, status codes, UUID ids, full URLs and AJV's validation messages, plus deliveries, preview and PATCH. A request that accepts application/vnd.runhooks+json gets runhooks' own wire instead."
        : "Webhook management compatible with Predator's /v1/webhooks API (snake_case fields, format_type, the same status codes and error shapes), plus deliveries, preview and PATCH. URLs and secret header values are always masked in responses; sent back masked, they keep the stored values.",
    },
    security: [{ authorize: [] }],
    paths: paths(options),
    components: {
      securitySchemes: {
        authorize: {
          type: "http",
          scheme: "bearer",
          description:
            "Whatever the server's authorize(request) checks; a bearer token is the documented setup. A refused request gets 401 with no body.",
        },
      },
      schemas: schemas(options),
    },
  };
}

/** The document of an admin in runhooks' own wire with the built-in formats, as docs/openapi.json has it. */
export const openApiDocument: OpenApiDocument = buildOpenApiDocument({ formats: BUILT_IN_FORMATS });
