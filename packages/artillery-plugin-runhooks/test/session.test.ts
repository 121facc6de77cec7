/**
 * The session in this process, fed Artillery's signals by hand (the shapes its source emits), against a
 * loopback receiver: the cases a real run cannot produce on demand.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createNotifier } from "runhooks";
import { sqliteStore } from "runhooks/sqlite";
import { startReceiver, type TestReceiver } from "runhooks/testing";
import { nativeAddonProblem } from "../../../test/helpers/native.js";
import type { ArtilleryMetrics } from "../src/artillery.js";
import { readOptions } from "../src/options.js";
import { createSession, type Session } from "../src/session.js";

let receiver: TestReceiver;
let dir: string;
beforeAll(async () => {
  receiver = await startReceiver();
  dir = mkdtempSync(join(tmpdir(), "runhooks-plugin-session-"));
});
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

let runs = 0;
/** A session whose one JSON webhook posts to `<receiver>/<path>`; returns it and its events so far. */
function session(options: Record<string, unknown> = {}): {
  session: Session;
  types: () => string[];
  path: string;
} {
  const path = `/run-${++runs}`;
  const settings = readOptions(
    {
      network: { allowPrivate: true },
      webhooks: [{ url: `${receiver.url}${path}`, format: "json" }],
      ...options,
    },
    { testRunId: `t-${runs}`, scriptPath: join(dir, "script.yml"), env: {} },
  );
  const types = (): string[] =>
    receiver.requests.filter((r) => r.path === path).map((r) => (r.json() as { type: string }).type);
  return { session: createSession(settings, undefined), types, path };
}

/** Resolves once `count` events have arrived. */
async function arrived(types: () => string[], count: number): Promise<void> {
  while (types().length < count) await new Promise((resolve) => setTimeout(resolve, 5));
}

const period = (codes: Record<string, number>, at: number): ArtilleryMetrics => {
  const counters: Record<string, number> = {};
  let responses = 0;
  for (const [code, n] of Object.entries(codes)) {
    counters[`http.codes.${code}`] = n;
    responses += n;
  }
  counters["http.requests"] = responses;
  counters["http.responses"] = responses;
  return { counters, summaries: { "http.response_time": { p95: 20, count: responses } }, lastMetricAt: at };
};

