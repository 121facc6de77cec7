import type { CircuitState } from "../delivery/circuit.js";
import type { EventName } from "../events.js";
import type { Notifier } from "../notifier.js";
import type { Webhook, WebhookPatch } from "../webhooks/model.js";
import { parsed, refused, type Dialect, type Parsed } from "./dialect.js";
import { jsonResponse, methodNotAllowed, notFound, readJson, validationErrors } from "./http.js";
import { previewBodySchema, wireBodyIssue, type DeliveryWire } from "./wire.js";

/** @internal What every route handler gets: one request, already authorized, with its tenant. */
export interface RouteContext {
  readonly request: Request;
  /** The request's tenant: every webhook it reads, changes or creates is this tenant's. */
  readonly tenant: string | undefined;
  /** The path's webhook id, checked against the dialect. */
  readonly id: string;
  readonly notifier: Notifier;
  readonly dialect: Dialect;
  readonly maxBody: number;
  readonly deliveries: (webhookId: string) => readonly DeliveryWire[];
}

type Handler = (context: RouteContext) => Promise<Response>;

/** @internal A schema of the OpenAPI document's `components.schemas` that an operation names. */
export type SchemaName =
  | "Webhook"
  | "WebhookInput"
  | "WebhookReplace"
  | "WebhookPatch"
  | "TestRequest"
  | "TestResponse"
  | "PreviewRequest"
  | "Preview"
  | "Delivery";

/**
 * @internal What the OpenAPI document says of one operation, as plain data (openapi.ts writes it out).
 * What follows from the route's shape is not here, so it cannot drift from what the server does: the
 * document adds 400, 401, 403 and 500 to every operation; on a path with `:id`, the `webhook_id`
 * parameter and 404 (a webhook missing or another tenant's); with a `body`, 413 and 415 (`readJson`'s
 * refusals); and the `x-context-id` header to every path, as the admin reads it before it dispatches.
 */
export interface OperationDoc {
  readonly summary: string;
  /** The summary in Predator mode, where what the operation does there differs. */
  readonly predatorSummary?: string;
  /** The schema of the JSON body the handler reads; none when it reads no body. */
  readonly body?: SchemaName;
  /** The answer on success. */
  readonly ok: {
    readonly status: "200" | "201" | "204";
    readonly description: string;
    /** The answer's body: this schema, or (`list`) an array of it; none for an answer without a body. */
    readonly schema?: SchemaName;
    readonly list?: true;
  };
}

/**
 * @internal One method of a route: the handler that answers it and what the OpenAPI document says of it.
 * A pair, so that a method cannot be added without its docs (that is a type error). openapi.ts reads this
 * table; nothing here imports openapi.ts, so that makes no import cycle.
 */
export interface Operation {
  readonly handler: Handler;
  readonly doc: OperationDoc;
}

/** @internal One path under `v1/webhooks` and the methods it takes. */
export interface Route {
  /** `""`, `"test"`, `":id"`, `":id/deliveries"`… */
  readonly path: string;
  /** Method (upper case) → operation, in the order the OpenAPI document lists them. */
  readonly methods: Readonly<Record<string, Operation>>;
}

/**
 * @internal The admin's API: the one table the handler dispatches on and the OpenAPI document's `paths`
 * are built from, in this order.
 */
export const routes: readonly Route[] = [
  {
    path: "",
    methods: {
      GET: {
        handler: listWebhooks,
        doc: {
          summary: "List the tenant's webhooks, most recently updated first",
          ok: { status: "200", description: "Webhooks", schema: "Webhook", list: true },
        },
      },
      POST: {
        handler: createWebhook,
        doc: {
          summary: "Create a webhook in the request's tenant",
          body: "WebhookInput",
          ok: { status: "201", description: "Created", schema: "Webhook" },
        },
      },
    },
  },
  {
    path: "test",
    methods: {
      POST: {
        handler: testWebhook,
        doc: {
          summary: "Send a test message to a URL in a format, without saving anything",
          predatorSummary: "Send Predator's test message to a URL in a format, without saving anything",
          body: "TestRequest",
          ok: {
            status: "200",
            description: "The result (also when the target failed)",
            schema: "TestResponse",
          },
        },
      },
    },
  },
  {
    path: ":id",
    methods: {
      GET: {
        handler: getWebhook,
        doc: {
          summary: "Get a webhook",
          ok: { status: "200", description: "The webhook", schema: "Webhook" },
        },
      },
      PUT: {
        handler: replaceWebhook,
        doc: {
          summary:
            "Replace a webhook: fields a GET shows and the body leaves out take their defaults; the secret is kept unless set or cleared (null)",
          predatorSummary: "Update a webhook as Predator does: the required fields, and global when given",
          body: "WebhookReplace",
          ok: { status: "200", description: "Updated", schema: "Webhook" },
        },
      },
      PATCH: {
        handler: patchWebhook,
        doc: {
          summary: "Change some fields of a webhook (null clears secret or headers)",
          body: "WebhookPatch",
          ok: { status: "200", description: "Updated", schema: "Webhook" },
        },
      },
      DELETE: {
        handler: removeWebhook,
        doc: { summary: "Delete a webhook", ok: { status: "204", description: "Deleted" } },
      },
    },
  },
  {
    path: ":id/deliveries",
    methods: {
      GET: {
        handler: listDeliveries,
        doc: {
          summary: "Recent delivery reports of a webhook, newest first",
          ok: { status: "200", description: "Reports", schema: "Delivery", list: true },
        },
      },
    },
  },
  {
    path: ":id/preview",
    methods: {
      POST: {
        handler: previewWebhook,
        doc: {
          summary: "The payload this webhook would receive for a sample event",
          body: "PreviewRequest",
          ok: { status: "200", description: "The payload", schema: "Preview" },
        },
      },
    },
  },
];

