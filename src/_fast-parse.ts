import { defineFrozen } from "./_counts.js";
import { EVENT_LIMITS as LIMITS } from "./event-limits.js";
import {
  LATENCY_KEYS,
  type EventName,
  type Latency,
  type StatsBatch,
  STATUS_CODE_PATTERN,
  eventTimeSchema,
  httpUrlSchema,
} from "./events.js";

// Hand-written counterparts of the zod schemas in events.ts for the hot paths (`bus.emit`, run
// statistics). zod costs ~30 µs and ~80 KiB of garbage for a typical event, more than the rest of a
// delivery. Each check here accepts a value only when the schema would accept it *unchanged* (strings
// already trimmed, no `undefined` values, plain objects) and returns a frozen copy; in every other
// case it returns FAIL and the caller asks zod, which either gives the canonical value (trimmed
// strings) or the precise error. A property test (test/fast-parse.test.ts) holds the two to that.

/** Returned by a check when it cannot vouch for the value. */
const FAIL: unique symbol = Symbol("runhooks.fail");
/**
 * Vouches for `value` and returns its frozen copy, or FAIL. `prev`, when given, is an earlier copy
 * at the same place: when the copy would equal it, the check returns `prev` itself and allocates
 * nothing (see `interned`).
 */
type Check = (value: unknown, prev?: unknown) => unknown;
type Obj = Record<string, unknown>;

/** An object literal (or `Object.create(null)`): what the schemas' records accept by sure. */
function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A whole number the `count` schema accepts: zod's `int()` means a safe integer. */
const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
/** A finite number, 0 or more. */
const isMeasure = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;

/** A status-code key of the `codes` records. */
const isStatusCode = (key: string): boolean => key.length === 3 && STATUS_CODE_PATTERN.test(key);
/** An error-kind key of the `errors` records. */
const isErrorKind = (key: string): boolean => key.length > 0 && key.length <= LIMITS.errorKindLength;

const pass =
  (test: (value: unknown) => boolean): Check =>
  (value) =>
    test(value) ? value : FAIL;
const count = pass(isCount);
const measure = pass(isMeasure);
const finite = pass((value) => typeof value === "number" && Number.isFinite(value));
const text = (max: number): Check => pass((value) => typeof value === "string" && value.length <= max);
// Schemas that trim: only strings that are already trimmed are taken as they are.
const trimmed = (min: number, max: number): Check =>
  pass(
    (value) =>
      typeof value === "string" && value.length >= min && value.length <= max && value.trim() === value,
  );
const id = trimmed(1, LIMITS.id);

// Bounds of the checks' own caches: past them a cache starts over, which costs copies, never correctness.
const MAX_CACHED_URLS = 1024;
const MAX_INTERNED_RUNS = 256;

/** A check that asks the schema itself, for strings whose rules are not worth redoing by hand. */
const viaSchema =
  (schema: { safeParse(value: unknown): { success: boolean; data?: unknown } }, cache?: Set<string>): Check =>
  (value) => {
    if (typeof value !== "string") return FAIL;
    if (cache?.has(value)) return value;
    const parsed = schema.safeParse(value);
    if (!parsed.success || parsed.data !== value) return FAIL;
    if (cache) {
      // Runs repeat their links in every event: remember the URLs that passed, within bounds.
      if (cache.size >= MAX_CACHED_URLS) cache.clear();
      cache.add(value);
    }
    return value;
  };

/**
 * A strict object: known keys only, `required` all present, none `undefined`. Fields are read in the
 * schema's order, as zod reads them, so the copy has zod's key order; the `for…in` keys, walked after
 * them as zod walks them, must then be known ones (see `knownKeys`).
 */
