import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastEventInput, fastStatsBatch, readStatsBatch, statsFields } from "../src/_fast-parse.js";
import { isDeepFrozen } from "../src/_freeze.js";
import { eventInputSchemas, statsBatchSchema, type EventName } from "../src/events.js";
import { fixtureEvents } from "../src/testing/fixtures.js";

// The hand-written checks replace zod on the hot paths. What makes that safe: whatever they accept,
// zod accepts too and returns the same value. These tests hold them to it on valid payloads and on
// every kind of damage a runner could do to one.

type Obj = Record<string, unknown>;

/** The fixture events as `bus.emit` payloads: name, and the event without its `event` field. */
const payloads: Array<{ name: EventName; payload: Obj }> = fixtureEvents().map(({ event }) => {
  const { event: name, ...payload } = structuredClone(event) as unknown as Obj & { event: EventName };
  return { name, payload };
});

const symbolKeyed = { ok: 1, [Symbol("s")]: 2 };
const protoKey = JSON.parse('{"__proto__": 1}') as Obj;
const nullProto = Object.assign(Object.create(null) as Obj, { "200": 1 });
// Values that sit on either side of some rule of the schemas.
const oddValues: unknown[] = [
  "",
  " ",
  " padded",
  "padded ",
  "\tx",
  "x".repeat(100),
  "x".repeat(101),
  "x".repeat(200),
  "x".repeat(201),
  "x".repeat(256),
  "x".repeat(257),
  "x".repeat(1000),
  "x".repeat(1001),
  "x".repeat(10_001),
  "200",
  "599",
  "600",
  "099",
  "5xx",
  "https://example.com/a",
  "http://example.com",
  "https://example.com/ a",
  " https://example.com/a",
  "https://exa\tmple.com/a",
  "ftp://example.com/a",
  "javascript:alert(1)",
  `https://example.com/${"x".repeat(2048)}`,
  "2026-01-01T00:00:00Z",
  "2026-01-01T00:00:00.000+02:00",
  "2026-01-01",
  "yesterday",
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  null,
  undefined,
  true,
  [],
  [1, 2],
  [" a"],
  ["a", "a"],
  new Array(3),
  Array.from({ length: 21 }, () => 1),
  {},
  { a: 1 },
  { "500": 3 },
  { threshold: 1 },
  { title: "t", url: "https://example.com" },
  symbolKeyed,
  protoKey,
  nullProto,
  new Date(0),
  new Map(),
  Object.create({ inherited: 1 }) as object,
];