/** @internal A route's path as segments: `""` has none, `":id/deliveries"` has two. */
export function routeSegments(route: Route): readonly string[] {
  return route.path === "" ? [] : route.path.split("/");
}

/**
 * @internal Finds the route for the segments after `v1/webhooks` and runs it: 404 for no route, 405 with
 * `Allow` for a method the route does not take, 400 for an id the dialect refuses.
 */
export async function dispatch(
  segments: readonly string[],
  method: string,
  context: Omit<RouteContext, "id">,
): Promise<Response> {
  const match = matchRoute(segments);
  if (match === undefined) return notFound();
  const operation = match.route.methods[method];
  if (operation === undefined) return methodNotAllowed(Object.keys(match.route.methods));
  if (match.id !== undefined) {
    const problem = context.dialect.idProblem(match.id);
    if (problem !== undefined) return validationErrors([problem]);
  }
  return operation.handler({ ...context, id: match.id ?? "" });
}

function matchRoute(segments: readonly string[]): { route: Route; id?: string | undefined } | undefined {
  for (const route of routes) {
    const parts = routeSegments(route);
    if (parts.length !== segments.length) continue;
    let id: string | undefined;
    // Routes are tried in order, so `test` is matched before it could be taken for an id.
    const fits = parts.every((part, index) => {
      const segment = segments[index] ?? "";
      if (part !== ":id") return part === segment;
      id = decodeSegment(segment);
      return true;
    });
    if (fits) return { route, id };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Not valid percent-encoding: no dialect takes it as an id.
    return segment;
  }
}

async function listWebhooks({ notifier, tenant, dialect }: RouteContext): Promise<Response> {
  const list = await notifier.webhooks.list();
  // Predator's rule: a request with a tenant sees that tenant's webhooks only, not those without one.
  const visible = tenant === undefined ? list : list.filter((webhook) => webhook.tenant === tenant);
  const open = new Map(notifier.circuits().map((circuit) => [circuit.webhookId, circuit]));
  return jsonResponse(
    200,
    visible.map((webhook) => dialect.toWire(webhook, open.get(webhook.id))),
  );
}

async function createWebhook(context: RouteContext): Promise<Response> {
  const input = await body(context, (value) => context.dialect.create(value, context.tenant));
  if (input instanceof Response) return input;
  return jsonResponse(201, context.dialect.toWire(await context.notifier.webhooks.create(input)));
}

async function getWebhook(context: RouteContext): Promise<Response> {
  const webhook = await owned(context);
  return webhook
    ? jsonResponse(200, context.dialect.toWire(webhook, circuitOf(context, webhook.id)))
    : notFound();
}

async function replaceWebhook(context: RouteContext): Promise<Response> {
  return updateWith(context, (value) => context.dialect.replace(value));
}

async function patchWebhook(context: RouteContext): Promise<Response> {
  return updateWith(context, (value) => context.dialect.patch(value));
}

async function updateWith(
  context: RouteContext,
  parse: (value: unknown) => Parsed<WebhookPatch>,
): Promise<Response> {
  const patch = await body(context, parse);
  if (patch instanceof Response) return patch;
  const updated = await context.notifier.webhooks.update(context.id, patch, { tenant: context.tenant });
  return updated
    ? jsonResponse(200, context.dialect.toWire(updated, circuitOf(context, updated.id)))
    : notFound();
}

async function removeWebhook({ notifier, id, tenant }: RouteContext): Promise<Response> {
  return (await notifier.webhooks.remove(id, { tenant })) ? new Response(null, { status: 204 }) : notFound();
}

async function testWebhook(context: RouteContext): Promise<Response> {
  const target = await body(context, (value) => context.dialect.testTarget(value));
  if (target instanceof Response) return target;
  return jsonResponse(200, context.dialect.testResponse(await context.notifier.test(target)));
}

async function listDeliveries(context: RouteContext): Promise<Response> {
  if (!(await owned(context))) return notFound();
  return jsonResponse(200, context.deliveries(context.id));
}

async function previewWebhook(context: RouteContext): Promise<Response> {
  const event = await body(context, (value): Parsed<EventName> => {
    const result = previewBodySchema.safeParse(value);
    return result.success ? parsed(result.data.event) : refused(result.error.issues.map(wireBodyIssue));
  });
  if (event instanceof Response) return event;
  const webhook = await owned(context);
  if (!webhook) return notFound();
  const preview = context.notifier.preview(event, webhook.format);
  return jsonResponse(200, {
    format_type: preview.format,
    body: parseOr(preview.body),
    size: preview.size,
    headers: preview.headers,
    warnings: preview.warnings,
  });
}

/** The path's webhook, when it is the request tenant's. */
function owned({ notifier, id, tenant }: RouteContext): Promise<Webhook | undefined> {
  return notifier.webhooks.get(id, { tenant });
}

async function body<T>(context: RouteContext, parse: (value: unknown) => Parsed<T>): Promise<T | Response> {
  const json = await readJson(context.request, context.maxBody);
  if (json instanceof Response) return json;
  const result = parse(json.value);
  return result.ok ? result.value : validationErrors(result.errors);
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The webhook's circuit while it is open. */
function circuitOf(context: RouteContext, webhookId: string): CircuitState | undefined {
  return context.notifier.circuits().find((circuit) => circuit.webhookId === webhookId);
}
