import { hash } from "node:crypto";
import { z } from "zod";
import { toValidationError } from "./errors.js";
import { emptyCounts, frozenCounts, sumCounts } from "./_counts.js";
import { EVENT_LIMITS } from "./event-limits.js";
import { fastStatsBatch, readStatsBatch, statsFields } from "./_fast-parse.js";
import {
  emptyStats,
  eventInputSchemas,
  eventTimeSchema,
  lastScoresSchema,
  statsBatchSchema,
  type ApiFailures,
  type BenchmarkResult,
  type Latency,
  type EventName,
  type RunError,
  type RunEvent,
  type Run,
  type Stats,
  type StatsBatch,
} from "./events.js";

/**
 * A time the runner gives for a call: its own clock's record of when it happened (a `Date`,
 * milliseconds since the epoch, or an ISO 8601 string with an offset). The event's `at` is that time,
 * and the run's elapsed time is measured between the times given, not between the calls.
 */
export type RunTime = Date | number | string;

/** Options of `run.started()`, `run.stats()`, `run.totals()`, `run.aborted()` and `run.failed()`. */
export interface TimeOptions {
  /** When it happened by the runner's clock. Default: when the call is made. */
  at?: RunTime | undefined;
}

/** What `run.finished()` may say. */
export interface FinishResult {
  /** The run's benchmark score. With a threshold, a benchmark event precedes `finished`. `0` is a score. */
  score?: number | undefined;
  /** A last statistics batch, added like any other (counts add up, latency is replaced). */
  stats?: StatsBatch | undefined;
  /**
   * The run's whole totals instead of a last batch (what Artillery's `done` or autocannon's result
   * give): only what they add to the totals so far counts, as with `run.totals()`. Not with `stats`.
   */
  totals?: StatsBatch | undefined;
  /** When the run ended by the runner's clock; the elapsed time ends there. Default: now. */
  at?: RunTime | undefined;
  /** Overrides the threshold given in the run info. */
  threshold?: number | undefined;
  /** Overrides the earlier scores given in the run info, most recent first. */
  lastScores?: number[] | undefined;
}

/**
 * The runner's handle on one run. Every method is synchronous, never waits for the network and never
 * throws for delivery problems or out-of-order calls: a call that would break the lifecycle (a second
 * `finished`, `started` after the end) is ignored and reported as a `warning` on the notifier.
 *
 * Invalid arguments throw a {@link ValidationError} naming the field, before anything is emitted.
 */
export interface RunHandle {
  /** The run id. */
  readonly id: string;
  /** True once a terminal event (`aborted`, `failed`, `finished`) has been emitted. */
  readonly ended: boolean;
  /** The run started: emits `started` (once), at the runner's time when `at` is given. */
  started(options?: TimeOptions): void;
  /**
   * A batch of statistics: what happened since the previous batch (a delta). The first batch emits
   * `in_progress` (and `started` first, if the runner never called `started()`). 5xx codes emit
   * `api_failure`: the first at once, later ones at most once per cooldown window, carrying the 5xx
   * counts accumulated since the previous one. `at`: when the batch was measured by the runner's clock
   * (e.g. the end of its period), the time of the events it fires and of the elapsed time they show.
   */
  stats(batch: StatsBatch, options?: TimeOptions): void;
  /**
   * The run's totals so far (cumulative), for a runner that counts from the start rather than per
   * period: only the difference from the totals the run has counts, so handing over the same totals
   * twice, or totals after batches, never counts anything twice. A count lower than the run's is taken
   * as unchanged. Emits what `stats()` would for that difference (`at` as for `stats()`).
   */
  totals(totals: StatsBatch, options?: TimeOptions): void;
  /** The run was stopped: emits `aborted` with the reason. */
  aborted(reason?: string, options?: TimeOptions): void;
  /**
   * The run failed to run: emits `failed`. Accepts whatever was caught (an Error, a string, nothing);
   * only its name, message and code are kept, never its stack.
   */
  failed(error?: unknown, options?: TimeOptions): void;
  /**
   * The run finished: emits `benchmark_passed` or `benchmark_failed` (when a threshold and a score are
   * both known; a score equal to the threshold passes), then `finished`.
   */
  finished(result?: FinishResult): void;
}

