import type { IncomingMessage, ServerResponse } from "node:http";

/** @internal A JSON response the admin never lets a cache keep. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** @internal */
export function notFound(): Response {
  return jsonResponse(404, { message: "Not found" });
}

/** @internal Predator's validation error shape, which both wire dialects answer with. */
export function validationErrors(errors: readonly string[]): Response {
  return jsonResponse(400, { message: "Input validation error", validation_errors: errors });
}

/** @internal 405 with the methods the path does take. */
export function methodNotAllowed(allowed: readonly string[]): Response {
  return jsonResponse(405, { message: "Method not allowed" }, { allow: allowed.join(", ") });
}

/** @internal */
export function html(body: string): Response {
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

/**
 * @internal The request's JSON body, or the response that refuses it: 415 without a JSON content type,
 * 413 over `max` bytes, 400 for text that is not JSON.
 */
export async function readJson(request: Request, max: number): Promise<{ value: unknown } | Response> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type))
    return jsonResponse(415, { message: "Use content-type: application/json" });
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > max) return tooLarge(max);
  const buffer = Buffer.from(await request.arrayBuffer());
  if (buffer.length > max) return tooLarge(max);
  try {
    return { value: JSON.parse(buffer.toString("utf8")) as unknown };
  } catch {
    return validationErrors(["body should be valid JSON"]);
  }
}

function tooLarge(max: number): Response {
  return jsonResponse(413, { message: `Body over ${max} bytes` });
}

// The fetch API refuses to build a Request with these methods, so they cannot reach a fetch handler.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** @internal node:http → fetch Request, reading at most `max` + 1 bytes of the body. */
export async function toRequest(req: IncomingMessage, max: number): Promise<Request | Response> {
  const host = req.headers.host ?? "localhost";
  const url = new URL(req.url ?? "/", `http://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = (req.method ?? "GET").toUpperCase();
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers });
  if (FORBIDDEN_METHODS.has(method)) {
    req.resume();
    // Built as a GET (no body) whose `method` reads as what the client sent, so `authorize` sees the
    // request as it is and the router answers 405 after it, as for any other method it does not take.
    const request = new Request(url, { method: "GET", headers });
    Object.defineProperty(request, "method", { value: method });
    return request;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      req.resume();
      return tooLarge(max);
    }
    chunks.push(chunk);
  }
  return new Request(url, { method, headers, body: Buffer.concat(chunks) });
}

/** @internal */
export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined);
}
