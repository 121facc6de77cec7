import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/delivery/rate-limit.js";

const limits = { slack: { perSecond: 1, burst: 3 }, json: null };

describe("RateLimiter", () => {
  it("lets a burst through, then spaces requests at the rate", () => {
    const limiter = new RateLimiter(limits);
    expect([0, 0, 0].map(() => limiter.take("a", "slack", 0))).toEqual([0, 0, 0]);
    expect(limiter.take("a", "slack", 0)).toBe(1000);
    expect(limiter.take("a", "slack", 1000)).toBe(0);
    expect(limiter.take("b", "slack", 1000)).toBe(0);
    expect(limiter.take("a", "json", 1000)).toBe(0);
  });

  it("forgets buckets that refilled, and keeps the ones still refilling (issue 19)", () => {
    const limiter = new RateLimiter(limits);
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