/** A runner call that was ignored because it would break the lifecycle. */
export interface IgnoredCall {
  runId: string;
  call: "started" | "stats" | "totals" | "aborted" | "failed" | "finished";
  reason: string;
}

/**
 * What the notifier remembers of a run: which events fired, its running totals and the `api_failure`
 * throttle. Plain data (`snapshotToJSON` / `snapshotFromJSON` turn it into JSON and back), so that a
 * durable or shared run state can keep it in a database for several processes notifying for one run.
 */
export interface RunSnapshot {
  readonly phase: "idle" | "running" | "ended";
  /** The names of the events fired so far, each once, in the order they first fired. */
  readonly fired: readonly EventName[];
  readonly startedAt?: number | undefined;
  readonly stats: Stats;
  readonly apiFailure: {
    readonly seq: number;
    readonly lastAt?: number | undefined;
    readonly pending: Readonly<Record<string, number>>;
    readonly total: number;
  };
}

/**
 * One runner call applied to a run: from the run's snapshot before it (`undefined` for a run never seen),
 * the snapshot after it and the events it fires, in order. It may update `before` in place and return it
 * (with no events): a state must then keep that result. Otherwise it is pure, and a state may call it
 * more than once (an optimistic attempt, a retried transaction): only the result it keeps counts.
 */
export type RunChange = (before: RunSnapshot | undefined) => {
  readonly snapshot: RunSnapshot;
  readonly events: readonly RunEvent[];
};

/**
 * Where run snapshots live: which events of each run fired, so that each fires once however many times
 * (and in however many processes) the runner signals it. `memoryBackend()` keeps them in memory;
 * `sqliteBackend()` in a file. `testRunState()` in `runhooks/testing` checks an implementation.
 */
export interface RunState {
  /**
   * Applies `change` to the run atomically: no other change of the same run comes between its read and
   * its write, so an event is claimed once. A durable state records the events (its outbox) in the same
   * transaction, and they stay pending until the queue's `enqueue(…, eventId)` marks them fanned out.
   * Returns the events the change fired, or a promise of them for a state that needs I/O, resolved in
   * the order of the calls for one run. Throws (or rejects) when it could not record the change.
   */
  apply(runId: string, change: RunChange): readonly RunEvent[] | Promise<readonly RunEvent[]>;
  /** The run's snapshot as this process last knew it, without I/O (what `run.ended` reads). */
  peek(runId: string): RunSnapshot | undefined;
  /**
   * Optional, for a durable state: the events recorded but not fanned out yet (the process that fired
   * them died first, or its lease on them expired), in the order they fired. Each comes back again
   * until fanned out; the queue's `enqueue` queues an event's deliveries once however often it is asked.
   */
  pending?(): readonly RunEvent[] | Promise<readonly RunEvent[]>;
}

/** @internal The default `maxRuns`. */
export const DEFAULT_MAX_RUNS = 10_000;

/** @internal In-memory run state, bounded: the least recently used runs are forgotten first. */
export function memoryRunState(maxRuns = DEFAULT_MAX_RUNS): RunState {
  const runs = new Map<string, RunSnapshot>();
  // The run set last is already the most recent: a runner reporting one run skips the re-insertion.
  let last: string | undefined;
  const set = (runId: string, snapshot: RunSnapshot): void => {
    if (runId === last && runs.get(runId) === snapshot) return;
    last = runId;
    runs.delete(runId);
    runs.set(runId, snapshot);
    if (runs.size > maxRuns) {
      const oldest = runs.keys().next();
      if (oldest.done !== true) runs.delete(oldest.value);
    }
  };
  return {
    apply(runId, change) {
      const { snapshot, events } = change(runs.get(runId));
      set(runId, snapshot);
      return events;
    },
    peek: (runId) => runs.get(runId),
  };
}

