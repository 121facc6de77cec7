import { z } from "zod";
import type { WebhookDefinition } from "./webhooks/model.js";
import { emptyCounts } from "./_counts.js";
import { EVENT_LIMITS as LIMITS } from "./event-limits.js";

/**
 * The eight lifecycle events, in lifecycle order. The names are the API: webhooks subscribe to them
 * and the JSON format sends them as `type`.
 */
export const EVENT_NAMES = [
  "started",
  "in_progress",
  "api_failure",
  "aborted",
  "failed",
  "benchmark_passed",
  "benchmark_failed",
  "finished",
] as const;

/** The name of a lifecycle event. */
export type EventName = (typeof EVENT_NAMES)[number];

/**
 * The events that say how a run ended: `aborted`, `failed` or `finished`. A run has at most one of
 * them, and emits nothing after it.
 */
export const OUTCOME_EVENTS: ReadonlySet<EventName> = new Set(["aborted", "failed", "finished"]);

/**
 * @internal The events no `in_progress` of the same run can follow: the {@link OUTCOME_EVENTS} and the
 * benchmark verdicts (which come right before `finished`). A queued `in_progress` that has not been
 * attempted yet is superseded by one of them, so the delivery queue drops it.
 */
export const SUPERSEDING_EVENTS: ReadonlySet<EventName> = new Set([
  ...OUTCOME_EVENTS,
  "benchmark_passed",
  "benchmark_failed",
]);

/** True when `value` is one of the eight event names. */
export function isEventName(value: unknown): value is EventName {
  return typeof value === "string" && (EVENT_NAMES as readonly string[]).includes(value);
}

// ---------------------------------------------------------------------------------------------
// Public types. They are plain TypeScript so that zod stays an internal detail; the schemas below
// are the source of truth and test/events.types.test.ts proves the two agree field for field.
// ---------------------------------------------------------------------------------------------

/**
 * One phase of a load profile, e.g. Artillery's `config.phases[i]`: a warm-up, a ramp, a plateau.
 * All fields optional; rates are new virtual users per second.
 */
export interface LoadPhase {
  /** What the phase is called, e.g. `warm up`. */
  name?: string | undefined;
  /** Planned duration of the phase in seconds. */
  duration?: number | undefined;
  /** New scenarios (virtual users) per second; with `rampTo`, the rate the phase starts at. */
  arrivalRate?: number | undefined;
  /** The arrival rate the phase ramps to by its end. */
  rampTo?: number | undefined;
  /** Total scenarios the phase starts, for count-based phases. */
  arrivalCount?: number | undefined;
  /** Cap on concurrent virtual users during the phase. */
  maxVirtualUsers?: number | undefined;
}

/**
 * How the run loads the system under test. All fields optional; numbers are per second unless noted.
 * A multi-phase run gives its `phases`, in order; the flat fields then describe the whole run (its
 * total planned `duration`, the peak rate) or are left out.
 */
export interface LoadProfile {
  /** Planned duration in seconds (of the whole run, phases included). */
  duration?: number | undefined;
  /** New scenarios (virtual users) per second. */
  arrivalRate?: number | undefined;
  /** Total scenarios, for count-based (functional) runs. */
  arrivalCount?: number | undefined;
  /** Arrival rate the run ramps to. */
  rampTo?: number | undefined;
  /** Number of load generators (runners) taking part. */
  runners?: number | undefined;
  /** Cap on concurrent virtual users. */
  maxVirtualUsers?: number | undefined;
  /** The phases of a multi-phase profile, in the order they run (at most 50). */
  phases?: LoadPhase[] | undefined;
}

/** A link a message shows, e.g. a report or a dashboard. */
export interface RunLink {
  /** What the link opens, e.g. `Grafana dashboard`. */
  title: string;
  /** An `http:` or `https:` URL. */
  url: string;
}

/** The benchmark a run is scored against; with a score, `finished` is preceded by a benchmark event. */
export interface BenchmarkConfig {
  /** A score equal to or above this passes. `0` is a real threshold. */
  threshold: number;
  /** Scores of earlier runs, most recent first, shown for context. */
  lastScores?: number[] | undefined;
}

/** The run as events carry it: what the runner said, validated, with ad hoc webhooks as ids only. */
export interface Run {
  /** Unique id of this run (Predator's report id). Event ids derive from it, so reuse means "the same run". */
  id: string;
  /** Id of the test being run. */
  testId: string;
  /** Human name of the test, shown in messages. */
  name: string;
  /** Id of the job that launched the run, if any. */
  jobId?: string | undefined;
  /** Environment under test, e.g. `staging`. */
  environment?: string | undefined;
  /** Tenant (Predator's context id); global webhooks of another tenant do not fire. */
  tenant?: string | undefined;
  /** The load profile. */
  load?: LoadProfile | undefined;
  /** Report and dashboard links shown in messages. */
  links?: RunLink[] | undefined;
  /** Free-form key/value labels, e.g. `{ team: "payments" }`. */
  labels?: Record<string, string> | undefined;
  /** Ids of ad hoc webhooks that fire for this run only. Unknown ids are reported, never rejected. */
  webhooks?: string[] | undefined;
  /** The benchmark this run is scored against. */
  benchmark?: BenchmarkConfig | undefined;
}

