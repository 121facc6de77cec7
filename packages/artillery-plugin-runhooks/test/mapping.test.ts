import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exitError, stopReason } from "../src/exit.js";
import { seconds, toLoadProfile } from "../src/load.js";
import { toBatch } from "../src/metrics.js";
import { guessFormat, OPTION_NAMES, readOptions, type Defaults } from "../src/options.js";
import { optionOf } from "../src/session.js";

const summary = {
  min: 1,
  max: 90,
  count: 50,
  mean: 12.5,
  p50: 10,
  median: 10,
  p75: 14,
  p90: 30,
  p95: 41.3,
  p99: 80,
  p999: 90,
};

describe("toBatch(): Artillery metrics as a runhooks batch", () => {
  it("codes, request errors, requests completed, latency and rate", () => {
    const batch = toBatch({
      period: "1796410100000",
      counters: {
        "http.requests": 52,
        "http.responses": 48,
        "http.codes.200": 40,
        "http.codes.503": 8,
        "errors.ECONNREFUSED": 1,
        "errors.ETIMEDOUT": 2,
        "errors.Failed capture or match": 5,
        "errors.cookie_parse_error_invalid_cookie": 1,
        "vusers.created": 52,
        "plugins.metrics-by-endpoint./.codes.200": 40,
      },
      rates: { "http.request_rate": 26 },
      summaries: { "http.response_time": { ...summary, extra: 3 }, "vusers.session_length": summary },
    });
    // 48 answers and 3 requests without one; a failed capture came after an answer, so it is neither.
    expect(batch).toEqual({
      requests: 51,
      codes: { "200": 40, "503": 8 },
      errors: { ECONNREFUSED: 1, ETIMEDOUT: 2 },
      latency: summary,
      rps: 26,
    });
  });

  it("keys Artillery left out stay out; values that are not counts are ignored", () => {
    expect(toBatch({})).toEqual({});
    expect(toBatch({ counters: { "vusers.created": 3 } })).toEqual({});
    expect(toBatch({ counters: { "http.responses": 0 } })).toEqual({ requests: 0 });
    expect(
      toBatch({
        counters: { "http.codes.200": 1.5, "http.codes.abc": 2, "http.codes.200x": 1, "http.responses": -1 },
        summaries: { "http.response_time": { p95: Number.NaN, count: 2.5 } },
        rates: { "http.request_rate": "fast" },
      }),
    ).toEqual({});
    expect(toBatch({ counters: { "errors.EPIPE": 2 } })).toEqual({ requests: 2, errors: { EPIPE: 2 } });
  });
});

describe("toLoadProfile(): config.phases", () => {
  it("phases in order, the total duration and the peak rate", () => {
    expect(
      toLoadProfile([
        { name: "warm up", duration: 60, arrivalRate: 5 },
        { pause: "30s" },
        { name: "ramp", duration: "2m", arrivalRate: "5", rampTo: 50, maxVusers: 200 },
        { name: "count", duration: 10, arrivalCount: 100 },
      ]),
    ).toEqual({
      duration: 220,
      arrivalRate: 50,
      phases: [
        { name: "warm up", duration: 60, arrivalRate: 5 },
        { duration: 30 },
        { name: "ramp", duration: 120, arrivalRate: 5, rampTo: 50, maxVirtualUsers: 200 },
        { name: "count", duration: 10, arrivalCount: 100 },
      ],
    });
  });

  it("a single phase is also the profile's own fields", () => {
    expect(toLoadProfile([{ name: "steady", duration: 10, arrivalRate: 3 }])).toEqual({
      duration: 10,
      arrivalRate: 3,
      phases: [{ name: "steady", duration: 10, arrivalRate: 3 }],
    });
  });

  it("values it cannot read are left out, never thrown on; at most 50 phases", () => {
    expect(toLoadProfile(undefined)).toBeUndefined();
    expect(toLoadProfile([])).toBeUndefined();
    expect(toLoadProfile([{ duration: "soon", arrivalRate: -1, arrivalCount: 2.5 }, "x"])).toEqual({
      phases: [{}, {}],
    });
    const many = Array.from({ length: 60 }, () => ({ duration: 1, arrivalRate: 1 }));
    expect(toLoadProfile(many)?.phases).toHaveLength(50);
  });

  it("durations as Artillery reads them (the ms package's units)", () => {
    expect([
      seconds(5),
      seconds("5"),
      seconds("5m"),
      seconds("1.5 hours"),
      seconds("500ms"),
      seconds("x"),
    ]).toEqual([5, 5, 300, 5400, 0.5, undefined]);
  });
});

