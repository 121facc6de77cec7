import type { RunEvent, Stats } from "../events.js";
import { isDeepFrozen } from "../_freeze.js";
import { defineFormatter } from "./define.js";
import { serialisers, type Serialised } from "./render.js";
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
serialisers.set(formatEnvelope, envelopeBody);

/** A run's part of the body: the JSON text and its UTF-8 bytes. */
interface RunPart {
  json: string;
  bytes: Uint8Array;
}

// A run's part of the body, by run object: every event of a run carries the same frozen run, and
// it is most of the body (name, links, labels). Only deeply frozen runs are kept, which cannot change.
const runParts = new WeakMap<RunEvent["run"], RunPart>();
const utf8 = new TextEncoder();

/**
 * @internal `JSON.stringify(envelope(event))`, with the run's part serialised (and encoded) once per
 * run. The keys come in the order JSON.stringify takes them (Object.keys), so the text is the same to
 * the byte. With a cached run, the bytes are joined from the cached run's and the rest's, and the
 * text stays a concatenation that shares the run's text: it is never copied into one flat string,
 * which would be twice the body's size in memory when the run holds any non-Latin-1 character.
 */
export function envelopeBody(event: RunEvent): Serialised {
  if ("toJSON" in event) return { body: JSON.stringify(envelope(event)) };
  let head = `{"type":${JSON.stringify(event.event)},"timestamp":${JSON.stringify(event.at)},"data":{`;
  let tail = "";
  let run: RunPart | undefined;
  let first = true;
  for (const key of Object.keys(event)) {
    let value: string | undefined;
    if (key === "run") {
      const part = runPart(event.run);
      if (typeof part === "object") {
        run = part;
        head += first ? `"run":` : `,"run":`;
        first = false;
        continue;
      }
      value = part;
    } else {
      value = stringify((event as unknown as Record<string, unknown>)[key]);
    }
    // JSON.stringify leaves those keys out; so does this.
    if (value === undefined) continue;
    const piece = `${first ? "" : ","}${JSON.stringify(key)}:${value}`;
    first = false;
    if (run === undefined) head += piece;
    else tail += piece;
  }
  tail += "}}";
  if (run === undefined) return { body: head + tail };
  const headBytes = Buffer.byteLength(head);
  const tailAt = headBytes + run.bytes.length;
  const bytes = new Uint8Array(tailAt + Buffer.byteLength(tail));
  utf8.encodeInto(head, bytes);
  bytes.set(run.bytes, headBytes);
  utf8.encodeInto(tail, bytes.subarray(tailAt));
  return { body: head + run.json + tail, bytes };
}

// JSON.stringify as it behaves: typed `string`, it gives undefined for undefined and functions.
const stringify: (value: unknown) => string | undefined = JSON.stringify;

/**
 * The run's part, cached when the run is deeply frozen; else just its text, made anew (`undefined`
 * when the run's own `toJSON` leaves it out).
 */
function runPart(run: RunEvent["run"]): RunPart | string | undefined {
  let part = runParts.get(run);
  if (part !== undefined) return part;
  const json = stringify(withoutRoutingIds(run));
  if (json === undefined || !isDeepFrozen(run)) return json;
  part = { json, bytes: utf8.encode(json) };
  runParts.set(run, part);
  return part;
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