/**
 * A snapshot as JSON, for a run state that stores it as text: `snapshotFromJSON(snapshotToJSON(s))`
 * gives the same snapshot back.
 */
export function snapshotToJSON(snapshot: RunSnapshot): string {
  return JSON.stringify(snapshot);
}

/**
 * The snapshot `snapshotToJSON` wrote. Its counts come back in the compact form the notifier keeps them
 * in, and an ended run as the one shared record of how it ended.
 * @throws {SyntaxError} when `json` is not JSON.
 */
export function snapshotFromJSON(json: string): RunSnapshot {
  const raw = JSON.parse(json) as RunSnapshot;
  const stats = ownStats(raw.stats);
  if (stats.latency !== undefined) stats.latency = Object.freeze({ ...stats.latency });
  const pending = raw.apiFailure.pending;
  const snapshot: RunSnapshot = {
    phase: raw.phase,
    fired: raw.fired,
    ...(raw.startedAt !== undefined && { startedAt: raw.startedAt }),
    stats,
    apiFailure: {
      seq: raw.apiFailure.seq,
      ...(raw.apiFailure.lastAt !== undefined && { lastAt: raw.apiFailure.lastAt }),
      pending: Object.keys(pending).length === 0 ? NO_COUNTS : addCounts(emptyCounts(), pending),
      total: raw.apiFailure.total,
    },
  };
  return remembered(snapshot);
}

/** @internal A validated runner call; `at` is the runner's time of it, in milliseconds. */
export type RunCall = { at?: number | undefined } & (
  | { kind: "started" }
  | { kind: "stats"; batch: StatsBatch }
  | { kind: "totals"; batch: StatsBatch }
  | { kind: "aborted"; reason?: string | undefined }
  | { kind: "failed"; error?: RunError | undefined }
  | {
      kind: "finished";
      score?: number | undefined;
      stats?: StatsBatch | undefined;
      totals?: StatsBatch | undefined;
      threshold?: number | undefined;
      lastScores?: number[] | undefined;
    }
);

/** @internal */
export interface StepResult {
  snapshot: RunSnapshot;
  events: RunEvent[];
  ignored?: string;
}

// No 5xx pending since the last api_failure: the next batch's own counts can be taken as they are.
const NO_COUNTS: Readonly<Record<string, number>> = Object.freeze(emptyCounts());

/** @internal The snapshot of a run nothing has happened to yet. */
export function initialSnapshot(): RunSnapshot {
  return {
    phase: "idle",
    fired: [],
    // Compact counts (issue 19: a plain {} cost a running run up to 7.1 KB instead of 1.3 KB).
    stats: emptyStats(),
    apiFailure: { seq: 0, pending: NO_COUNTS, total: 0 },
  };
}

// What an ended run is remembered as: step() reads only its phase and the event that ended it, so the
// run's totals, counts and times go, and every run ended by the same event shares one snapshot.
// A remembered run then costs its id and a map entry (issue 19: ~1.9 KB → ~0.1 KB per run).
const TOMBSTONES = new Map<EventName, RunSnapshot>();

/** @internal The snapshot to remember for `snapshot`: itself, or once the run ended, its tombstone. */
export function remembered(snapshot: RunSnapshot): RunSnapshot {
  if (snapshot.phase !== "ended") return snapshot;
  const last = snapshot.fired[snapshot.fired.length - 1];
  if (last === undefined) return snapshot;
  let tombstone = TOMBSTONES.get(last);
  if (tombstone === undefined) {
    tombstone = { ...initialSnapshot(), phase: "ended", fired: [last] };
    TOMBSTONES.set(last, tombstone);
  }
  return tombstone;
}

/**
 * @internal The lifecycle semantics as a function: one call, the snapshot before it, and the time,
 * give the snapshot after it and the events to emit, in order. The snapshot given is left as it was
 * (the totals are copied before they change): a durable run state may apply a change to the same
 * snapshot twice, an optimistic attempt then the one in its transaction. Only quickApply, the path of a
 * call that fires nothing, counts in place.
 */
