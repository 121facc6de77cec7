import { defineFrozen } from "./_counts.js";
import { type EventName, type StatsBatch, eventTimeSchema, httpUrlSchema } from "./events.js";

// Hand-written counterparts of the zod schemas in events.ts for the hot paths (`bus.emit`, run
// statistics). zod costs ~30 µs and ~80 KiB of garbage for a typical event, more than the rest of a
// delivery. Each check here accepts a value only when the schema would accept it *unchanged* (strings
// already trimmed, no `undefined` values, plain objects) and returns a frozen copy; in every other
// case it returns FAIL and the caller asks zod, which either gives the canonical value (trimmed
// strings) or the precise error. A property test (test/fast-parse.test.ts) holds the two to that.

/** @internal Returned by a check when it cannot vouch for the value. */
export const FAIL: unique symbol = Symbol("runhooks.fail");
/**
 * Vouches for `value` and returns its frozen copy, or FAIL. `prev`, when given, is an earlier copy
 * at the same place: when the copy would equal it, the check returns `prev` itself and allocates
 * nothing (see `interned`).
 */
type Check = (value: unknown, prev?: unknown) => unknown;
type Obj = Record<string, unknown>;

/** @internal An object literal (or `Object.create(null)`): what the schemas' records accept by sure. */
export function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** @internal A whole number the `count` schema accepts: zod's `int()` means a safe integer. */
export const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
/** @internal A finite number, 0 or more. */
export const isMeasure = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;

const STATUS = /^[1-5]\d\d$/;
/** @internal A status-code key of the `codes` records. */
export const isStatusCode = (key: string): boolean => key.length === 3 && STATUS.test(key);
/** @internal An error-kind key of the `errors` records. */
export const isErrorKind = (key: string): boolean => key.length > 0 && key.length <= 200;

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
const id = trimmed(1, 256);

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
      if (cache.size >= 1024) cache.clear();
      cache.add(value);
    }
    return value;
  };

/**
 * A strict object: known keys only, `required` all present, none `undefined`. Fields are read in the
 * schema's order, as zod reads them, so the copy has zod's key order; counting the enumerable keys
 * then catches unknown ones, and a field zod would see but `for…in` would not (non-enumerable).
 */
function strict(fields: Readonly<Record<string, Check>>, required: readonly string[] = []): Check {
  const names = Object.keys(fields);
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
    // zod's unknown-key check walks the same `for…in` keys.
    let enumerable = 0;
    for (const _ in value) enumerable += 1;
    if (enumerable !== found) return FAIL;
    return out === undefined ? before : Object.freeze(out);
  };
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
 * stays the very same object, which the JSON format serialises once (formatters/json.ts). Bounded:
 * past 256 runs at once, it starts over, which costs copies, never correctness.
 */
function interned(check: Check): Check {
  const last = new Map<string, unknown>();
  return (value) => {
    const id = isPlainObject(value) ? value.id : undefined;
    if (typeof id !== "string") return check(value);
    const copy = check(value, last.get(id));
    if (copy !== FAIL) {
      if (last.size >= 256 && !last.has(id)) last.clear();
      last.set(id, copy);
    }
    return copy;
  };
}

const latency = strict({
  min: measure,
  max: measure,
  mean: measure,
  median: measure,
  p90: measure,
  p95: measure,
  p99: measure,
});
const codes = record(isStatusCode, count, Infinity, true);
const errors = record(isErrorKind, count, 1000);

const run = interned(
  strict(
    {
      id,
      testId: id,
      name: trimmed(1, 10_000),
      jobId: id,
      environment: trimmed(1, 200),
      tenant: id,
      load: strict({
        duration: measure,
        arrivalRate: measure,
        arrivalCount: count,
        rampTo: measure,
        runners: pass((value) => isCount(value) && value >= 1),
        maxVirtualUsers: count,
      }),
      links: array(
        strict({ title: trimmed(1, 200), url: viaSchema(httpUrlSchema, new Set()) }, ["title", "url"]),
        20,
      ),
      labels: record((name) => name.length > 0 && name.length <= 100, text(1000), 50),
      webhooks: array(id, 100),
      benchmark: strict({ threshold: finite, lastScores: array(finite, 20) }, ["threshold"]),
    },
    ["id", "testId", "name"],
  ),
);

const statsFields = { requests: count, codes, errors, latency, rps: measure };
const stats = strict({ ...statsFields, elapsedMs: measure }, ["requests", "codes", "errors"]);
const statsBatch = strict(statsFields);
const benchmark = strict({ score: finite, threshold: finite, lastScores: array(finite, 20) }, [
  "score",
  "threshold",
  "lastScores",
]);

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
  aborted: strict({ ...base, reason: text(10_000), stats }, ["run"]),
  failed: strict(
    {
      ...base,
      error: strict({ message: text(10_000), name: text(200), code: text(200) }, ["message"]),
      stats,
    },
    ["run"],
  ),
  finished: strict({ ...base, stats, score: finite }, ["run", "stats"]),
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
