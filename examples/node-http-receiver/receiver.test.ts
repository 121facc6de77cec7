import type { AddressInfo } from "node:net";
import { expect, it } from "vitest";
import { createNotifier, generateSecret, type JsonEnvelope } from "runhooks";
import { startJsonReceiver } from "./receiver.js";

it("receives, verifies and de-duplicates runhooks JSON webhooks", async () => {
  const secret = generateSecret();
  const events: JsonEnvelope[] = [];
  const server = await startJsonReceiver({ secret, onEvent: (event) => events.push(event) });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  const notifier = createNotifier({ network: { allowPrivate: true } });
  try {
    await notifier.webhooks.create({
      name: "mine",
      url,
      format: "json",
      events: ["started", "finished"],
      global: true,
      secret,
    });
    await notifier.webhooks.create({
      name: "forged",
      url,
      format: "json",
      events: ["started"],
      global: true,
      secret: generateSecret(),
    });
    const reports: string[] = [];
    notifier.on("delivery", (r) => reports.push(`${r.webhookName}:${r.outcome}:${r.status ?? ""}`));
    const run = notifier.run({ id: "run-7", testId: "t", name: "checkout" });
    run.started();
    run.finished();
    await notifier.flush();
    expect(events.map((e) => e.type)).toEqual(["started", "finished"]);
    expect(events[0]?.data.run.id).toBe("run-7");
    // Signed with another secret: refused with 401, which the sender does not retry.
    expect(reports).toContain("forged:failed:401");
  } finally {
    await notifier.close();
    server.close();
  }
});
