import type { BackendLimits } from "../backends/types.js";
import type { RunEvent } from "../events.js";
import {
  initialSnapshot,
  snapshotToJSON,
  type RunChange,
  type RunSnapshot,
  type RunState,
} from "../run-tracker.js";
import { sampleEvents, sampleRun, sampleStats } from "./fixtures.js";
import { registerCases, vitestApi } from "./_vitest.js";

/**
 * The cases of {@link testRunState}, by id: name one in `skip` to leave it out. The `durable.*` cases run
 * only when `reopen` is given.
 */
export const RUN_STATE_CASES = {
  "apply.before":
    "apply() gives a change undefined for a run it never saw, then the snapshot the run's previous change returned (or an equal one)",
  "apply.events": "apply() returns, or resolves with, the events the change fired, in order",
  "peek.last": "peek() returns the run's last snapshot, synchronously, and undefined for a run never seen",
  "runs.independent": "runs are independent: a change sees and changes only its own run's snapshot",
  "claim.once": '20 concurrent applies of "fire started unless it fired" fire it exactly once',
  "order.per-run": "one run's changes apply, and apply() results resolve, in call order",
  "change.throws":
    "a change that throws leaves the run's snapshot as it was, and apply() throws or rejects with its error",
  "pending.fresh": "pending(), when the state has it, returns no events for a fresh state",
  "durable.snapshot":
    "durable only (runs when reopen is given): a reopened state gives the next change the last snapshot, so an event fired before is not fired again",
  "durable.pending":
    "durable only: events recorded and never fanned out come back from the reopened state's pending(), in the order they fired",
} as const;

/** The id of one case of the run-state contract. */
export type RunStateCaseId = keyof typeof RUN_STATE_CASES;

/** Builds a run state within `limits` (the notifier's `maxRuns` and the rest). */
export type RunStateFactory = (limits: BackendLimits) => RunState | Promise<RunState>;

/** Options of {@link testRunState}. */
export interface TestRunStateOptions {
  /** Builds a run state on fresh, empty storage; called at least once per case. */
  create: RunStateFactory;
  /**
   * For a durable run state: builds another on the storage of the one `create` built last, as a
   * restarted process would. When given, the `durable.*` cases run; without it they are not registered.
   */
  reopen?: RunStateFactory;
  /** Cases to skip, each with the reason (shown in the test name), e.g. `{ "claim.once": "single writer" }`. */
  skip?: Partial<Record<RunStateCaseId, string>>;
  /** Called after each case with every state it built, e.g. to close a connection or delete a file. */
  teardown?: (state: RunState) => void | Promise<void>;
}

/**
 * Registers the run-state contract as vitest tests: the rules every {@link RunState} must follow for each
 * event of a run to fire once, in order, however many calls (and processes) signal it. The cases drive it
 * with plain {@link RunChange} functions, as the notifier's run handles do. Each case builds a fresh state
 * with `create` (and, for the `durable.*` cases, a second one with `reopen`).
 *
 * **Needs vitest** (an optional peer dependency, `npm install -D vitest`): call it at the top level of a
 * test file that vitest runs, or inside a `describe()`. Without vitest, or outside a vitest run, it throws
 * an Error that starts `runhooks/testing: testRunState() registers vitest tests; install vitest`.
 * {@link RUN_STATE_CASES} lists the rules, for reference with another runner.
 *
 * @throws Error when vitest is not installed or is not running this file.
 *
 * @example
 * import { testRunState } from "runhooks/testing";
 * let file = "";
 * testRunState("my sqlite run state", {
 *   create: (limits) => sqliteRunState((file = freshFile()), limits),
 *   reopen: (limits) => sqliteRunState(file, limits),
 * });
 */
export function testRunState(label: string, options: TestRunStateOptions): void {
  const { afterEach, describe, it } = vitestApi("testRunState()");
  describe(`RunState contract: ${label}`, () => {
    const opened: RunState[] = [];
    afterEach(async () => {
      for (const state of opened.splice(0)) await options.teardown?.(state);
    });
    const cases = runStateCases(options, opened);
    registerCases(it, RUN_STATE_CASES, cases, options.skip, options.reopen !== undefined);
  });
}

