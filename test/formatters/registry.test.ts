import { afterEach, describe, expect, it, vi } from "vitest";
import { isConfigError, isFormatError, isValidationError } from "../../src/errors.js";
import { defineFormatter } from "../../src/formatters/define.js";
import { createRegistry } from "../../src/formatters/registry.js";
import { slackFormatter } from "../../src/formatters/slack.js";
import { createNotifier, type Notifier } from "../../src/notifier.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { sampleEvents } from "../../src/testing/fixtures.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "../helpers/loopback.js";

const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close();
});
const make = (...args: Parameters<typeof createNotifier>): Notifier => {
  const n = createNotifier(...args);
  notifiers.push(n);
  return n;
};
const chat = defineFormatter({ name: "chat", format: (event) => ({ body: { text: event.run.name } }) });

describe("defineFormatter", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["a bad name", { name: "Chat Ops", format: () => ({ body: 1 }) }, /name: must be 1-64 lowercase/],
    ["no format function", { name: "chat" }, /format: formatter "chat" needs a format/],
    ["a bad content type", { name: "chat", format: () => ({ body: 1 }), contentType: "json" }, /contentType/],
    [
      "a bad limit",
      { name: "chat", format: () => ({ body: 1 }), limits: { maxBytes: -1 } },
      /limits\.maxBytes/,
    ],
  ])("rejects %s when defined, naming the field", (_label, definition, message) => {
    let error: unknown;
    try {
      defineFormatter(definition as never);
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it("fills defaults and freezes the result", () => {
    expect(chat).toMatchObject({
      name: "chat",
      contentType: "application/json",
      perWebhook: false,
      replace: false,
      limits: {},
    });
    expect(Object.isFrozen(chat)).toBe(true);
  });
});

describe("the registry is per notifier", () => {
  it("has the four built-ins, and adds extras to one notifier only", async () => {
    expect([...createRegistry().keys()]).toEqual(["json", "slack", "teams", "discord"]);
    const withChat = make({ formatters: [chat] });
    const without = make();
    await expect(
      withChat.webhooks.create({
        name: "c",
        url: "https://example.com/x",
        format: "chat",
        events: ["started"],
      }),
    ).resolves.toBeDefined();
    const error: unknown = await without.webhooks
      .create({ name: "c", url: "https://example.com/x", format: "chat", events: ["started"] })
      .catch((e: unknown) => e);
    expect(isValidationError(error) && error.field).toBe("webhook.format");
  });

  it("refuses a clash with a built-in unless the formatter says replace, and duplicate names", () => {
    const fakeSlack = defineFormatter({ name: "slack", format: () => ({ body: "x" }) });
    expect(() => createRegistry([fakeSlack])).toThrow(/"slack" is a built-in format; pass replace: true/);
    expect(
      createRegistry([{ ...fakeSlack, replace: true }])
        .get("slack")
        ?.format(sampleEvents().started, {} as never).body,
    ).toBe("x");
    const custom = slackFormatter({ colors: { good: "#000000" } });
    expect(createRegistry([custom]).get("slack")).toBe(custom);
    expect(() => createRegistry([chat, chat])).toThrow(/two formatters are named "chat"/);
    expect(() => make({ formatters: [{ name: "", format: () => ({ body: 1 }) }] })).toThrow(
      /formatters\[0\]: defineFormatter: name/,
    );
  });
});

describe("preview", () => {
  it("returns the exact body, headers, size and warnings without sending", () => {
    const notifier = make();
    const preview = notifier.preview(sampleEvents().finished, "slack");
    expect(JSON.parse(preview.body)).toHaveProperty("blocks");
    expect(preview.size).toBe(Buffer.byteLength(preview.body));
    expect(preview.headers["content-type"]).toBe("application/json");
    expect(preview.headers["user-agent"]).toMatch(/^runhooks\//);
    expect(preview.warnings).toEqual([]);
    expect(notifier.preview("benchmark_failed", "teams").body).toContain("failed its benchmark");
  });

  it("reports truncation and a body over the limit as warnings", () => {
    const notifier = make({
      formatters: [
        defineFormatter({
          name: "tiny",
          limits: { maxBytes: 10 },
          format: () => ({ body: "x".repeat(11), warnings: ["cut"] }),
        }),
      ],
    });
    expect(notifier.preview("started", "tiny").warnings).toEqual([
      "cut",
      'body is 11 bytes, over the 10-byte limit of the "tiny" format',
    ]);
    const long = { ...sampleEvents().failed, error: { message: "y".repeat(5000) } };
    expect(notifier.preview(long, "slack").warnings.join()).toMatch(/error truncated/);
  });

  it("validates its arguments", () => {
    const notifier = make();
    expect(() => notifier.preview("started", "fax")).toThrow(/unknown format "fax"/);
    expect(() => notifier.preview("exploded" as never, "json")).toThrow(/event: must be one of/);
    expect(() => notifier.preview({ event: "started" } as never, "json")).toThrow(/Invalid event: event\./);
    const broken = make({
      formatters: [
        defineFormatter({
          name: "broken",
          format: () => {
            throw new Error("nope");
          },
        }),
      ],
    });
    const error: unknown = (() => {
      try {
        broken.preview("started", "broken");
      } catch (e) {
        return e;
      }
    })();
    expect(isFormatError(error)).toBe(true);
  });
});

describe("delivery formats once per event and format", () => {
  it("calls a formatter once for many webhooks, but once per webhook when it needs the webhook", async () => {
    const receiver = await startReceiver();
    try {
      const shared = vi.fn((event: { run: { name: string } }) => ({ body: { text: event.run.name } }));
      const perHook = vi.fn((_event: unknown, context: { webhook?: { name: string } | undefined }) => ({
        body: { to: context.webhook?.name },
      }));
      const notifier = make({
        network: LOOPBACK,
        formatters: [
          defineFormatter({ name: "shared", format: shared }),
          defineFormatter({ name: "per-hook", perWebhook: true, format: perHook }),
        ],
      });
      for (let i = 0; i < 5; i++) {
        await notifier.webhooks.create({
          name: `s${i}`,
          url: `${receiver.url}/s${i}`,
          format: "shared",
          events: ["started"],
          global: true,
        });
        await notifier.webhooks.create({
          name: `p${i}`,
          url: `${receiver.url}/p${i}`,
          format: "per-hook",
          events: ["started"],
          global: true,
        });
      }
      notifier.run({ id: "r", testId: "t", name: "n" }).started();
      await notifier.flush();
      expect(receiver.requests).toHaveLength(10);
      expect(shared).toHaveBeenCalledTimes(1);
      expect(perHook).toHaveBeenCalledTimes(5);
      const names = receiver.requests
        .filter((r) => r.path.startsWith("/p"))
        .map((r) => (r.json() as { to: string }).to)
        .sort();
      expect(names).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    } finally {
      await receiver.close();
    }
  });

  it("does not send a body over the format's limit: it reports format_failed", async () => {
    const receiver = await startReceiver();
    try {
      const notifier = make({
        network: LOOPBACK,
        formatters: [
          defineFormatter({ name: "tiny", limits: { maxBytes: 5 }, format: () => ({ body: "too long" }) }),
        ],
      });
      const reports: DeliveryReport[] = [];
      notifier.on("delivery", (r) => reports.push(r));
      await notifier.webhooks.create({
        name: "t",
        url: `${receiver.url}/t`,
        format: "tiny",
        events: ["started"],
        global: true,
      });
      notifier.run({ id: "r", testId: "t", name: "n" }).started();
      await notifier.flush();
      expect(receiver.requests).toHaveLength(0);
      expect(reports.map((r) => [r.outcome, r.error?.message])).toEqual([
        ["format_failed", 'Formatter "tiny" failed: the body is 8 bytes, over the format\'s 5-byte limit'],
      ]);
    } finally {
      await receiver.close();
    }
  });
});

describe("display options", () => {
  it("show in messages, and are checked when the notifier is created", () => {
    const notifier = make({ display: { productName: "Predator", timeZone: "Asia/Tokyo", locale: "de-DE" } });
    const body = notifier.preview(sampleEvents().finished, "discord").body;
    expect(body).toContain("2026-01-01 09:00 Asia/Tokyo · Predator");
    expect(body).toContain("12.000 requests");
    expect(() => createNotifier({ display: { timeZone: "Mars/Olympus" } })).toThrow(/display\.timeZone/);
    expect(() => createNotifier({ display: { productName: "" } })).toThrow(/display\.productName/);
  });
});
