import { emptyCounts, sumCounts } from "../_counts.js";
import type { Latency, Stats } from "../events.js";
import { formatDuration, formatLatency, formatNumber, formatPercent } from "./_text.js";

/** @internal One labelled value of a message, e.g. `Latency: p50 48 ms, p95 212 ms`. */
export interface Fact {
  label: string;
  value: string;
}

/** How many status codes a message lists before it summarises the rest. */
const TOP_CODES = 5;

/**
 * @internal The share of requests at or above which a message calls the errors out in its headline
 * (and a `finished` without a benchmark turns amber): 1 %. Below it a 5xx count is still shown.
 */
export const NOTABLE_ERROR_SHARE = 0.01;

/**
 * @internal The requests that failed on the server's side: 5xx responses plus requests that got no
 * response at all, as a share of the requests completed. 4xx are left out: they answer what the test
 * asked (a negative test expects its 404s), so they stay in the status codes only.
 */
export interface ErrorShare {
  /** 5xx responses plus requests without a response. */
  failed: number;
  /** `failed / requests`, at most 1. */
  share: number;
  /** The failed requests per 5xx status code and per error kind. */
  kinds: Record<string, number>;
}

/**
 * @internal The run's error share, or `undefined` when it completed no requests (a share of nothing).
 * A runner that gave codes and errors but no `requests` completed them all the same: they count.
 */
export function errorShare(stats: Stats): ErrorShare | undefined {
  const requests = Math.max(stats.requests, sumCounts(stats.codes) + sumCounts(stats.errors));
  if (requests <= 0) return undefined;
  const kinds = emptyCounts();
  let failed = 0;
  for (const code in stats.codes) {
    const count = stats.codes[code] ?? 0;
    if (!code.startsWith("5") || count <= 0) continue;
    kinds[code] = count;
    failed += count;
  }
  for (const kind in stats.errors) {
    const count = stats.errors[kind] ?? 0;
    if (count <= 0) continue;
    kinds[kind] = (kinds[kind] ?? 0) + count;
    failed += count;
  }
  // A runner whose counts disagree (more failures than requests) must not make a share over 100 %.
  return { failed, share: Math.min(1, failed / requests), kinds };
}

/** @internal `14.2 % errors (503 × 1,680, ETIMEDOUT × 24)`, or `no errors`: the headline's words. */
export function describeErrorShare(errors: ErrorShare, locale: string): string {
  if (errors.failed === 0) return "no errors";
  return `${formatPercent(errors.share, locale)} errors (${topCodes(errors.kinds, locale, 3)})`;
}

/**
 * @internal The latency figures a message shows, in one line: `p50 48 ms, p95 212 ms, p99 480 ms,
 * max 1.9 s`. The percentiles people read (p50 from `p50` or `median`, p95, p99, p99.9) and the
 * maximum, as far as the runner gave them; p90 only in place of a missing p95, the mean only when no
 * p50 is given. `undefined` when there is nothing to show.
 */
export function latencyLine(latency: Latency | undefined, locale: string): string | undefined {
  if (latency === undefined) return undefined;
  const p50 = latency.p50 ?? latency.median;
  const keys: Array<[string, number | undefined]> = [
    ["mean", p50 === undefined ? latency.mean : undefined],
    ["p50", p50],
    ["p90", latency.p95 === undefined ? latency.p90 : undefined],
    ["p95", latency.p95],
    ["p99", latency.p99],
    ["p99.9", latency.p999],
    ["max", latency.max],
  ];
  const shown = keys
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .map(([label, ms]) => `${label} ${formatLatency(ms, locale)}`);
  return shown.length > 0 ? shown.join(", ") : undefined;
}

/**
 * @internal The numbers a headline gives: the error share first when `errors` is given (the caller
 * decided it is worth saying), then requests and p95, then the count of 5xx responses when the share
 * is not given.
 */
export function keyNumbers(stats: Stats, locale: string, errors?: ErrorShare): string[] {
  const bits = errors === undefined ? [] : [describeErrorShare(errors, locale)];
  bits.push(`${formatNumber(stats.requests, locale)} requests`);
  if (stats.latency?.p95 !== undefined) bits.push(`p95 ${formatLatency(stats.latency.p95, locale)}`);
  const fiveHundreds = sumCounts(stats.codes, (code) => code.startsWith("5"));
  if (errors === undefined && fiveHundreds > 0) bits.push(`${formatNumber(fiveHundreds, locale)} × 5xx`);
  return bits;
}

/** @internal The facts of a run's statistics, in the order every message shows them. */
export function addStats(stats: Stats, facts: Fact[], locale: string, options: { codes: boolean }): void {
  const push = (label: string, value: string | undefined): void => {
    if (value !== undefined) facts.push({ label, value });
  };
  if (stats.elapsedMs !== undefined) push("Elapsed", formatDuration(stats.elapsedMs));
  push("Requests", formatNumber(stats.requests, locale));
  if (stats.rps !== undefined) push("RPS", formatNumber(stats.rps, locale, 1));
  push("Latency", latencyLine(stats.latency, locale));
  const errors = errorShare(stats);
  if (errors !== undefined && errors.failed > 0)
    push("Error rate", `${formatPercent(errors.share, locale)} (${topCodes(errors.kinds, locale, 3)})`);
  const unanswered = sumCounts(stats.errors);
  if (unanswered > 0)
    push("No response", `${formatNumber(unanswered, locale)} (${topCodes(stats.errors, locale, 3)})`);
  // api_failure lists its 5xx codes itself; repeating all codes there would bury them.
  if (options.codes && Object.keys(stats.codes).length > 0)
    push("Status codes", topCodes(stats.codes, locale));
}

// What `a.localeCompare(b)` does, without building a collator for each call.
const byName = new Intl.Collator().compare;

/** @internal `503 × 160, 500 × 3` — the most frequent first, the rest summed as `+ N more`. */
export function topCodes(counts: Readonly<Record<string, number>>, locale: string, top = TOP_CODES): string {
  // A loop, not entries().filter().sort().map(): a message lists codes up to four times, for every event.
  const entries: Array<[string, number]> = [];
  for (const code in counts) {
    const count = counts[code] ?? 0;
    if (Object.hasOwn(counts, code) && count > 0) entries.push([code, count]);
  }
  if (entries.length === 0) return "none";
  entries.sort((a, b) => b[1] - a[1] || byName(a[0], b[0]));
  let text = "";
  for (let i = 0; i < entries.length && i < top; i++) {
    const [code, count] = entries[i] as [string, number];
    text += `${i > 0 ? ", " : ""}${code} × ${formatNumber(count, locale)}`;
  }
  if (entries.length > top) {
    let others = 0;
    for (let i = top; i < entries.length; i++) others += (entries[i] as [string, number])[1];
    text += `${top > 0 ? ", " : ""}+ ${entries.length - top} more (${formatNumber(others, locale)})`;
  }
  return text;
}
