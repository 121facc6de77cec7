import { describe, expect, it } from "vitest";
import { deepFreeze } from "../../src/_freeze.js";
import { EVENT_NAMES, type RunEvent } from "../../src/events.js";
import {
  envelope,
  envelopeBody,
  jsonFormatter,
  type JsonEnvelope,
  type PredatorJsonBody,
} from "../../src/formatters/json.js";
import { render } from "../../src/formatters/render.js";
import { sampleEvents } from "../../src/testing/fixtures.js";
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

  it("speaks Predator's JSON when asked, for receivers written for Predator", () => {
    const predator = jsonFormatter({ name: "predator-json", predator: true });
    expect(predator.name).toBe("predator-json");
    const events = sampleEvents();
    const bench = predator.format(events.benchmark_passed, testContext()).body as PredatorJsonBody;
    expect(bench).toMatchObject({
      test_id: "test-7",
      job_id: "job-3",
      event: "benchmark_passed",
      additional_details: {
        report: {
          report_id: "run-42",
          test_id: "test-7",
          test_name: "checkout flow",
          environment: "staging",
          parallelism: 2,
        },
        score: 91.5,
        lastScores: ["88.2", "90.1"],
        benchmarkThreshold: 80,
        aggregatedReport: { requestsCompleted: 12_000, codes: { "200": 11_800, "404": 40, "503": 160 } },
      },
    });
    const api = predator.format(events.api_failure, testContext()).body as PredatorJsonBody;
    expect(api.additional_details.accumulatedStatusCodesCounter).toEqual({ "503": 160 });
    const started = predator.format(events.started, testContext()).body as PredatorJsonBody;
    expect(Object.keys(started.additional_details)).toEqual(["report"]);
    const failed = predator.format({ ...events.failed, error: undefined }, testContext())
      .body as PredatorJsonBody;
    expect(failed.event).toBe("failed");
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