export function step(
  snapshot: RunSnapshot,
  given: RunCall,
  run: Run,
  now: number,
  apiFailureCooldownMs: number,
): StepResult {
  const call = asDelta(given, snapshot.stats);
  if (snapshot.phase === "ended") {
    const ended = snapshot.fired[snapshot.fired.length - 1] ?? "a terminal event";
    return { snapshot, events: [], ignored: `the run already ended (${ended})` };
  }
  const events: RunEvent[] = [];
  let next = snapshot;
  const fire = (event: RunEvent): void => {
    events.push(event);
    // Each name once (api_failure counts in apiFailure.seq): the list stays short however long the run.
    if (!next.fired.includes(event.event)) next = { ...next, fired: [...next.fired, event.event] };
  };
  const start = (): void => {
    next = { ...next, phase: "running", startedAt: now };
    fire(makeEvent("started", run, now, 0, {}));
  };

  switch (call.kind) {
    case "started":
      if (next.phase !== "idle") return { snapshot, events: [], ignored: "the run already started" };
      start();
      break;

    case "stats": {
      // A runner that reports statistics has evidently started, even if it never said so.
      if (next.phase === "idle") start();
      const stats = withElapsed(addBatch(ownStats(next.stats), call.batch), next.startedAt, now);
      next = { ...next, stats };
      if (!next.fired.includes("in_progress")) fire(makeEvent("in_progress", run, now, 0, { stats }));
      const fresh = emptyCounts();
      const count = serverErrors(call.batch.codes, fresh);
      if (count > 0) {
        const { state, failures } = throttle(next.apiFailure, fresh, count, now, apiFailureCooldownMs);
        next = { ...next, apiFailure: state };
        if (failures) fire(makeEvent("api_failure", run, now, state.seq, { stats, failures }));
      }
      break;
    }

    case "aborted":
    case "failed": {
      const stats =
        next.phase === "running" ? withElapsed(ownStats(next.stats), next.startedAt, now) : undefined;
      const extra = call.kind === "aborted" ? { reason: call.reason, stats } : { error: call.error, stats };
      fire(makeEvent(call.kind, run, now, 0, stripUndefined(extra)));
      next = { ...next, phase: "ended" };
      break;
    }

    case "finished": {
      const own = ownStats(next.stats);
      const stats = withElapsed(call.stats ? addBatch(own, call.stats) : own, next.startedAt, now);
      const threshold = call.threshold ?? run.benchmark?.threshold;
      let benchmark: BenchmarkResult | undefined;
      if (call.score !== undefined && threshold !== undefined) {
        benchmark = Object.freeze({
          score: call.score,
          threshold,
          passed: call.score >= threshold,
          lastScores: call.lastScores ?? run.benchmark?.lastScores ?? [],
        });
        const name = benchmark.passed ? "benchmark_passed" : "benchmark_failed";
        fire(makeEvent(name, run, now, 0, { stats, benchmark }));
      }
      fire(makeEvent("finished", run, now, 0, stripUndefined({ stats, score: call.score, benchmark })));
      next = { ...next, stats, phase: "ended" };
      break;
    }
  }
  return { snapshot: next, events };
}

/**
 * The `api_failure` throttle: a batch's 5xx join the ones pending, and go out together (`failures`)
 * when the cooldown since the previous `api_failure` of the run has passed (or there was none).
 */
function throttle(
  prev: RunSnapshot["apiFailure"],
  fresh: Record<string, number>,
  count: number,
  now: number,
  cooldownMs: number,
): { state: RunSnapshot["apiFailure"]; failures?: ApiFailures } {
  const pending =
    prev.pending === NO_COUNTS ? fresh : addCounts(addCounts(emptyCounts(), prev.pending), fresh);
  const total = prev.total + count;
  if (prev.lastAt !== undefined && now - prev.lastAt < cooldownMs)
    return { state: { ...prev, pending, total } };
  // Frozen as built, like the statistics copy: publish() then has nothing left to walk.
  const failures = Object.freeze({ codes: Object.freeze(pending), count: sumCounts(pending), total });
  return { state: { seq: prev.seq + 1, lastAt: now, pending: NO_COUNTS, total }, failures };
}

