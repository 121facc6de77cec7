import { TransportError, redactUrl } from "../errors.js";
import type { Transport, TransportRequest, TransportResponse } from "./types.js";

/** Options of {@link fetchTransport}. */
export interface FetchTransportOptions {
  /**
   * The fetch function to send with.
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * Milliseconds an attempt may take in all (connect, response, body).
   * @default 10000
   */
  timeoutMs?: number | undefined;
  /**
   * Bytes of a response body that are read; the rest is cancelled.
   * @default 4096
   */
  maxResponseBytes?: number | undefined;
}

/**
 * A transport over a `fetch` function: for runtimes without undici, and for test suites that mock
 * `fetch` (msw intercepts `globalThis.fetch`, not undici). Same contract as `httpTransport()`: POST,
 * redirects not followed (a 3xx is a failed delivery), a capped body read, one overall timeout.
 *
 * @example
 * createNotifier({ transport: fetchTransport() }); // msw's setupServer() now sees every delivery
 */
export function fetchTransport(options: FetchTransportOptions = {}): Transport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cap = options.maxResponseBytes ?? 4096;
  const pending = new Set<AbortController>();
  return {
    async send(request: TransportRequest): Promise<TransportResponse> {
      // Looked up per call, so a fetch replaced after the transport was created (msw) is the one used.
      const fetchFn = options.fetch ?? globalThis.fetch;
      const controller = new AbortController();
      pending.add(controller);
      const timer = setTimeout(() => {
        controller.abort(new TransportError(redactUrl(request.url), "timed out", "ERR_TIMEOUT"));
      }, timeoutMs);
      try {
        let response: Response;
        try {
          response = await fetchFn(request.url, {
            method: "POST",
            headers: request.headers,
            body: request.bytes ?? request.body,
            redirect: "manual",
            signal: controller.signal,
          });
        } catch (error) {
          throw toTransportError(request.url, error, controller.signal);
        }
        const body = await readCapped(response, cap);
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          headers[name] = value;
        });
        return { status: response.status, headers, body };
      } finally {
        clearTimeout(timer);
        pending.delete(controller);
      }
    },
    close: () => Promise.resolve(),
    destroy() {
      for (const controller of pending) controller.abort(new Error("transport destroyed"));
      return Promise.resolve();
    },
  };
}

async function readCapped(response: Response, cap: number): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value.subarray(0, cap - size));
      size += Math.min(value.length, cap - size);
    }
  } catch {
    // A body cut short is not an error: the status is what matters.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function toTransportError(url: URL, error: unknown, signal: AbortSignal): TransportError {
  if (signal.aborted && signal.reason instanceof TransportError) return signal.reason;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === "string" ? cause.code : "ERR_TRANSPORT";
  const name = error instanceof Error ? error.name : "Error";
  return new TransportError(redactUrl(url), `${name} (${code})`, code, { cause: error });
}