function strict(fields: Readonly<Record<string, Check>>, required: readonly string[] = []): Check {
  const names = Object.keys(fields);
  const known: ReadonlySet<string> = new Set(names);
  return (value, prev) => {
    if (!isPlainObject(value)) return FAIL;
    const before = isPlainObject(prev) ? prev : undefined;
    // With an earlier copy, a new one is made only from the first field that differs from it.
    let out: Obj | undefined = before === undefined ? {} : undefined;
    let found = 0;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const field = value[name];
      let copy: unknown;
      if (field === undefined) {
        if (Object.hasOwn(value, name) || required.includes(name)) return FAIL;
      } else {
        copy = (fields[name] as Check)(field, before?.[name]);
        if (copy === FAIL) return FAIL;
        found += 1;
      }
      if (out === undefined && !Object.is(copy, (before as Obj)[name])) out = head(before as Obj, names, i);
      if (out !== undefined && copy !== undefined) out[name] = copy;
    }
    if (!knownKeys(value, known, found)) return FAIL;
    return out === undefined ? before : Object.freeze(out);
  };
}

/**
 * Whether the `for…in` keys of `value` (the ones zod's unknown-key check walks) are all `known`, and
 * as many as the `found` fields read by name: fewer means a field zod sees but `for…in` does not
 * (non-enumerable), left to zod. Each key is checked, not only the count, or an unknown key and a
 * hidden field cancel out (`{ extra: 1 }` plus a non-enumerable `id` passed; zod rejects it).
 */
function knownKeys(value: Obj, known: ReadonlySet<string>, found: number): boolean {
  let enumerable = 0;
  for (const key in value) {
    if (!known.has(key)) return false;
    enumerable += 1;
  }
  return enumerable === found;
}

/** The fields of `before` among the first `count` names, in that order: a copy's unchanged start. */
function head(before: Obj, names: readonly string[], count: number): Obj {
  const out: Obj = {};
  for (let i = 0; i < count; i++) {
    const name = names[i] as string;
    if (before[name] !== undefined) out[name] = before[name];
  }
  return out;
}

/**
 * A record: every key passes `key`, at most `max` keys, no symbol keys (which zod rejects). `indexKeys`
 * for records keyed by numbers, such as status codes (see `_counts.ts`).
 */
function record(key: (name: string) => boolean, item: Check, max: number, indexKeys = false): Check {
  return (value, prev) => {
    if (!isPlainObject(value) || Object.getOwnPropertySymbols(value).length > 0) return FAIL;
    const names = Object.keys(value);
    if (names.length > max) return FAIL;
    const out: Obj = {};
    let same = isPlainObject(prev) && sameKeys(prev, names);
    for (const name of names) {
      if (name === "__proto__" || !key(name)) return FAIL;
      const old = same ? (prev as Obj)[name] : undefined;
      const copy = item(value[name], old);
      if (copy === FAIL) return FAIL;
      same &&= Object.is(copy, old);
      if (indexKeys) defineFrozen(out, name, copy);
      else out[name] = copy;
    }
    return same ? prev : Object.freeze(out);
  };
}

/** Whether `object` has exactly `names` as its keys, in that order. */
function sameKeys(object: Obj, names: readonly string[]): boolean {
  let i = 0;
  for (const name in object) if (name !== names[i++]) return false;
  return i === names.length;
}

function array(item: Check, max: number): Check {
  return (value, prev) => {
    if (!Array.isArray(value) || value.length > max) return FAIL;
    const out: unknown[] = [];
    let same = Array.isArray(prev) && prev.length === value.length;
    for (let i = 0; i < value.length; i++) {
      const old: unknown = same ? (prev as unknown[])[i] : undefined;
      const copy = item(value[i], old);
      if (copy === FAIL) return FAIL;
      same &&= Object.is(copy, old);
      out.push(copy);
    }
    return same ? prev : Object.freeze(out);
  };
}

/**
 * Keeps the last copy per id (`run.id`) and checks the next value with the same id against it: a
 * runner repeats its run's details in every event, and an unchanged run then costs no allocation and
 * stays the very same object, which the JSON format serialises once (formatters/json.ts). Bounded by
 * MAX_INTERNED_RUNS runs at once.
 */
