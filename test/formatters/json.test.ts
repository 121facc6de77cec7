import { describe, expect, it, vi } from "vitest";
import { deepFreeze } from "../../src/_freeze.js";
import { createEventBus } from "../../src/bus.js";
import { EVENT_NAMES, type RunEvent, type RunInfo } from "../../src/events.js";
import {
  envelope,
  envelopeBody,
  jsonFormatter,
  type JsonEnvelope,
  type PredatorJsonBody,
} from "../../src/formatters/json.js";
import { render } from "../../src/formatters/render.js";
import { createNotifier } from "../../src/notifier.js";
import type { RunHandle } from "../../src/run-tracker.js";
import { sampleEventList, sampleEventVariants, sampleEvents } from "../../src/testing/fixtures.js";
import { testContext } from "../../src/testing/formatter-contract.js";

describe("json format", () => {
  it("is the Standard Webhooks envelope whose data is the event, without routing ids", () => {
    const event = {
      ...sampleEvents().finished,
      run: { ...sampleEvents().finished.run, webhooks: ["a", "b"] },
    };
    const body = jsonFormatter().format(event, testContext()).body as JsonEnvelope;
    expect(body.type).toBe("finished");
    expect(body.timestamp).toBe(event.at);
    expect(body.data).toEqual({ ...sampleEvents().finished });
    expect(body.data.run).not.toHaveProperty("webhooks");
  });

  describe("Predator's JSON (predator: true)", () => {
    const predator = jsonFormatter({ name: "predator-json", predator: true });
    const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);
    const iso = (ms: number): string => new Date(ms).toISOString();

    const fullRun: RunInfo = {
      id: "run-full",
      testId: "test-7",
      name: "checkout flow",
      jobId: "job-3",
      environment: "staging",
      load: { duration: 600, arrivalRate: 50, rampTo: 100, runners: 2, maxVirtualUsers: 500 },
      links: [
        { title: "Report", url: "https://predator.example/reports/run-full" },
        { title: "Grafana dashboard", url: "https://grafana.example/d/run-full" },
      ],
      benchmark: { threshold: 80, lastScores: [88.2, 90.1] },
    };
    const minimalRun: RunInfo = { id: "run-min", testId: "test-min", name: "minimal" };

    type Step = (run: RunHandle) => void;
    /**
     * Runs `steps` on a real notifier's run, `gapMs` apart on a fake clock that starts at T0, and gives
     * each event it emits with the Predator body the notifier would send for it.
     */
    function runThrough(
      info: RunInfo,
      steps: Step[],
      gapMs = 5_000,
    ): { event: RunEvent; body: PredatorJsonBody }[] {
      vi.useFakeTimers({ toFake: ["Date"], now: T0 });
      const notifier = createNotifier({ formatters: [predator] });
      try {
        const events: RunEvent[] = [];
        for (const name of EVENT_NAMES) notifier.bus.on(name, (event) => events.push(event));
        const run = notifier.run(info);
        steps.forEach((step, i) => {
          vi.setSystemTime(T0 + i * gapMs);
          step(run);
        });
        return events.map((event) => ({
          event,
          body: JSON.parse(notifier.preview(event, "predator-json").body) as PredatorJsonBody,
        }));
      } finally {
        void notifier.close();
        vi.useRealTimers();
      }
    }

    const ok = { requests: 100, codes: { "200": 100 }, rps: 20 };
    const serverErrors = { requests: 100, codes: { "200": 90, "503": 10 }, rps: 20 };
    const bare = { requests: 100, codes: { "200": 100 } };

    /** Every path in `value` whose value is `null`. */
    function nullPaths(value: unknown, path = "body"): string[] {
      if (value === null) return [path];
      if (typeof value !== "object") return [];
      return Object.entries(value).flatMap(([key, inner]) => nullPaths(inner, `${path}.${key}`));
    }

    const REPORT_ALWAYS = ["test_id", "test_name", "report_id", "last_updated_at", "status"];
    const REPORT_FROM_RUN = [
      "job_id",
      "arrival_rate",
      "duration",
      "ramp_to",
      "parallelism",
      "max_virtual_users",
      "environment",
      "grafana_report",
    ];
    // What the statistics of a running run give (elapsed time, requests, the latest rps).
    const RUNNING = ["start_time", "duration_seconds", "avg_rps"];

    interface Case {
      label: string;
      info: RunInfo;
      steps: Step[];
      /** Per event the run emits, in order: the report's keys beyond REPORT_ALWAYS, and the other keys. */
      expected: [RunEvent["event"], string[], string[]][];
    }
    const full = (...keys: string[]): string[] => [...REPORT_FROM_RUN, ...keys];
    const cases: Case[] = [
      {
        label: "all run info, benchmark passed",
        info: fullRun,
        steps: [
          (r) => r.started(),
          (r) => r.stats(ok),
          (r) => r.stats(serverErrors),
          (r) => r.finished({ score: 91.5 }),
        ],
        expected: [
          ["started", full("start_time"), []],
          ["in_progress", full(...RUNNING, "last_rps"), []],
          ["api_failure", full(...RUNNING, "last_rps"), ["accumulatedStatusCodesCounter"]],
          [
            "benchmark_passed",
            full(...RUNNING, "last_rps", "end_time", "score"),
            ["aggregatedReport", "score", "lastScores", "benchmarkThreshold"],
          ],
          ["finished", full(...RUNNING, "last_rps", "end_time", "score"), ["aggregatedReport", "score"]],
        ],
      },
      {
        label: "all run info, benchmark failed",
        info: fullRun,
        steps: [(r) => r.started(), (r) => r.stats(ok), (r) => r.finished({ score: 62.4 })],
        expected: [
          ["started", full("start_time"), []],
          ["in_progress", full(...RUNNING, "last_rps"), []],
          [
            "benchmark_failed",
            full(...RUNNING, "last_rps", "end_time", "score"),
            ["aggregatedReport", "score", "lastScores", "benchmarkThreshold"],
          ],
          ["finished", full(...RUNNING, "last_rps", "end_time", "score"), ["aggregatedReport", "score"]],
        ],
      },
      {
        label: "all run info, aborted",
        info: fullRun,
        steps: [(r) => r.started(), (r) => r.stats(ok), (r) => r.aborted("stopped by operator")],
        expected: [
          ["started", full("start_time"), []],
          ["in_progress", full(...RUNNING, "last_rps"), []],
          ["aborted", full(...RUNNING, "last_rps", "end_time"), ["reason"]],
        ],
      },
      {
        label: "all run info, failed",
        info: fullRun,
        steps: [(r) => r.started(), (r) => r.stats(ok), (r) => r.failed(new Error("runner crashed"))],
        expected: [
          ["started", full("start_time"), []],
          ["in_progress", full(...RUNNING, "last_rps"), []],
          ["failed", full(...RUNNING, "last_rps", "end_time"), ["error"]],
        ],
      },
      {
        label: "only id, testId and name, finished without a score",
        info: minimalRun,
        steps: [
          (r) => r.started(),
          (r) => r.stats(bare),
          (r) => r.stats({ codes: { "500": 1 } }),
          (r) => r.finished(),
        ],
        expected: [
          ["started", ["start_time"], []],
          ["in_progress", RUNNING, []],
          ["api_failure", RUNNING, ["accumulatedStatusCodesCounter"]],
          ["finished", [...RUNNING, "end_time"], ["aggregatedReport"]],
        ],
      },
      {
        label: "only id, testId and name, score 0 against threshold 0",
        info: minimalRun,
        steps: [(r) => r.stats(bare), (r) => r.finished({ score: 0, threshold: 0 })],
        expected: [
          ["started", ["start_time"], []],
          // The first statistics start the run: no time has passed, so no average rate.
          ["in_progress", ["start_time", "duration_seconds"], []],
          [
            "benchmark_passed",
            [...RUNNING, "end_time", "score"],
            ["aggregatedReport", "score", "lastScores", "benchmarkThreshold"],
          ],
          ["finished", [...RUNNING, "end_time", "score"], ["aggregatedReport", "score"]],
        ],
      },
      {
        label: "only id, testId and name, benchmark failed",
        info: minimalRun,
        steps: [(r) => r.stats(bare), (r) => r.finished({ score: -1, threshold: 0 })],
        expected: [
          ["started", ["start_time"], []],
          // The first statistics start the run: no time has passed, so no average rate.
          ["in_progress", ["start_time", "duration_seconds"], []],
          [
            "benchmark_failed",
            [...RUNNING, "end_time", "score"],
            ["aggregatedReport", "score", "lastScores", "benchmarkThreshold"],
          ],
          ["finished", [...RUNNING, "end_time", "score"], ["aggregatedReport", "score"]],
        ],
      },
      {
        // Never started: the run has no start time, no elapsed time and no statistics.
        label: "only id, testId and name, aborted before it started",
        info: minimalRun,
        steps: [(r) => r.aborted()],
        expected: [["aborted", ["end_time"], []]],
      },
      {
        label: "only id, testId and name, failed before it started",
        info: minimalRun,
        steps: [(r) => r.failed()],
        expected: [["failed", ["end_time"], []]],
      },
    ];

    it.each(cases.map((c) => [c.label, c] as const))(
      "%s: exactly the keys the run supplies, no null",
      (_label, c) => {
        const sent = runThrough(c.info, c.steps);
        expect(sent.map(({ event }) => event.event)).toEqual(c.expected.map(([name]) => name));
        sent.forEach(({ event, body }, i) => {
          const [name, reportKeys, otherKeys] = c.expected[i] as Case["expected"][number];
          expect(Object.keys(body).sort(), name).toEqual(
            (c.info.jobId === undefined
              ? ["test_id", "event", "additional_details"]
              : ["test_id", "job_id", "event", "additional_details"]
            ).sort(),
          );
          expect(body.event).toBe(name);
          expect(body.test_id).toBe(c.info.testId);
          expect(Object.keys(body.additional_details).sort(), name).toEqual(["report", ...otherKeys].sort());
          expect(Object.keys(body.additional_details.report).sort(), name).toEqual(
            [...REPORT_ALWAYS, ...reportKeys].sort(),
          );
          expect(nullPaths(body), name).toEqual([]);
          const report = body.additional_details.report;
          expect(report).toMatchObject({
            test_id: c.info.testId,
            test_name: c.info.name,
            report_id: c.info.id,
            last_updated_at: event.at,
          });
          if (report.end_time !== undefined) expect(report.end_time).toBe(event.at);
        });
      },
    );

    it("fills the report from the run info, as Predator names it", () => {
      const [started] = runThrough(fullRun, [(r) => r.started()]);
      expect(started?.body).toEqual({
        test_id: "test-7",
        job_id: "job-3",
        event: "started",
        additional_details: {
          report: {
            test_id: "test-7",
            test_name: "checkout flow",
            report_id: "run-full",
            job_id: "job-3",
            start_time: iso(T0),
            arrival_rate: 50,
            duration: 600,
            ramp_to: 100,
            parallelism: 2,
            max_virtual_users: 500,
            last_updated_at: iso(T0),
            environment: "staging",
            status: "started",
            grafana_report: "https://grafana.example/d/run-full",
          },
        },
      });
      const counted = runThrough({ ...fullRun, load: { arrivalCount: 1000 }, links: [] }, [
        (r) => r.started(),
      ]);
      const report = counted[0]?.body.additional_details.report;
      expect(report?.arrival_count).toBe(1000);
      expect(report).not.toHaveProperty("arrival_rate");
      // Only a link that says it is Grafana's becomes grafana_report.
      expect(report).not.toHaveProperty("grafana_report");
    });

    it("start_time is the run's start in every event of the run, not the event's time", () => {
      for (const steps of [
        [
          (r) => r.started(),
          (r) => r.stats(ok),
          (r) => r.stats(serverErrors),
          (r) => r.finished({ score: 91.5 }),
        ],
        [(r) => r.started(), (r) => r.stats(ok), (r) => r.aborted("stop")],
        [(r) => r.started(), (r) => r.stats(ok), (r) => r.failed("boom")],
        // A runner that never calls started(): its first statistics start the run.
        [(r) => r.stats(ok), (r) => r.finished()],
      ] satisfies Step[][]) {
        const sent = runThrough(fullRun, steps, 7_000);
        const at = sent.map(({ event }) => Date.parse(event.at));
        expect(new Set(at).size, "the events are apart in time").toBeGreaterThan(1);
        for (const { event, body } of sent) {
          const report = body.additional_details.report;
          expect(report.start_time, event.event).toBe(iso(T0));
          const elapsed = Date.parse(event.at) - T0;
          if (event.event === "started") expect(report).not.toHaveProperty("duration_seconds");
          else expect(report.duration_seconds, event.event).toBe(elapsed / 1000);
        }
      }
    });

    it("gives the live statistics, the status and the score as Predator's report does", () => {
      const sent = runThrough(fullRun, [
        (r) => r.started(),
        (r) => r.stats(ok),
        (r) => r.stats(serverErrors),
        (r) => r.finished({ score: 91.5, stats: { requests: 100, codes: { "200": 100 }, rps: 25 } }),
      ]);
      const reports = Object.fromEntries(
        sent.map(({ event, body }) => [event.event, body.additional_details.report]),
      );
      expect(Object.fromEntries(Object.entries(reports).map(([name, r]) => [name, r.status]))).toEqual({
        started: "started",
        in_progress: "in_progress",
        api_failure: "in_progress",
        benchmark_passed: "finished",
        finished: "finished",
      });
      // 100 requests 5 s in, 200 at 10 s, 300 at 15 s.
      expect(reports.in_progress).toMatchObject({ last_rps: 20, avg_rps: 20, duration_seconds: 5 });
      expect(reports.api_failure).toMatchObject({ last_rps: 20, avg_rps: 20, duration_seconds: 10 });
      expect(reports.finished).toMatchObject({
        last_rps: 25,
        avg_rps: 20,
        duration_seconds: 15,
        score: 91.5,
      });
      expect(reports.finished?.end_time).toBe(iso(T0 + 15_000));
      expect(reports.benchmark_passed?.score).toBe(91.5);
    });

    it("api_failure: accumulatedStatusCodesCounter holds every status code of the run so far", () => {
      const sent = runThrough(minimalRun, [(r) => r.stats(ok), (r) => r.stats(serverErrors)]);
      const api = sent.find(({ event }) => event.event === "api_failure");
      expect(api?.body.additional_details.accumulatedStatusCodesCounter).toEqual({ "200": 190, "503": 10 });
    });

    it("benchmark events: score, lastScores as strings, benchmarkThreshold and the aggregated report", () => {
      const sent = runThrough(fullRun, [
        (r) => r.started(),
        (r) => r.stats({ ...serverErrors, errors: { ETIMEDOUT: 2 }, latency: { p95: 212 } }),
        (r) => r.finished({ score: 62.4 }),
      ]);
      const bench = sent.find(({ event }) => event.event === "benchmark_failed")?.body;
      expect(bench?.additional_details).toMatchObject({
        score: 62.4,
        lastScores: ["88.2", "90.1"],
        benchmarkThreshold: 80,
        aggregatedReport: {
          requestsCompleted: 100,
          codes: { "200": 90, "503": 10 },
          errors: { ETIMEDOUT: 2 },
          latency: { p95: 212 },
          rps: { mean: 20 },
        },
        report: { score: 62.4, status: "finished" },
      });
      const finished = sent.find(({ event }) => event.event === "finished")?.body;
      expect(finished?.additional_details.score).toBe(62.4);
      expect(finished?.additional_details).not.toHaveProperty("lastScores");
    });

    it("leaves out what the run does not know instead of sending null, job_id at the top included", () => {
      for (const event of sampleEventList({ id: "r", testId: "t", name: "n" })) {
        const text = render(predator, event, testContext()).body;
        expect(text, event.event).not.toContain("null");
        const body = JSON.parse(text) as PredatorJsonBody;
        expect(body, event.event).not.toHaveProperty("job_id");
        expect(body.additional_details.report, event.event).not.toHaveProperty("job_id");
      }
      const failed = predator.format({ ...sampleEvents().failed, error: undefined }, testContext())
        .body as PredatorJsonBody;
      expect(Object.keys(failed.additional_details)).toEqual(["report"]);
    });
  });

  describe("the body it sends", () => {
    const stringified = (event: RunEvent): string => JSON.stringify(envelope(event));
    const envelopeJson = (event: RunEvent): string => envelopeBody(event).body;

    it.each(EVENT_NAMES.map((name) => [name]))(
      "%s: is JSON.stringify of the envelope, to the byte",
      (name) => {
        const event = sampleEvents()[name];
        const routed = { ...event, run: { ...event.run, webhooks: ["a"] }, extra: undefined };
        for (const e of [event, deepFreeze(structuredClone(event)), routed] as RunEvent[]) {
          expect(envelopeJson(e)).toBe(stringified(e));
          // The second time the run's part may come from the cache: the text must not change.
          expect(envelopeJson(e)).toBe(stringified(e));
        }
        expect(render(jsonFormatter(), event, testContext()).body).toBe(stringified(event));
      },
    );

    it.each(Object.entries(sampleEventVariants()))(
      "%s: is JSON.stringify of the envelope, to the byte",
      (_name, event: RunEvent) => {
        for (const e of [event, deepFreeze(structuredClone(event))]) {
          expect(envelopeJson(e)).toBe(stringified(e));
          expect(envelopeJson(e)).toBe(stringified(e));
        }
      },
    );

    it("sends finished's benchmark, every latency key and the load phases, in the schema's order", () => {
      const bus = createEventBus();
      // Given in no particular order: the bus's validation puts the keys in the schema's order.
      const event = bus.emit("finished", {
        benchmark: { lastScores: [88.2], passed: false, threshold: 80, score: 62.4 },
        score: 62.4,
        stats: {
          elapsedMs: 61_000,
          rps: 196.4,
          latency: { count: 11_976, p999: 4870, p99: 2950, p95: 1240, p90: 610, p75: 140, p50: 61 },
          errors: { ETIMEDOUT: 24 },
          codes: { "503": 1680, "200": 10_296 },
          requests: 12_000,
        },
        run: {
          name: "checkout flow",
          testId: "test-7",
          id: "run-42",
          load: {
            phases: [
              { maxVirtualUsers: 500, rampTo: 50, arrivalRate: 5, duration: 120, name: "ramp" },
              { arrivalCount: 300, duration: 60 },
            ],
            runners: 2,
          },
        },
      });
      const text = render(jsonFormatter(), event, testContext()).body;
      expect(text).toBe(stringified(event));
      const { data } = JSON.parse(text) as { data: RunEvent & { event: "finished" } };
      expect(data.benchmark).toEqual({ score: 62.4, threshold: 80, passed: false, lastScores: [88.2] });
      expect(Object.keys(data.benchmark ?? {})).toEqual(["score", "threshold", "passed", "lastScores"]);
      expect(Object.keys(data.stats.latency ?? {})).toEqual([
        "p50",
        "p75",
        "p90",
        "p95",
        "p99",
        "p999",
        "count",
      ]);
      expect(data.run.load?.phases).toEqual([
        { name: "ramp", duration: 120, arrivalRate: 5, rampTo: 50, maxVirtualUsers: 500 },
        { duration: 60, arrivalCount: 300 },
      ]);
      expect(Object.keys(data.run.load?.phases?.[0] ?? {})).toEqual([
        "name",
        "duration",
        "arrivalRate",
        "rampTo",
        "maxVirtualUsers",
      ]);
      expect(text).toContain(
        `"load":{"runners":2,"phases":[{"name":"ramp","duration":120,"arrivalRate":5,"rampTo":50,"maxVirtualUsers":500},{"duration":60,"arrivalCount":300}]}`,
      );
    });

    it("is rebuilt when a run that is not frozen changes between events", () => {
      const event = structuredClone(sampleEvents().finished) as RunEvent;
      const before = envelopeJson(event);
      (event.run as { name: string }).name = "renamed";
      const after = envelopeJson(event);
      expect(after).not.toBe(before);
      expect(after).toBe(stringified(event));
      // Frozen at the top only: the labels inside can still change, so nothing is cached either.
      const shallow = { ...event, run: Object.freeze({ ...event.run, labels: { team: "a" } }) } as RunEvent;
      envelopeJson(shallow);
      (shallow.run.labels as Record<string, string>).team = "b";
      expect(envelopeJson(shallow)).toBe(stringified(shallow));
    });

    it("gives bytes that are the text in UTF-8, with multi-byte characters on both sides of the run", () => {
      const decode = (bytes: Uint8Array): string => new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      const base = sampleEvents().aborted;
      const run = deepFreeze({
        ...structuredClone(base.run),
        name: "Checkout — peak 🚦",
        labels: { note: "é" },
      });
      const event = { ...base, id: "evt_ü", run, reason: "stopped by 👩‍💻 — ok" } as RunEvent;
      for (let i = 0; i < 2; i++) {
        // The first call fills the run's cache, the second joins the cached bytes.
        const { body, bytes } = envelopeBody(event);
        expect(body).toBe(stringified(event));
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(decode(bytes as Uint8Array)).toBe(body);
      }
      const rendered = render(jsonFormatter(), event, testContext());
      expect(decode(rendered.bytes as Uint8Array)).toBe(rendered.body);
      expect(rendered.size).toBe(Buffer.byteLength(rendered.body));
      // A run that can change is serialised each time; the bytes are left to the caller then.
      const open = { ...event, run: { ...run } } as RunEvent;
      expect(envelopeBody(open)).toEqual({ body: stringified(open) });
    });

    it("follows an event's own toJSON, as JSON.stringify does", () => {
      const event = { ...sampleEvents().started, toJSON: () => ({ swapped: true }) } as RunEvent;
      expect(envelopeJson(event)).toBe(stringified(event));
      // A run that serialises to nothing leaves its key out, frozen (cacheable) or not.
      for (const run of [{ toJSON: () => undefined }, deepFreeze({ toJSON: () => undefined })]) {
        const hidden = { ...sampleEvents().started, run } as unknown as RunEvent;
        expect(envelopeBody(hidden)).toEqual({ body: stringified(hidden) });
        expect(envelopeBody(hidden)).toEqual({ body: stringified(hidden) });
      }
    });
  });
});
