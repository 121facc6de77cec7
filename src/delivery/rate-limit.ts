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

/** @internal Per-key token buckets. `wait` resolves when a request may go, or rejects when aborted. */
export class RateLimiter {
  readonly #limits: Readonly<Record<string, RateLimit | null>>;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(limits: Readonly<Record<string, RateLimit | null>>) {
    this.#limits = limits;
  }

  /** Milliseconds until a token is free for `key` under `format`'s limit; takes it when 0. */
  take(key: string, format: string, now: number): number {
    const limit = this.#limits[format];
    if (!limit) return 0;
    const bucket = this.#buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / limit.perSecond) * 1000);
  }
}
