import { afterEach, describe, expect, it, vi } from "vitest";
import { createEventBus } from "../src/bus.js";
import { isListenerError, isValidationError, type ListenerError } from "../src/errors.js";
import type { EventName } from "../src/events.js";
import { createNotifier } from "../src/notifier.js";
import { sampleEvents, sampleRun, sampleStats } from "../src/testing/fixtures.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe("createEventBus", () => {
  it("delivers a validated, completed event to typed listeners and returns it", () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.on("finished", (event) => {
      seen.push(`${event.event}:${event.stats.requests}:${event.run.name}`);
    });
    const event = bus.emit("finished", { run: sampleRun, stats: sampleStats, score: 0 });
    expect(seen).toEqual([`finished:${sampleStats.requests}:${sampleRun.name}`]);
    expect(event.id).toMatch(/^evt_/);
    expect(new Date(event.at).toISOString()).toBe(event.at);
    expect(event.score).toBe(0);
  });

  it("keeps a given id and time", () => {
    const bus = createEventBus();
    const event = bus.emit("started", { id: "evt_1", at: "2026-01-01T00:00:00.000Z", run: sampleRun });
    expect(event).toMatchObject({ id: "evt_1", at: "2026-01-01T00:00:00.000Z", event: "started" });
  });

  it("supports once and off", () => {
    const bus = createEventBus();
    const once = vi.fn();
    const always = vi.fn();
    bus.once("started", once);
    bus.on("started", always);
    bus.emit("started", { run: sampleRun });
    bus.emit("started", { run: sampleRun });
    bus.off("started", always);
    bus.emit("started", { run: sampleRun });
    expect(once).toHaveBeenCalledTimes(1);
    expect(always).toHaveBeenCalledTimes(2);
  });

  it("removes one attachment per off, and the unsubscribe function works", () => {
    const bus = createEventBus();
    const listener = vi.fn();
    bus.on("started", listener);
    const stop = bus.on("started", listener);
    bus.off("started", listener);
    bus.emit("started", { run: sampleRun });
    stop();
    bus.emit("started", { run: sampleRun });
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it.each<[string, EventName, unknown, string]>([
    ["a missing run", "started", {}, "event.run"],
    ["a run without a name", "started", { run: { id: "r", testId: "t" } }, "event.run.name"],
    ["an empty run id", "started", { run: { ...sampleRun, id: " " } }, "event.run.id"],
    [
      "a bad link URL",
      "started",
      { run: { ...sampleRun, links: [{ title: "x", url: "javascript:alert(1)" }] } },
      "event.run.links.0.url",
    ],
    [
      "stats without requests",
      "finished",
      { run: sampleRun, stats: { codes: {}, errors: {} } },
      "event.stats.requests",
    ],
    ["a bad timestamp", "started", { run: sampleRun, at: "yesterday" }, "event.at"],
    ["an unknown field", "started", { run: sampleRun, colour: "red" }, "event"],
  ])(
    "rejects %s with a validation error naming the field and emits nothing",
    (_label, name, payload, field) => {
      const bus = createEventBus();
      const listener = vi.fn();
      bus.on(name, listener);
      let error: unknown;
      try {
        bus.emit(name, payload as never);
      } catch (e) {
        error = e;
      }
      expect(isValidationError(error) && error.field).toBe(field);
      expect(listener).not.toHaveBeenCalled();
    },
  );

  // Issue 18 moved the limits to EVENT_LIMITS; the messages users and docs quote stay word for word.
  const run = { id: "r", testId: "t", name: "n" };
  const stats = { requests: 0, codes: {}, errors: {} };
  const entries = <T>(n: number, value: T): Record<string, T> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value]));
  const link = { title: "t", url: "https://example.com/" };
  it.each<[string, EventName, unknown, string]>([
    [
      "id",
      "started",
      { run: { ...run, id: "x".repeat(257) } },
      "event.run.id: must be at most 256 characters",
    ],
    [
      "name",
      "started",
      { run: { ...run, name: "x".repeat(10_001) } },
      "event.run.name: must be at most 10000 characters",
    ],
    [
      "environment",
      "started",
      { run: { ...run, environment: "x".repeat(201) } },
      "event.run.environment: Too big: expected string to have <=200 characters",
    ],
    [
      "links",
      "started",
      { run: { ...run, links: Array.from({ length: 21 }, () => link) } },
      "event.run.links: at most 20 links",
    ],
    [
      "link title",
      "started",
      { run: { ...run, links: [{ ...link, title: "x".repeat(201) }] } },
      "event.run.links.0.title: Too big: expected string to have <=200 characters",
    ],
    [
      "labels",
      "started",
      { run: { ...run, labels: entries(51, "v") } },
      "event.run.labels: at most 50 labels",
    ],
    [
      "label value",
      "started",
      { run: { ...run, labels: { k: "x".repeat(1001) } } },
      "event.run.labels.k: Too big: expected string to have <=1000 characters",
    ],
    [
      "webhooks",
      "started",
      { run: { ...run, webhooks: Object.keys(entries(101, 0)) } },
      "event.run.webhooks: at most 100 webhooks",
    ],
    [
      "last scores",
      "started",
      { run: { ...run, benchmark: { threshold: 1, lastScores: Array<number>(21).fill(1) } } },
      "event.run.benchmark.lastScores: at most 20 scores",
    ],
    [
      "a verdict's last scores",
      "benchmark_passed",
      {
        run,
        stats,
        benchmark: { score: 1, threshold: 1, passed: true, lastScores: Array<number>(21).fill(1) },
      },
      "event.benchmark.lastScores: Too big: expected array to have <=20 items",
    ],
    [
      "error kinds",
      "in_progress",
      { run, stats: { ...stats, errors: entries(1001, 1) } },
      "event.stats.errors: at most 1000 error kinds",
    ],
    [
      "an error's name",
      "failed",
      { run, error: { message: "m", name: "x".repeat(201) } },
      "event.error.name: Too big: expected string to have <=200 characters",
    ],
    [
      "a reason",
      "aborted",
      { run, reason: "x".repeat(10_001) },
      "event.reason: must be at most 10000 characters",
    ],
  ])("quotes the limit on %s word for word", (_label, name, payload, message) => {
    expect(() => createEventBus().emit(name, payload as never)).toThrow(`Invalid ${name} event: ${message}`);
  });

  it("rejects an unknown event name", () => {
    const bus = createEventBus();
    expect(() => bus.emit("exploded" as EventName, { run: sampleRun })).toThrow(/must be one of started/);
  });

  it("isolates listeners that throw or reject and reports them on the error channel", async () => {
    const bus = createEventBus();
    const errors: ListenerError[] = [];
    bus.on("error", (error) => {
      errors.push(error);
    });
    const after = vi.fn();
    bus.on("started", () => {
      throw new Error("sync boom");
    });
    bus.on("started", () => Promise.reject(new Error("async boom")));
    bus.on("started", after);
    expect(() => bus.emit("started", { run: sampleRun })).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(errors).toHaveLength(2));
    expect(errors.every(isListenerError)).toBe(true);
    expect(errors.map((e) => e.message)).toEqual([
      'A listener for "started" failed: Error: sync boom',
      'A listener for "started" failed: Error: async boom',
    ]);
    expect(errors[0]?.channel).toBe("started");
  });

  it("falls back to a process warning when nobody listens for errors, or the error listener fails", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const bus = createEventBus();
      bus.on("started", () => {
        throw new Error("unheard");
      });
      bus.emit("started", { run: sampleRun });
      expect(warn).toHaveBeenCalledTimes(1);

      bus.on("error", () => {
        throw new Error("error listener broken");
      });
      bus.emit("started", { run: sampleRun });
      // The original failure reached the error listener; its own failure went to the warning, once.
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[1]?.[0])).toContain("error listener broken");
    } finally {
      warn.mockRestore();
    }
  });
});

