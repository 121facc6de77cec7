import { describe, expect, it } from "vitest";
import { Holdings, type Held, type WebhookHoldings } from "../../src/delivery/_fair.js";

// The in-memory queue's holdings per webhook (issue 19); test/delivery/queue.test.ts drives them
// through a queue.
interface TestEntry extends Held {
  state: "queued" | "running" | "done";
  evictable: boolean;
}

function entry(webhookId: string, fields: Partial<TestEntry> & { terminal?: boolean } = {}): TestEntry {
  const { terminal = false, ...rest } = fields;
  return {
    delivery: { webhookId, terminal },
    state: "queued",
    evictable: true,
    holder: undefined as WebhookHoldings<Held> | undefined,
    list: undefined,
    prevHeld: undefined,
    nextHeld: undefined,
    ...rest,
  };
}

/** Adds `n` entries of `webhookId`; returns them. */
function fill(holdings: Holdings<TestEntry>, webhookId: string, n: number): TestEntry[] {
  const added = Array.from({ length: n }, () => entry(webhookId));
  for (const e of added) holdings.add(e);
  return added;
}

/** Starts an entry's worker, as the queue does; `evictable` while it waits out a backoff. */
function start(holdings: Holdings<TestEntry>, e: TestEntry, evictable = false): void {
  e.state = "running";
  e.evictable = evictable;
  holdings.started(e);
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
    start(holdings, a[0]!);
    expect(holdings.victim()).toBe(a[1]);
    start(holdings, a[1]!);
    start(holdings, a[2]!);
    expect(holdings.victim()).toBe(b[0]);
    // Backing off: started, and evictable again.
    a[2]!.evictable = true;
    expect(holdings.victim()).toBe(a[2]);
  });

  it("takes a waiting entry before a started one between attempts, then the longest started", () => {
    const holdings = new Holdings<TestEntry>();
    const [older, old, waiting] = fill(holdings, "a", 3);
    start(holdings, older!, true);
    start(holdings, old!, true);
    // The oldest entries wait out a backoff; dropping the waiting one ends no worker.
    expect(holdings.victim()).toBe(waiting);
    finish(holdings, waiting!);
    expect(holdings.victim()).toBe(older);
    finish(holdings, older!);
    expect(holdings.victim()).toBe(old);
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

  it("keeps nothing done reachable, behind an entry that never ends", () => {
    const holdings = new Holdings<TestEntry>();
    const stuck = entry("a");
    holdings.add(stuck);
    start(holdings, stuck);
    for (let i = 0; i < 10_000; i++) {
      const e = entry("a");
      holdings.add(e);
      finish(holdings, e);
    }
    const holder = stuck.holder as WebhookHoldings<Held>;
    expect(holder.count).toBe(1);
    expect([holder.waiting.length, holder.started.length]).toEqual([0, 1]);
    expect(holder.started.first).toBe(stuck);
  });

  it("takeAll() returns what is not done and forgets every webhook", () => {
    const holdings = new Holdings<TestEntry>();
    const a = fill(holdings, "a", 2);
    fill(holdings, "b", 1);
    finish(holdings, a[0]!);
    const open = holdings.takeAll();
    expect(open).toHaveLength(2);
    expect(open).not.toContain(a[0]);
    expect(open.every((e) => e.holder === undefined && e.list === undefined)).toBe(true);
    expect(holdings.victim()).toBeUndefined();
  });
});
