/**
 * Receiving runhooks JSON webhooks with plain node:http: verify the signature, drop duplicates by
 * `webhook-id` (retries reuse it), answer fast, then act on the event.
 *
 *   WEBHOOK_SECRET=whsec_… node --import tsx examples/node-http-receiver/receiver.ts
 */
import { createServer, type Server } from "node:http";
import { verifyWebhook, type JsonEnvelope } from "runhooks";

/** Starts a receiver on 127.0.0.1:`port` that calls `onEvent` once per verified delivery. */
export function startJsonReceiver(options: {
  secret: string;
  port?: number;
  onEvent: (event: JsonEnvelope) => void;
}): Promise<Server> {
  // Ids seen recently. A real service would keep them in its database or Redis with a TTL of a few
  // minutes (longer than the signature tolerance).
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    if (req.method !== "POST") return void res.writeHead(405).end();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1_000_000) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      let event: JsonEnvelope;
      try {
        // The raw bytes, exactly as received: re-serialised JSON would not match the signature.
        event = verifyWebhook(options.secret, req.headers, raw) as JsonEnvelope;
      } catch {
        return void res.writeHead(401).end();
      }
      const id = String(req.headers["webhook-id"]);
      res.writeHead(204).end();
      if (seen.has(id)) return;
      seen.add(id);
      options.onEvent(event);
    });
  });
  return new Promise((resolve) => server.listen(options.port ?? 0, "127.0.0.1", () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) throw new Error("Set WEBHOOK_SECRET to the webhook's whsec_ secret");
  const server = await startJsonReceiver({
    secret,
    port: Number(process.env.PORT ?? 8787),
    onEvent: (event) => console.log(`${event.type} for run ${event.data.run.id} (${event.data.run.name})`),
  });
  console.log(`listening on ${JSON.stringify(server.address())}`);
}