const errorInput = z.unknown();
// A runner's time: a valid Date, epoch milliseconds or an ISO 8601 string with an offset.
const runTimeSchema = z
  // Within what a Date can hold (±8.64e15 ms), so that the event's time can be written.
  .union(
    [z.date({ error: "must be a valid Date" }), z.number().nonnegative().max(8.64e15), eventTimeSchema],
    {
      error: "must be a Date, milliseconds since the epoch or an ISO 8601 time with an offset",
    },
  )
  .transform((time) => (typeof time === "number" ? time : new Date(time).getTime()))
  .optional();
const timeOptionsSchema = z.strictObject({ at: runTimeSchema }).optional();
const finishResultSchema = z
  .strictObject({
    score: z.number().optional(),
    stats: statsBatchSchema.optional(),
    totals: statsBatchSchema.optional(),
    threshold: z.number().optional(),
    lastScores: lastScoresSchema.optional(),
    at: runTimeSchema,
  })
  .refine((result) => result.stats === undefined || result.totals === undefined, {
    error: "give either stats (a last batch) or totals (the whole run's), not both",
    path: ["totals"],
  })
  .optional();
// The rule of the `aborted` event's field, which the reason becomes.
const reasonSchema = eventInputSchemas.aborted.shape.reason;

/**
 * @internal Validates the arguments of a runner call (`options` is the `{ at }` of `started`, `aborted`
 * and `failed`), throwing a ValidationError that names the field.
 */
export function parseCall(kind: RunCall["kind"], arg: unknown, options?: unknown): RunCall {
  switch (kind) {
    case "started":
      return { kind, ...timeOf(arg) };
    case "stats":
    case "totals": {
      const batch = fastStatsBatch(arg) ?? parseOrThrow(statsBatchSchema, arg, "stats batch", kind);
      return { kind, batch, ...timeOf(options) };
    }
    case "aborted":
      return { kind, reason: parseOrThrow(reasonSchema, arg, "abort reason", "reason"), ...timeOf(options) };
    case "failed":
      return { kind, error: normaliseError(errorInput.parse(arg)), ...timeOf(options) };
    case "finished":
      return { kind, ...parseOrThrow(finishResultSchema, arg, "finish result", "result") };
  }
}

/** The `{ at }` of a call's options, checked; `{}` without one. */
function timeOf(options: unknown): { at?: number } {
  const at = parseOrThrow(timeOptionsSchema, options, "run call options", "options")?.at;
  return at === undefined ? {} : { at };
}

function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
  root: string,
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw toValidationError(what, root, parsed.error);
  return parsed.data;
}

const MAX_ERROR_TEXT = 4000;

/** @internal Keeps what a message needs of whatever the runner caught, and never the stack. */
export function normaliseError(value: unknown): RunError | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return { message: clip(value) };
  if (typeof value === "object") {
    let message: unknown, name: unknown, code: unknown;
    try {
      ({ message, name, code } = value as { message?: unknown; name?: unknown; code?: unknown });
    } catch {
      // A getter that throws: keep what can be said without it.
      return { message: "Unknown error (its properties could not be read)" };
    }
    const error: RunError = {
      message: typeof message === "string" ? clip(message) : clip(safeString(value)),
    };
    // Clipped to what the `failed` event's fields allow.
    const short = EVENT_LIMITS.shortText;
    if (typeof name === "string" && name !== "") error.name = clip(name, short);
    if (typeof code === "string" || typeof code === "number") error.code = clip(String(code), short);
    return error;
  }
  return { message: clip(safeString(value)) };
}

