import { afterEach, describe, expect, it } from "vitest";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { createNotifier } from "../../src/notifier.js";
import { startReceiver } from "../../src/testing/receiver.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { hook, receiverSetup } from "../helpers/notifier.js";
import { receiverHook } from "../helpers/webhooks.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
const setup = receiverSetup(cleanup);

describe("close and flush", () => {
  it("never hangs on a receiver that never answers: abandons and reports after the timeout", async () => {
    const { receiver, notifier, reports } = await setup({}, { respond: () => new Promise(() => undefined) });
    await hook(notifier, receiver, "hang");
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    await receiver.waitFor(1);
    expect(await notifier.flush({ timeoutMs: 50 })).toEqual({ drained: false, pending: 1 });
    const started = Date.now();
    const result = await notifier.close({ timeoutMs: 100 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result).toEqual({ drained: false, pending: 1 });
    expect(reports).toEqual([
      expect.objectContaining({ outcome: "abandoned", final: true, ok: false, event: "started" }),
    ]);
  });

  it("is idempotent, works with await using, and warns about events after close", async () => {
    const { receiver, notifier, warnings } = await setup();
    await hook(notifier, receiver, "x");
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    {
      await using _scope = { [Symbol.asyncDispose]: () => notifier[Symbol.asyncDispose]() };
      run.started();
    }
    expect(receiver.requests).toHaveLength(1);
    expect(await notifier.close()).toEqual({ drained: true, pending: 0 });
    expect(() => run.finished()).not.toThrow();
    expect(warnings).toEqual([expect.objectContaining({ code: "closed", runId: "r" })]);
    expect(receiver.requests).toHaveLength(1);
  });
});

describe("regressions", () => {
  // regression: b90c099 (close() vs webhook lookups still running: abandoned, nothing sent after)
  it("close() abandons an event whose webhook lookup was still running, and nothing is sent after", async () => {
    const receiver = await startReceiver();
    cleanup.push(() => receiver.close());
    const inner = memoryStore();
    const store = {
      ...inner,
      list: async (f?: Parameters<typeof inner.list>[0]) => {
        await new Promise((r) => setTimeout(r, 300));
        return inner.list(f);
      },
    };
    const notifier = createNotifier({ network: LOOPBACK, store });
    const reports: DeliveryReport[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    await receiverHook(notifier, receiver, "x", { events: ["started"] });
    notifier.run({ id: "r", testId: "t", name: "n" }).started();
    const result = await notifier.close({ timeoutMs: 50 });
    expect(result.drained).toBe(false);
    expect(result.pending).toBe(1);
    expect(reports).toEqual([expect.objectContaining({ outcome: "abandoned", event: "started" })]);
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.requests).toHaveLength(0);
    expect(reports).toHaveLength(1);
  });
});