function interned(check: Check): Check {
  const last = new Map<string, unknown>();
  return (value) => {
    const id = isPlainObject(value) ? value.id : undefined;
    if (typeof id !== "string") return check(value);
    const copy = check(value, last.get(id));
    if (copy !== FAIL) {
      if (last.size >= MAX_INTERNED_RUNS && !last.has(id)) last.clear();
      last.set(id, copy);
    }
    return copy;
  };
}

/**
 * A strict object of optional measures: `strict` over measure fields, written out because the latency
 * is on the run tracker's quick path, where `strict`'s per-field checks and earlier copies cost a
 * third of a batch's check.
 */
function measures(names: readonly string[], counts: readonly string[]): Check {
  const all = [...names, ...counts];
  const known: ReadonlySet<string> = new Set(all);
  const whole: ReadonlySet<string> = new Set(counts);
  return (value) => {
    if (!isPlainObject(value)) return FAIL;
    const out: Obj = {};
    let found = 0;
    for (const name of all) {
      const measured = value[name];
      if (measured === undefined) {
        if (Object.hasOwn(value, name)) return FAIL;
      } else {
        if (whole.has(name) ? !isCount(measured) : !isMeasure(measured)) return FAIL;
        out[name] = measured;
        found += 1;
      }
    }
    return knownKeys(value, known, found) ? Object.freeze(out) : FAIL;
  };
}

// The schema's order, `count` last: the copy has zod's key order.
const latency = measures(
  LATENCY_KEYS.filter((key) => key !== "count"),
  ["count"],
);
const codes = record(isStatusCode, count, LIMITS.statusCodes, true);
const errors = record(isErrorKind, count, LIMITS.errorKinds);

const run = interned(
  strict(
    {
      id,
      testId: id,
      name: trimmed(1, LIMITS.text),
      jobId: id,
      environment: trimmed(1, LIMITS.shortText),
      tenant: id,
      load: strict({
        duration: measure,
        arrivalRate: measure,
        arrivalCount: count,
        rampTo: measure,
        runners: pass((value) => isCount(value) && value >= 1),
        maxVirtualUsers: count,
        phases: array(
          strict({
            name: trimmed(1, LIMITS.shortText),
            duration: measure,
            arrivalRate: measure,
            rampTo: measure,
            arrivalCount: count,
            maxVirtualUsers: count,
          }),
          LIMITS.phases,
        ),
      }),
      links: array(
        strict({ title: trimmed(1, LIMITS.shortText), url: viaSchema(httpUrlSchema, new Set()) }, [
          "title",
          "url",
        ]),
        LIMITS.links,
      ),
      labels: record(
        (name) => name.length > 0 && name.length <= LIMITS.labelName,
        text(LIMITS.labelValue),
        LIMITS.labels,
      ),
      webhooks: array(id, LIMITS.webhooks),
      benchmark: strict({ threshold: finite, lastScores: array(finite, LIMITS.scores) }, ["threshold"]),
    },
    ["id", "testId", "name"],
  ),
);

/**
 * A counts record checked in place: the rules of `record(key, count, max)` (no symbol keys, no
 * `__proto__`, which zod drops, own keys only), but it returns the record itself and allocates nothing.
 */
function countsInPlace(key: (name: string) => boolean, max: number): Check {
  return (value) => {
    if (!isPlainObject(value) || Object.getOwnPropertySymbols(value).length > 0) return FAIL;
    let n = 0;
    for (const name in value) {
      if (!Object.hasOwn(value, name) || name === "__proto__" || !key(name)) return FAIL;
      if (!isCount(value[name]) || ++n > max) return FAIL;
    }
    return value;
  };
}