function safeString(value: unknown): string {
  try {
    const text = String(value);
    return text === "[object Object]" ? "Unknown error" : text;
  } catch {
    return "Unknown error";
  }
}

function clip(text: string, max = MAX_ERROR_TEXT): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

type EventFields<E extends EventName> = Omit<Extract<RunEvent, { event: E }>, "id" | "event" | "at" | "run">;

/** @internal Event ids derive from the run id, the event and its sequence number: duplicates agree. */
export function eventId(runId: string, name: EventName, seq: number): string {
  const digest = hash("sha256", `${runId}\u0000${name}\u0000${seq}`, "base64url");
  return `evt_${digest.slice(0, 26)}`;
}

function makeEvent<E extends EventName>(
  name: E,
  run: Run,
  now: number,
  seq: number,
  fields: EventFields<E>,
): RunEvent {
  const event = {
    id: eventId(run.id, name, seq),
    event: name,
    at: new Date(now).toISOString(),
    run,
    ...fields,
  } as RunEvent;
  // An event gets its own copy of the statistics: the run's running totals keep changing in place.
  if ("stats" in event && event.stats !== undefined) event.stats = copyStats(event.stats);
  return event;
}

/**
 * Adds a batch to a run's running totals *in place*, and returns them: the totals belong to the run's
 * snapshot alone (events carry copies, see makeEvent), and a fresh copy of a status-code map costs a
 * ~6 KB backing store (see `_counts.ts`). The latency is copied: the runner may reuse its batch object.
 */
function addBatch(stats: Stats, batch: StatsBatch): Stats {
  const latency = batch.latency === undefined ? undefined : latencyCopy(batch.latency);
  return addFields(stats, batch.requests, batch.codes, batch.errors, latency, batch.rps);
}

/** A frozen copy of a checked latency's defined measures (zod keeps a field given as `undefined`). */
function latencyCopy(latency: Readonly<Latency>): Readonly<Latency> {
  const own: Latency = {};
  for (const key in latency) {
    const measured = latency[key as keyof Latency];
    if (measured !== undefined) own[key as keyof Latency] = measured;
  }
  return Object.freeze(own);
}

/** The batch's fields, already read and checked, added in place; `latency` must be the totals' own. */
function addFields(
  stats: Stats,
  requests: number | undefined,
  codes: Readonly<Record<string, number>> | undefined,
  errors: Readonly<Record<string, number>> | undefined,
  latency: Readonly<Latency> | undefined,
  rps: number | undefined,
): Stats {
  if (requests !== undefined) stats.requests += requests;
  if (codes !== undefined) addCounts(stats.codes, codes);
  if (errors !== undefined) addCounts(stats.errors, errors);
  // Frozen: events share it (copyStats), and the next batch's latency replaces it rather than changing it.
  if (latency !== undefined) stats.latency = latency;
  if (rps !== undefined) stats.rps = rps;
  return stats;
}

/** A copy of the run's totals that step() may change in place (compact counts, as the totals keep). */
function ownStats(stats: Stats): Stats {
  const copy: Stats = {
    requests: stats.requests,
    codes: addCounts(emptyCounts(), stats.codes),
    errors: addCounts(emptyCounts(), stats.errors),
  };
  if (stats.latency !== undefined) copy.latency = stats.latency;
  if (stats.rps !== undefined) copy.rps = stats.rps;
  if (stats.elapsedMs !== undefined) copy.elapsedMs = stats.elapsedMs;
  return copy;
}

/** Sets the totals' `elapsedMs`, in place like addBatch. */
function withElapsed(stats: Stats, startedAt: number | undefined, now: number): Stats {
  if (startedAt !== undefined) stats.elapsedMs = Math.max(0, now - startedAt);
  return stats;
}

/** Adds `b` into `into`, in place, and returns `into`. */
function addCounts(
  into: Record<string, number>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  // Own properties only: an error kind named "constructor" must not pick up Object.prototype's.
  for (const key in b) into[key] = (Object.hasOwn(into, key) ? (into[key] ?? 0) : 0) + (b[key] ?? 0);
  return into;
}

