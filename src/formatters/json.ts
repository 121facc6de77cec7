import type { Latency, RunError, RunEvent, Stats } from "../events.js";
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

/**
 * Predator's webhook JSON (`webhooksFormatter.js`), for receivers migrating from Predator:
 * `{ test_id, job_id, event, additional_details: { report, … } }`. As in Predator, a field runhooks does
 * not know is left out, never `null`; fields Predator fills from its own database (`revision_id`,
 * `subscribers`, `notes`, …) are never sent.
 */
export interface PredatorJsonBody {
  /** The run's test id (`run.testId`). */
  test_id: string;
  /** The run's job id (`run.jobId`). Left out when the run has none; Predator always has one. */
  job_id?: string;
  /** The event name. */
  event: RunEvent["event"];
  /** The report, then the event's own fields, as Predator names them. */
  additional_details: {
    /** Predator's report (`reportsManager.getReportResponse`), with the fields the run and event supply. */
    report: {
      /** `run.testId`. */
      test_id: string;
      /** `run.name`. */
      test_name: string;
      /** `run.id`: runhooks' run is Predator's report. */
      report_id: string;
      /** `run.jobId`, when given. */
      job_id?: string;
      /**
       * When the run started, ISO 8601 in UTC: the time of `started`; for later events, the event's time
       * less `stats.elapsedMs`. The same for every event of a run. Left out when the event cannot tell
       * (no statistics with an elapsed time, e.g. `failed` before the run started).
       */
      start_time?: string;
      /** The event's time, on events that end the run (`aborted`, `failed`, `finished`, `benchmark_*`). */
      end_time?: string;
      /** Seconds since the start (`stats.elapsedMs / 1000`), when the event carries them. */
      duration_seconds?: number;
      /** `run.load.arrivalRate`. */
      arrival_rate?: number;
      /** `run.load.arrivalCount`. */
      arrival_count?: number;
      /** The planned duration in seconds, `run.load.duration`. */
      duration?: number;
      /** `run.load.rampTo`. */
      ramp_to?: number;
      /** The number of runners, `run.load.runners`. */
      parallelism?: number;
      /** `run.load.maxVirtualUsers`. */
      max_virtual_users?: number;
      /** The event's time: the report is as of this event. */
      last_updated_at: string;
      /** `run.environment`. */
      environment?: string;
      /** The latest requests per second, `stats.rps`. */
      last_rps?: number;
      /** Requests completed per second since the start (`stats.requests` over the elapsed time), 2 decimals. */
      avg_rps?: number;
      /** The run's score, on `finished` (when given) and benchmark events. `0` is a score. */
      score?: number;
      /** The report's status after this event, in Predator's words. */
      status: "started" | "in_progress" | "finished" | "aborted" | "failed";
      /** The URL of the run's first link whose title mentions Grafana. */
      grafana_report?: string;
    };
    /** `api_failure`: responses per status code, every code (not only 5xx), of the run so far (`stats.codes`). */
    accumulatedStatusCodesCounter?: Readonly<Record<string, number>>;
    /** `finished` and benchmark events: the run's statistics, in the names of Predator's aggregate report. */
    aggregatedReport?: {
      requestsCompleted: number;
      codes: Readonly<Record<string, number>>;
      errors: Readonly<Record<string, number>>;
      latency: Latency;
      rps: { mean?: number };
    };
    /** `finished` (when given) and benchmark events: the score. */
    score?: number;
    /** Benchmark events: earlier scores, most recent first, with one decimal (`"88.2"`), as Predator sends them. */
    lastScores?: string[];
    /** Benchmark events: the threshold the score was held to. */
    benchmarkThreshold?: number;
    /** `aborted`: the reason, when given. Not in Predator's body. */
    reason?: string;
    /** `failed`: the error, when given. Not in Predator's body. */
    error?: RunError;
  };
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

type PredatorDetails = PredatorJsonBody["additional_details"];
type PredatorReport = PredatorDetails["report"];

// Predator's report status after each event: the run is running once it has statistics, and it has
// finished when its benchmark verdict comes (just before `finished`).
const PREDATOR_STATUS: Record<RunEvent["event"], PredatorReport["status"]> = {
  started: "started",
  in_progress: "in_progress",
  api_failure: "in_progress",
  aborted: "aborted",
  failed: "failed",
  benchmark_passed: "finished",
  benchmark_failed: "finished",
  finished: "finished",
};

/**
 * @internal Predator's shape: snake_case at the top and in the report, camelCase beside it. Only what
 * the run and the event say is sent: a field runhooks does not know is left out, as Predator does.
 */
export function predatorBody(event: RunEvent): PredatorJsonBody {
  const run = event.run;
  const load = run.load;
  const stats = "stats" in event ? event.stats : undefined;
  const elapsedMs = stats?.elapsedMs;
  const ends = event.event !== "started" && event.event !== "in_progress" && event.event !== "api_failure";
  const score =
    event.event === "finished"
      ? event.score
      : event.event === "benchmark_passed" || event.event === "benchmark_failed"
        ? event.benchmark.score
        : undefined;
  // In the order of Predator's getReportResponse.
  const report: PredatorReport = {
    test_id: run.testId,
    test_name: run.name,
    report_id: run.id,
    ...known("job_id", run.jobId),
    ...known("start_time", runStart(event)),
    ...known("end_time", ends ? event.at : undefined),
    ...known("duration_seconds", elapsedMs === undefined ? undefined : elapsedMs / 1000),
    ...known("arrival_rate", load?.arrivalRate),
    ...known("arrival_count", load?.arrivalCount),
    ...known("duration", load?.duration),
    ...known("ramp_to", load?.rampTo),
    ...known("parallelism", load?.runners),
    ...known("max_virtual_users", load?.maxVirtualUsers),
    last_updated_at: event.at,
    ...known("environment", run.environment),
    ...known("last_rps", stats?.rps),
    ...known(
      "avg_rps",
      stats !== undefined && elapsedMs !== undefined && elapsedMs > 0
        ? Number((stats.requests / (elapsedMs / 1000)).toFixed(2))
        : undefined,
    ),
    ...known("score", score),
    status: PREDATOR_STATUS[event.event],
    ...known("grafana_report", run.links?.find((link) => /grafana/i.test(link.title))?.url),
  };
  const details: PredatorDetails = { report };
  switch (event.event) {
    case "api_failure":
      // Predator counts every status code here, not only the 5xx that made the event fire.
      details.accumulatedStatusCodesCounter = event.stats.codes;
      break;
    case "finished":
      details.aggregatedReport = aggregate(event.stats);
      if (event.score !== undefined) details.score = event.score;
      break;
    case "benchmark_passed":
    case "benchmark_failed":
      details.aggregatedReport = aggregate(event.stats);
      details.score = event.benchmark.score;
      details.lastScores = event.benchmark.lastScores.map((last) => last.toFixed(1));
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
  return {
    test_id: run.testId,
    ...known("job_id", run.jobId),
    event: event.event,
    additional_details: details,
  };
}

type OptionalKey<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
// The fields `known` fills: the report's optional ones, and the body's `job_id`.
type KnownFields = PredatorReport & Pick<PredatorJsonBody, "job_id">;

/** `{ [key]: value }`, or `{}` when the value is unknown: Predator leaves such fields out, never `null`. */
function known<K extends OptionalKey<KnownFields>>(
  key: K,
  value: KnownFields[K] | undefined,
): Partial<Pick<KnownFields, K>> {
  const out: Partial<Pick<KnownFields, K>> = {};
  if (value !== undefined) out[key] = value;
  return out;
}

/**
 * When the run started, ISO 8601 in UTC: the time of `started` itself, else the event's time less the
 * elapsed time its statistics carry (the tracker measures both on one clock, so every event of a run
 * gives the same instant). `undefined` when the event cannot tell.
 */
function runStart(event: RunEvent): string | undefined {
  const at = Date.parse(event.at);
  if (event.event === "started") return isoTime(at);
  const elapsedMs = "stats" in event ? event.stats?.elapsedMs : undefined;
  return elapsedMs === undefined ? undefined : isoTime(at - elapsedMs);
}

/** A time in milliseconds as ISO 8601 in UTC, or `undefined` when it is not a time a Date can hold. */
function isoTime(ms: number): string | undefined {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function aggregate(stats: Stats): NonNullable<PredatorDetails["aggregatedReport"]> {
  return {
    requestsCompleted: stats.requests,
    codes: stats.codes,
    errors: stats.errors,
    latency: stats.latency ?? {},
    rps: stats.rps === undefined ? {} : { mean: stats.rps },
  };
}
