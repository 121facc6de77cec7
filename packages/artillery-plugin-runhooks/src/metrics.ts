import { LATENCY_KEYS, type Latency, type StatsBatch } from "runhooks";
import type { ArtilleryMetrics } from "./artillery.js";

// An HTTP status code, as runhooks accepts them in `codes`.
const STATUS = /^[1-5]\d\d$/;
// A request that failed without a response shows up as `errors.<code>` with a Node or network error
// code (ECONNREFUSED, ETIMEDOUT, ERR_TLS_CERT_ALTNAME_INVALID…). Artillery counts other things under
// `errors.` too (a failed capture, a cookie it could not parse, a processor's own error): those came
// after a response, or without a request, so they are neither requests nor request errors.
const REQUEST_ERROR = /^(E[A-Z0-9_]+|ERR_[A-Z0-9_]+)$/;
// runhooks' limit on an error kind's length.
const MAX_ERROR_KIND = 200;

/**
 * One Artillery metrics object (a `stats` period, or `done`'s whole run) as a runhooks batch:
 * `codes` from `http.codes.<n>`, `errors` from `errors.<code>` (requests that got no response), and
 * `requests` = `http.responses` + those errors, runhooks' "requests completed". For a finished run that
 * is Artillery's `http.requests` (requests sent). `latency` is `summaries['http.response_time']` (its
 * known keys only) and `rps` is `rates['http.request_rate']`. A key Artillery left out stays out.
 */
export function toBatch(metrics: ArtilleryMetrics): StatsBatch {
  const counters = metrics.counters ?? {};
  const codes = prefixed(counters, "http.codes.", (key) => STATUS.test(key));
  const errors = prefixed(
    counters,
    "errors.",
    (key) => REQUEST_ERROR.test(key) && key.length <= MAX_ERROR_KIND,
  );
  const responses = count(counters["http.responses"]);
  const failed = sum(errors);
  const batch: StatsBatch = {};
  if (responses !== undefined || failed > 0) batch.requests = (responses ?? 0) + failed;
  if (Object.keys(codes).length > 0) batch.codes = codes;
  if (Object.keys(errors).length > 0) batch.errors = errors;
  const latency = toLatency(metrics.summaries?.["http.response_time"]);
  if (latency) batch.latency = latency;
  const rps = measure(metrics.rates?.["http.request_rate"]);
  if (rps !== undefined) batch.rps = rps;
  return batch;
}

/** The counters under `prefix` whose rest passes `keep`, keyed by that rest. */
function prefixed(
  counters: Record<string, unknown>,
  prefix: string,
  keep: (key: string) => boolean,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(counters)) {
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(prefix.length);
    const n = count(value);
    if (n !== undefined && n > 0 && keep(key)) out[key] = n;
  }
  return out;
}

function toLatency(summary: Record<string, unknown> | undefined): Latency | undefined {
  if (!summary) return undefined;
  const latency: Latency = {};
  for (const key of LATENCY_KEYS) {
    const value = key === "count" ? count(summary[key]) : measure(summary[key]);
    if (value !== undefined) latency[key] = value;
  }
  return Object.keys(latency).length > 0 ? latency : undefined;
}

function sum(record: Record<string, number>): number {
  let total = 0;
  for (const n of Object.values(record)) total += n;
  return total;
}

/** A non-negative whole number, or undefined. */
function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** A finite non-negative number, or undefined. */
function measure(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}
