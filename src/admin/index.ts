import type { IncomingMessage, ServerResponse } from "node:http";
import { isValidationError } from "../errors.js";
import type { Notifier } from "../notifier.js";
import type { Dialect } from "./dialect.js";
import {
  html,
  jsonResponse,
  methodNotAllowed,
  notFound,
  toRequest,
  validationErrors,
  writeResponse,
} from "./http.js";
import { buildOpenApiDocument } from "./openapi.js";
import { adminPage } from "./page.js";
import { predatorDialect } from "./predator.js";
import { dispatch } from "./routes.js";
import { deliveryToWire, nativeDialect, type DeliveryWire } from "./wire.js";

export { MASK, maskUrl } from "../webhooks/model.js";
export type { DeliveryWire, WebhookWire } from "./wire.js";
export type { PredatorWebhookWire } from "./predator.js";
export {
  openApiDocument,
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiOptions,
} from "./openapi.js";

/**
 * What `authorize` decides for a request: `false` refuses it (401), `true` lets it in with the tenant its
 * `x-context-id` header names (or none), and `{ tenant }` lets it in for that tenant only.
 */
export type AuthorizeResult = boolean | { readonly tenant: string };

/** Options of {@link createAdmin}. */
export interface AdminOptions {
  /**
   * Where the admin lives: the page at `basePath`, the API at `basePath + "v1/webhooks"`.
   * @default "/"
   */
  basePath?: string | undefined;
  /**
   * Decides who may use the admin; required, because it manages credentials. Return `false` and the
   * request gets 401 with no body. Return `{ tenant }` to pin the request to the tenant its credentials
   * belong to: a header a client can forge must not beat the authenticated identity, so a request whose
   * `x-context-id` names another tenant then gets 403. Anything else than `true`, `false` or an object
   * with a non-empty `tenant` string is taken as `false`.
   * @example authorize: (request) => request.headers.get("authorization") === `Bearer ${process.env.ADMIN_TOKEN}`
   * @example authorize: async (request) => ({ tenant: (await session(request)).team }) // one tenant per login
   */
  authorize: (request: Request) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Speak Predator 1.7's webhook API exactly, for Predator's UI and clients: its fields and status codes,
   * full URLs (Predator's UI edits them), UUID ids and AJV's validation wording, and Predator's test
   * message. Without it the API is runhooks' own: masked URLs and header values, secrets, `enabled`.
   * In Predator mode a request that accepts `application/vnd.runhooks+json` still gets runhooks' own
   * wire (the admin page asks for it).
   */
  compat?: "predator" | undefined;
  /**
   * Largest request body accepted, in bytes; larger ones get 413.
   * @default 65536
   */
  maxBodyBytes?: number | undefined;
  /**
   * Delivery reports kept per webhook for `GET …/deliveries`.
   * @default 50
   */
  deliveriesPerWebhook?: number | undefined;
}

/** A mountable admin: one handler for fetch-style servers, one for node:http-style servers. */
export interface Admin {
  /** For Hono, Bun, Deno, Next route handlers: any server that speaks `Request`/`Response`. */
  readonly fetch: (request: Request) => Promise<Response>;
  /** For node:http, Express, Fastify's raw server: `http.createServer(admin.node)`. */
  readonly node: (req: IncomingMessage, res: ServerResponse) => void;
  /** Stops recording delivery reports. */
  readonly close: () => void;
}

/** The media type that selects runhooks' own wire in Predator mode. */
const NATIVE_MEDIA_TYPE = "application/vnd.runhooks+json";

/**
 * The webhooks admin: a Predator-compatible REST API (`/v1/webhooks`…) and a page to use it, for any
 * Node server. Responses mask URLs and secret header values, as `webhook.toJSON()` does, unless
 * `compat: "predator"` asks for Predator's wire. The tenant of a request is its `x-context-id` header
 * (or what `authorize` pins): it sees, changes and creates that tenant's webhooks only.
 *
 * @example
 * const admin = createAdmin(notifier, { authorize: (r) => r.headers.get("authorization") === `Bearer ${token}` });
 * http.createServer(admin.node).listen(8080, "127.0.0.1");
 */
export function createAdmin(notifier: Notifier, options: AdminOptions): Admin {
  if (typeof (options as Partial<AdminOptions> | undefined)?.authorize !== "function") {
    throw new TypeError("createAdmin: authorize is required: the admin manages webhook credentials");
  }
  const basePath = normaliseBase(options.basePath ?? "/");
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const predator = options.compat === "predator" ? predatorDialect(notifier.formats()) : undefined;
  const document = buildOpenApiDocument({ formats: notifier.formats(), compat: options.compat });
  const deliveries = recordDeliveries(notifier, options.deliveriesPerWebhook ?? 50);

  // The two documents the admin serves beside the API, by path inside basePath; GET only.
  const served = new Map<string, () => Response>([
    ["/", () => html(adminPage(basePath))],
    ["/openapi.json", () => jsonResponse(200, document)],
  ]);

  const api = async (path: string, request: Request, tenant: string | undefined): Promise<Response> => {
    const [v1, webhooks, ...rest] = path.split("/").filter(Boolean);
    if (v1 !== "v1" || webhooks !== "webhooks") return notFound();
    const dialect = predator !== undefined && !wantsNative(request) ? predator : nativeDialect;
    try {
      return await dispatch(rest, request.method.toUpperCase(), {
        request,
        tenant,
        notifier,
        dialect,
        maxBody,
        deliveries: deliveries.of,
      });
    } catch (error) {
      return failure(error, dialect);
    }
  };

  const handle = async (request: Request): Promise<Response> => {
    const path = pathInside(basePath, new URL(request.url).pathname);
    if (path === undefined) return notFound();
    const tenant = requestTenant(request, await options.authorize(request));
    if (tenant instanceof Response) return tenant;
    const serve = served.get(path);
    if (serve === undefined) return api(path, request, tenant.tenant);
    return request.method.toUpperCase() === "GET" ? serve() : methodNotAllowed(["GET"]);
  };

  const fetchHandler = async (request: Request): Promise<Response> => {
    try {
      return await handle(request);
    } catch (error) {
      return failure(error, predator ?? nativeDialect);
    }
  };

  return {
    fetch: fetchHandler,
    node(req, res) {
      void toRequest(req, maxBody).then(
        async (request) => {
          const response = request instanceof Response ? request : await fetchHandler(request);
          await writeResponse(res, response);
        },
        () => {
          res.writeHead(400).end();
        },
      );
    },
    close: deliveries.stop,
  };
}

/**
 * The request's tenant: what `authorize` pinned, or the `x-context-id` header (Predator's rule; an empty
 * header is none). 401 when `authorize` refused; 403 when the header names another tenant than the pin.
 */
function requestTenant(request: Request, verdict: unknown): { tenant: string | undefined } | Response {
  const header = request.headers.get("x-context-id") || undefined;
  if (verdict === true) return { tenant: header };
  const pinned = pinnedTenant(verdict);
  if (pinned === undefined) return new Response(null, { status: 401 });
  if (header !== undefined && header !== pinned) {
    return jsonResponse(403, {
      message: "Forbidden: x-context-id names another tenant than this request is authorized for",
    });
  }
  return { tenant: pinned };
}

/** The tenant a `{ tenant }` verdict pins; none for anything else (`false`, or not such an object). */
function pinnedTenant(verdict: unknown): string | undefined {
  if (typeof verdict !== "object" || verdict === null) return undefined;
  const { tenant } = verdict as { tenant?: unknown };
  return typeof tenant === "string" && tenant !== "" ? tenant : undefined;
}

/**
 * The path inside `basePath` (`/` for `basePath` itself, with or without its trailing slash; trailing
 * slashes dropped), or none for a path outside it.
 */
function pathInside(basePath: string, pathname: string): string | undefined {
  if (!pathname.startsWith(basePath) && `${pathname}/` !== basePath) return undefined;
  return pathname.slice(basePath.length - 1).replace(/\/+$/, "") || "/";
}

function wantsNative(request: Request): boolean {
  return (request.headers.get("accept") ?? "").toLowerCase().includes(NATIVE_MEDIA_TYPE);
}

function failure(error: unknown, dialect: Dialect): Response {
  if (isValidationError(error)) return validationErrors(error.issues.map((issue) => dialect.issue(issue)));
  // Never a stack trace, never a store message that might quote something private.
  return jsonResponse(500, { message: dialect.internalError });
}

/** A bounded ring per webhook of what happened to its deliveries, from now until `stop()`. */
function recordDeliveries(
  notifier: Notifier,
  keep: number,
): { of: (webhookId: string) => readonly DeliveryWire[]; stop: () => void } {
  const deliveries = new Map<string, DeliveryWire[]>();
  const stop = notifier.on("delivery", (report) => {
    const list = deliveries.get(report.webhookId) ?? [];
    list.unshift(deliveryToWire(report, Date.now()));
    if (list.length > keep) list.length = keep;
    deliveries.set(report.webhookId, list);
    if (deliveries.size > 10_000) deliveries.delete(deliveries.keys().next().value ?? "");
  });
  return { of: (webhookId) => deliveries.get(webhookId) ?? [], stop };
}

function normaliseBase(base: string): string {
  return `/${base}/`.replace(/\/+/g, "/");
}