describe("a session fed Artillery's signals", () => {
  it("started once at the first phase's start; done's totals finish the run, scored; beforeExit closes", async () => {
    const { session: s, types, path } = session({ benchmark: { threshold: 90 } });
    const t0 = Date.now() - 5_000;
    s.phaseStarted({ index: 0, startTime: t0 });
    s.phaseStarted({ index: 1, startTime: t0 + 1_000 });
    // An in_progress still queued behind `started` when the run ends is superseded, by design: here
    // each waits for the one before, as the seconds between Artillery's signals make them do.
    await arrived(types, 1);
    s.stats(period({ "200": 10 }, t0 + 1_000));
    await arrived(types, 2);
    s.stats(period({ "200": 8, "500": 2 }, t0 + 2_000));
    s.phaseCompleted({ index: 1, endTime: t0 + 3_000 });
    s.done(period({ "200": 18, "500": 2 }, t0 + 2_900));
    await s.beforeExit({ exitCode: 0, report: {} });
    expect(s.closed).toBe(true);
    expect(types()).toEqual(["started", "in_progress", "api_failure", "benchmark_passed", "finished"]);
    const finished = receiver.requests
      .filter((r) => r.path === path)
      .at(-1)!
      .json() as {
      data: { at: string; score: number; stats: { requests: number; elapsedMs: number } };
    };
    expect(finished.data.score).toBe(90);
    expect(finished.data.stats.requests).toBe(20);
    // From the first phase's start to the last phase's end (later than the last metric).
    expect(finished.data.stats.elapsedMs).toBe(3_000);
    expect(finished.data.at).toBe(new Date(t0 + 3_000).toISOString());
  });

  it("an early stop: aborted with the signal; a period Artillery emits afterwards is ignored quietly", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const { session: s, types } = session();
    s.phaseStarted({ index: 0, startTime: Date.now() });
    const closing = s.beforeExit({ earlyStop: true, exitCode: 143, report: {} });
    s.stats(period({ "200": 3 }, Date.now()));
    await closing;
    expect(types()).toEqual(["started", "aborted"]);
    expect(receiver.requests.at(-1)!.json()).toMatchObject({
      data: { reason: "stopped by SIGTERM (exit code 143)" },
    });
    expect(error).not.toHaveBeenCalled();
  });

  it("beforeExit without done and without an early stop: failed, with the exit code", async () => {
    const { session: s, types, path } = session();
    await s.beforeExit({ exitCode: 7, report: {} });
    expect(types()).toEqual(["failed"]);
    const body = receiver.requests.find((r) => r.path === path)!.json() as { data: { error: unknown } };
    expect(body.data.error).toEqual({
      name: "ArtilleryExit",
      code: "EXIT_7",
      message: "Artillery exited with code 7 before the run finished",
    });
  });

  it("process.exit() without a graceful shutdown: failed; after done it changes nothing", async () => {
    const early = session();
    await early.session.exitedEarly(11);
    expect(early.types()).toEqual(["failed"]);
    const late = session();
    late.session.phaseStarted({ index: 0, startTime: Date.now() });
    late.session.done(period({ "200": 1 }, Date.now()));
    await late.session.exitedEarly(1);
    expect(late.types()).toEqual(["started", "finished"]);
  });

  it("a score module: its default export scores; one that throws is logged and the run finishes unscored", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    writeFileSync(join(dir, "p95.mjs"), "export default (stats) => (stats.latency.p95 < 50 ? 100 : 0);\n");
    writeFileSync(join(dir, "broken.mjs"), "export function score() { throw new Error('no data'); }\n");
    const good = session({ score: "./p95.mjs", benchmark: { threshold: 50 } });
    good.session.phaseStarted({ index: 0, startTime: Date.now() });
    good.session.done(period({ "200": 4 }, Date.now()));
    await good.session.beforeExit({ exitCode: 0, report: {} });
    expect(good.types()).toEqual(["started", "benchmark_passed", "finished"]);

    const broken = session({ score: "./broken.mjs", benchmark: { threshold: 50 } });
    broken.session.phaseStarted({ index: 0, startTime: Date.now() });
    broken.session.done(period({ "200": 4 }, Date.now()));
    await broken.session.beforeExit({ exitCode: 0, report: {} });
    expect(broken.types()).toEqual(["started", "finished"]);
    expect(error).toHaveBeenCalledWith("runhooks: the score function threw; the run is not scored: no data");
  });

  it("a missing score module, or a bad webhook definition, is an error of the option", () => {
    expect(() => session({ score: "./nope.mjs" })).toThrow(
      /^config\.plugins\.runhooks\.score: no such file: /,
    );
    const settings = readOptions({ webhooks: [{ url: "ftp://example.com/x" }] }, { env: {} });
    expect(() => createSession(settings, undefined)).toThrow(
      /^config\.plugins\.runhooks\.webhooks\[0\]\.url: /,
    );
  });

  it("a delivery that fails for good is logged with a runhooks: prefix, its URL masked", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const gone = await startReceiver({ respond: () => 404 });
    const settings = readOptions(
      {
        network: { allowPrivate: true },
        webhooks: [{ url: `${gone.url}/secret-token`, format: "json", events: ["failed"] }],
      },
      { env: {} },
    );
    await createSession(settings, undefined).beforeExit({ exitCode: 1, report: {} });
    await gone.close();
    const lines = error.mock.calls.map((call) => String(call[0]));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^runhooks: "failed" to .* \(http:\/\/127\.0\.0\.1:\d+\) was not delivered: http_404 \(HttpError: /,
    );
    expect(lines[0]).not.toContain("secret-token");
  });

  it("a host name resolving to a private address is refused at connect time, and logged", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const port = new URL(receiver.url).port;
    const settings = readOptions(
      { webhooks: [{ url: `http://localhost:${port}/private`, format: "json" }] },
      { env: {} },
    );
    await createSession(settings, undefined).beforeExit({ exitCode: 1, report: {} });
    expect(receiver.requests.filter((r) => r.path === "/private")).toEqual([]);
    expect(String(error.mock.calls[0]?.[0])).toMatch(
      /^runhooks: "failed" to localhost:\d+ .* was not delivered: blocked \(ERR_ADDRESS_BLOCKED: /,
    );
  });

  it("an IP literal in a refused range is an error of the option, before the test", () => {
    const settings = readOptions({ webhooks: [{ url: "http://127.0.0.1:9/x" }] }, { env: {} });
    expect(() => createSession(settings, undefined)).toThrow(
      /^config\.plugins\.runhooks\.webhooks\[0\]\.url: /,
    );
  });
});

const noSqlite = await nativeAddonProblem("better-sqlite3");

describe("with sqlite: the webhooks stored in the file", () => {
  if (noSqlite !== undefined) {
    it.skip(`needs better-sqlite3, which cannot load on Node ${process.version}: ${noSqlite}`, () =>
      undefined);
    return;
  }

  it("its global webhooks fire for the run, and a listed id names an ad hoc one", async () => {
    const file = join(dir, "hooks.db");
    const store = sqliteStore({ file });
    const admin = createNotifier({ store, network: { allowPrivate: true } });
    const events = ["started", "finished"] as const;
    await admin.webhooks.create({
      name: "all",
      url: `${receiver.url}/db/global`,
      format: "json",
      events,
      global: true,
    });
    const adHoc = await admin.webhooks.create({
      name: "one",
      url: `${receiver.url}/db/ad-hoc`,
      format: "json",
      events,
    });
    await admin.webhooks.create({ name: "other", url: `${receiver.url}/db/unused`, format: "json", events });
    await admin.close();
    store.close();

    const settings = readOptions(
      { sqlite: "./hooks.db", webhooks: [adHoc.id], network: { allowPrivate: true } },
      {
        scriptPath: join(dir, "script.yml"),
        env: {},
      },
    );
    const s = createSession(settings, undefined);
    s.phaseStarted({ index: 0, startTime: Date.now() });
    s.done(period({ "200": 3 }, Date.now()));
    await s.beforeExit({ exitCode: 0, report: {} });
    const paths = receiver.requests.filter((r) => r.path.startsWith("/db/")).map((r) => r.path);
    expect(paths.sort()).toEqual(["/db/ad-hoc", "/db/ad-hoc", "/db/global", "/db/global"]);
  });
});
