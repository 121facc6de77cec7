import { isIP } from "node:net";
import { Agent, EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from "undici";
import { ConfigError, TransportError, isTransportError, redactUrl } from "../errors.js";
import { addressPolicy, blockedError, guardedConnector, type NetworkOptions } from "./address-guard.js";
import { Slots } from "./_slots.js";
import type { Transport, TransportRequest, TransportResponse } from "./types.js";

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions {
  /**
   * The undici dispatcher to send through: a `MockAgent` in tests, a `ProxyAgent` behind a proxy.
   * When given, runhooks does not create (or close) its own Agent.
   */
  dispatcher?: Dispatcher | undefined;
  /**
   * Which addresses may be connected to. By default only public ones: loopback, private, link-local
   * (cloud metadata), CGNAT, unique-local, multicast and the like are refused at connect time.
   * Not applied to a `dispatcher` you pass.
   */
  network?: NetworkOptions | undefined;
  /**
   * Send through an HTTP proxy: `"env"` reads `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (undici's
   * `EnvHttpProxyAgent`), a URL names the proxy. Behind a proxy runhooks cannot see which address the
   * proxy connects to: egress rules belong to the proxy then, and `network.trustProxy: true` says so.
   */
  proxy?: string | undefined;
  /**
   * Milliseconds to establish a connection.
   * @default 5000
   */
  connectTimeoutMs?: number | undefined;
  /**
   * Milliseconds an attempt may take to get its response headers, and again to read the capped body.
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /**
   * Connections per origin.
   * @default 8
   */
  connections?: number | undefined;
  /**
   * Bytes of a response body that are read; the rest is discarded (and the connection dropped).
   * @default 4096
   */
  maxResponseBytes?: number | undefined;
}

/**
 * The default transport: POSTs through one undici `Agent` (keep-alive, bounded connections per origin,
 * connect and response timeouts). Redirects are never followed: a 3xx is a failed delivery.
 *
 * @example
 * createNotifier({ transport: httpTransport({ timeoutMs: 5000 }) });
 */
export function httpTransport(options: HttpTransportOptions = {}): Transport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cap = options.maxResponseBytes ?? 4096;
  const owned = options.dispatcher === undefined;
  if (options.proxy !== undefined && options.network?.trustProxy !== true) {
    throw new ConfigError(
      "httpTransport: proxy: behind a proxy runhooks cannot check which address is reached; set network: { trustProxy: true } to accept that the proxy enforces egress",
    );
  }
  const policy = addressPolicy(options.network);
  const connectTimeout = options.connectTimeoutMs ?? 5_000;
  const agentOptions = {
    connections: options.connections ?? 8,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
  };
  const dispatcher =
    options.dispatcher ??
    (options.proxy === "env"
      ? new EnvHttpProxyAgent({ ...agentOptions, connect: { timeout: connectTimeout } })
      : options.proxy !== undefined
        ? new ProxyAgent({ ...agentOptions, connect: { timeout: connectTimeout }, uri: options.proxy })
        : new Agent({ ...agentOptions, connect: guardedConnector(policy, connectTimeout) }));
  // Behind a proxy only the URL is visible: an IP literal can still be checked.
  const literalCheck = options.proxy !== undefined;
  // With its own Agent, runhooks hands undici no more requests per origin than it has connections:
  // the rest wait here, as a callback each, instead of as undici requests built ahead of time (a fan-out
  // to 1,000 webhooks would otherwise allocate 1,000 requests at once and pay for them in GC).
  // (`connections: 0` means no limit to undici: then there is nothing to wait for here either.)
  const gates =
    options.dispatcher === undefined && options.proxy === undefined && agentOptions.connections >= 1
      ? originGates(agentOptions.connections)
      : undefined;

  return {
    async send(request: TransportRequest): Promise<TransportResponse> {
      if (literalCheck) {
        const host = request.url.hostname.replace(/^\[|\]$/g, "");
        const range = isIP(host) ? policy.refusal(host) : undefined;
        if (range !== undefined) throw blockedError(host, host, range);
      }
      const target = targetOf(request.url);
      const turn = gates?.enter(target.origin);
      if (turn) await turn;
      try {
        let response: Dispatcher.ResponseData;
        try {
          response = await dispatcher.request({
            origin: target.origin,
            path: target.path,
            method: "POST",
            headers: request.headers,
            body: request.bytes ?? request.body,
          });
        } catch (error) {
          throw transportError(request.url, error);
        }
        // The common cases: a 2xx with a small declared body (Slack's "ok", an empty 202/204) is
        // discarded without buffering or timers; an empty error (a bare 503) has nothing to read.
        // Anything else is read capped and within the timeout.
        const length = Number(response.headers["content-length"]);
        const ok = response.statusCode >= 200 && response.statusCode < 300;
        if (length === 0 || (ok && length <= cap)) {
          // Not awaited: the few bytes are on their way, and undici frees the socket once they are read.
          response.body.dump().catch(ignore);
          return { status: response.statusCode, headers: response.headers, body: "" };
        }
        const body = await readCapped(response.body, cap, timeoutMs);
        return { status: response.statusCode, headers: response.headers, body };
      } finally {
        gates?.leave(target.origin);
      }
    },
    async close() {
      if (owned) await dispatcher.close();
    },
    async destroy() {
      if (owned) await dispatcher.destroy();
    },
  };
}

