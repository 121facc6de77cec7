/** A token bucket: `perSecond` requests on average, up to `burst` at once. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Default rate limits per format, per webhook: what the services tolerate. `json` is unlimited.
 * Slack allows about one message a second with short bursts; Teams throttles above four a second;
 * Discord allows five per two seconds and 30 a minute per channel.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<string, RateLimit | null>> = {
  slack: { perSecond: 1, burst: 3 },
  teams: { perSecond: 4, burst: 4 },
  discord: { perSecond: 0.5, burst: 5 },
  json: null,
};

interface Bucket {
  tokens: number;
  at: number;
  /** When it will hold `burst` tokens again, which is what a bucket never seen holds. */
  fullAt: number;
}

// Buckets kept before the first sweep for full ones; after a sweep, twice what it kept.
const SWEEP_MIN = 1024;

/**
 * Token buckets kept where several processes share them (a shared backend's, `Backend.rateLimits()`):
 * one webhook's limit then holds for the whole fleet, not per process.
 */
export interface SharedRateLimits {
  /**
   * Milliseconds until a token is free for `key` under `limit`; takes it when 0. Rejects when the
   * buckets cannot be reached: the process then keeps to its own.
   */
  take(key: string, limit: RateLimit): Promise<number>;
}

/**
 * @internal Per-key token buckets, this process's own or a backend's shared ones (with this process's
 * as the fallback while those cannot be reached).
 */
export class RateLimiter {
  readonly #limits: Readonly<Record<string, RateLimit | null>>;
  readonly #shared: SharedRateLimits | undefined;
  readonly #buckets = new Map<string, Bucket>();
  #sweepAbove = SWEEP_MIN;

  constructor(limits: Readonly<Record<string, RateLimit | null>>, shared?: SharedRateLimits) {
    this.#limits = limits;
    this.#shared = shared;
  }

  /**
   * Milliseconds until a token is free for `key` under `format`'s limit; takes it when 0. A number at
   * once for an unlimited format and for this process's buckets; a promise for shared ones.
   */
  take(key: string, format: string, now: number): number | Promise<number> {
    const limit = this.#limits[format];
    if (!limit) return 0;
    if (this.#shared === undefined) return this.#takeLocal(key, limit, now);
    return this.#shared.take(key, limit).catch(() => this.#takeLocal(key, limit, Date.now()));
  }

  #takeLocal(key: string, limit: RateLimit, now: number): number {
    const bucket = this.#buckets.get(key) ?? { tokens: limit.burst, at: now, fullAt: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    const wait = bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) / limit.perSecond) * 1000);
    if (wait === 0) bucket.tokens -= 1;
    bucket.fullAt = now + ((limit.burst - bucket.tokens) / limit.perSecond) * 1000;
    if (!this.#buckets.has(key)) {
      this.#buckets.set(key, bucket);
      if (this.#buckets.size > this.#sweepAbove) this.#sweep(now);
    }
    return wait;
  }

  /** Buckets held now (for tests of the bound). */
  get size(): number {
    return this.#buckets.size;
  }

  // Webhooks come and go (an ad hoc one per run): a bucket that has refilled is the same as none, so
  // it is forgotten, and the map holds only the webhooks that sent within their refill time.
  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.fullAt <= now) this.#buckets.delete(key);
    this.#sweepAbove = Math.max(SWEEP_MIN, 2 * this.#buckets.size);
  }
}