/** @internal The fields of a statistics batch or of run totals, as `readStats` read and checked them. */
export interface StatsFields {
  requests: number | undefined;
  codes: Readonly<Record<string, number>> | undefined;
  errors: Readonly<Record<string, number>> | undefined;
  latency: Readonly<Latency> | undefined;
  rps: number | undefined;
  elapsedMs: number | undefined;
}

/** @internal Fields for `readStatsBatch` to fill: a caller makes one and reuses it for every call. */
export function statsFields(): StatsFields {
  return {
    requests: undefined,
    codes: undefined,
    errors: undefined,
    latency: undefined,
    rps: undefined,
    elapsedMs: undefined,
  };
}

/** What `readStats` checks a value as, and how it takes the records and the latency. */
interface StatsShape {
  /** An event's `Stats` (requests, codes, errors required; `elapsedMs` known), not a `StatsBatch`. */
  readonly totals: boolean;
  readonly known: ReadonlySet<string>;
  readonly codes: Check;
  readonly errors: Check;
  readonly latency: Check;
}

// The schemas' field order: zod's key order in what it returns.
const STATS_ORDER = ["requests", "codes", "errors", "latency", "rps", "elapsedMs"] as const;
const BATCH_KEYS: ReadonlySet<string> = new Set(STATS_ORDER.slice(0, -1));
const TOTALS_KEYS: ReadonlySet<string> = new Set(STATS_ORDER);

/**
 * The one check of statistics: a batch or an event's totals, for the bus (copied) and for the run
 * tracker's quick path (the records checked in place). Known keys only, the required ones present,
 * none `undefined` and none hidden (non-enumerable: zod's to decide). Each field is read once, in the
 * schema's order as zod reads them, so what is checked is what the caller gets: a getter cannot
 * answer twice. `into` is written last, after every getter ran, so that a getter calling back into
 * a run handle (which reuses its `into`) cannot mix two batches; the caller reads it out at once.
 */
function readStats(value: unknown, shape: StatsShape, into: StatsFields): boolean {
  if (!isPlainObject(value)) return false;
  const required = shape.totals;
  // Written out field by field, each check called directly: this is the run tracker's hot path.
  const requests = value.requests;
  if (requests === undefined ? missing(value, "requests", required) : !isCount(requests)) return false;
  const givenCodes = value.codes;
  const codes = givenCodes === undefined ? undefined : shape.codes(givenCodes);
  if (codes === FAIL || (codes === undefined && missing(value, "codes", required))) return false;
  const givenErrors = value.errors;
  const errors = givenErrors === undefined ? undefined : shape.errors(givenErrors);
  if (errors === FAIL || (errors === undefined && missing(value, "errors", required))) return false;
  const givenLatency = value.latency;
  const latency = givenLatency === undefined ? undefined : shape.latency(givenLatency);
  if (latency === FAIL || (latency === undefined && missing(value, "latency", false))) return false;
  const rps = value.rps;
  if (rps === undefined ? missing(value, "rps", false) : !isMeasure(rps)) return false;
  // A batch has no `elapsedMs`, and zod does not read one.
  const elapsedMs = shape.totals ? value.elapsedMs : undefined;
  if (elapsedMs === undefined ? shape.totals && missing(value, "elapsedMs", false) : !isMeasure(elapsedMs))
    return false;
  const found = present(requests, codes, errors, latency, rps, elapsedMs);
  if (!knownKeys(value, shape.known, found)) return false;
  into.requests = requests as number | undefined;
  into.codes = codes as Readonly<Record<string, number>> | undefined;
  into.errors = errors as Readonly<Record<string, number>> | undefined;
  into.latency = latency as Readonly<Latency> | undefined;
  into.rps = rps as number | undefined;
  into.elapsedMs = elapsedMs as number | undefined;
  return true;
}

/** Whether an absent field fails the check: it is required, or present as `undefined` (zod keeps it). */
function missing(value: Obj, name: string, required: boolean): boolean {
  return required || Object.hasOwn(value, name);
}

