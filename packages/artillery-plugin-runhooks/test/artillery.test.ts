/**
 * The plugin in a real Artillery (see helpers/artillery.ts for how it is installed and found), against
 * a loopback target that answers some 503s, notifying a loopback receiver. The runs go one after the
 * other: Artillery's start-up is CPU-bound (2 cores run four at once slower than in a row), 3-9 s each.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { successScore, verifyWebhook } from "runhooks";
import { startReceiver, type ReceivedRequest, type TestReceiver } from "runhooks/testing";
import {
  ARTILLERY_SKIP,
  artilleryVersion,
  installProject,
  readReport,
  runArtillery,
  startTarget,
} from "./helpers/artillery.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** A webhook's deliveries, as the JSON format sends them: `{ type, timestamp, data }`. */
interface Delivery {
  type: string;
  data: Record<string, unknown> & {
    run: Record<string, unknown>;
    stats?: { requests: number; codes: Record<string, number>; errors: Record<string, number> } & Record<
      string,
      unknown
    >;
  };
}

const received = (receiver: TestReceiver, path: string): ReceivedRequest[] =>
  receiver.requests.filter((request) => request.path === path);
const bodies = (receiver: TestReceiver, path: string): Delivery[] =>
  received(receiver, path).map((request) => request.json() as Delivery);
const types = (receiver: TestReceiver, path: string): string[] =>
  bodies(receiver, path).map((body) => body.type);

