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
});