const defaults: Defaults = {
  testRunId: "tabc_123",
  nameTag: "checkout.yml",
  scriptPath: "/tests/load/checkout.yml",
  env: {},
};
const hook = { url: "https://hooks.slack.com/services/T0/B0/x" };

describe("readOptions(): config.plugins.runhooks", () => {
  it("defaults from the script and Artillery", () => {
    const settings = readOptions({ webhooks: [hook] }, defaults);
    expect(settings).toEqual({
      webhooks: [{ ...hook, format: "slack" }],
      sqlite: undefined,
      run: { id: "tabc_123", testId: "checkout", name: "checkout.yml" },
      score: undefined,
      network: undefined,
      closeTimeoutMs: 30_000,
    });
    expect(readOptions({ webhooks: [hook] }, { ...defaults, env: { RUNHOOKS_RUN_ID: "ci-77" } }).run.id).toBe(
      "ci-77",
    );
    expect(readOptions({ webhooks: [hook] }, { ...defaults, configName: "Checkout" }).run.name).toBe(
      "Checkout",
    );
    expect(readOptions({ webhooks: [hook] }, { env: {} }).run.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("every option, with strings where {{ $env.X }} gives them", () => {
    const settings = readOptions(
      {
        webhooks: [
          { url: "https://example.com/a" },
          { url: "https://example.com/b", format: "json", events: ["finished"] },
        ],
        format: "discord",
        events: "started, finished",
        runId: "r1",
        testId: "t1",
        name: "Checkout",
        environment: "staging",
        tenant: "acme",
        labels: { team: "payments", build: 42, canary: true },
        links: [{ title: "Grafana", url: "https://grafana.example.com/d/1" }],
        benchmark: { threshold: "90", lastScores: ["88.5", 91] },
        score: "./score.js",
        network: { allowPrivate: "true", allow: ["10.0.0.0/8"] },
        closeTimeoutMs: "5000",
        sqlite: "./hooks.db",
      },
      defaults,
    );
    expect(settings).toEqual({
      webhooks: [
        { url: "https://example.com/a", format: "discord", events: ["started", "finished"] },
        { url: "https://example.com/b", format: "json", events: ["finished"] },
      ],
      sqlite: "/tests/load/hooks.db",
      run: {
        id: "r1",
        testId: "t1",
        name: "Checkout",
        environment: "staging",
        tenant: "acme",
        labels: { team: "payments", build: "42", canary: "true" },
        links: [{ title: "Grafana", url: "https://grafana.example.com/d/1" }],
        benchmark: { threshold: 90, lastScores: [88.5, 91] },
      },
      score: "/tests/load/score.js",
      network: { allowPrivate: true, allow: ["10.0.0.0/8"] },
      closeTimeoutMs: 5000,
    });
  });

  it.each([
    [
      { webhooks: [hook], thresold: 1 },
      "config.plugins.runhooks.thresold: unknown option; check the spelling",
    ],
    [{}, "config.plugins.runhooks.webhooks: no webhook to notify"],
    [
      { webhooks: [{}] },
      "config.plugins.runhooks.webhooks[0].url: is missing or empty (is the environment variable",
    ],
    [{ webhooks: [hook, { url: 3 }] }, "config.plugins.runhooks.webhooks[1].url: must be a string"],
    [{ webhooks: ["id-1"] }, "config.plugins.runhooks.webhooks[0]: a webhook id needs the webhooks' store"],
    [{ webhooks: [hook], events: ["finish"] }, "config.plugins.runhooks.events[0]: not an event name"],
    [
      { webhooks: [hook], benchmark: { threshold: "high" } },
      "config.plugins.runhooks.benchmark.threshold: must be a number",
    ],
    [{ webhooks: [hook], benchmark: {} }, "config.plugins.runhooks.benchmark.threshold: is required"],
    [
      { webhooks: [hook], benchmark: { threshold: 1, last: [] } },
      "config.plugins.runhooks.benchmark.last: unknown option",
    ],
    [
      { webhooks: [hook], labels: { a: [1] } },
      "config.plugins.runhooks.labels.a: must be a string, number or boolean",
    ],
    [
      { webhooks: [hook], links: [{ title: "x" }] },
      "config.plugins.runhooks.links[0]: needs a title and a url",
    ],
    [
      { webhooks: [hook], network: { allowPrivate: "yes" } },
      "config.plugins.runhooks.network.allowPrivate: must be true or false",
    ],
    [
      { webhooks: [hook], closeTimeoutMs: "soon" },
      "config.plugins.runhooks.closeTimeoutMs: must be a number",
    ],
    ["on", "config.plugins.runhooks: must be an object"],
  ])("%j → %s", (options, message) => {
    expect(() => readOptions(options, defaults)).toThrow(message);
  });

  it("no webhooks but a store: its global webhooks fire; ids name its ad hoc ones", () => {
    expect(readOptions({ sqlite: "./hooks.db" }, defaults).webhooks).toEqual([]);
    expect(readOptions({ sqlite: "./hooks.db", webhooks: ["id-1"] }, defaults).webhooks).toEqual(["id-1"]);
  });
});

describe("small mappings", () => {
  it("guessFormat(): from the URL's host", () => {
    expect(
      [
        "https://hooks.slack.com/services/T/B/x",
        "https://discord.com/api/webhooks/1/x",
        "https://prod-01.westeurope.logic.azure.com/workflows/x",
        "https://acme.webhook.office.com/webhookb2/x",
        "https://example.com/hook",
        "not a url",
      ].map(guessFormat),
    ).toEqual(["slack", "discord", "teams", "teams", "json", "json"]);
  });

  it("optionOf(): the option behind a run-info field runhooks rejected", () => {
    expect(optionOf("info.webhooks.0.url")).toBe("config.plugins.runhooks.webhooks[0].url");
    expect(optionOf("info.id")).toBe("config.plugins.runhooks.runId");
    expect(optionOf("info.links.1.url")).toBe("config.plugins.runhooks.links[1].url");
    expect(optionOf("info.load.phases.0.name")).toBe("config.phases");
  });

  it("stopReason() and exitError(): what an early stop and an early exit say", () => {
    expect([stopReason(130), stopReason(143), stopReason(undefined), stopReason(1)]).toEqual([
      "stopped by SIGINT (exit code 130)",
      "stopped by SIGTERM (exit code 143)",
      "stopped early",
      "stopped early (exit code 1)",
    ]);
    expect(exitError(11)).toMatchObject({
      name: "ArtilleryExit",
      code: "EXIT_11",
      message:
        "Artillery exited with code 11 before the run finished: a worker failed (see Artillery's output above)",
    });
    expect(exitError(undefined).message).toBe("Artillery exited with code 0 before the run finished");
  });
});

it("the README's table of options lists every option, and no other", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Options"), readme.indexOf("### Webhook definitions"));
  const rows = [...section.matchAll(/^\| `(\w+)` /gm)].map((match) => match[1]);
  expect(rows.sort()).toEqual([...OPTION_NAMES].sort());
});