describe("regressions", () => {
  // regression: b90c099 (the same function attached twice: each attachment removes only itself)
  it("once and on with the same function each keep their own attachment", () => {
    const bus = createEventBus();
    const f = vi.fn();
    bus.on("started", f);
    const stopOnce = bus.once("started", f);
    bus.emit("started", { run: sampleEvents().started.run });
    bus.emit("started", { run: sampleEvents().started.run });
    expect(f).toHaveBeenCalledTimes(3);
    const g = vi.fn();
    bus.on("started", g);
    bus.once("started", g)();
    stopOnce();
    bus.emit("started", { run: sampleEvents().started.run });
    expect(g).toHaveBeenCalledTimes(1);
  });

  // regression: b90c099 (ordered nested publishing: a call's events go out together)
  it("a listener that makes the run emit cannot put an event before the ones already on their way", () => {
    const notifier = createNotifier();
    cleanup.push(() => notifier.close());
    const seen: string[] = [];
    const run = notifier.run({ id: "r", testId: "t", name: "n" });
    notifier.bus.on("started", () => run.aborted("from a listener"));
    for (const name of ["started", "in_progress", "aborted"] as const)
      notifier.bus.on(name, (e) => seen.push(e.event));
    run.stats({ requests: 1 });
    expect(seen).toEqual(["started", "in_progress", "aborted"]);
  });

  // regression: b90c099 (frozen events)
  it("events are frozen: a listener cannot change what webhooks receive", () => {
    const bus = createEventBus();
    bus.on("started", (event) => {
      (event.run as { name: string }).name = "MUTATED";
    });
    const errors: unknown[] = [];
    bus.on("error", (e) => errors.push(e));
    const event = bus.emit("started", { run: { id: "r", testId: "t", name: "original" } });
    expect(event.run.name).toBe("original");
    expect(errors).toHaveLength(1);
  });
});
