import type { IncomingMessage, ServerResponse } from "node:http";
import { isValidationError, type ValidationIssue } from "../errors.js";
import type { Notifier } from "../notifier.js";
import { openApiDocument } from "./openapi.js";
import { adminPage } from "./page.js";
import {
  deliveryToWire,
  fromWire,
  fullBodySchema,
  patchBodySchema,
  patchFromWire,
  previewBodySchema,
  testBodySchema,
  toWire,
  toWireField,
  type DeliveryWire,
} from "./wire.js";

export type { DeliveryWire, WebhookWire } from "./wire.js";
export { openApiDocument } from "./openapi.js";

/** Options of {@link createAdmin}. */
export interface AdminOptions {
  /**
   * Where the admin lives: the page at `basePath`, the API at `basePath + "v1/webhooks"`.
   * @default "/"
   */
  basePath?: string | undefined;
  /**
   * Decides who may use the admin; required, because it manages credentials. Return `false` and the
   * request gets 401 with no body.
   * @example authorize: (request) => request.headers.get("authorization") === `Bearer ${process.env.ADMIN_TOKEN}`
   */
  authorize: (request: Request) => boolean | Promise<boolean>;
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

const ID = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * The webhooks admin: a Predator-compatible REST API (`/v1/webhooks`…) and a page to use it, for any
 * Node server. Responses mask URLs and secret header values, as `webhook.toJSON()` does.
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
  const keep = options.deliveriesPerWebhook ?? 50;

  // A bounded ring per webhook of what happened to its deliveries.
  const deliveries = new Map<string, DeliveryWire[]>();
  const stop = notifier.on("delivery", (report) => {
    const list = deliveries.get(report.webhookId) ?? [];
    list.unshift(deliveryToWire(report, Date.now()));
    if (list.length > keep) list.length = keep;
    deliveries.set(report.webhookId, list);
    if (deliveries.size > 10_000) deliveries.delete(deliveries.keys().next().value ?? "");
  });

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(basePath) && `${url.pathname}/` !== basePath) return notFound();
    if (!(await options.authorize(request))) return new Response(null, { status: 401 });
    const path = url.pathname.slice(basePath.length - 1).replace(/\/+$/, "") || "/";
    const method = request.method.toUpperCase();
    const segments = path.split("/").filter(Boolean);

    if (path === "/") return only(method, ["GET"]) ?? html(adminPage(basePath));
    if (path === "/openapi.json") return only(method, ["GET"]) ?? jsonResponse(200, openApiDocument);
    if (segments[0] !== "v1" || segments[1] !== "webhooks") return notFound();
    const rest = segments.slice(2);

    if (rest.length === 0) {
      const allowed = only(method, ["GET", "POST"]);
      if (allowed) return allowed;
      if (method === "GET") {
        const tenant = request.headers.get("x-context-id");
        const list = await notifier.webhooks.list();
        return jsonResponse(200, list.filter((w) => tenant === null || w.tenant === tenant).map(toWire));
      }
      const body = await readBody(request, maxBody, fullBodySchema);
      if (body instanceof Response) return body;
      return created(await notifier.webhooks.create(fromWire(body)));
    }

    if (rest.length === 1 && rest[0] === "test") {
      const allowed = only(method, ["POST"]);
      if (allowed) return allowed;
      const body = await readBody(request, maxBody, testBodySchema);
      if (body instanceof Response) return body;
      const result = await notifier.test({ url: body.url, format: body.format_type });
      return jsonResponse(200, {
        webhook_status_code: result.status,
        is_successful: result.ok,
        ...(result.error !== undefined && { error: result.error }),
      });
    }

    const id = decodeSegment(rest[0] ?? "");
    if (id === undefined || !ID.test(id)) {
      return validationErrors(["path.webhook_id should be 1-256 letters, digits, '-' or '_'"]);
    }
    if (rest.length === 1) {
      const allowed = only(method, ["GET", "PUT", "PATCH", "DELETE"]);
      if (allowed) return allowed;
      if (method === "GET") {
        const webhook = await notifier.webhooks.get(id);
        return webhook ? jsonResponse(200, toWire(webhook)) : notFound();
      }
      if (method === "DELETE")
        return (await notifier.webhooks.remove(id)) ? new Response(null, { status: 204 }) : notFound();
      if (method === "PUT") {
        const body = await readBody(request, maxBody, fullBodySchema);
        if (body instanceof Response) return body;
        const input = fromWire(body);
        // A full replacement: optional fields absent from the body are cleared.
        const updated = await notifier.webhooks.update(id, {
          ...input,
          global: input.global ?? false,
          enabled: input.enabled ?? true,
          secret: input.secret ?? null,
          headers: input.headers ?? null,
          tenant: input.tenant ?? null,
        });
        return updated ? jsonResponse(200, toWire(updated)) : notFound();
      }
      const body = await readBody(request, maxBody, patchBodySchema);
      if (body instanceof Response) return body;
      const updated = await notifier.webhooks.update(id, patchFromWire(body));
      return updated ? jsonResponse(200, toWire(updated)) : notFound();
    }
    if (rest.length === 2 && rest[1] === "deliveries") {
      const allowed = only(method, ["GET"]);
      if (allowed) return allowed;
      if (!(await notifier.webhooks.get(id))) return notFound();
      return jsonResponse(200, deliveries.get(id) ?? []);
    }
    if (rest.length === 2 && rest[1] === "preview") {
      const allowed = only(method, ["POST"]);
      if (allowed) return allowed;
      const body = await readBody(request, maxBody, previewBodySchema);
      if (body instanceof Response) return body;
      const webhook = await notifier.webhooks.get(id);
      if (!webhook) return notFound();
      const preview = notifier.preview(body.event, webhook.format);
      return jsonResponse(200, {
        format_type: preview.format,
        body: parseOr(preview.body),
        size: preview.size,
        headers: preview.headers,
        warnings: preview.warnings,
      });
    }
    return notFound();
  };

  const fetchHandler = async (request: Request): Promise<Response> => {
    try {
      return await handle(request);
    } catch (error) {
      if (isValidationError(error)) return validationErrors(error.issues.map(wireIssue));
      // Never a stack trace, never a store message that might quote something private.
      return jsonResponse(500, { message: "Internal error" });
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
    close: stop,
  };
}