/** Waits until `path` got a delivery of `type` (or gives up after `ms`). */
async function arrival(receiver: TestReceiver, path: string, type: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!types(receiver, path).includes(type)) {
    if (Date.now() > until)
      throw new Error(`no "${type}" at ${path} within ${ms} ms: ${types(receiver, path).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The plugin's options for a run whose webhooks post to `<receiver>/<name>/…`. */
function plugin(receiverUrl: string, name: string, extra = ""): string {
  return `
  plugins:
    runhooks:
      network: { allowPrivate: true }
      webhooks:
        - { url: "${receiverUrl}/${name}/json", format: json, secret: ${SECRET} }${extra}`;
}

if (ARTILLERY_SKIP !== undefined) {
  it.skip(ARTILLERY_SKIP, () => undefined);
} else {
  describe(`artillery-plugin-runhooks in Artillery ${artilleryVersion()} on Node ${process.version}`, () => {
    let project: string;
    let receiver: TestReceiver;
    let target: Awaited<ReturnType<typeof startTarget>>;

    beforeAll(async () => {
      [project, receiver, target] = await Promise.all([
        installProject(),
        // The aborted run's deliveries are answered late: Artillery must still be there to get the answer.
        startReceiver({
          respond: async (request) => {
            if (request.path.startsWith("/aborted/"))
              await new Promise((resolve) => setTimeout(resolve, 300));
            return 200;
          },
        }),
        startTarget(),
      ]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([receiver.close(), target.close()]);
      rmSync(project, { recursive: true, force: true });
    });

    it("a finished run: every event once, in order; finished's totals are Artillery's report", async () => {
      const script = `
config:
  target: ${target.url}
  phases:
    - { name: warm up, duration: 1, arrivalRate: 10 }
    - { name: ramp, duration: 1, arrivalRate: 10, rampTo: 20 }
${plugin(receiver.url, "finished")}
        - { url: "{{ $env.CHAT_URL }}", events: "started, finished" }
      format: slack
      benchmark: { threshold: "{{ $env.THRESHOLD }}" }
      labels: { team: payments }
scenarios:
  - flow:
      - get: { url: "/finished" }
`;
      const artillery = runArtillery(project, "finished", script, {
        CHAT_URL: `${receiver.url}/finished/chat`,
        THRESHOLD: "95",
      });
      const result = await artillery.result;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toMatch(/runhooks:/);
      const report = readReport(project, "finished").aggregate;

      // Each event once, in lifecycle order; 1 in 7 answers is a 503, so the benchmark fails.
      expect(types(receiver, "/finished/json")).toEqual([
        "started",
        "in_progress",
        "api_failure",
        "benchmark_failed",
        "finished",
      ]);
      const chat = received(receiver, "/finished/chat").map(
        (request) => request.json() as Record<string, unknown>,
      );
      expect(chat).toHaveLength(2);
      expect(
        chat.every((message) => Array.isArray(message["blocks"]) || Array.isArray(message["attachments"])),
      ).toBe(true);

      const deliveries = bodies(receiver, "/finished/json");
      const finished = deliveries.at(-1)!.data;
      const counters = report.counters;
      const codes = Object.fromEntries(
        Object.entries(counters)
          .filter(([key]) => key.startsWith("http.codes."))
          .map(([key, n]) => [key.slice("http.codes.".length), n]),
      );
      expect(finished.stats!.codes).toEqual(codes);
      expect(codes["503"]).toBeGreaterThan(0);
      expect(finished.stats!.requests).toBe(counters["http.requests"]);
      expect(finished.stats!.errors).toEqual({});
      expect(finished.stats!["latency"]).toMatchObject({
        p95: report.summaries["http.response_time"]!["p95"],
        p99: report.summaries["http.response_time"]!["p99"],
        count: report.summaries["http.response_time"]!["count"],
      });
      const score = successScore({ requests: counters["http.requests"], codes });
      expect(finished["score"]).toBe(score);
      expect(finished["benchmark"]).toMatchObject({ score, threshold: 95, passed: false });
      // Elapsed by Artillery's clock, from the first phase's start to the last metric: about the 2 s the
      // phases last, not the seconds Artillery takes to flush and report.
      expect(finished.stats!["elapsedMs"]).toBeGreaterThan(1_500);
      expect(finished.stats!["elapsedMs"]).toBeLessThan(3_500);
      // A period is stamped with its last metric's time, not Artillery's later flush: its elapsed time
      // is within the run's.
      const progress = deliveries.find((delivery) => delivery.type === "in_progress")!.data;
      expect(progress.stats!["elapsedMs"]).toBeLessThanOrEqual(finished.stats!["elapsedMs"] as number);

      // The run as the plugin described it, from the script and Artillery.
      expect(finished.run).toMatchObject({
        name: "finished.yml",
        testId: "finished",
        labels: { team: "payments" },
        benchmark: { threshold: 95 },
        load: {
          duration: 2,
          arrivalRate: 20,
          phases: [
            { name: "warm up", duration: 1, arrivalRate: 10 },
            { name: "ramp", duration: 1, arrivalRate: 10, rampTo: 20 },
          ],
        },
      });
      expect(String(finished.run["id"])).toMatch(/^t/); // Artillery's test run id
      expect(result.stdout).toContain(`Test run id: ${String(finished.run["id"])}`);

      // Signed per Standard Webhooks.
      for (const request of received(receiver, "/finished/json"))
        expect(() => verifyWebhook(SECRET, request.headers, request.body)).not.toThrow();
    }, 60_000);

    it("SIGINT mid-run: aborted with the signal as its reason, delivered before Artillery exits", async () => {
      const script = `
config:
  target: ${target.url}
  phases:
    - { name: long, duration: 60, arrivalRate: 5 }
${plugin(receiver.url, "aborted")}
scenarios:
  - flow:
      - get: { url: "/aborted" }
`;
      const artillery = runArtillery(project, "aborted", script);
      await arrival(receiver, "/aborted/json", "started");
      // Some traffic first, so the run is truly under way.
      await new Promise((resolve) => setTimeout(resolve, 500));
      artillery.kill("SIGINT");
      const result = await artillery.result;
      expect(result.code, result.stderr).toBe(130);
      expect(types(receiver, "/aborted/json")).toEqual(["started", "aborted"]);
      const aborted = received(receiver, "/aborted/json").at(-1)!;
      expect((aborted.json() as Delivery).data["reason"]).toBe("stopped by SIGINT (exit code 130)");
      // close() was awaited in beforeExit: the receiver answered 300 ms after it got the delivery, and
      // Artillery exited after that (had it not waited, the delivery would have been abandoned).
      expect(result.exitedAt).toBeGreaterThanOrEqual(aborted.receivedAt + 300);
      expect(result.stderr).not.toMatch(/runhooks:/);
    }, 60_000);

    it("a wrong option: Artillery exits with code 1 before the test, naming the option", async () => {
      const script = `
config:
  target: ${target.url}
  phases:
    - { duration: 1, arrivalRate: 1 }
${plugin(receiver.url, "bad-option")}
      benchmark: { threshold: "{{ $env.THRESHOLD }}" }
scenarios:
  - flow:
      - get: { url: "/bad-option" }
`;
      const result = await runArtillery(project, "bad-option", script, { THRESHOLD: "high" }).result;
      expect(result.code).toBe(1);
      expect(result.stderr + result.stdout).toContain(
        "config.plugins.runhooks.benchmark.threshold: must be a number",
      );
      expect(received(receiver, "/bad-option/json")).toEqual([]);
    }, 60_000);

    it("a run that fails to start (its processor is missing): failed, delivered before Artillery exits", async () => {
      const script = `
config:
  target: ${target.url}
  processor: ./no-such-processor.js
  phases:
    - { duration: 1, arrivalRate: 1 }
${plugin(receiver.url, "failed")}
scenarios:
  - flow:
      - get: { url: "/failed" }
`;
      const result = await runArtillery(project, "failed", script).result;
      expect(result.code).toBe(11);
      expect(types(receiver, "/failed/json")).toEqual(["failed"]);
      const failed = bodies(receiver, "/failed/json")[0]!.data;
      expect(failed["error"]).toMatchObject({
        name: "ArtilleryExit",
        code: "EXIT_11",
        message: expect.stringContaining("Artillery exited with code 11 before the run finished") as unknown,
      });
    }, 60_000);
  });
}
