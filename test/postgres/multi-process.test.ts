// runhooks/postgres with real processes on one PostgreSQL server and a real receiver on 127.0.0.1:
// three runner processes fed the same run's signals send each event once by webhook-id, in lifecycle
// order, with everyone's totals; the process holding a retrying delivery is killed with SIGKILL and
// another finishes the lane in order; a Slack webhook's rate limit holds across three processes; and a
// database restart mid-run loses no event while no runner call throws.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { createNotifier } from "runhooks";
import { postgresStore } from "runhooks/postgres";
import { startReceiver, type ReceivedRequest, type TestReceiver } from "runhooks/testing";
import type { WebhookInput } from "../../src/webhooks/model.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { receiverHook } from "../helpers/webhooks.js";
import {
  backendSuite,
  cleanupAfterEach,
  freshSchema,
  ownServer,
  ownServerSuite,
} from "../helpers/postgres.js";

const RUNNER = fileURLToPath(new URL("./fixtures/pg-runner.ts", import.meta.url));
const LIFECYCLE = ["started", "in_progress", "finished"] as const;

const cleanup = cleanupAfterEach();

type Line = Record<string, unknown>;
interface Runner {
  readonly child: ChildProcess;
  /** Parsed stdout lines so far. */
  readonly lines: Line[];
  /** Sends a command and resolves with its `done` line. */
  send(command: Line): Promise<Line>;
  /** Resolves with the first line, from `from` on, for which `match` holds. */
  until(match: (line: Line) => boolean, from?: number): Promise<Line>;
}

/** Starts a runner process (fixtures/pg-runner.ts) on `url`'s `schema`; resolves once it is ready. */
async function runner(url: string, schema: string, env: Record<string, string> = {}): Promise<Runner> {
  const child = spawn(process.execPath, ["--import", "tsx", RUNNER], {
    env: { ...process.env, PG_URL: url, PG_SCHEMA: schema, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const lines: Line[] = [];
  const waiting = new Set<() => void>();
  const exited = new Promise<string>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve(`the runner exited (${code ?? signal})`);
    });
  });
  createInterface({ input: child.stdout }).on("line", (text) => {
    lines.push(JSON.parse(text) as Line);
    for (const wake of waiting) wake();
  });
  const until = (match: (line: Line) => boolean, from = 0): Promise<Line> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const found = lines.slice(from).find(match);
        if (found === undefined) return;
        waiting.delete(look);
        resolve(found);
      };
      waiting.add(look);
      look();
      void exited.then((why) => {
        reject(new Error(`${why} while waiting; its lines: ${JSON.stringify(lines)}`));
      });
    });
  await until((line) => line.ready === true);
  return {
    child,
    lines,
    until,
    send(command) {
      const from = lines.length;
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return until((line) => line.done === command.do, from);
    },
  };
}

/** Creates webhooks in `schema`'s store with a notifier of the test's own, then closes it. */
async function webhooks(
  url: string,
  schema: string,
  receiver: TestReceiver,
  hooks: Array<{ path: string } & Partial<WebhookInput>>,
): Promise<void> {
  const store = postgresStore({ connectionString: url, schema });
  const notifier = createNotifier({ network: LOOPBACK, store });
  for (const { path, ...extra } of hooks) await receiverHook(notifier, receiver, path, extra);
  await notifier.close();
  await store.close();
}

interface Body {
  type: string;
  data: { stats?: { requests: number } };
}
const typeOf = (request: ReceivedRequest): string => (request.json() as Body).type;
const on = (requests: readonly ReceivedRequest[], path: string): ReceivedRequest[] =>
  requests.filter((r) => r.path === `/${path}`);

