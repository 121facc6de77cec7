/**
 * The webhook receiver, run as a child process so that it has its own thread (and, on a 2-core
 * machine, its own core): the client being measured is the only JavaScript on the parent's thread.
 * It does as little as possible per request, so that it is never the bottleneck: read the body,
 * answer with an empty body. The parent drives it over IPC.
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
let recordArrivals = false;
let requests = 0;
let missingId = 0;
let statuses = new Map<number, number>();
let attempts = new Map<string, number>();
let arrivals: bigint[] = [];

const noop = (): void => undefined;

function handle(req: IncomingMessage, res: ServerResponse): void {
  // Stamped when the request head is parsed: on loopback the head and a 1.5 KB body arrive in the same
  // read, so this is the time the first byte reached this process (to within one parse).
  if (recordArrivals) arrivals.push(process.hrtime.bigint());
  requests += 1;
  let status = 200;
  if (mode === "flaky") {
    const id = req.headers["webhook-id"];
    if (typeof id !== "string") {
      missingId += 1;
      status = 400;
    } else {
      const seen = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, seen);
      if (seen === 1) status = 503;
    }
  }
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  req.on("data", noop);
  req.on("end", () => {
    res.writeHead(status, { "content-length": "0" });
    res.end();
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
