import type { EventName } from "../events.js";

/** How deliveries are retried. Both transports share this policy. */
export interface RetryOptions {
  /**
   * Retries after the first attempt (so `retries + 1` attempts at most). A `Retry-After` wait does not
   * use one up; the time limits below bound those.
   * @default 8
   */
  retries?: number | undefined;
  /**
   * The first backoff, in milliseconds; each next one doubles, with random jitter (×1 to ×2).
   * @default 1000
   */
  minDelayMs?: number | undefined;
  /**
   * The longest single backoff, in milliseconds.
   * @default 60000
   */
  maxDelayMs?: number | undefined;
  /**
   * How long one delivery may keep retrying, from its first attempt, in milliseconds.
   * @default 600000 (10 minutes)
   */
  maxElapsedMs?: number | undefined;
  /**
   * The longest `Retry-After` honoured, in milliseconds; a longer one ends the delivery as failed
   * rather than sending early into a rate limit.
   * @default 300000 (5 minutes)
   */
  maxRetryAfterMs?: number | undefined;
}

/** @internal */
export type ResolvedRetry = Required<{ [K in keyof RetryOptions]: number }>;

/** @internal */
export const DEFAULT_RETRY: ResolvedRetry = {
  retries: 8,
  minDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxElapsedMs: 10 * 60_000,
  maxRetryAfterMs: 5 * 60_000,
};

/**
 * How late a delivery may still be useful, per event, in milliseconds after the event happened. A
 * delivery past its deadline is dropped and reported as `stale` (an `in_progress` an hour late is noise;
 * a `finished` is still worth a lot).
 */
export const DEFAULT_DEADLINES: Readonly<Record<EventName, number>> = {
  started: 30 * 60_000,
  in_progress: 2 * 60_000,
  api_failure: 15 * 60_000,
  aborted: 24 * 3_600_000,
  failed: 24 * 3_600_000,
  finished: 24 * 3_600_000,
  benchmark_passed: 24 * 3_600_000,
  benchmark_failed: 24 * 3_600_000,
};

/** @internal What to do after one attempt. */
export type Verdict =
  | { kind: "delivered" }
  /** Try again: network errors, 408, 425, 429, 5xx. `retryAfterMs` when the server said when. */
  | { kind: "retry"; retryAfterMs?: number | undefined }
  /** Do not try again: 3xx and the other 4xx. */
  | { kind: "fail" }
  /** 410 Gone: the endpoint is gone for good; the webhook is disabled. */
  | { kind: "disable" };

/** @internal Classifies an HTTP status (with its headers, for Retry-After). */
export function classifyStatus(
  status: number,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now: number,
): Verdict {
  if (status >= 200 && status < 300) return DELIVERED;
  if (status === 410) return DISABLE;
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    const retryAfterMs =
      status === 429 || status === 503 ? parseRetryAfter(headers["retry-after"], now) : undefined;
    return retryAfterMs === undefined ? RETRY : { kind: "retry", retryAfterMs };
  }
  return FAIL;
}

// Verdicts are read, never changed: the common ones are shared rather than made per attempt.
/** @internal */
export const DELIVERED: Verdict = Object.freeze({ kind: "delivered" });
/** @internal */
export const RETRY: Verdict = Object.freeze({ kind: "retry" });
/** @internal */
export const FAIL: Verdict = Object.freeze({ kind: "fail" });
const DISABLE: Verdict = Object.freeze({ kind: "disable" });

/** @internal `Retry-After` as delta-seconds or an HTTP date, in milliseconds from `now`; else undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === "") return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** @internal Validates and completes user retry options. */
export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  const resolved = { ...DEFAULT_RETRY };
  for (const key of Object.keys(DEFAULT_RETRY) as Array<keyof ResolvedRetry>) {
    const value = options[key];
    if (value === undefined) continue;
    // Infinity is a fine cap (maxDelayMs, maxElapsedMs, maxRetryAfterMs), not a fine first delay or count.
    const finite = key === "retries" || key === "minDelayMs";
    if (
      typeof value !== "number" ||
      !(value >= 0) ||
      (finite && !Number.isFinite(value)) ||
      (key === "retries" && !Number.isInteger(value))
    ) {
      throw new RangeError(
        `retry.${key}: must be ${key === "retries" ? "a whole number" : "a number of milliseconds"}, 0 or more`,
      );
    }
    resolved[key] = value;
  }
  return resolved;
}
