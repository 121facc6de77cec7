import { afterEach, describe, expect, it } from "vitest";
import { addressPolicy, checkPeer } from "../../src/delivery/address-guard.js";
import { httpTransport } from "../../src/delivery/http-transport.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { isConfigError, isTransportError, isValidationError } from "../../src/errors.js";
import { createNotifier, type Notifier } from "../../src/notifier.js";
import { startReceiver, type TestReceiver } from "../../src/testing/receiver.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
async function receiver(): Promise<TestReceiver> {
  const r = await startReceiver();
  cleanup.push(() => r.close());
  return r;
}
function notifierWith(options: Parameters<typeof createNotifier>[0] = {}): Notifier {
  const n = createNotifier(options);
  cleanup.push(() => n.close({ timeoutMs: 500 }));
  return n;
}

// Every one of these points at a non-public address, whatever its spelling.
const REFUSED = [
  ["http://127.0.0.1/x", "loopback"],
  ["http://127.1/x", "loopback"],
  ["http://0x7f000001/x", "loopback"],
  ["http://2130706433/x", "loopback"],
  ["http://[::1]/x", "loopback"],
  ["http://[::ffff:127.0.0.1]/x", "loopback"],
  ["http://10.1.2.3/x", "private"],
  ["http://192.168.0.10/x", "private"],
  ["http://172.16.5.4/x", "private"],
  ["http://169.254.169.254/latest/meta-data", "linkLocal"],
  ["http://[fe80::1]/x", "linkLocal"],
  ["http://100.64.0.1/x", "carrierGradeNat"],
  ["http://[fd00::1]/x", "uniqueLocal"],
  ["http://224.0.0.1/x", "multicast"],
  ["http://0.0.0.0/x", "unspecified"],
  ["http://[64:ff9b::7f00:1]/x", "rfc6052"],
] as const;

describe("address guard, when a webhook is created", () => {
  it.each(REFUSED)("refuses %s (%s) by default, naming the field", async (url, range) => {
    const notifier = notifierWith();
    const error: unknown = await notifier.webhooks
      .create({ name: "x", url, format: "json", events: ["started"] })
      .catch((e: unknown) => e);
    expect(isValidationError(error) && error.field).toBe("webhook.url");
    expect((error as Error).message).toContain(`a ${range} address`);
    expect((error as Error).message).not.toContain("/x");
    expect(await notifier.webhooks.list()).toEqual([]);
  });

  it("allowPrivate opens loopback, private, CGNAT and unique-local, but not link-local metadata", async () => {
    const notifier = notifierWith({ network: { allowPrivate: true } });
    for (const url of [
      "http://127.0.0.1/x",
      "http://10.0.0.1/x",
      "http://100.64.0.1/x",
      "http://[fd00::1]/x",
    ]) {
      await expect(
        notifier.webhooks.create({ name: "x", url, format: "json", events: ["started"] }),
      ).resolves.toBeDefined();
    }
    await expect(
      notifier.webhooks.create({
        name: "x",
        url: "http://169.254.169.254/",
        format: "json",
        events: ["started"],
      }),
    ).rejects.toThrow(/linkLocal/);
  });

  it("an allow-list of CIDRs opens exactly those ranges", async () => {
    const notifier = notifierWith({ network: { allow: ["10.1.0.0/16", "fd12::/16"] } });
    await expect(
      notifier.webhooks.create({ name: "x", url: "http://10.1.2.3/", format: "json", events: ["started"] }),
    ).resolves.toBeDefined();
    await expect(
      notifier.webhooks.create({ name: "x", url: "http://10.2.0.1/", format: "json", events: ["started"] }),
    ).rejects.toThrow(/private/);
    expect(() => createNotifier({ network: { allow: ["not a cidr!"] } })).toThrow(/network\.allow/);
  });

  it("accepts public addresses and host names (those are checked at connect time)", async () => {
    const notifier = notifierWith();
    await expect(
      notifier.webhooks.create({
        name: "x",
        url: "https://93.184.216.34/x",
        format: "json",
        events: ["started"],
      }),
    ).resolves.toBeDefined();
    await expect(
      notifier.webhooks.create({
        name: "x",
        url: "https://localhost/x",
        format: "json",
        events: ["started"],
      }),
    ).resolves.toBeDefined();
  });
});

