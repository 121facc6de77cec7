import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpTransport } from "../../src/delivery/http-transport.js";
import { isTransportError } from "../../src/errors.js";
import { USER_AGENT } from "../../src/_version.js";
import { LOOPBACK } from "../helpers/loopback.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});
async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("httpTransport", () => {
  it("reads a receiver that streams without end only up to the cap, and returns", async () => {
    let written = 0;
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = (): void => {
        while (res.write(chunk)) written += chunk.length;
        res.once("drain", pump);
      };
      pump();
    });
    const transport = httpTransport({ maxResponseBytes: 1000, timeoutMs: 2000, network: LOOPBACK });
    const started = Date.now();
    const response = await transport.send({
      url: new URL(`${url}/x`),
      headers: { "user-agent": USER_AGENT },
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(1000);
    expect(Date.now() - started).toBeLessThan(2000);
    await transport.close();
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it("cuts off a body that trickles forever after the timeout", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write("x"), 20);
      res.on("close", () => clearInterval(timer));
    });
    const transport = httpTransport({ maxResponseBytes: 1_000_000, timeoutMs: 300, network: LOOPBACK });
    const started = Date.now();
    const response = await transport.send({ url: new URL(`${url}/x`), headers: {}, body: "{}" });
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1500);
    await transport.destroy?.();
  });

  it("turns a connection failure into a TransportError that names only scheme and host", async () => {
    const url = await serve((_req, res) => res.end());
    servers[0]?.close();
    servers[0]?.closeAllConnections();
    const transport = httpTransport({ network: LOOPBACK });
    const error: unknown = await transport
      .send({ url: new URL(`${url.replace(/\d+$/, "1")}/secret/path?token=abc`), headers: {}, body: "{}" })
      .catch((e: unknown) => e);
    expect(isTransportError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Request to http:\/\/127\.0\.0\.1:1 failed: /);
    expect((error as Error).message).not.toContain("secret");
    await transport.close();
  });

  it("keeps connections alive across requests", async () => {
    const sockets = new Set<unknown>();
    const url = await serve((req, res) => {
      sockets.add(req.socket);
      res.end("ok");
    });
    const transport = httpTransport({ network: LOOPBACK });
    for (let i = 0; i < 20; i++) await transport.send({ url: new URL(`${url}/x`), headers: {}, body: "{}" });
    // Reused, not one per request (undici may open a second socket while the first is being released).
    expect(sockets.size).toBeLessThanOrEqual(2);
    await transport.close();
  });

  it("hands undici no more requests per origin than it has connections, and frees every turn", async () => {
    let open = 0;
    let most = 0;
    const order: string[] = [];
    const url = await serve((req, res) => {
      open += 1;
      most = Math.max(most, open);
      order.push(req.url ?? "");
      setTimeout(() => {
        open -= 1;
        res.end("ok");
      }, 20);
    });
    const transport = httpTransport({ network: LOOPBACK, connections: 2 });
    const send = (path: string) => transport.send({ url: new URL(`${url}${path}`), headers: {}, body: "{}" });
    const results = await Promise.all(["/1", "/2", "/3", "/4", "/5", "/6"].map(send));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(most).toBe(2);
    // Waiting requests go in the order they came.
    expect(order).toEqual(["/1", "/2", "/3", "/4", "/5", "/6"]);

    // Failures free their turn too: with one connection, four refused requests all fail, none hangs.
    const single = httpTransport({ network: LOOPBACK, connections: 1 });
    const refused = new URL(`${url.replace(/\d+$/, "1")}/x`);
    const outcomes = await Promise.allSettled(
      [1, 2, 3, 4].map(() => single.send({ url: refused, headers: {}, body: "{}" })),
    );
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    // And the origin is usable afterwards.
    expect((await single.send({ url: new URL(`${url}/after`), headers: {}, body: "{}" })).status).toBe(200);
    await transport.close();
    await single.close();
  });

  it("with connections: 0 (no limit, to undici) sends without waiting for a turn", async () => {
    const url = await serve((_req, res) => res.end("ok"));
    const transport = httpTransport({ network: LOOPBACK, connections: 0 });
    const results = await Promise.all(
      [1, 2, 3].map(() => transport.send({ url: new URL(`${url}/x`), headers: {}, body: "{}" })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    await transport.close();
  });
});