function normaliseBase(base: string): string {
  const withSlashes = `/${base}/`.replace(/\/+/g, "/");
  return withSlashes;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function only(method: string, allowed: string[]): Response | undefined {
  if (allowed.includes(method)) return undefined;
  return jsonResponse(405, { message: "Method not allowed" }, { allow: allowed.join(", ") });
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

function created(webhook: Parameters<typeof toWire>[0]): Response {
  return jsonResponse(201, toWire(webhook));
}

function html(body: string): Response {
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      // The page needs nothing from anywhere else.
      "content-security-policy":
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
    },
  });
}

function notFound(): Response {
  return jsonResponse(404, { message: "Not found" });
}

function validationErrors(errors: string[]): Response {
  return jsonResponse(400, { message: "Input validation error", validation_errors: errors });
}

function wireIssue(issue: ValidationIssue): string {
  return `${toWireField(issue.path)} ${issue.message}`;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function readBody<T>(
  request: Request,
  max: number,
  schema: {
    safeParse(value: unknown):
      | { success: true; data: T }
      | {
          success: false;
          error: { issues: Array<{ path: PropertyKey[]; message: string; code: string; keys?: string[] }> };
        };
  },
): Promise<T | Response> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type))
    return jsonResponse(415, { message: "Use content-type: application/json" });
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > max) return jsonResponse(413, { message: `Body over ${max} bytes` });
  const buffer = Buffer.from(await request.arrayBuffer());
  if (buffer.length > max) return jsonResponse(413, { message: `Body over ${max} bytes` });
  let value: unknown;
  try {
    value = JSON.parse(buffer.toString("utf8"));
  } catch {
    return validationErrors(["body should be valid JSON"]);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return validationErrors(
      parsed.error.issues.map((issue) => {
        const path = ["body", ...issue.path.map(String)].join(".");
        return issue.code === "unrecognized_keys"
          ? `${path} has unknown fields: ${(issue.keys ?? []).join(", ")}`
          : `${path} ${issue.message}`;
      }),
    );
  }
  return parsed.data;
}

/** node:http → fetch Request, reading at most `max` + 1 bytes of the body. */
async function toRequest(req: IncomingMessage, max: number): Promise<Request | Response> {
  const host = req.headers.host ?? "localhost";
  const url = new URL(req.url ?? "/", `http://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? "GET";
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      req.resume();
      return jsonResponse(413, { message: `Body over ${max} bytes` });
    }
    chunks.push(chunk);
  }
  return new Request(url, { method, headers, body: Buffer.concat(chunks) });
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined);
}