/** How many of the fields are defined (fixed parameters: no array per call). */
function present(a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown): number {
  let n = 0;
  if (a !== undefined) n += 1;
  if (b !== undefined) n += 1;
  if (c !== undefined) n += 1;
  if (d !== undefined) n += 1;
  if (e !== undefined) n += 1;
  if (f !== undefined) n += 1;
  return n;
}

// The run tracker adds a batch to its totals at once: only the latency, which the totals keep, is
// copied (the runner may reuse its batch object).
const batchInPlace: StatsShape = {
  totals: false,
  known: BATCH_KEYS,
  codes: countsInPlace(isStatusCode, LIMITS.statusCodes),
  errors: countsInPlace(isErrorKind, LIMITS.errorKinds),
  latency,
};

/**
 * @internal Checks a statistics batch for the run tracker's quick path and fills `into` with its
 * fields, each read once: the records are the runner's own (checked, not copied), the latency is a
 * frozen copy. False, `into` unchanged, when zod has to decide. Allocates nothing but that copy.
 */
export function readStatsBatch(value: unknown, into: StatsFields): boolean {
  return readStats(value, batchInPlace, into);
}

/** A check of statistics for the bus: a frozen copy, records included, in the schema's key order. */
function copiedStats(totals: boolean): Check {
  const shape: StatsShape = { totals, known: totals ? TOTALS_KEYS : BATCH_KEYS, codes, errors, latency };
  // Shared by every call: readStats fills it last, and it is read out before anything else runs.
  const scratch = statsFields();
  return (value) => {
    if (!readStats(value, shape, scratch)) return FAIL;
    const out: Obj = {};
    for (const name of STATS_ORDER) if (scratch[name] !== undefined) out[name] = scratch[name];
    return Object.freeze(out);
  };
}

const stats = copiedStats(true);
const statsBatch = copiedStats(false);
const benchmark = strict(
  {
    score: finite,
    threshold: finite,
    passed: pass((value) => typeof value === "boolean"),
    lastScores: array(finite, LIMITS.scores),
  },
  ["score", "threshold", "passed", "lastScores"],
);

const base = { id, at: viaSchema(eventTimeSchema), run };
const inputs: Record<EventName, Check> = {
  started: strict(base, ["run"]),
  in_progress: strict({ ...base, stats }, ["run", "stats"]),
  api_failure: strict(
    {
      ...base,
      stats,
      failures: strict({ codes, count, total: count }, ["codes", "count", "total"]),
    },
    ["run", "stats", "failures"],
  ),
  aborted: strict({ ...base, reason: text(LIMITS.text), stats }, ["run"]),
  failed: strict(
    {
      ...base,
      error: strict(
        { message: text(LIMITS.text), name: text(LIMITS.shortText), code: text(LIMITS.shortText) },
        ["message"],
      ),
      stats,
    },
    ["run"],
  ),
  finished: strict({ ...base, stats, score: finite, benchmark }, ["run", "stats"]),
  benchmark_passed: strict({ ...base, stats, benchmark }, ["run", "stats", "benchmark"]),
  benchmark_failed: strict({ ...base, stats, benchmark }, ["run", "stats", "benchmark"]),
};

/**
 * @internal The payload of `bus.emit(name, payload)` as a frozen copy, when it is certainly valid and
 * zod would return it unchanged; `undefined` when zod has to decide.
 */
export function fastEventInput(name: EventName, payload: unknown): Readonly<Obj> | undefined {
  const copy = inputs[name](payload);
  return copy === FAIL ? undefined : (copy as Readonly<Obj>);
}

/** @internal A statistics batch as a frozen copy, or `undefined` when zod has to decide. */
export function fastStatsBatch(batch: unknown): StatsBatch | undefined {
  const copy = statsBatch(batch);
  return copy === FAIL ? undefined : (copy as StatsBatch);
}