/**
 * @internal The contract's cases as plain async functions over the factories, so that the contract itself
 * can be tested against run states that break it. Every state built goes into `opened`.
 */
export function runStateCases(
  factories: Pick<TestRunStateOptions, "create" | "reopen">,
  opened: RunState[] = [],
): Record<RunStateCaseId, () => Promise<void>> {
  const build = async (factory: RunStateFactory): Promise<RunState> => {
    const state = await factory(LIMITS);
    opened.push(state);
    return state;
  };
  const kit: CaseKit = {
    expect: vitestApi("testRunState()").expect,
    fresh: () => build(factories.create),
    reopen: () => {
      if (factories.reopen === undefined) throw new Error("this case needs the reopen option");
      return build(factories.reopen);
    },
  };
  return {
    ...applyCases(kit),
    ...failureCases(kit),
    ...concurrencyCases(kit),
    ...durableCases(kit),
  };
}

const LIMITS: BackendLimits = { maxQueued: 1000, maxInFlight: 16, maxRuns: 1000 };

type Expect = ReturnType<typeof vitestApi>["expect"];

/** What every group of cases gets. */
interface CaseKit {
  readonly expect: Expect;
  readonly fresh: () => Promise<RunState>;
  /** A state on the storage of the one `fresh` built last. */
  readonly reopen: () => Promise<RunState>;
}

type Cases<Prefix extends string> = Record<
  Extract<RunStateCaseId, `${Prefix}.${string}`>,
  () => Promise<void>
>;

/** A snapshot as plain JSON data: what any state, in memory or stored, must give back equal. */
const plain = (snapshot: RunSnapshot | undefined): unknown =>
  snapshot === undefined ? undefined : JSON.parse(snapshotToJSON(snapshot));

/** The sample events of one run, with ids of that run (a durable outbox may key events by id). */
function runEvents(runId: string): ReturnType<typeof sampleEvents> {
  const events = sampleEvents({ ...sampleRun, id: runId });
  for (const event of Object.values(events)) event.id = `${event.id}_${runId}`;
  return events;
}

/** Fires `events` unless their first one fired already, as a runner call does. */
function fire(...events: RunEvent[]): RunChange {
  return (before) => {
    const snapshot = before ?? initialSnapshot();
    const [first] = events;
    if (first === undefined || snapshot.fired.includes(first.event)) return { snapshot, events: [] };
    const names = events.map((event) => event.event).filter((name) => !snapshot.fired.includes(name));
    const ended = events.some((event) => ["aborted", "failed", "finished"].includes(event.event));
    const next: RunSnapshot = {
      ...snapshot,
      phase: ended ? "ended" : "running",
      fired: [...snapshot.fired, ...new Set(names)],
      startedAt: snapshot.startedAt ?? Date.parse(first.at),
    };
    return { snapshot: next, events };
  };
}

/** Adds `requests` to the run's totals and fires nothing, as most statistics batches do. */
function count(requests: number, seen?: (before: RunSnapshot | undefined) => void): RunChange {
  return (before) => {
    seen?.(before);
    const snapshot = before ?? initialSnapshot();
    const codes = { ...snapshot.stats.codes, "200": (snapshot.stats.codes["200"] ?? 0) + requests };
    const stats = { ...snapshot.stats, requests: snapshot.stats.requests + requests, codes };
    return { snapshot: { ...snapshot, stats }, events: [] };
  };
}