/**
 * What a runner says about a run when it starts tracking it: a {@link Run}, whose ad hoc `webhooks`
 * may also be defined inline. An inline definition fires for this run only (it is never global), is
 * usable at once (no store round trip), and reaches events as its id only: its URL, headers and secret
 * never appear in a payload.
 */
export interface RunInfo extends Omit<Run, "webhooks"> {
  /**
   * Ad hoc webhooks that fire for this run only: ids of stored webhooks (unknown ones are reported,
   * never rejected), or inline definitions (validated now: a bad one throws, naming its field).
   */
  webhooks?: ReadonlyArray<string | WebhookDefinition> | undefined;
}

/**
 * Latency figures in milliseconds, with the keys runners emit (Artillery's `http.response_time`
 * summary, autocannon's `latency`). Percentiles cannot be summed, so the latest batch's values win.
 */
export interface Latency {
  min?: number | undefined;
  max?: number | undefined;
  mean?: number | undefined;
  /** The 50th percentile; runners give it as `median`, `p50` or both. */
  median?: number | undefined;
  p50?: number | undefined;
  p75?: number | undefined;
  p90?: number | undefined;
  p95?: number | undefined;
  p99?: number | undefined;
  p999?: number | undefined;
  /** How many responses the figures are computed from (a whole number). */
  count?: number | undefined;
}

/** The keys of {@link Latency}, as runners emit them: the measures in milliseconds, then `count`. */
export const LATENCY_KEYS = [
  "min",
  "max",
  "mean",
  "median",
  "p50",
  "p75",
  "p90",
  "p95",
  "p99",
  "p999",
  "count",
] as const satisfies ReadonlyArray<keyof Latency>;

/**
 * Statistics from the runner: one batch (e.g. one reporting interval) given to `run.stats()`, or the
 * run's totals so far given to `run.totals()`.
 *
 * One meaning for every runner: a request counts once it *completed*, with a response (counted in
 * `codes` by its status) or with an error and no response (counted in `errors` by its kind). So
 * `requests` is `codes` plus `errors` summed, when the runner gives all three. Counts are added across
 * batches; `latency` and `rps` are replaced by the latest batch that gives them.
 */
export interface StatsBatch {
  /** Requests completed: answered (any status) or failed without an answer. */
  requests?: number | undefined;
  /** Responses per HTTP status code, e.g. `{ "200": 1180, "503": 20 }`. */
  codes?: Record<string, number> | undefined;
  /** Requests that failed without a response, per error kind, e.g. `{ ETIMEDOUT: 3 }`. */
  errors?: Record<string, number> | undefined;
  /** Response times in milliseconds, over the batch (or, for totals, over the run). */
  latency?: Latency | undefined;
  /** Requests per second the runner measured over the batch (for totals, its latest or mean rate). */
  rps?: number | undefined;
}

/** Statistics accumulated over a run, as events carry them (the meanings of {@link StatsBatch}). */
export interface Stats {
  /** Requests completed so far: answered, or failed without an answer. */
  requests: number;
  /** Responses per HTTP status code so far. */
  codes: Record<string, number>;
  /** Requests that failed without a response so far, per error kind. */
  errors: Record<string, number>;
  /** Latest latency figures, in milliseconds. */
  latency?: Latency | undefined;
  /** Latest requests-per-second figure. */
  rps?: number | undefined;
  /**
   * Milliseconds since the run started, when the tracker knows its start: from the runner's own times
   * when it gave them (`started({ at })`, `finished({ at })`), else from when the calls were made.
   */
  elapsedMs?: number | undefined;
}

/** 5xx responses counted for an `api_failure` event. */
export interface ApiFailures {
  /** 5xx responses per status code since the previous `api_failure` of the run (or since the start). */
  codes: Record<string, number>;
  /** Sum of `codes`. */
  count: number;
  /** All 5xx responses of the run so far. */
  total: number;
}

/** Why a run failed. Only the message is certain; stacks are never included. */
export interface RunError {
  message: string;
  name?: string | undefined;
  code?: string | undefined;
}

/** A benchmark verdict: the score, the threshold it was held to and earlier scores. */
export interface BenchmarkResult {
  score: number;
  threshold: number;
  /** `score >= threshold`. */
  passed: boolean;
  lastScores: number[];
}

