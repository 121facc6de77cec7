/**
 * The webhook receiver, run as a child process so that it has its own thread (and, on a 2-core
 * machine, its own core): the client being measured is the only JavaScript on the parent's thread.
 * It does as little as possible per request, so that it is never the bottleneck: read the body,
 * answer with an empty body (or Slack's `ok`). The parent drives it over IPC.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  ChildMessage,
  ReceiverCounts,
  ReceiverMode,
  ReceiverReply,
  RequestEnvelope,
} from "./protocol.js";

const HOST = "127.0.0.1";

let mode: ReceiverMode = "ok";
let answerBody = "";
let recordArrivals = false;
let requests = 0;
let missingId = 0;
let statuses = new Map<number, number>();
let attempts = new Map<string, number>();
let arrivals: bigint[] = [];

const noop = (): void => undefined;

/** The status for one attempt of the delivery `key`, in `flaky` mode: 503 the first time, then 200. */
function flakyStatus(key: string): number {
  const seen = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, seen);
  return seen === 1 ? 503 : 200;
}

function respond(res: ServerResponse, status: number): void {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  // Slack answers "ok" (text/html) to a message it took; its 5xx carry a short text too.
  if (answerBody === "") {
    res.writeHead(status, { "content-length": "0" });
    res.end();
    return;
  }
  const text = status < 300 ? answerBody : "service_unavailable";
  res.writeHead(status, { "content-type": "text/html", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  // Stamped when the request head is parsed: on loopback the head and a 1.5 KB body arrive in the same
  // read, so this is the time the first byte reached this process (to within one parse).
  if (recordArrivals) arrivals.push(process.hrtime.bigint());
  requests += 1;
  const id = req.headers["webhook-id"];
  if (mode === "flaky" && typeof id !== "string") {
    // No header to key on (@slack/webhook sets none): the body is the delivery, so it is read whole.
    missingId += 1;
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      respond(res, flakyStatus(body));
    });
    return;
  }
  const status = mode === "flaky" && typeof id === "string" ? flakyStatus(id) : 200;
  req.on("data", noop);
  req.on("end", () => {
    respond(res, status);
  });
}

function counts(): ReceiverCounts {
  const histogram: Record<string, number> = {};
  for (const n of attempts.values()) histogram[String(n)] = (histogram[String(n)] ?? 0) + 1;
  return {
    requests,
    statuses: Object.fromEntries([...statuses].map(([code, n]) => [String(code), n])),
    missingId,
    attemptsHistogram: histogram,
    distinctIds: attempts.size,
  };
}

/** A port with nothing listening: bound for a moment by this process, then released. */
function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => {
        resolve(port);
      });
    });
  });
}

async function answer(envelope: RequestEnvelope): Promise<ReceiverReply> {
  const request = envelope.request;
  switch (request.type) {
    case "reset":
      mode = request.mode;
      answerBody = request.answer === "slack" ? "ok" : "";
      recordArrivals = request.recordArrivals;
      requests = 0;
      missingId = 0;
      statuses = new Map();
      attempts = new Map();
      arrivals = [];
      return { type: "reset" };
    case "counts":
      return { type: "counts", counts: counts() };
    case "deadPort":
      return { type: "deadPort", port: await deadPort() };
    case "now":
      return { type: "now", hrtime: process.hrtime.bigint().toString() };
    case "arrivals":
      return { type: "arrivals", hrtimes: arrivals.map(String) };
  }
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

if (!process.send) {
  console.error("bench/receiver.ts is started by bench/index.ts over IPC; it does nothing on its own");
  process.exit(1);
}

const server = createServer(handle);
// Longer than any gap between two repetitions of one path, so that measured runs reuse warm sockets.
server.keepAliveTimeout = 60_000;
server.listen(0, HOST, () => {
  send({ kind: "ready", port: (server.address() as AddressInfo).port });
});

process.on("message", (message: RequestEnvelope) => {
  answer(message).then(
    (reply) => {
      send({ kind: "reply", seq: message.seq, reply });
    },
    (error: unknown) => {
      console.error("receiver: request failed", error);
      process.exit(1);
    },
  );
});
// The parent went away (finished, crashed or was killed): never outlive it.
process.on("disconnect", () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});