backendSuite("postgresBackend(): runner processes on one database", (url) => {
  it("three processes fed the same run's signals send each event once, in order, with everyone's totals", async () => {
    const schema = freshSchema("mp_three");
    await using receiver = await startReceiver();
    await webhooks(url, schema, receiver, [{ path: "x" }, { path: "y" }]);
    const runners = await Promise.all([0, 1, 2].map(() => runner(url, schema)));
    const all = (command: Line | ((i: number) => Line)): Promise<unknown> =>
      Promise.all(runners.map((r, i) => r.send(typeof command === "function" ? command(i) : command)));
    // Each signal reaches every process at about the same time; each flush lets the next signal come
    // after the previous one is out, as a run's signals are seconds apart.
    await all({ do: "started" });
    await all({ do: "flush" });
    await all((i) => ({ do: "stats", requests: 10 * (i + 1) }));
    await all({ do: "flush" });
    await all({ do: "finished" });
    await all({ do: "flush" });

    const ids = receiver.requests.map((r) => String(r.headers["webhook-id"]));
    expect(new Set(ids).size, "one request per webhook-id").toBe(ids.length);
    for (const path of ["x", "y"]) {
      const types = on(receiver.requests, path).map(typeOf);
      expect(types[0], `${path}: started first`).toBe("started");
      expect(types.at(-1), `${path}: finished last`).toBe("finished");
      expect(types.filter((t) => t !== "in_progress")).toEqual(["started", "finished"]);
      const finished = on(receiver.requests, path).at(-1)?.json() as Body;
      expect(finished.data.stats?.requests, "10 + 20 + 30 from the three processes").toBe(60);
    }
    const errors = runners.flatMap((r) => r.lines.filter((line) => "error" in line));
    expect(errors.map((line) => line.error)).toEqual([]);
    expect(runners.flatMap((r) => r.lines.filter((line) => "threw" in line))).toEqual([]);
  }, 60_000);

  it("SIGKILL of the process holding a retrying delivery: another finishes the lane, in order", async () => {
    const schema = freshSchema("mp_kill");
    let up = false;
    const refused: ReceivedRequest[] = [];
    const answered: ReceivedRequest[] = [];
    await using receiver = await startReceiver({
      respond: (request) => {
        (up ? answered : refused).push(request);
        return up ? 200 : 503;
      },
    });
    await webhooks(url, schema, receiver, [{ path: "a", events: [...LIFECYCLE] }]);
    const doomed = await runner(url, schema);
    await doomed.send({ do: "started" });
    await doomed.send({ do: "stats", requests: 5 });
    await doomed.send({ do: "finished" });
    // Its `started` is being retried (503s), and the rest of the lane waits behind it. The survivor
    // starts now, so that the job being retried is the doomed process's.
    await receiver.waitFor(3, 10_000);
    const survivor = await runner(url, schema);
    await receiver.waitFor(refused.length + 1, 10_000);
    doomed.child.kill("SIGKILL");
    await new Promise((resolve) => doomed.child.once("exit", resolve));
    // A request it wrote just before it died may still be read, and must be refused like the others.
    await new Promise((resolve) => setTimeout(resolve, 200));
    up = true;
    // pg-boss gives the job to another worker once its heartbeat (10 s at least) has stopped.
    await expect
      .poll(() => answered.map(typeOf).filter((t) => t !== "in_progress"), { timeout: 40_000, interval: 200 })
      .toEqual(["started", "finished"]);
    expect(new Set(refused.map(typeOf)), "nothing overtook the retried `started`").toEqual(
      new Set(["started"]),
    );
    expect(answered.map(typeOf).at(-1)).toBe("finished");
    // Each event was answered 2xx once, under the webhook-id of its retries.
    const ids = answered.map((r) => String(r.headers["webhook-id"]));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe(String(refused[0]?.headers["webhook-id"]));
    // Its reports follow the receiver's answers.
    const delivered = (): unknown[] =>
      survivor.lines
        .flatMap((line) =>
          (line.report as Line | undefined)?.outcome === "delivered" ? [(line.report as Line).event] : [],
        )
        .filter((event) => event !== "in_progress");
    await expect.poll(delivered).toEqual(["started", "finished"]);
  }, 60_000);

  it("a process stalled past its heartbeat stops working on the delivery another took over: nothing goes out twice", async () => {
    const schema = freshSchema("mp_stall");
    let up = false;
    const answered: ReceivedRequest[] = [];
    await using receiver = await startReceiver({
      respond: (request) => {
        if (up) answered.push(request);
        return up ? 200 : 503;
      },
    });
    await webhooks(url, schema, receiver, [{ path: "a", events: [...LIFECYCLE] }]);
    const stalled = await runner(url, schema);
    await stalled.send({ do: "started" });
    await stalled.send({ do: "finished" });
    await receiver.waitFor(3, 10_000);
    const survivor = await runner(url, schema);
    // Blocked for longer than pg-boss's heartbeat (10 s) and its supervise pass (2 s): the survivor
    // takes the job over meanwhile. A request written just before the stall is still refused.
    const before = receiver.requests.length;
    const resumed = stalled.send({ do: "stall", ms: 16_000 });
    // The receiver must have answered that request (503) before it starts answering 200: on a loaded
    // machine it can take the receiver more than a moment to read it. At most 5 s of the 16 s stall.
    const deadline = Date.now() + 5_000;
    while (receiver.requests.length === before && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    up = true;
    await resumed;
    await stalled.until((line) => typeof line.error === "string" && line.error.includes("lost delivery"));
    await survivor.send({ do: "flush" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered.map(typeOf), "each event answered 2xx once, in order").toEqual(["started", "finished"]);
    const sent = (r: Runner): unknown[] =>
      r.lines.flatMap((line) =>
        (line.report as Line | undefined)?.outcome === "delivered" ? [line.report] : [],
      );
    expect(sent(stalled)).toEqual([]);
    expect(sent(survivor)).toHaveLength(2);
  }, 60_000);

  it("a Slack webhook's rate limit holds across three processes", async () => {
    const schema = freshSchema("mp_rate");
    await using receiver = await startReceiver();
    await webhooks(url, schema, receiver, [{ path: "slack", format: "slack", events: [...LIFECYCLE] }]);
    // Slack's real limit (1/s, bursts of 3) at a quicker pace, so that the test takes seconds.
    const limit = { perSecond: 4, burst: 2 };
    const env = { PG_RATE_LIMITS: JSON.stringify({ slack: limit }) };
    const runners = await Promise.all([0, 1, 2].map(() => runner(url, schema, env)));
    await Promise.all(runners.map((r, i) => r.send({ do: "runs", count: 2, prefix: `p${i}` })));
    await Promise.all(runners.map((r) => r.send({ do: "flush" })));

    const times = receiver.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
    // Six runs of three events, less the in_progress a finished superseded before it went out.
    expect(times.length).toBeGreaterThanOrEqual(12);
    // Any second holds at most the burst plus a second's tokens: processes on their own buckets would
    // each send that much (three times the fleet's limit).
    const slack = 60; // ms of scheduling jitter between the token's time and the request's arrival
    for (const [i, start] of times.entries()) {
      const within = times.slice(i).filter((t) => t < start + 1000 - slack).length;
      expect(within, `requests in the second from request ${i}`).toBeLessThanOrEqual(
        limit.burst + limit.perSecond,
      );
    }
    // And all of them took at least the time their tokens came at (the first one may have been late).
    const spanMs = (times.at(-1) ?? 0) - (times[0] ?? 0);
    expect(spanMs).toBeGreaterThanOrEqual(((times.length - 1 - limit.burst) / limit.perSecond) * 1000);
  }, 60_000);
});

ownServerSuite(
  "postgresBackend(): runner processes while the database restarts (a server of the test's own)",
  () => {
    it("no event is lost, no runner call throws, and each goes out once", async () => {
      const server = ownServer();
      cleanup.push(() => server.stop());
      const schema = "restart";
      await using receiver = await startReceiver();
      await webhooks(server.url, schema, receiver, [{ path: "a", events: [...LIFECYCLE] }]);
      const runners = await Promise.all([0, 1].map(() => runner(server.url, schema)));
      const all = (command: Line): Promise<Line[]> => Promise.all(runners.map((r) => r.send(command)));
      await all({ do: "started" });
      await all({ do: "flush" });
      server.down();
      // Made while the server is down: each call returns at once, and is recorded once it is back.
      await all({ do: "stats", requests: 7 });
      const flushed = all({ do: "flush" });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      server.up();
      await flushed;
      await all({ do: "finished" });
      await all({ do: "flush" });

      const types = on(receiver.requests, "a").map(typeOf);
      expect(types).toEqual(["started", "in_progress", "finished"]);
      const ids = receiver.requests.map((r) => String(r.headers["webhook-id"]));
      expect(new Set(ids).size).toBe(ids.length);
      expect((receiver.requests.at(-1)?.json() as Body).data.stats?.requests).toBe(14);
      expect(runners.flatMap((r) => r.lines.filter((line) => "threw" in line))).toEqual([]);
      // Reported while it lasted, with what follows.
      const errors = runners.flatMap((r) =>
        r.lines.flatMap((line) => (typeof line.error === "string" ? [line.error] : [])),
      );
      expect(errors.join("\n")).toMatch(/tried again until the server answers/);
    }, 90_000);
  },
);