/**
 * The 5xx responses of a batch's `codes`, which `api_failure` reports: their number, and, given
 * `into`, the counts per code copied there. The one test of "5xx" for both paths (step, quickApply).
 */
function serverErrors(
  codes: Readonly<Record<string, number>> | undefined,
  into?: Record<string, number>,
): number {
  let count = 0;
  for (const code in codes) {
    if (code.charCodeAt(0) !== 53 /* "5" */) continue;
    const n = codes[code] ?? 0;
    if (n > 0) {
      if (into !== undefined) into[code] = n;
      count += n;
    }
  }
  return count;
}

function stripUndefined<T extends object>(value: T): T {
  const out = {} as T;
  for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/** @internal What a run handle needs from the notifier. */
export interface RunHandleDeps {
  state: RunState;
  publish(events: readonly RunEvent[]): void;
  ignored(call: IgnoredCall): void;
  /** The run state could not record a call: the notifier reports it (the events still go out). */
  unrecorded(error: unknown, runId: string, call: RunCall["kind"]): void;
  /**
   * Optional: called with what a run state that needs I/O has still to do for a call (its `apply`
   * promise, settled, and the publish after it), so that `flush()` waits for it.
   */
  track?(work: Promise<void>): void;
  apiFailureCooldownMs: number;
  now?: () => number;
}

const NO_EVENTS: readonly RunEvent[] = Object.freeze([]);

/** @internal Creates the handle `notifier.run(info)` returns. `run` must already be validated. */
export function createRunHandle(run: Run, deps: RunHandleDeps): RunHandle {
  const now = deps.now ?? Date.now;
  const apply = (kind: RunCall["kind"], arg?: unknown, options?: unknown): void => {
    // Checked before anything is recorded: a bad argument throws to the runner and changes nothing.
    // Most calls are a statistics batch that changes counters and emits nothing: its quick check
    // (no schema parse, no copies) is enough; everything else takes the schema.
    const quick = kind === "stats" || kind === "totals" ? quickStats(arg) : undefined;
    let call: RunCall;
    if (quick === undefined) call = parseCall(kind, arg, options);
    else {
      call = { kind, batch: quick };
      if (options !== undefined) call.at = timeOf(options).at;
    }
    const time = call.at ?? now();
    let ignored: string | undefined;
    const change: RunChange = (before) => {
      const snapshot = before ?? initialSnapshot();
      // Totals become the difference from the snapshot they are applied to: a retried change or
      // another process's snapshot gives the right difference too.
      const delta = asDelta(call, snapshot.stats);
      if (delta.kind === "stats" && quickApply(snapshot, delta.batch, time))
        return { snapshot, events: NO_EVENTS };
      const result = step(snapshot, delta, run, time, deps.apiFailureCooldownMs);
      ignored = result.ignored;
      return { snapshot: remembered(result.snapshot), events: result.events };
    };
    const done = (events: readonly RunEvent[]): void => {
      if (ignored !== undefined) deps.ignored({ runId: run.id, call: kind, reason: ignored });
      // All of a call's events go out together: a listener reacting to the first cannot slip its own
      // events in between them.
      if (events.length > 0) deps.publish(events);
    };
    let events: readonly RunEvent[] | Promise<readonly RunEvent[]>;
    try {
      events = deps.state.apply(run.id, change);
    } catch (error) {
      deps.unrecorded(error, run.id, kind);
      // Not recorded, but not lost: the events go out from this process's memory.
      events = change(deps.state.peek(run.id)).events;
    }
    if (events instanceof Promise)
      deps.track?.(
        events.then(done, (error: unknown) => {
          deps.unrecorded(error, run.id, kind);
        }),
      );
    else done(events);
  };
  return {
    id: run.id,
    get ended() {
      return deps.state.peek(run.id)?.phase === "ended";
    },
    started: (options) => {
      apply("started", options);
    },
    stats: (batch, options) => {
      apply("stats", batch, options);
    },
    totals: (totals, options) => {
      apply("totals", totals, options);
    },
    aborted: (reason, options) => {
      apply("aborted", reason, options);
    },
    failed: (error, options) => {
      apply("failed", error, options);
    },
    finished: (result) => {
      apply("finished", result);
    },
  };
}

// quickStats's fields, reused by every call.
const BATCH = statsFields();

/**
 * @internal A statistics batch that is plainly valid (checked by `readStatsBatch`, the bus's check of a
 * batch), as its fields, read once (latency copied, records as the runner gave them); `undefined` in
 * every other case: the caller then takes the schema, which gives the precise validation error.
 */
export function quickStats(value: unknown): StatsBatch | undefined {
  if (!readStatsBatch(value, BATCH)) return undefined;
  // Read out at once: the entries read below may be getters that call back into a run handle.
  const { requests, codes, errors, latency, rps } = BATCH;
  const batch: StatsBatch = {};
  if (requests !== undefined) batch.requests = requests;
  if (codes !== undefined) batch.codes = codes;
  if (errors !== undefined) batch.errors = errors;
  if (latency !== undefined) batch.latency = latency;
  if (rps !== undefined) batch.rps = rps;
  return batch;
}

/**
 * The call with cumulative totals (`totals()`, `finished({ totals })`) turned into the batch they add to
 * `stats`, the run's totals so far; any other call as it is.
 */
function asDelta(call: RunCall, stats: Stats): Exclude<RunCall, { kind: "totals" }> {
  if (call.kind === "totals") return { kind: "stats", batch: difference(call.batch, stats), at: call.at };
  if (call.kind === "finished" && call.totals !== undefined) {
    const { totals, ...rest } = call;
    return { ...rest, stats: difference(totals, stats) };
  }
  return call;
}

/** What `totals` add to `stats`: each count's increase (none where it fell); latency and rps as given. */
function difference(totals: StatsBatch, stats: Stats): StatsBatch {
  const batch: StatsBatch = {};
  if (totals.requests !== undefined) batch.requests = Math.max(0, totals.requests - stats.requests);
  if (totals.codes !== undefined) batch.codes = increase(totals.codes, stats.codes);
  if (totals.errors !== undefined) batch.errors = increase(totals.errors, stats.errors);
  if (totals.latency !== undefined) batch.latency = totals.latency;
  if (totals.rps !== undefined) batch.rps = totals.rps;
  return batch;
}

function increase(
  totals: Readonly<Record<string, number>>,
  counted: Readonly<Record<string, number>>,
): Record<string, number> {
  const out = emptyCounts();
  for (const key in totals) {
    const more = (totals[key] ?? 0) - (Object.hasOwn(counted, key) ? (counted[key] ?? 0) : 0);
    if (more > 0) out[key] = more;
  }
  return out;
}

/**
 * @internal The quick path of a running run's batch: without 5xx, and with `in_progress` fired already,
 * it emits nothing, so it is added to the totals in place (true). False, changing nothing, otherwise:
 * step() then handles it.
 */
export function quickApply(snapshot: RunSnapshot, batch: StatsBatch, now: number): boolean {
  if (snapshot.phase !== "running" || !snapshot.fired.includes("in_progress")) return false;
  if (batch.codes !== undefined && serverErrors(batch.codes) > 0) return false;
  const { requests, codes, errors, latency, rps } = batch;
  withElapsed(addFields(snapshot.stats, requests, codes, errors, latency, rps), snapshot.startedAt, now);
  return true;
}

function copyStats(stats: Stats): Stats {
  const copy: Stats = {
    requests: stats.requests,
    codes: frozenCounts(stats.codes),
    errors: Object.freeze({ ...stats.errors }),
  };
  if (stats.latency !== undefined) copy.latency = stats.latency;
  if (stats.rps !== undefined) copy.rps = stats.rps;
  if (stats.elapsedMs !== undefined) copy.elapsedMs = stats.elapsedMs;
  return Object.freeze(copy);
}
