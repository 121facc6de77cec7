import { sumCounts } from "./_counts.js";
import type { StatsBatch } from "./events.js";

/**
 * The default benchmark score, for runners that have no scoring of their own: the share of completed
 * requests that got an answer other than a 5xx, as a percentage with one decimal (`100` when every
 * request got one; 5xx answers and requests that failed without an answer count against it). 4xx
 * answers count as answered: a load test that expects some (a 404 probe) is not penalised for them.
 * `undefined` when no request completed, so a run that sent nothing is never scored as a pass.
 *
 * `requests` is taken from the statistics, or, when they leave it out, as `codes` and `errors` summed.
 *
 * @example
 * run.finished({ totals, score: successScore(totals) }); // 360 requests, 51 × 503 → 85.8
 */
export function successScore(stats: StatsBatch): number | undefined {
  const serverErrors = sumCounts(stats.codes, (code) => code.startsWith("5"));
  const failures = sumCounts(stats.errors);
  const requests = stats.requests ?? sumCounts(stats.codes) + failures;
  if (requests <= 0) return undefined;
  const good = Math.max(0, requests - serverErrors - failures);
  return Math.round((1000 * good) / requests) / 10;
}