/**
 * Reads at most `cap` bytes within `timeoutMs`. Stops early on a body that is too big or too slow:
 * a receiver streaming gigabytes, or never ending its body, cannot hold memory or the socket.
 */
async function readCapped(
  body: Dispatcher.ResponseData["body"],
  cap: number,
  timeoutMs: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => body.destroy(), timeoutMs);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = cap - size;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size >= cap) break;
    }
  } catch {
    // The status is what matters; a body cut short by the cap, the timer or the peer is not an error.
  } finally {
    clearTimeout(timer);
    if (!body.destroyed && size >= cap) body.destroy();
  }
  return Buffer.concat(chunks).toString("utf8");
}

function transportError(url: URL, error: unknown): TransportError {
  // Our own errors (the address guard's) already say what happened, without the URL.
  if (isTransportError(error)) return error;
  const code =
    typeof (error as { code?: unknown }).code === "string"
      ? (error as { code: string }).code
      : "ERR_TRANSPORT";
  const name = error instanceof Error ? error.name : "Error";
  // undici messages name the socket address at most; the URL's path never appears in them, but the
  // message is still built from the code and class only, so nothing of the URL can leak.
  return new TransportError(redactUrl(url), `${name} (${code})`, code, { cause: error });
}

/** At most `limit` requests at once per origin; the others wait their turn in order. */
function originGates(limit: number): {
  enter(origin: string): Promise<void> | undefined;
  leave(origin: string): void;
} {
  const gates = new Map<string, Slots>();
  return {
    enter(origin) {
      let gate = gates.get(origin);
      if (!gate) {
        gate = new Slots(limit);
        gates.set(origin, gate);
      }
      return gate.acquire();
    },
    leave(origin) {
      const gate = gates.get(origin);
      if (!gate) return;
      gate.release();
      // Forget idle origins: a notifier may post to many over its life.
      if (gate.idle) gates.delete(origin);
    },
  };
}

function ignore(): void {
  // A body that fails to drain costs its socket, which undici replaces; the status is already known.
}

// The notifier hands the same URL object for every delivery to a webhook: split it once.
const targets = new WeakMap<URL, { origin: string; path: string }>();

function targetOf(url: URL): { origin: string; path: string } {
  let target = targets.get(url);
  if (!target) {
    target = { origin: url.origin, path: `${url.pathname}${url.search}` };
    targets.set(url, target);
  }
  return target;
}