/** apply() and peek() on one run and several. */
function applyCases({ expect, fresh }: CaseKit): Cases<"apply" | "peek" | "runs"> {
  return {
    "apply.before": async () => {
      const state = await fresh();
      const seen: unknown[] = [];
      const record =
        (change: RunChange): RunChange =>
        (before) => {
          seen.push(plain(before));
          const result = change(before);
          seen.push(plain(result.snapshot));
          return result;
        };
      const { started } = runEvents("run-before");
      await state.apply("run-before", record(fire(started)));
      await state.apply("run-before", record(count(5)));
      await state.apply("run-before", record(count(7)));
      // A state may call a change again (an optimistic attempt, a retried transaction): of calls with
      // the same `before` in a row, the last one's result is the one kept.
      const calls: Array<{ before: unknown; after: unknown }> = [];
      for (let i = 0; i + 1 < seen.length; i += 2) {
        const call = { before: seen[i], after: seen[i + 1] };
        const last = calls.at(-1);
        if (last && JSON.stringify(last.before) === JSON.stringify(call.before))
          calls[calls.length - 1] = call;
        else calls.push(call);
      }
      expect(calls[0]?.before, "a run never seen").toBeUndefined();
      expect(calls, "one kept call per apply").toHaveLength(3);
      // Each change's `before` equals what the previous change returned.
      for (let i = 1; i < calls.length; i++)
        expect(calls[i]?.before, `change ${i + 1}`).toEqual(calls[i - 1]?.after);
      const rest = calls.map((c) => c.after);
      expect(rest.at(-1)).toMatchObject({
        stats: { requests: 12, codes: { "200": 12 } },
        fired: ["started"],
      });
    },
    "apply.events": async () => {
      const state = await fresh();
      const { started, benchmark_passed, finished } = runEvents("run-events");
      expect(await state.apply("run-events", fire(started))).toEqual([started]);
      expect(await state.apply("run-events", count(3))).toEqual([]);
      expect(await state.apply("run-events", fire(benchmark_passed, finished))).toEqual([
        benchmark_passed,
        finished,
      ]);
    },
    "peek.last": async () => {
      const state = await fresh();
      expect(state.peek("run-peek"), "a run never seen").toBeUndefined();
      const { started } = runEvents("run-peek");
      let last: RunSnapshot | undefined;
      const keep =
        (change: RunChange): RunChange =>
        (before) => {
          const result = change(before);
          last = result.snapshot;
          return result;
        };
      await state.apply("run-peek", keep(fire(started)));
      const peeked = state.peek("run-peek");
      expect(peeked instanceof Promise, "peek() returns a snapshot, not a promise").toBe(false);
      expect(plain(peeked)).toEqual(plain(last));
      await state.apply("run-peek", keep(count(4)));
      expect(plain(state.peek("run-peek"))).toEqual(plain(last));
    },
    "runs.independent": async () => {
      const state = await fresh();
      const a = runEvents("run-a");
      const b = runEvents("run-b");
      expect(await state.apply("run-a", fire(a.started))).toEqual([a.started]);
      await state.apply("run-a", count(10));
      let seenByB: unknown = "not called";
      await state.apply(
        "run-b",
        count(1, (before) => (seenByB = plain(before))),
      );
      expect(seenByB, "another run's change sees nothing of run-a").toBeUndefined();
      expect(await state.apply("run-b", fire(b.started)), "run-b fires its own started").toEqual([b.started]);
      expect(state.peek("run-a")).toMatchObject({ fired: ["started"], stats: { requests: 10 } });
      expect(state.peek("run-b")).toMatchObject({ fired: ["started"], stats: { requests: 1 } });
    },
  };
}

/** A change that throws, and a fresh state's pending(). */
function failureCases({ expect, fresh }: CaseKit): Cases<"change" | "pending"> {
  return {
    "change.throws": async () => {
      const state = await fresh();
      const { started } = runEvents("run-throws");
      await state.apply("run-throws", fire(started));
      await state.apply("run-throws", count(2));
      const before = plain(state.peek("run-throws"));
      const boom = new Error("the change failed");
      const throwing: RunChange = () => {
        throw boom;
      };
      const failure = async (runId: string): Promise<unknown> => {
        try {
          await state.apply(runId, throwing);
        } catch (error) {
          return error;
        }
        return "no error";
      };
      const caught = await failure("run-throws");
      expect(
        caught === boom || (caught instanceof Error && caught.cause === boom),
        "apply() throws or rejects with the change's error (or an Error caused by it)",
      ).toBe(true);
      expect(plain(state.peek("run-throws"))).toEqual(before);
      let seen: unknown = "not called";
      await state.apply(
        "run-throws",
        count(1, (snapshot) => (seen = plain(snapshot))),
      );
      expect(seen, "the next change gets the snapshot from before the failed one").toEqual(before);

      // On a run never seen, the run stays unseen.
      await failure("run-throws-new");
      expect(state.peek("run-throws-new")).toBeUndefined();
      seen = "not called";
      await state.apply(
        "run-throws-new",
        count(1, (snapshot) => (seen = plain(snapshot))),
      );
      expect(seen).toBeUndefined();
    },
    "pending.fresh": async () => {
      const state = await fresh();
      expect(["undefined", "function"], "pending is absent or a function").toContain(typeof state.pending);
      if (state.pending !== undefined) expect(await state.pending()).toEqual([]);
    },
  };
}