/** Every path into a value, objects and arrays included. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== "object" || value === null) return [prefix];
  const out: string[][] = [prefix];
  // The huge fixtures have a thousand keys per record: a sample of them is enough.
  for (const key of Object.keys(value).slice(0, 12))
    out.push(...paths((value as Obj)[key], [...prefix, key]));
  return out;
}

type Damage =
  | { kind: "set"; value: unknown }
  | { kind: "delete" }
  | { kind: "add"; key: string; value: unknown }
  // An object's first key moved to the end; an array one item longer (its first, again) or shorter.
  | { kind: "reorder" }
  | { kind: "grow" }
  | { kind: "shrink" };

function damaged(payload: Obj, path: string[], damage: Damage): unknown {
  const copy = structuredClone(payload);
  if (path.length === 0) return damage.kind === "set" ? damage.value : copy;
  let parent: Obj = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Obj;
  const last = path[path.length - 1] as string;
  const target = parent[last];
  if (damage.kind === "set") parent[last] = damage.value;
  else if (damage.kind === "delete") Reflect.deleteProperty(parent, last);
  else if (typeof target !== "object" || target === null) return copy;
  else if (damage.kind === "add") (target as Obj)[damage.key] = damage.value;
  else if (Array.isArray(target)) {
    if (damage.kind === "grow" && target.length > 0) target.push(structuredClone(target[0]));
    if (damage.kind === "shrink") target.pop();
  } else if (damage.kind === "reorder") {
    const [first] = Object.keys(target);
    if (first !== undefined) {
      const value = (target as Obj)[first];
      Reflect.deleteProperty(target, first);
      (target as Obj)[first] = value;
    }
  }
  return copy;
}

describe("the hand-written checks of bus.emit payloads", () => {
  it("take every fixture event that zod leaves unchanged, as a deeply frozen copy", () => {
    let taken = 0;
    for (const { name, payload } of payloads) {
      const parsed = eventInputSchemas[name].safeParse(payload);
      expect(parsed.success).toBe(true);
      const fast = fastEventInput(name, payload);
      // The fixture with 20 links has titles ending in a space, which zod trims: that one is zod's.
      if (!isDeepStrictEqual(parsed.data, payload)) {
        expect(fast).toBeUndefined();
        continue;
      }
      expect(fast, `${name}: ${JSON.stringify(payload).slice(0, 80)}`).toBeDefined();
      // The same value with the same key order: the JSON body is the same bytes either way.
      expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
      expect(fast).not.toBe(payload);
      expect(isDeepFrozen(fast)).toBe(true);
      taken += 1;
    }
    expect(taken).toBeGreaterThan(payloads.length - 10);
  });

  it("never accept a damaged payload that zod rejects or would change", () => {
    const cases = payloads.flatMap(({ name, payload }) =>
      paths(payload).map((path) => ({ name, payload, path })),
    );
    const damage: fc.Arbitrary<Damage> = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), value: fc.constantFrom(...oddValues) }),
      fc.constant({ kind: "delete" as const }),
      fc.record({
        kind: fc.constant("add" as const),
        key: fc.constantFrom("extra", "200", "500", "min", "title", "url", "id", "run"),
        value: fc.constantFrom(...oddValues),
      }),
      fc.constantFrom({ kind: "reorder" as const }, { kind: "grow" as const }, { kind: "shrink" as const }),
    );
    const seen = { fastAccepted: 0, zodOnly: 0, bothRejected: 0 };
    fc.assert(
      fc.property(fc.constantFrom(...cases), damage, ({ name, payload, path }, how) => {
        const input = damaged(payload, path, how);
        // The undamaged payload first: its run is then the one the damaged run is checked against.
        fastEventInput(name, payload);
        const fast = fastEventInput(name, input);
        const parsed = eventInputSchemas[name].safeParse(input);
        if (fast !== undefined) {
          seen.fastAccepted += 1;
          expect(parsed.success).toBe(true);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
          expect(isDeepFrozen(fast)).toBe(true);
        } else if (parsed.success) seen.zodOnly += 1;
        else seen.bothRejected += 1;
      }),
      { numRuns: 3000 },
    );
    // The damage must hit all three outcomes, or the property above proves less than it says.
    expect(seen.fastAccepted).toBeGreaterThan(100);
    expect(seen.zodOnly).toBeGreaterThan(100);
    expect(seen.bothRejected).toBeGreaterThan(100);
  });

  it("give zod's key order, whatever the payload's", () => {
    const { name, payload } = payloads[0] as { name: EventName; payload: Obj };
    const { id, testId, name: runName } = payload.run as Obj;
    const shuffled = { run: { name: runName, testId, id }, at: payload.at, id: payload.id };
    const parsed = eventInputSchemas[name].safeParse(shuffled);
    expect(JSON.stringify(fastEventInput(name, shuffled))).toBe(JSON.stringify(parsed.data));
    expect(Object.keys(fastEventInput(name, shuffled) ?? {})).toEqual(["id", "at", "run"]);
  });

  it("leave fields zod can see but for…in cannot (non-enumerable) to zod", () => {
    const { name, payload } = payloads[0] as { name: EventName; payload: Obj };
    const run = { ...(payload.run as Obj) };
    Object.defineProperty(run, "tenant", { value: "acme", enumerable: false });
    expect(fastEventInput(name, { ...payload, run })).toBeUndefined();
    const hidden = { ...payload };
    Object.defineProperty(hidden, "at", { value: "garbage", enumerable: false });
    expect(fastEventInput(name, hidden)).toBeUndefined();
    expect(eventInputSchemas[name].safeParse(hidden).success).toBe(false);
  });

  it("give the same run object back while a run's details stay the same, and a new one when they change", () => {
    const { name, payload } = payloads[0] as { name: EventName; payload: Obj };
    const run = structuredClone({
      ...(payload.run as Obj),
      id: "interned-run",
      links: [{ title: "Report", url: "https://example.com/r" }],
      labels: { team: "payments", region: "eu" },
      load: { duration: 60, runners: 2 },
    });
    const runOf = (input: Obj): unknown => (fastEventInput(name, { ...payload, run: input }) as Obj).run;
    const first = runOf(run);
    expect(runOf(structuredClone(run))).toBe(first);
    expect(runOf(run)).toBe(first);
    // The runner changes the very object it passed before: the change must show, not the old copy.
    (run.labels as Obj).region = "us";
    const changed = runOf(run);
    expect(changed).not.toBe(first);
    expect(changed).toEqual(run);
    expect(isDeepFrozen(changed)).toBe(true);
    // Unchanged parts of a changed run are shared with the earlier copy; changed ones are new.
    expect((changed as Obj).links).toBe((first as Obj).links);
    expect((changed as Obj).labels).not.toBe((first as Obj).labels);
    (run.links as Obj[]).push({ title: "Grafana", url: "https://example.com/g" });
    expect(JSON.stringify(runOf(run))).toBe(JSON.stringify(run));
    run.labels = { region: "us", team: "payments" };
    expect(Object.keys((runOf(run) as Obj).labels as Obj)).toEqual(["region", "team"]);
    Reflect.deleteProperty(run, "load");
    expect(runOf(run)).not.toHaveProperty("load");
  });

  it("leave a trimmed id and an untrimmed one to zod, which trims it", () => {
    const { name, payload } = payloads[0] as { name: EventName; payload: Obj };
    const padded = { ...payload, run: { ...(payload.run as Obj), id: " run-1 " } };
    expect(fastEventInput(name, padded)).toBeUndefined();
    const parsed = eventInputSchemas[name].safeParse(padded);
    expect(parsed.success && parsed.data.run.id).toBe("run-1");
  });
});

// A typical batch: every field, records with a few keys.
const batch = {
  requests: 1200,
  codes: { "200": 1180, "503": 20 },
  errors: { ETIMEDOUT: 3 },
  latency: { min: 1, median: 20, p99: 410.5 },
  rps: 20,
};

describe("the hand-written check of a statistics batch", () => {
  it("takes a plain batch as a frozen copy", () => {
    const fast = fastStatsBatch(batch);
    expect(fast).toEqual(batch);
    expect(fast).not.toBe(batch);
    expect(isDeepFrozen(fast)).toBe(true);
  });

  it("never accepts a damaged batch that zod rejects or would change", () => {
    const cases = paths(batch);
    fc.assert(
      fc.property(fc.constantFrom(...cases), fc.constantFrom(...oddValues), (path, value) => {
        const input = damaged(batch, path, { kind: "set", value });
        const fast = fastStatsBatch(input);
        if (fast === undefined) return;
        const parsed = statsBatchSchema.safeParse(input);
        expect(parsed.success).toBe(true);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(parsed.data));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("unknown keys next to hidden fields (issue 18)", () => {
  // Counting the keys alone let an unknown key and a non-enumerable known field cancel out: the
  // check took what zod rejects.
  const hidden = <T extends Obj>(object: T, name: string, value: unknown): T =>
    Object.defineProperty(object, name, { value, enumerable: false });

  it("leaves an event payload with both to zod, which rejects it", () => {
    const payload = hidden({ run: { id: "r", testId: "t", name: "n" }, bogus: 1 }, "id", "evt_1");
    expect(fastEventInput("started", payload)).toBeUndefined();
    expect(eventInputSchemas.started.safeParse(payload).success).toBe(false);
  });

  it("leaves a statistics batch, or an event's statistics, with both to zod", () => {
    const batch = hidden({ requests: 1, extra: 5 }, "rps", 3);
    expect(fastStatsBatch(batch)).toBeUndefined();
    expect(statsBatchSchema.safeParse(batch).success).toBe(false);
    expect(readStatsBatch(batch, statsFields())).toBe(false);
    const stats = hidden({ requests: 1, codes: {}, errors: {}, extra: 5 }, "rps", 3);
    const payload = { run: { id: "r", testId: "t", name: "n" }, stats };
    expect(fastEventInput("in_progress", payload)).toBeUndefined();
    expect(eventInputSchemas.in_progress.safeParse(payload).success).toBe(false);
  });
});

describe("the shared check of a statistics batch, in place (the run tracker's quick path)", () => {
  it("hands back the runner's own records and a frozen copy of the latency, each field read once", () => {
    const fields = statsFields();
    expect(readStatsBatch(batch, fields)).toBe(true);
    expect(fields.codes).toBe(batch.codes);
    expect(fields.errors).toBe(batch.errors);
    expect(fields.latency).toEqual(batch.latency);
    expect(fields.latency).not.toBe(batch.latency);
    expect(Object.isFrozen(fields.latency)).toBe(true);
    expect(fields).toMatchObject({ requests: 1200, rps: 20, elapsedMs: undefined });
    let reads = 0;
    const changing = {
      get requests() {
        reads += 1;
        return reads === 1 ? 2 : -1;
      },
    };
    expect(readStatsBatch(changing, fields)).toBe(true);
    expect([fields.requests, reads]).toEqual([2, 1]);
    expect(fields.codes).toBeUndefined();
  });

  it("accepts exactly what the copying check accepts, with zod's values", () => {
    const cases = paths(batch);
    const damage: fc.Arbitrary<Damage> = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), value: fc.constantFrom(...oddValues) }),
      fc.constant({ kind: "delete" as const }),
      fc.record({
        kind: fc.constant("add" as const),
        key: fc.constantFrom("extra", "200", "500", "min", "__proto__", "elapsedMs"),
        value: fc.constantFrom(...oddValues),
      }),
    );
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.constantFrom(...cases), damage, (path, how) => {
        const input = damaged(batch, path, how);
        const fields = statsFields();
        const accepted = readStatsBatch(input, fields);
        const copy = fastStatsBatch(input);
        expect(accepted).toBe(copy !== undefined);
        if (!accepted) {
          seen.rejected += 1;
          expect(fields).toEqual(statsFields());
          return;
        }
        seen.accepted += 1;
        const parsed = statsBatchSchema.safeParse(input);
        expect(parsed.success).toBe(true);
        const { elapsedMs, ...read } = fields;
        expect(elapsedMs).toBeUndefined();
        expect(JSON.stringify(read)).toBe(JSON.stringify(parsed.data));
        expect(JSON.stringify(read)).toBe(JSON.stringify(copy));
      }),
      { numRuns: 2000 },
    );
    expect(seen.accepted).toBeGreaterThan(100);
    expect(seen.rejected).toBeGreaterThan(100);
  });
});
