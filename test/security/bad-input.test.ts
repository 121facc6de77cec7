import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isValidationError, isStoreError } from "../../src/errors.js";
import { EVENT_NAMES, type EventName } from "../../src/events.js";
import { createNotifier, type Notifier } from "../../src/notifier.js";
import { memoryStore } from "../../src/webhooks/store/memory.js";
import type { SubscriptionStore } from "../../src/webhooks/store/types.js";
import { sampleRecord } from "../../src/testing/store-contract.js";

// Bad input from a runner either works or throws a ValidationError naming the field, synchronously.
// Nothing else may escape, and nothing may reject unhandled.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeAll(() => process.on("unhandledRejection", onUnhandled));
afterAll(() => process.off("unhandledRejection", onUnhandled));
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) await n.close({ timeoutMs: 500 });
  expect(unhandled).toEqual([]);
});

function make(store?: SubscriptionStore): Notifier {
  // A transport that never touches the network: these tests are about input, not delivery.
  const transport = {
    send: () => Promise.resolve({ status: 200, headers: {}, body: "" }),
    close: () => Promise.resolve(),
  };
  const n = createNotifier({ transport, ...(store && { store }) });
  n.on("error", () => undefined);
  n.on("warning", () => undefined);
  notifiers.push(n);
  return n;
}

const worksOrValidation = (fn: () => unknown): void => {
  try {
    fn();
  } catch (error) {
    expect(isValidationError(error), `unexpected ${String(error)}`).toBe(true);
    if (isValidationError(error)) expect(error.field.length).toBeGreaterThan(0);
  }
};

const valueArb = fc.oneof(
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withNullPrototype: true,
  }),
  fc.record(
    {
      requests: fc.anything(),
      codes: fc.anything(),
      errors: fc.anything(),
      latency: fc.anything(),
      rps: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.string(), fc.anything()),
);

describe("bad input never hurts the runner", () => {
  it("notifier.run(anything)", () => {
    const notifier = make();
    fc.assert(
      fc.property(valueArb, (value) => worksOrValidation(() => notifier.run(value as never))),
      { numRuns: 300 },
    );
  });

  it("every run method with anything", () => {
    const notifier = make();
    let i = 0;
    fc.assert(
      fc.property(
        fc.constantFrom("started", "stats", "aborted", "failed", "finished"),
        valueArb,
        (method, value) => {
          const run = notifier.run({ id: `run-${(i += 1) % 7}`, testId: "t", name: "n" });
          worksOrValidation(() => (run[method] as (arg: unknown) => void)(value));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("bus.emit(any name, anything)", () => {
    const notifier = make();
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...EVENT_NAMES), fc.string()), valueArb, (name, value) => {
        worksOrValidation(() => notifier.bus.emit(name as EventName, value as never));
      }),
      { numRuns: 300 },
    );
  });

  it("formatters with arbitrary user text and numbers always render, within their limits", () => {
    const notifier = make();
    const text = fc.string({ unit: "grapheme", maxLength: 300 });
    fc.assert(
      fc.property(
        fc.record({
          name: text.filter((s) => s.trim().length > 0),
          environment: fc.option(
            text.filter((s) => s.trim().length > 0 && s.length <= 200),
            { nil: undefined },
          ),
          reason: text,
          message: fc.string({ maxLength: 12_000 }),
          requests: fc.nat(),
          code: fc.constantFrom("200", "404", "500", "503"),
          count: fc.nat(),
          p95: fc.double({ min: 0, max: 1e9, noNaN: true }),
          score: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        }),
        (x) => {
          const run = {
            id: "r",
            testId: "t",
            name: x.name,
            ...(x.environment !== undefined && { environment: x.environment }),
          };
          const stats = {
            requests: x.requests,
            codes: { [x.code]: x.count },
            errors: {},
            latency: { p95: x.p95 },
          };
          const at = "2026-01-01T00:00:00.000Z";
          const events = [
            { id: "e1", event: "aborted" as const, at, run, reason: x.reason, stats },
            { id: "e2", event: "failed" as const, at, run, error: { message: x.message } },
            {
              id: "e3",
              event: "benchmark_failed" as const,
              at,
              run,
              stats,
              benchmark: { score: x.score, threshold: 0, passed: x.score >= 0, lastScores: [] },
            },
          ];
          for (const event of events) {
            for (const format of ["slack", "teams", "discord", "json"]) {
              const preview = notifier.preview(event, format);
              expect(() => JSON.parse(preview.body) as unknown).not.toThrow();
              if (format === "teams") expect(preview.size).toBeLessThanOrEqual(28_000);
              if (format === "discord")
                expect((JSON.parse(preview.body) as { content: string }).content.length).toBeLessThanOrEqual(
                  2000,
                );
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a store that returns anything is reported, and the runner never notices", async () => {
    let answer: unknown = [];
    const store: SubscriptionStore = { ...memoryStore(), list: () => Promise.resolve(answer as never) };
    const notifier = make(store);
    const problems: unknown[] = [];
    notifier.on("error", (e) => problems.push(e));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(valueArb, fc.array(fc.oneof(valueArb, fc.constant(sampleRecord({ global: true }))))),
        async (value) => {
          answer = value;
          const run = notifier.run({ id: `store-run-${(n += 1)}`, testId: "t", name: "n" });
          expect(() => run.started()).not.toThrow();
          await notifier.flush();
        },
      ),
      { numRuns: 200 },
    );
    expect(problems.every(isStoreError)).toBe(true);
    expect(problems.length).toBeGreaterThan(0);
  });
});
