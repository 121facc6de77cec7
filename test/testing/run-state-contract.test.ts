import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events.js";
import {
  memoryRunState,
  snapshotFromJSON,
  snapshotToJSON,
  type RunSnapshot,
  type RunState,
} from "../../src/run-tracker.js";
import {
  runStateCases,
  testRunState,
  type RunStateCaseId,
  type RunStateFactory,
} from "../../src/testing/run-state-contract.js";

testRunState("memoryRunState()", { create: (limits) => memoryRunState(limits.maxRuns) });

// A durable run state in miniature: snapshots as JSON and an outbox in a Map that outlives the state, as
// a database would. It is here so that the durable cases run against a state that keeps what they
// expect, and against ones that do not.
interface Storage {
  runs: Map<string, string>;
  outbox: RunEvent[];
}
interface Flaws {
  forgetsOutbox?: boolean;
  forgetsSnapshots?: boolean;
}

function durable(flaws: Flaws = {}): { create: RunStateFactory; reopen: RunStateFactory } {
  let storage: Storage = { runs: new Map(), outbox: [] };
  const open = (): RunState => {
    const store = storage;
    const known = new Map<string, RunSnapshot>();
    return {
      // Async, as a state with I/O is; nothing awaits between the read and the write.
      apply: async (runId, change) => {
        const json = flaws.forgetsSnapshots ? undefined : store.runs.get(runId);
        const { snapshot, events } = change(json === undefined ? known.get(runId) : snapshotFromJSON(json));
        store.runs.set(runId, snapshotToJSON(snapshot));
        if (!flaws.forgetsOutbox) store.outbox.push(...structuredClone(events));
        known.set(runId, snapshot);
        return Promise.resolve(events);
      },
      peek: (runId) => known.get(runId),
      pending: () => Promise.resolve(structuredClone(store.outbox)),
    };
  };
  return {
    create: () => {
      storage = { runs: new Map(), outbox: [] };
      return open();
    },
    reopen: open,
  };
}

testRunState("a durable run state over a Map (the durable cases' reference)", durable());

// The contract is only worth something if it fails for run states that break it.
const wrap =
  (patch: (inner: RunState) => Partial<RunState>): RunStateFactory =>
  () => {
    const inner = memoryRunState();
    return {
      apply: (runId, change) => inner.apply(runId, change),
      peek: (runId) => inner.peek(runId),
      ...patch(inner),
    };
  };

// Reads, then awaits, then writes: another change of the run comes between.
const notAtomic = wrap((inner) => ({
  apply: async (runId, change) => {
    const before = inner.peek(runId);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return inner.apply(runId, () => change(before));
  },
}));
const forgets = wrap((inner) => ({ apply: (runId, change) => inner.apply(runId, () => change(undefined)) }));
const oneRun = wrap((inner) => ({
  apply: (_runId, change) => inner.apply("the run", change),
  peek: () => inner.peek("the run"),
}));
const swallows = wrap((inner) => ({
  apply: (runId, change) => {
    try {
      return inner.apply(runId, change);
    } catch {
      return [];
    }
  },
}));
const stalePending = wrap(() => ({
  pending: () => [
    {
      id: "evt_left",
      event: "started",
      at: new Date(0).toISOString(),
      run: { id: "r", testId: "t", name: "n" },
    },
  ],
}));

describe("the run-state contract catches broken run states", () => {
  it.each<[string, Pick<Parameters<typeof runStateCases>[0], "create" | "reopen">, RunStateCaseId[]]>([
    ["a state whose apply() is not atomic", { create: notAtomic }, ["claim.once", "order.per-run"]],
    ["a state that forgets every snapshot", { create: forgets }, ["apply.before", "claim.once"]],
    ["a state that keeps one snapshot for all runs", { create: oneRun }, ["runs.independent"]],
    ["a state that swallows a change's error", { create: swallows }, ["change.throws"]],
    ["a fresh state with pending events", { create: stalePending }, ["pending.fresh"]],
    ["a durable state that forgets its snapshots", durable({ forgetsSnapshots: true }), ["durable.snapshot"]],
    ["a durable state without an outbox", durable({ forgetsOutbox: true }), ["durable.pending"]],
  ])("%s", async (_label, factories, failing) => {
    const cases = runStateCases(factories);
    for (const id of failing) await expect(cases[id](), id).rejects.toThrow();
  });
});
