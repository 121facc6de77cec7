import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fetchTransport } from "../../src/delivery/fetch-transport.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { createNotifier, type Notifier } from "../../src/notifier.js";

// msw intercepts globalThis.fetch: this is how users whose own test suites use msw test their runner's
// notifications (docs/testing.md has the recipe), and how fetchTransport is tested here. No request
// leaves the process.
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close({ timeoutMs: 500 });
});

async function make(timeoutMs = 2000) {
  const notifier = createNotifier({
    transport: fetchTransport({ timeoutMs }),
    retry: { retries: 3, minDelayMs: 1, maxDelayMs: 5 },
  });
  notifiers.push(notifier);
  const reports: DeliveryReport[] = [];
  notifier.on("delivery", (r) => reports.push(r));
  await notifier.webhooks.create({
    name: "slack",
    url: "https://hooks.slack.com/services/T0/B0/SECRET",
    format: "slack",
    events: ["started", "finished"],
    global: true,
  });
  return { notifier, reports };
}

describe("fetchTransport under msw", () => {
  it("recipe: a runner's Slack notification, asserted on its Block Kit payload", async () => {
    const received: Array<{ text: string; webhookId: string | null }> = [];
    server.use(
      http.post("https://hooks.slack.com/services/*", async ({ request }) => {
        const body = (await request.json()) as { text: string };
        received.push({ text: body.text, webhookId: request.headers.get("webhook-id") });
        return new HttpResponse("ok");
      }),
    );
    const { notifier } = await make();
    const run = notifier.run({ id: "run-1", testId: "t", name: "checkout" });
    run.started();
    run.finished({ score: 90 });
    await notifier.flush();
    expect(received.map((r) => r.text)).toEqual([
      "🚀 checkout started",
      "✅ checkout finished: 0 requests, score 90",
    ]);
    expect(received.every((r) => r.webhookId?.startsWith("msg_"))).toBe(true);
  });

  it("retries a 503, with the same webhook-id", async () => {
    const ids: Array<string | null> = [];
    server.use(
      http.post("https://hooks.slack.com/services/*", ({ request }) => {
        ids.push(request.headers.get("webhook-id"));
        return ids.length === 1 ? new HttpResponse(null, { status: 503 }) : new HttpResponse("ok");
      }),
    );
    const { notifier, reports } = await make();
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports.map((r) => r.outcome)).toEqual(["retrying", "delivered"]);
    expect(new Set(ids).size).toBe(1);
  });

  it("does not follow a redirect", async () => {
    let hits = 0;
    server.use(
      http.post("https://hooks.slack.com/services/*", () => {
        hits += 1;
        return new HttpResponse(null, {
          status: 307,
          headers: { location: "https://hooks.slack.com/services/elsewhere" },
        });
      }),
    );
    const { notifier, reports } = await make();
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(hits).toBe(1);
    expect(reports).toEqual([expect.objectContaining({ outcome: "failed", reason: "http_307" })]);
  });

  it("retries a network error and reports it without the URL", async () => {
    let hits = 0;
    server.use(
      http.post("https://hooks.slack.com/services/*", () => {
        hits += 1;
        return hits === 1 ? HttpResponse.error() : new HttpResponse("ok");
      }),
    );
    const { notifier, reports } = await make();
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports.map((r) => [r.outcome, r.error?.name])).toEqual([
      ["retrying", "TransportError"],
      ["delivered", undefined],
    ]);
    expect(JSON.stringify(reports)).not.toContain("SECRET");
  });

  it("times out an attempt that never answers", async () => {
    server.use(
      http.post("https://hooks.slack.com/services/*", async () => {
        await delay("infinite");
        return new HttpResponse("never");
      }),
    );
    const { notifier, reports } = await make(50);
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await notifier.flush();
    expect(reports.at(-1)).toMatchObject({ outcome: "failed", final: true, error: { code: "ERR_TIMEOUT" } });
    expect(reports).toHaveLength(4);
  });

  it("reads at most maxResponseBytes of a huge body", async () => {
    server.use(http.post("https://example.com/big", () => new HttpResponse("x".repeat(1_000_000))));
    const transport = fetchTransport({ maxResponseBytes: 100 });
    const response = await transport.send({
      url: new URL("https://example.com/big"),
      headers: {},
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(100);
  });
});