/** Concurrent applies on one run. */
function concurrencyCases({ expect, fresh }: CaseKit): Cases<"claim" | "order"> {
  return {
    "claim.once": async () => {
      const state = await fresh();
      const { started } = runEvents("run-claim");
      const results = await Promise.all(
        Array.from({ length: 20 }, () => Promise.resolve(state.apply("run-claim", fire(started)))),
      );
      expect(results.flat().map((event) => event.id)).toEqual([started.id]);
      expect(state.peek("run-claim")?.fired).toEqual(["started"]);
    },
    "order.per-run": async () => {
      const state = await fresh();
      const { api_failure } = runEvents("run-order");
      // Change i fires an event carrying the request count it found: i, when the changes apply in order.
      const change =
        (i: number): RunChange =>
        (before) => {
          const found = before?.stats.requests ?? 0;
          const { snapshot } = count(1)(before);
          const event: RunEvent = {
            ...api_failure,
            id: `${api_failure.id}_${i}`,
            stats: { ...sampleStats, requests: found },
          };
          return { snapshot, events: [event] };
        };
      const resolved: number[] = [];
      const results = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const events = await state.apply("run-order", change(i));
          resolved.push(i);
          return events;
        }),
      );
      const found = results.map((events) => {
        const [event] = events;
        return event !== undefined && "stats" in event ? event.stats?.requests : undefined;
      });
      expect(found, "the request count each change found").toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(resolved, "the order apply() results resolved in").toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    },
  };
}

/** What a durable state keeps across a restart. */
function durableCases({ expect, fresh, reopen }: CaseKit): Cases<"durable"> {
  return {
    "durable.snapshot": async () => {
      const first = await fresh();
      const { started } = runEvents("run-durable");
      await first.apply("run-durable", fire(started));
      await first.apply("run-durable", count(5));
      const last = plain(first.peek("run-durable"));
      const second = await reopen();
      let seen: unknown = "not called";
      const again = await second.apply("run-durable", (before) => {
        seen = plain(before);
        return fire(started)(before);
      });
      expect(seen, "the reopened state's snapshot").toEqual(last);
      expect(again, "started fires once across the restart").toEqual([]);
      let unseen: unknown = "not called";
      await second.apply(
        "run-durable-other",
        count(1, (before) => (unseen = plain(before))),
      );
      expect(unseen, "a run never seen, after the restart").toBeUndefined();
    },
    "durable.pending": async () => {
      const first = await fresh();
      const a = runEvents("run-outbox-a");
      const b = runEvents("run-outbox-b");
      await first.apply("run-outbox-a", fire(a.started));
      await first.apply("run-outbox-b", fire(b.started));
      await first.apply("run-outbox-a", fire(a.in_progress, a.api_failure));
      await first.apply("run-outbox-a", count(100));
      await first.apply("run-outbox-b", fire(b.aborted));
      await first.apply("run-outbox-a", fire(a.benchmark_passed, a.finished));
      const fired = [
        a.started,
        b.started,
        a.in_progress,
        a.api_failure,
        b.aborted,
        a.benchmark_passed,
        a.finished,
      ];
      const second = await reopen();
      expect(typeof second.pending, "a durable state has pending()").toBe("function");
      const pending = (await second.pending?.()) ?? [];
      expect(pending.map((event) => event.id)).toEqual(fired.map((event) => event.id));
      expect(pending).toEqual(fired);
    },
  };
}
