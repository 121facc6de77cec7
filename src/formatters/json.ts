import type { RunEvent, Stats } from "../events.js";
import { isDeepFrozen } from "../_freeze.js";
import { defineFormatter } from "./define.js";
import { serialisers } from "./render.js";
import type { FormattedMessage, Formatter } from "./types.js";

/** Options of {@link jsonFormatter}. */
export interface JsonFormatterOptions {
  /**
   * The format name webhooks use.
   * @default "json"
   */
  name?: string | undefined;
  /**
   * Emit Predator's JSON shape `{ test_id, job_id, event, additional_details }` instead of the Standard
   * Webhooks envelope, for receivers written for Predator. Register it under its own name, e.g.
   * `jsonFormatter({ name: "predator-json", predator: true })`.
   * @default false
   */
  predator?: boolean | undefined;
}

/** The JSON body runhooks sends: the Standard Webhooks envelope. */
export interface JsonEnvelope {
  /** The event name, e.g. `finished`. */
  type: RunEvent["event"];
  /** When the event happened, ISO 8601. */
  timestamp: string;
  /** The event itself: `data.event`, `data.run` (`data.run.id` is the run id) and the event's fields. */
  data: RunEvent;
}

/** Predator's webhook JSON (`webhooksFormatter.js`), for receivers migrating from Predator. */
export interface PredatorJsonBody {
  test_id: string;
  job_id: string | null;
  event: RunEvent["event"];
  additional_details: Record<string, unknown> & { report: Record<string, unknown> };
}

/**
 * The `json` format: a Standard Webhooks envelope `{ type, timestamp, data }` whose `data` is the full
 * event (the run's ad hoc webhook ids, routing data, are left out). With `predator: true`, Predator's
 * JSON shape instead.
 */
export function jsonFormatter(options: JsonFormatterOptions = {}): Formatter {
  const name = options.name ?? "json";
  return defineFormatter({
    name,
    replace: name === "json",
    contentType: "application/json",
    format: options.predator === true ? (event) => ({ body: predatorBody(event) }) : formatEnvelope,
  });
}

const formatEnvelope = (event: RunEvent): FormattedMessage => ({ body: envelope(event) });
serialisers.set(formatEnvelope, envelopeJson);

// A run's part of the body, by run object: every event of a run carries the same frozen run, and
// it is most of the body (name, links, labels). Only deeply frozen runs are kept, which cannot change.
const runJson = new WeakMap<RunEvent["run"], string>();

/**
 * @internal `JSON.stringify(envelope(event))`, with the run's part serialised once per run. The keys
 * come in the order JSON.stringify takes them (Object.keys), so the text is the same to the byte.
 */
export function envelopeJson(event: RunEvent): string {
  if ("toJSON" in event) return JSON.stringify(envelope(event));
  let data = "";
  for (const key of Object.keys(event)) {
    const value =
      key === "run" ? runPart(event.run) : stringify((event as unknown as Record<string, unknown>)[key]);
    // JSON.stringify leaves those keys out; so does this.
    if (value === undefined) continue;
    data += `${data === "" ? "" : ","}${JSON.stringify(key)}:${value}`;
  }
  return `{"type":${JSON.stringify(event.event)},"timestamp":${JSON.stringify(event.at)},"data":{${data}}}`;
}

// JSON.stringify as it behaves: typed `string`, it gives undefined for undefined and functions.
const stringify: (value: unknown) => string | undefined = JSON.stringify;

function runPart(run: RunEvent["run"]): string {
  let json = runJson.get(run);
  if (json === undefined) {
    json = JSON.stringify(withoutRoutingIds(run));
    if (isDeepFrozen(run)) runJson.set(run, json);
  }
  return json;
}

/** @internal */
export function envelope(event: RunEvent): JsonEnvelope {
  return { type: event.event, timestamp: event.at, data: withoutRouting(event) };
}

function withoutRouting(event: RunEvent): RunEvent {
  if (event.run.webhooks === undefined) return event;
  return { ...event, run: withoutRoutingIds(event.run) };
}

function withoutRoutingIds(run: RunEvent["run"]): RunEvent["run"] {
  if (run.webhooks === undefined) return run;
  const { webhooks: _routing, ...rest } = run;
  return rest;
}

/** @internal Predator's shape: snake_case at the top, camelCase inside `additional_details`. */
export function predatorBody(event: RunEvent): PredatorJsonBody {
  const run = event.run;
  const report: Record<string, unknown> = {
    report_id: run.id,
    test_id: run.testId,
    test_name: run.name,
    job_id: run.jobId ?? null,
    environment: run.environment ?? null,
    duration: run.load?.duration ?? null,
    arrival_rate: run.load?.arrivalRate ?? null,
    arrival_count: run.load?.arrivalCount ?? null,
    ramp_to: run.load?.rampTo ?? null,
    parallelism: run.load?.runners ?? null,
    max_virtual_users: run.load?.maxVirtualUsers ?? null,
    start_time: event.at,
  };
  const details: PredatorJsonBody["additional_details"] = { report };
  switch (event.event) {
    case "api_failure":
      details.accumulatedStatusCodesCounter = event.failures.codes;
      break;
    case "finished":
      details.aggregatedReport = aggregate(event.stats);
      if (event.score !== undefined) details.score = event.score;
      break;
    case "benchmark_passed":
    case "benchmark_failed":
      details.aggregatedReport = aggregate(event.stats);
      details.score = event.benchmark.score;
      details.lastScores = event.benchmark.lastScores.map((score) => score.toFixed(1));
      details.benchmarkThreshold = event.benchmark.threshold;
      break;
    case "aborted":
      if (event.reason !== undefined) details.reason = event.reason;
      break;
    case "failed":
      if (event.error !== undefined) details.error = event.error;
      break;
    default:
      break;
  }
  return { test_id: run.testId, job_id: run.jobId ?? null, event: event.event, additional_details: details };
}

function aggregate(stats: Stats): Record<string, unknown> {
  return {
    requestsCompleted: stats.requests,
    codes: stats.codes,
    errors: stats.errors,
    latency: stats.latency ?? {},
    rps: stats.rps === undefined ? {} : { mean: stats.rps },
  };
}