/** Fields every event has. */
export interface EventBase<E extends EventName> {
  /** Unique event id. The run tracker derives it from the run id, so retries and duplicate runners agree. */
  id: string;
  /** The event name. */
  event: E;
  /** When it happened, ISO 8601 in UTC. */
  at: string;
  /** The run it belongs to. */
  run: Run;
}

/** `started`: the run starts. */
export type StartedEvent = EventBase<"started">;
/** `in_progress`: the run received its first statistics (once per run). */
export interface InProgressEvent extends EventBase<"in_progress"> {
  stats: Stats;
}
/** `api_failure`: statistics contain 5xx responses (first one fires; later ones are throttled). */
export interface ApiFailureEvent extends EventBase<"api_failure"> {
  stats: Stats;
  failures: ApiFailures;
}
/** `aborted`: the run was stopped before it finished. */
export interface AbortedEvent extends EventBase<"aborted"> {
  reason?: string | undefined;
  stats?: Stats | undefined;
}
/** `failed`: the run failed to run. */
export interface FailedEvent extends EventBase<"failed"> {
  error?: RunError | undefined;
  stats?: Stats | undefined;
}
/**
 * `finished`: the run finished. `score` is present when the runner gave one (0 included); `benchmark`
 * when it was also held to a threshold: the same verdict the `benchmark_passed` or `benchmark_failed`
 * before it carried, so a channel that sees only `finished` still sees a failed benchmark.
 */
export interface FinishedEvent extends EventBase<"finished"> {
  stats: Stats;
  score?: number | undefined;
  benchmark?: BenchmarkResult | undefined;
}
/** `benchmark_passed`: finished with a score at or above the threshold. Comes before `finished`. */
export interface BenchmarkPassedEvent extends EventBase<"benchmark_passed"> {
  stats: Stats;
  benchmark: BenchmarkResult;
}
/** `benchmark_failed`: finished with a score below the threshold. Comes before `finished`. */
export interface BenchmarkFailedEvent extends EventBase<"benchmark_failed"> {
  stats: Stats;
  benchmark: BenchmarkResult;
}

/** Each event name mapped to its event type. */
export interface EventMap {
  started: StartedEvent;
  in_progress: InProgressEvent;
  api_failure: ApiFailureEvent;
  aborted: AbortedEvent;
  failed: FailedEvent;
  finished: FinishedEvent;
  benchmark_passed: BenchmarkPassedEvent;
  benchmark_failed: BenchmarkFailedEvent;
}

/** Any lifecycle event. Narrow on `event`. */
export type RunEvent = EventMap[EventName];

/**
 * What `bus.emit(name, payload)` takes: the event without its name, with `id` and `at` optional
 * (a random id and the current time are filled in).
 */
export type EventInput<E extends EventName> = {
  [
    K in keyof (Omit<EventMap[E], "event" | "id" | "at"> & {
      id?: string | undefined;
      at?: string | undefined;
    })
  ]: (Omit<EventMap[E], "event" | "id" | "at"> & { id?: string | undefined; at?: string | undefined })[K];
};

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

const id = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(LIMITS.id, `must be at most ${LIMITS.id} characters`);
const text = z.string().max(LIMITS.text, `must be at most ${LIMITS.text} characters`);
const nonEmptyText = text.trim().min(1, "must not be empty");
const count = z.number().int("must be a whole number").nonnegative("must not be negative");
const measure = z.number().nonnegative("must not be negative");
/** @internal An http: or https: URL of a link. */
export const httpUrlSchema = z
  .url({ protocol: /^https?$/, error: "must be an http: or https: URL" })
  .max(LIMITS.url);
/** @internal When an event happened: ISO 8601 with an offset. */
export const eventTimeSchema = z.iso.datetime({ offset: true });

const loadPhaseSchema = z.strictObject({
  name: nonEmptyText.max(LIMITS.shortText).optional(),
  duration: measure.optional(),
  arrivalRate: measure.optional(),
  rampTo: measure.optional(),
  arrivalCount: count.optional(),
  maxVirtualUsers: count.optional(),
});

const loadProfileSchema = z.strictObject({
  duration: measure.optional(),
  arrivalRate: measure.optional(),
  arrivalCount: count.optional(),
  rampTo: measure.optional(),
  runners: count.min(1, "must be at least 1").optional(),
  maxVirtualUsers: count.optional(),
  phases: z.array(loadPhaseSchema).max(LIMITS.phases, `at most ${LIMITS.phases} phases`).optional(),
});

const linkSchema = z.strictObject({ title: nonEmptyText.max(LIMITS.shortText), url: httpUrlSchema });

/** @internal Earlier benchmark scores, most recent first (the run info's and `run.finished()`'s). */
export const lastScoresSchema = z.array(z.number()).max(LIMITS.scores, `at most ${LIMITS.scores} scores`);

