import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/delivery/rate-limit.js";

const limits = { slack: { perSecond: 1, burst: 3 }, json: null };

/** This process's own buckets answer at once, never with a promise. */
class LocalLimiter extends RateLimiter {
  override take(key: string, format: string, now: number): number {
    const wait = super.take(key, format, now);
    if (typeof wait !== "number") throw new Error("a local RateLimiter answered with a promise");
    return wait;
  }
}

describe("RateLimiter", () => {
  it("lets a burst through, then spaces requests at the rate", () => {
    const limiter = new LocalLimiter(limits);
    expect([0, 0, 0].map(() => limiter.take("a", "slack", 0))).toEqual([0, 0, 0]);
    expect(limiter.take("a", "slack", 0)).toBe(1000);
    expect(limiter.take("a", "slack", 1000)).toBe(0);
    expect(limiter.take("b", "slack", 1000)).toBe(0);
    expect(limiter.take("a", "json", 1000)).toBe(0);
  });

  it("forgets buckets that refilled, and keeps the ones still refilling (issue 19)", () => {
    const limiter = new LocalLimiter(limits);
    // An ad hoc webhook per run: each sends once and is never seen again.
    for (let i = 0; i < 5000; i++) limiter.take(`old-${i}`, "slack", 0);
    expect(limiter.size).toBe(5000);
    for (let i = 0; i < 3; i++) limiter.take("busy", "slack", 2999);

    // By 3 s every old bucket is full again (one token back at 1/s): a new key's sweep drops them.
    let i = 0;
    while (limiter.size > 4000) limiter.take(`new-${i++}`, "slack", 3000);
    expect(i).toBeLessThan(5000);
    expect(limiter.size).toBeLessThan(4000);

    // The busy webhook still waits for its token: forgetting it would have let a 4th request through.
    expect(limiter.take("busy", "slack", 3000)).toBe(999);
    // A forgotten one starts from a full bucket, which is what it had refilled to anyway.
    expect([0, 0, 0, 0].map(() => limiter.take("old-1", "slack", 3000))).toEqual([0, 0, 0, 1000]);
  });
});

describe("RateLimiter with a backend's shared buckets", () => {
  it("asks the shared buckets for limited formats only, and keeps its own while they cannot answer", async () => {
    const asked: string[] = [];
    let reachable = true;
    const limiter = new RateLimiter(limits, {
      take: (key, limit) => {
        asked.push(`${key}:${limit.perSecond}/${limit.burst}`);
        return reachable ? Promise.resolve(250) : Promise.reject(new Error("connection refused"));
      },
    });
    expect(limiter.take("a", "json", 0)).toBe(0);
    expect(await limiter.take("a", "slack", 0)).toBe(250);
    expect(asked).toEqual(["a:1/3"]);
    reachable = false;
    // This process's own bucket: a full one lets the burst through, then spaces at the rate.
    const local = [];
    for (let i = 0; i < 4; i++) local.push(await limiter.take("a", "slack", 0));
    expect(local.slice(0, 3)).toEqual([0, 0, 0]);
    expect(local[3]).toBeGreaterThan(900);
  });
});
