import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One request a {@link TestReceiver} got. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/hooks/slack?x=1`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body as text. */
  body: string;
  /** `Date.now()` when the body was complete. */
  receivedAt: number;
  /** The body parsed as JSON (throws when it is not JSON). */
  json(): unknown;
}

/** How the receiver answers: a status code, or a status with a body and headers. */
export type ReceiverAnswer = number | { status: number; body?: string; headers?: Record<string, string> };

/** Options of {@link startReceiver}. */
export interface ReceiverOptions {
  /**
   * Decides each answer, e.g. to fail the first attempt. Receives the request and how many requests came
   * before it.
   * @default () => 200
   */
  respond?: (request: ReceivedRequest, index: number) => ReceiverAnswer | Promise<ReceiverAnswer>;
  /**
   * Largest body accepted, in bytes; bigger requests get 413.
   * @default 1048576
   */
  maxBodyBytes?: number;
}

/** A real HTTP server on 127.0.0.1 that records what it receives. */
export interface TestReceiver {
  /** `http://127.0.0.1:<port>`: append a path to make webhook URLs. */
  readonly url: string;
  /** Everything received so far, in arrival order. */
  readonly requests: readonly ReceivedRequest[];
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5000). */
  waitFor(count: number, timeoutMs?: number): Promise<readonly ReceivedRequest[]>;
  /** Stops the server and drops its connections. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a webhook receiver on 127.0.0.1 (a free port) for tests: point webhooks at `receiver.url`,
 * run your runner, then assert on `receiver.requests`.
 *
 * @example
 * await using receiver = await startReceiver();
 * await notifier.webhooks.create({ name: "t", url: `${receiver.url}/hook`, format: "json", events: ["finished"], global: true });
 * // … run …
 * await notifier.flush();
 * expect(receiver.requests).toHaveLength(1);
 */
export async function startReceiver(options: ReceiverOptions = {}): Promise<TestReceiver> {
  const respond = options.respond ?? (() => 200);
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const requests: ReceivedRequest[] = [];
  let waiters: Array<() => void> = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBody) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > maxBody) {
        res.writeHead(413).end();
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const request: ReceivedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body,
        receivedAt: Date.now(),
        json: () => JSON.parse(body) as unknown,
      };
      const index = requests.length;
      requests.push(request);
      const current = waiters;
      waiters = [];
      for (const wake of current) wake();
      Promise.resolve()
        .then(() => respond(request, index))
        .then(
          (answer) => {
            const { status, body: text, headers } = typeof answer === "number" ? { status: answer } : answer;
            res.writeHead(status, headers).end(text);
          },
          () => {
            res.writeHead(500).end();
          },
        );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`Expected ${count} requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        const check = (): void => {
          if (requests.length >= count) {
            clearTimeout(timer);
            resolve(requests);
          } else waiters.push(check);
        };
        check();
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