const benchmarkConfigSchema = z.strictObject({
  threshold: z.number(),
  lastScores: lastScoresSchema.optional(),
});

/** @internal The run as events carry it (ad hoc webhooks as ids). */
export const runInfoSchema = z.strictObject({
  id,
  testId: id,
  name: nonEmptyText,
  jobId: id.optional(),
  environment: nonEmptyText.max(LIMITS.shortText).optional(),
  tenant: id.optional(),
  load: loadProfileSchema.optional(),
  links: z.array(linkSchema).max(LIMITS.links, `at most ${LIMITS.links} links`).optional(),
  labels: z
    .record(z.string().min(1).max(LIMITS.labelName), text.max(LIMITS.labelValue))
    .refine((r) => Object.keys(r).length <= LIMITS.labels, `at most ${LIMITS.labels} labels`)
    .optional(),
  webhooks: z.array(id).max(LIMITS.webhooks, `at most ${LIMITS.webhooks} webhooks`).optional(),
  benchmark: benchmarkConfigSchema.optional(),
});

const latencySchema = z.strictObject({
  min: measure.optional(),
  max: measure.optional(),
  mean: measure.optional(),
  median: measure.optional(),
  p50: measure.optional(),
  p75: measure.optional(),
  p90: measure.optional(),
  p95: measure.optional(),
  p99: measure.optional(),
  p999: measure.optional(),
  count: count.optional(),
});

/** @internal A key of the `codes` records: an HTTP status code, three digits from 100 to 599. */
export const STATUS_CODE_PATTERN = /^[1-5]\d\d$/;
const statusCode = z.string().regex(STATUS_CODE_PATTERN, "status codes are three digits from 100 to 599");
const codesSchema = z.record(statusCode, count);
const errorsSchema = z
  .record(z.string().min(1).max(LIMITS.errorKindLength), count)
  .refine((r) => Object.keys(r).length <= LIMITS.errorKinds, `at most ${LIMITS.errorKinds} error kinds`);

/** @internal */
export const statsBatchSchema = z.strictObject({
  requests: count.optional(),
  codes: codesSchema.optional(),
  errors: errorsSchema.optional(),
  latency: latencySchema.optional(),
  rps: measure.optional(),
});

/** @internal */
export const statsSchema = z.strictObject({
  requests: count,
  codes: codesSchema,
  errors: errorsSchema,
  latency: latencySchema.optional(),
  rps: measure.optional(),
  elapsedMs: measure.optional(),
});

const runErrorSchema = z.strictObject({
  message: text,
  name: text.max(LIMITS.shortText).optional(),
  code: text.max(LIMITS.shortText).optional(),
});

const benchmarkResultSchema = z.strictObject({
  score: z.number(),
  threshold: z.number(),
  passed: z.boolean(),
  lastScores: z.array(z.number()).max(LIMITS.scores),
});

const apiFailuresSchema = z.strictObject({ codes: codesSchema, count, total: count });

const base = { id: id.optional(), at: eventTimeSchema.optional(), run: runInfoSchema };

/** @internal Schemas of what `bus.emit(name, payload)` accepts, per event. */
export const eventInputSchemas = {
  started: z.strictObject({ ...base }),
  in_progress: z.strictObject({ ...base, stats: statsSchema }),
  api_failure: z.strictObject({ ...base, stats: statsSchema, failures: apiFailuresSchema }),
  aborted: z.strictObject({ ...base, reason: text.optional(), stats: statsSchema.optional() }),
  failed: z.strictObject({ ...base, error: runErrorSchema.optional(), stats: statsSchema.optional() }),
  finished: z.strictObject({
    ...base,
    stats: statsSchema,
    score: z.number().optional(),
    benchmark: benchmarkResultSchema.optional(),
  }),
  benchmark_passed: z.strictObject({ ...base, stats: statsSchema, benchmark: benchmarkResultSchema }),
  benchmark_failed: z.strictObject({ ...base, stats: statsSchema, benchmark: benchmarkResultSchema }),
} satisfies Record<EventName, z.ZodType>;

/** @internal A complete event of any kind (used to validate events that come back from outside). */
export const runEventSchema = z.discriminatedUnion(
  "event",
  EVENT_NAMES.map((name) =>
    eventInputSchemas[name].extend({ event: z.literal(name), id, at: eventTimeSchema }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

/** An empty, zero statistics record. */
export function emptyStats(): Stats {
  // Compact counts: a plain {} that gets keys like "200" and "503" may be given a 504-slot elements
  // array (4 KB) by V8, depending on what it learned at the allocation site.
  return { requests: 0, codes: emptyCounts(), errors: emptyCounts() };
}
