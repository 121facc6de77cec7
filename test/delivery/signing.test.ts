import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import {
  generateSecret,
  isVerificationError,
  verifyWebhook,
  WebhookVerificationError,
} from "../../src/delivery/signing.js";
import { createNotifier } from "../../src/notifier.js";
import { startReceiver, type TestReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "../helpers/loopback.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
async function setup(respond?: Parameters<typeof startReceiver>[0]) {
  const receiver = await startReceiver(respond);
  const notifier = createNotifier({ network: LOOPBACK, retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 } });
  cleanup.push(
    () => receiver.close(),
    () => notifier.close({ timeoutMs: 1000 }),
  );
  return { receiver, notifier };
}
const headersOf = (r: TestReceiver["requests"][number]): Record<string, string> =>
  Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]));

describe("Standard Webhooks signing", () => {
  it("signs every delivery so that the reference standardwebhooks library verifies it", async () => {
    const { receiver, notifier } = await setup();
    const secret = generateSecret();
    await notifier.webhooks.create({
      name: "signed",
      url: `${receiver.url}/h`,
      format: "json",
      events: ["started", "finished"],
      global: true,
      secret,
    });
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    run.finished();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(2);
    const reference = new StandardWebhook(secret);
    for (const request of receiver.requests) {
      expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(reference.verify(request.body, headersOf(request))).toEqual(request.json());
      expect(verifyWebhook(secret, request.headers, request.body)).toEqual(request.json());
    }
    // The reference library rejects a tampered body, so the check above can fail.
    const first = receiver.requests[0]!;
    expect(() => reference.verify(first.body.replace("started", "finishes"), headersOf(first))).toThrow();
  });

  it("signs chat formats too, and re-signs each attempt with that attempt's timestamp", async () => {
    const { receiver, notifier } = await setup({ respond: (_r, i) => (i === 0 ? 503 : 200) });
    const secret = generateSecret();
    await notifier.webhooks.create({
      name: "s",
      url: `${receiver.url}/s`,
      format: "slack",
      events: ["started"],
      global: true,
      secret,
    });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests).toHaveLength(2);
    const [a, b] = receiver.requests;
    expect(a!.headers["webhook-id"]).toBe(b!.headers["webhook-id"]);
    for (const request of receiver.requests) {
      expect(() => new StandardWebhook(secret).verify(request.body, headersOf(request))).not.toThrow();
    }
  });

  it("sends no signature without a secret", async () => {
    const { receiver, notifier } = await setup();
    await notifier.webhooks.create({
      name: "plain",
      url: `${receiver.url}/p`,
      format: "json",
      events: ["started"],
      global: true,
    });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(receiver.requests[0]?.headers).not.toHaveProperty("webhook-signature");
    expect(receiver.requests[0]?.headers["webhook-timestamp"]).toMatch(/^\d+$/);
  });

  it("signs with both secrets during a rotation's grace period, then with the new one only", async () => {
    const { receiver, notifier } = await setup();
    const old = generateSecret();
    const hook = await notifier.webhooks.create({
      name: "r",
      url: `${receiver.url}/r`,
      format: "json",
      events: ["started", "finished"],
      global: true,
      secret: old,
    });
    const rotated = await notifier.webhooks.rotateSecret(hook.id, { graceMs: 300 });
    expect(rotated?.secret).toMatch(/^whsec_/);
    expect(rotated?.webhook.secretRotationEndsAt).toBeDefined();
    expect(JSON.stringify(rotated?.webhook)).not.toContain(old.slice(6));
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    run.started();
    await notifier.flush();
    const during = receiver.requests[0]!;
    expect(String(during.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(() => new StandardWebhook(old).verify(during.body, headersOf(during))).not.toThrow();
    expect(() => new StandardWebhook(rotated!.secret).verify(during.body, headersOf(during))).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 350));
    run.finished();
    await notifier.flush();
    const after = receiver.requests[1]!;
    expect(String(after.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(() => new StandardWebhook(old).verify(after.body, headersOf(after))).toThrow();
    expect(verifyWebhook([old, rotated!.secret], after.headers, after.body)).toMatchObject({
      type: "finished",
    });
  });
});

describe("verifyWebhook", () => {
  const secret = generateSecret();
  const reference = new StandardWebhook(secret);
  const body = JSON.stringify({ type: "finished", timestamp: "2026-01-01T00:00:00.000Z", data: {} });
  const now = Date.now();
  const signed = (at = new Date(now)): Record<string, string> => {
    const id = "msg_1";
    return {
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": reference.sign(id, at, body),
    };
  };

  it("accepts what the reference library signs, from a plain object or a Headers", () => {
    expect(verifyWebhook(secret, signed(), body)).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, new Headers(signed()), Buffer.from(body))).toEqual(JSON.parse(body));
  });

  it.each<[string, () => [Record<string, string>, string, string?], RegExp]>([
    ["a tampered body", () => [signed(), body.replace("finished", "started")], /no signature matches/],
    ["another secret", () => [signed(), body, generateSecret()], /no signature matches/],
    ["an old timestamp (a replay)", () => [signed(new Date(now - 10 * 60_000)), body], /too old/],
    ["a timestamp in the future", () => [signed(new Date(now + 10 * 60_000)), body], /future/],
    ["missing headers", () => [{ "webhook-id": "x" }, body], /missing/],
    [
      "a v2 signature only",
      () => [{ ...signed(), "webhook-signature": "v2,abc" }, body],
      /no signature matches/,
    ],
  ])("rejects %s", (_label, make, message) => {
    const [headers, text, key] = make();
    let error: unknown;
    try {
      verifyWebhook(key ?? secret, headers, text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(isVerificationError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it("has a configurable tolerance", () => {
    const old = signed(new Date(now - 10 * 60_000));
    expect(() => verifyWebhook(secret, old, body, { toleranceSec: 900 })).not.toThrow();
  });

  it("generateSecret makes whsec_ secrets of 32 random bytes", () => {
    const a = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32);
    expect(generateSecret()).not.toBe(a);
  });
});