describe("address guard, at connect time (in httpTransport's connector)", () => {
  it("refuses a host name that resolves to loopback, once, as final, with a clear reason and no path", async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    const notifier = notifierWith();
    const reports: DeliveryReport[] = [];
    notifier.on("delivery", (report) => reports.push(report));
    await notifier.webhooks.create({
      name: "local",
      url: `http://localhost:${port}/hooks/SECRET`,
      format: "json",
      events: ["started"],
      global: true,
    });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(r.requests).toHaveLength(0);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      final: true,
      outcome: "failed",
      reason: "blocked",
      attempt: 1,
      error: { code: "ERR_ADDRESS_BLOCKED" },
    });
    expect(reports[0]?.error?.message).toMatch(
      /^Request to localhost \((127\.0\.0\.1|::1)\) failed: refused to connect to a loopback address; allow it with/,
    );
    expect(JSON.stringify(reports)).not.toContain("SECRET");
  });

  it.each(
    REFUSED.filter(([url]) => !url.includes("[64:ff9b") && !url.includes("224.") && !url.includes("0.0.0.0")),
  )("refuses %s before connecting", async (url) => {
    const transport = httpTransport({ connectTimeoutMs: 500 });
    cleanup.push(() => transport.close());
    const error: unknown = await transport
      .send({ url: new URL(url), headers: {}, body: "{}" })
      .catch((e: unknown) => e);
    expect(isTransportError(error) && error.code).toBe("ERR_ADDRESS_BLOCKED");
  });

  it("lets loopback through with allowPrivate, and a host allowed by name", async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    const byRange = httpTransport({ network: { allowPrivate: true } });
    const byName = httpTransport({ network: { allow: ["localhost"] } });
    cleanup.push(
      () => byRange.close(),
      () => byName.close(),
    );
    expect((await byRange.send({ url: new URL(`${r.url}/a`), headers: {}, body: "{}" })).status).toBe(200);
    expect(
      (await byName.send({ url: new URL(`http://localhost:${port}/b`), headers: {}, body: "{}" })).status,
    ).toBe(200);
    expect(r.requests.map((q) => q.path)).toEqual(["/a", "/b"]);
  });

  it("checks the socket's actual peer after connecting (no DNS-rebinding window)", () => {
    const policy = addressPolicy();
    let destroyed = false;
    const socket = { remoteAddress: "::ffff:10.0.0.5", destroy: () => (destroyed = true) };
    const error = checkPeer(socket, "rebind.example.com", policy);
    expect(error?.code).toBe("ERR_ADDRESS_BLOCKED");
    expect(error?.message).toContain("rebind.example.com (::ffff:10.0.0.5)");
    expect(destroyed).toBe(true);
    expect(
      checkPeer({ remoteAddress: "93.184.216.34", destroy: () => undefined }, "example.com", policy),
    ).toBeUndefined();
  });

  it("makes the proxy trade-off explicit: a proxy needs trustProxy, and IP-literal URLs are still refused", async () => {
    let error: unknown;
    try {
      httpTransport({ proxy: "http://127.0.0.1:3128" });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error) && error.message).toMatch(/trustProxy/);
    const viaProxy = httpTransport({ proxy: "http://127.0.0.1:9", network: { trustProxy: true } });
    cleanup.push(() => viaProxy.close());
    const refused: unknown = await viaProxy
      .send({ url: new URL("http://169.254.169.254/latest"), headers: {}, body: "{}" })
      .catch((e: unknown) => e);
    expect(isTransportError(refused) && refused.code).toBe("ERR_ADDRESS_BLOCKED");
  });
});
