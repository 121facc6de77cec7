import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/delivery/signing.js";
import { isValidationError } from "../../src/errors.js";
import { createNotifier } from "../../src/notifier.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "../helpers/loopback.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe("notifier.test(): Predator's test webhook", () => {
  it("sends one message in the format and reports ok and the status; saves nothing", async () => {
    const receiver = await startReceiver({ respond: (_r, i) => (i === 0 ? 200 : 500) });
    const notifier = createNotifier({ network: LOOPBACK, display: { productName: "Predator" } });
    cleanup.push(
      () => receiver.close(),
      () => notifier.close(),
    );
    const secret = generateSecret();
    const ok = await notifier.test({ url: `${receiver.url}/slack`, format: "slack", secret });
    expect(ok).toMatchObject({ ok: true, status: 200 });
    const request = receiver.requests[0]!;
    expect((request.json() as { text: string }).text).toBe("🚀 Test message from Predator started");
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
    expect(() => new StandardWebhook(secret).verify(request.body, headers)).not.toThrow();
    expect(await notifier.test({ url: `${receiver.url}/json`, format: "json" })).toMatchObject({
      ok: false,
      status: 500,
      error: "answered 500",
    });
    expect(receiver.requests).toHaveLength(2);
    expect(await notifier.webhooks.list()).toEqual([]);
    expect(notifier.stats().sent).toBe(0);
  });

  it("reports a network error with status null and no URL path", async () => {
    const dead = await startReceiver();
    await dead.close();
    const notifier = createNotifier({ network: LOOPBACK });
    cleanup.push(() => notifier.close());
    const result = await notifier.test({ url: `${dead.url}/secret-path?token=abc`, format: "teams" });
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.error).toMatch(/ECONNREFUSED/);
    expect(result.error).not.toContain("secret-path");
  });

  it("validates like a webhook: the format, and the address guard", async () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const badFormat: unknown = await notifier
      .test({ url: "https://example.com/x", format: "fax" })
      .catch((e: unknown) => e);
    expect(isValidationError(badFormat) && badFormat.field).toBe("webhook.format");
    await expect(notifier.test({ url: "http://169.254.169.254/", format: "json" })).rejects.toThrow(
      /linkLocal/,
    );
  });
});
