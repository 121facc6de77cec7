import { describe, expect, it } from "vitest";
import { Holdings, type Held, type WebhookHoldings } from "../../src/delivery/_fair.js";

// The in-memory queue's holdings per webhook (issue 19); test/delivery/queue.test.ts drives them
// through a queue.
interface TestEntry extends Held {
  state: "queued" | "running" | "done";
  evictable: boolean;
}

let seq = 0;
function entry(webhookId: string, fields: Partial<TestEntry> & { terminal?: boolean } = {}): TestEntry {
  const { terminal = false, ...rest } = fields;
  return {
    delivery: { webhookId, terminal },
    state: "queued",
    evictable: true,
    seq: seq++,
    holder: undefined as WebhookHoldings<Held> | undefined,
    ...rest,
  };
}

/** Adds `n` entries of `webhookId`; returns them. */
function fill(holdings: Holdings<TestEntry>, webhookId: string, n: number): TestEntry[] {
  const added = Array.from({ length: n }, () => entry(webhookId));
  for (const e of added) holdings.add(e);
  return added;
}

/** Marks an entry done and stops counting it, as the queue does. */
function finish(holdings: Holdings<TestEntry>, e: TestEntry): void {
  e.state = "done";
  holdings.remove(e);
}

describe("Holdings", () => {
  it("names the oldest entry of the webhook holding the most, and follows the counts down", () => {
    const holdings = new Holdings<TestEntry>();
    const a = fill(holdings, "a", 3);
    const b = fill(holdings, "b", 2);
    expect(holdings.victim()).toBe(a[0]);
    finish(holdings, a[0]!);
    finish(holdings, a[1]!);
    // a holds 1, b holds 2.
    expect(holdings.victim()).toBe(b[0]);
    finish(holdings, b[0]!);
    finish(holdings, b[1]!);
    expect(holdings.victim()).toBe(a[2]);
    finish(holdings, a[2]!);
    expect(holdings.victim()).toBeUndefined();
  });

  it("steps over entries being attempted, and passes to the next webhook when all of one's are", () => {
    const holdings = new Holdings<TestEntry>();
    const a = fill(holdings, "a", 3);
    const b = fill(holdings, "b", 1);
    a[0]!.state = "running";
    a[0]!.evictable = false;
    expect(holdings.victim()).toBe(a[1]);
    for (const e of a) {
      e.state = "running";
      e.evictable = false;
    }
    expect(holdings.victim()).toBe(b[0]);
    // Backing off: running, and evictable again.
    a[2]!.evictable = true;
    expect(holdings.victim()).toBe(a[2]);
  });

  it("takes an outcome only when the webhook has nothing else to give", () => {
    const holdings = new Holdings<TestEntry>();
    const outcome = entry("a", { terminal: true });
    holdings.add(outcome);
    const update = entry("a");
    holdings.add(update);
    expect(holdings.victim()).toBe(update);
    finish(holdings, update);
    expect(holdings.victim()).toBe(outcome);
  });

  it("keeps no more than about twice what a webhook holds, behind an entry that never ends", () => {
    const holdings = new Holdings<TestEntry>();
    const stuck = entry("a", { state: "running", evictable: false });
    holdings.add(stuck);
    for (let i = 0; i < 10_000; i++) {
      const e = entry("a");
      holdings.add(e);
      finish(holdings, e);
    }
    const holder = stuck.holder as WebhookHoldings<Held>;
    expect(holder.count).toBe(1);
    expect(holder.other.length).toBeLessThanOrEqual(2 + 16 + 1);
  });

  it("takeAll() returns what is not done and forgets every webhook", () => {
    const holdings = new Holdings<TestEntry>();
    const a = fill(holdings, "a", 2);
    fill(holdings, "b", 1);
    finish(holdings, a[0]!);
    expect(
      holdings
        .takeAll()
        .map((e) => e.seq)
        .sort((x, y) => x - y),
    ).toHaveLength(2);
    expect(holdings.victim()).toBeUndefined();
  });
});
