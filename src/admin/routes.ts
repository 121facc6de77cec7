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

/** @internal One path under `v1/webhooks` and the methods it takes. */
export interface Route {
  /** `""`, `"test"`, `":id"`, `":id/deliveries"`… */
  readonly path: string;
  readonly methods: Readonly<Record<string, Handler>>;
}

/** @internal The admin's API: the one table the handler dispatches on. */
export const routes: readonly Route[] = [
  { path: "", methods: { GET: listWebhooks, POST: createWebhook } },
  { path: "test", methods: { POST: testWebhook } },
  {
    path: ":id",
    methods: { GET: getWebhook, PUT: replaceWebhook, PATCH: patchWebhook, DELETE: removeWebhook },
  },
  { path: ":id/deliveries", methods: { GET: listDeliveries } },
  { path: ":id/preview", methods: { POST: previewWebhook } },
];

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
  const handler = match.route.methods[method];
  if (handler === undefined) return methodNotAllowed(Object.keys(match.route.methods));
  if (match.id !== undefined) {
    const problem = context.dialect.idProblem(match.id);
    if (problem !== undefined) return validationErrors([problem]);
  }
  return handler({ ...context, id: match.id ?? "" });
}

function matchRoute(segments: readonly string[]): { route: Route; id?: string | undefined } | undefined {
  for (const route of routes) {
    const parts = route.path === "" ? [] : route.path.split("/");
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
  return jsonResponse(
    200,
    visible.map((webhook) => dialect.toWire(webhook)),
  );
}

async function createWebhook(context: RouteContext): Promise<Response> {
  const input = await body(context, (value) => context.dialect.create(value, context.tenant));
  if (input instanceof Response) return input;
  return jsonResponse(201, context.dialect.toWire(await context.notifier.webhooks.create(input)));
}

async function getWebhook(context: RouteContext): Promise<Response> {
  const webhook = await owned(context);
  return webhook ? jsonResponse(200, context.dialect.toWire(webhook)) : notFound();
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
  return updated ? jsonResponse(200, context.dialect.toWire(updated)) : notFound();
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
