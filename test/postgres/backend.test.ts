// runhooks/postgres's postgresBackend() under real notifiers on one PostgreSQL server: several notifiers
// fed the same run's signals send each event once, in order, with the totals of all of them; a closed
// notifier's work is taken over; a server restart mid-run loses nothing; and options that are wrong say
// so. The tests with real processes killed by SIGKILL are in multi-process.test.ts.
import { describe, expect, it } from "vitest";
import { createNotifier, type Notifier } from "runhooks";
import { postgresBackend, postgresStore, type PostgresStore } from "runhooks/postgres";
import { startReceiver, type TestReceiver } from "runhooks/testing";
import type { DeliveryReport } from "../../src/delivery/types.js";
import type { RunhooksError } from "../../src/errors.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { receiverHook } from "../helpers/webhooks.js";
import {
  adminPool,
  backendSuite,
  cleanupAfterEach,
  freshSchema,
  NODE_PROBLEM,
  ownServer,
  ownServerSuite,
} from "../helpers/postgres.js";

const cleanup = cleanupAfterEach();

interface Opened {
  notifier: Notifier;
  store: PostgresStore;
  reports: DeliveryReport[];
  errors: RunhooksError[];
}

/** A notifier whose backend and store share `schema`; closed after the test unless closed before. */
function open(
  url: string,
  schema: string,
  extra: Parameters<typeof createNotifier>[0] = {},
  lookupDelayMs = 0,
): Opened {
  const store = postgresStore({ connectionString: url, schema });
  const list = store.list.bind(store);
  const notifier = createNotifier({
    network: LOOPBACK,
    retry: { retries: 8, minDelayMs: 20, maxDelayMs: 40 },
    circuitBreaker: false,
    backend: postgresBackend({ connectionString: url, schema, leaseMs: 1000, pollMs: 20 }),
    // A store slow to answer `list` (the webhook lookup of each event) when lookupDelayMs is given.
    store:
      lookupDelayMs === 0
        ? store
        : Object.assign(Object.create(store) as PostgresStore, {
            list: async (filter?: Parameters<PostgresStore["list"]>[0]) => {
              await new Promise((resolve) => setTimeout(resolve, lookupDelayMs));
              return list(filter);
            },
          }),
    ...extra,
  });
  const reports: DeliveryReport[] = [];
  const errors: RunhooksError[] = [];
  notifier.on("delivery", (r) => reports.push(r));
  notifier.on("error", (e) => errors.push(e));
  cleanup.push(async () => {
    await notifier.close({ timeoutMs: 200 });
    await store.close();
  });
  return { notifier, store, reports, errors };
}

/** A global json webhook at `<receiver>/<path>` for the run's lifecycle events; resolves its id. */
async function webhook(opened: Opened, receiver: TestReceiver, path: string): Promise<string> {
  const events = ["started", "in_progress", "finished", "aborted"] as const;
  return (await receiverHook(opened.notifier, receiver, path, { events: [...events] })).id;
}

const RUN = { id: "run-1", testId: "t-1", name: "checkout" };
const batch = (requests: number): { requests: number; codes: Record<string, number> } => ({
  requests,
  codes: { "200": requests },
});
interface Body {
  type: string;
  data: { stats?: { requests: number; codes: Record<string, number> } };
}
const bodies = (receiver: TestReceiver, path = ""): Body[] =>
  receiver.requests.filter((r) => r.path.startsWith(`/${path}`)).map((r) => r.json() as Body);

async function count(schema: string, table: string): Promise<number> {
  const { rows } = await adminPool().query(`SELECT count(*)::int AS n FROM "${schema}".${table}`);
  return (rows[0] as { n: number }).n;
}

backendSuite("postgresBackend(): one notifier", (url) => {
  it("delivers a run's events in order, and leaves no delivery behind once drained", async () => {
    const schema = freshSchema("one");
    await using receiver = await startReceiver();
    const opened = open(url, schema);
    await webhook(opened, receiver, "a");
    const run = opened.notifier.run(RUN);
    run.started();
    run.stats(batch(10));
    // Flushed before finished, which would otherwise supersede the in_progress still queued.
    await opened.notifier.flush();
    run.finished();
    await opened.notifier.flush();
    expect(bodies(receiver).map((b) => b.type)).toEqual(["started", "in_progress", "finished"]);
    expect(opened.errors).toEqual([]);
    expect(await count(schema, "deliveries")).toBe(0);
    expect(await count(schema, "bodies")).toBe(0);
    expect(await count(schema, "outbox")).toBe(3);
    expect(await count(schema, "fanouts")).toBe(3);
  });

  it("keeps no URL, configured header or secret in its tables or in pg-boss's", async () => {
    const schema = freshSchema("secrets");
    await using receiver = await startReceiver({ respond: () => 503 });
    const opened = open(url, schema, { retry: { retries: 50, minDelayMs: 200, maxDelayMs: 200 } });
    await opened.notifier.webhooks.create({
      name: "secretive",
      url: `${receiver.url}/path-token-abc`,
      format: "json",
      events: ["started"],
      global: true,
      secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
      headers: { authorization: "Bearer header-token-xyz" },
    });
    opened.notifier.run(RUN).started();
    await receiver.waitFor(2);
    const dump = async (s: string): Promise<string> => {
      const { rows } = await adminPool().query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'webhooks'`,
        [s],
      );
      let text = "";
      for (const { table_name } of rows as Array<{ table_name: string }>) {
        const all = await adminPool().query(`SELECT * FROM "${s}"."${table_name}"`);
        text += JSON.stringify(all.rows);
      }
      return text;
    };
    const everything = (await dump(schema)) + (await dump(`${schema}_queue`));
    expect(everything).toContain("started");
    for (const secret of ["path-token-abc", "header-token-xyz", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"])
      expect(everything).not.toContain(secret);
  });
});

backendSuite("postgresBackend(): three notifiers fed the same run's signals", (url) => {
  it("send each event once per webhook, in lifecycle order, and finished carries everyone's totals", async () => {
    const schema = freshSchema("three");
    await using receiver = await startReceiver();
    const a = open(url, schema);
    const b = open(url, schema);
    const c = open(url, schema);
    await webhook(a, receiver, "x");
    await webhook(a, receiver, "y");
    const runs = [a, b, c].map((o) => o.notifier.run(RUN));
    const flushAll = async (): Promise<void> => {
      for (const o of [a, b, c]) await o.notifier.flush();
    };
    // Each signal reaches every process at about the same time; the next one comes later (a batch
    // that reached the database before any started would be ignored: the run had not started).
    for (const run of runs) run.started();
    await flushAll();
    runs.forEach((run, i) => run.stats(batch(10 * (i + 1))));
    await flushAll();
    for (const run of runs) run.finished();
    await flushAll();

    const ids = receiver.requests.map((r) => String(r.headers["webhook-id"]));
    expect(new Set(ids).size, "one request per webhook-id").toBe(ids.length);
    for (const path of ["x", "y"]) {
      const types = bodies(receiver, path).map((body) => body.type);
      expect(
        types.filter((t) => t !== "in_progress"),
        `lifecycle order for ${path}`,
      ).toEqual(["started", "finished"]);
      expect(types.indexOf("finished")).toBe(types.length - 1);
      const finished = bodies(receiver, path).find((body) => body.type === "finished");
      expect(finished?.data.stats?.requests, "10 + 20 + 30 from the three processes").toBe(60);
      expect(finished?.data.stats?.codes).toEqual({ "200": 60 });
    }
    for (const o of [a, b, c]) expect(o.errors).toEqual([]);
  });

  it("a later event claimed by another process waits for the earlier one's fan-out: each lane stays in order", async () => {
    const schema = freshSchema("order");
    await using receiver = await startReceiver();
    // a's webhook lookups take 400 ms: its `started` is recorded at once, and fanned out late.
    const slow = open(url, schema, {}, 400);
    const fast = open(url, schema);
    await webhook(fast, receiver, "a");
    slow.notifier.run(RUN).started();
    await expect.poll(() => count(schema, "outbox")).toBe(1);
    fast.notifier.run(RUN).finished();
    await fast.notifier.flush();
    await slow.notifier.flush();
    expect(bodies(receiver).map((body) => body.type)).toEqual(["started", "finished"]);
    expect([...slow.errors, ...fast.errors]).toEqual([]);
  });

  it("a closed notifier's delivery in progress is taken over by another, which continues its lane in order", async () => {
    const schema = freshSchema("takeover");
    let failing = true;
    await using receiver = await startReceiver({ respond: () => (failing ? 503 : 200) });
    const a = open(url, schema);
    const b = open(url, schema);
    await webhook(a, receiver, "a");
    const run = a.notifier.run(RUN);
    run.started();
    run.finished();
    await receiver.waitFor(2);
    await a.notifier.close({ timeoutMs: 20 });
    failing = false;
    await expect
      .poll(() => b.reports.filter((r) => r.outcome === "delivered").length, { timeout: 5000 })
      .toBe(2);
    expect(b.reports.filter((r) => r.outcome === "delivered").map((r) => r.event)).toEqual([
      "started",
      "finished",
    ]);
    const delivered = receiver.requests.slice(-2).map((r) => (r.json() as Body).type);
    expect(delivered).toEqual(["started", "finished"]);
  });
});

backendSuite("postgresBackend(): past maxQueued", (url) => {
  it("takes back from the webhook holding the most: a dead endpoint's retries do not crowd out a healthy one", async () => {
    const schema = freshSchema("fair");
    await using dead = await startReceiver({ respond: () => 503 });
    await using healthy = await startReceiver();
    const opened = open(url, schema, {
      maxQueued: 5,
      retry: { retries: 100, minDelayMs: 200, maxDelayMs: 400 },
    });
    const deadId = await webhook(opened, dead, "dead");
    await webhook(opened, healthy, "ok");
    const [r1, r2] = ["r1", "r2"].map((id) => opened.notifier.run({ ...RUN, id }));
    if (r1 === undefined || r2 === undefined) throw new Error("two runs");
    // What the queue holds once the healthy webhook's delivery of each step is done: the dead one's.
    const held = (): number => opened.notifier.stats().queued + opened.notifier.stats().inFlight;
    // The dead webhook ends up holding 4: two lane heads retrying, an in_progress behind each.
    for (const run of [r1, r2]) run.started();
    await expect.poll(held).toBe(2);
    r1.stats(batch(1));
    await expect.poll(held).toBe(3);
    r2.stats(batch(1));
    await expect.poll(held).toBe(4);
    expect(healthy.requests).toHaveLength(4);
    // Room for one: r1's finished (to both) takes back the dead webhook's oldest in_progress (never a
    // lane's head), and the healthy webhook still gets its message.
    r1.finished();
    await expect.poll(() => healthy.requests.length).toBe(5);
    expect((healthy.requests.at(-1)?.json() as Body).type).toBe("finished");
    const drops = opened.reports.filter((r) => r.outcome === "dropped");
    expect(drops.map((r) => [r.event, r.runId, r.reason, r.webhookId === deadId])).toEqual([
      ["in_progress", "r1", "overflow", true],
    ]);
    const { rows } = await adminPool().query(
      `SELECT event, run_id FROM "${schema}".deliveries ORDER BY run_id, seq`,
    );
    expect(rows).toEqual([
      { event: "started", run_id: "r1" },
      { event: "finished", run_id: "r1" },
      { event: "started", run_id: "r2" },
      { event: "in_progress", run_id: "r2" },
    ]);
  });
});

backendSuite("postgresBackend(): one circuit breaker per webhook for every process", (url) => {
  it("failures add up across processes, the circuit opens for all, and one probe goes out at a time", async () => {
    const schema = freshSchema("circuits");
    let up = false;
    const answers: number[] = [];
    await using receiver = await startReceiver({
      respond: () => {
        answers.push(up ? 200 : 503);
        return up ? 200 : 503;
      },
    });
    const breaker = { circuitBreaker: { failures: 3, probeAfterMs: 1500 } };
    const a = open(url, schema, breaker);
    const b = open(url, schema, breaker);
    const warnings: string[] = [];
    for (const o of [a, b]) o.notifier.on("warning", (w) => warnings.push(w.code));
    const id = await webhook(a, receiver, "a");
    a.notifier.run({ ...RUN, id: "r1" }).started();
    // a's attempts open the circuit; b sees it with its next heartbeat (a third of leaseMs).
    await expect.poll(() => b.notifier.circuits().map((c) => c.webhookId), { timeout: 3000 }).toEqual([id]);
    expect(answers).toEqual([503, 503, 503]);
    const probeAt = Date.parse(b.notifier.circuits()[0]?.probeAt ?? "");
    b.notifier.run({ ...RUN, id: "r2" }).started();
    // Held back in b as in a: nothing reaches the endpoint before the probe is due.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, probeAt - Date.now() - 150)));
    expect(answers).toHaveLength(3);
    up = true;
    await expect.poll(() => answers.length, { timeout: 5000 }).toBe(5);
    // One probe (from either process) closed it; then the other delivery went out, nothing more.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answers).toEqual([503, 503, 503, 200, 200]);
    expect(warnings.sort(), "each change reported once, by the process that made it").toEqual([
      "circuit_closed",
      "circuit_open",
    ]);
    await expect.poll(() => [...a.notifier.circuits(), ...b.notifier.circuits()]).toEqual([]);
  });
});

backendSuite("postgresBackend(): rate limits shared by every process", (url) => {
  it("two backends on one schema take from one bucket per webhook, on the server's clock", async () => {
    const schema = freshSchema("limits");
    const backends = [0, 1].map(() => postgresBackend({ connectionString: url, schema }));
    cleanup.push(() => Promise.all(backends.map((b) => b.close?.() ?? Promise.resolve())));
    const [a, b] = backends.map((backend) => backend.rateLimits?.());
    if (a === undefined || b === undefined) throw new Error("postgresBackend() shares no rate limits");
    const limit = { perSecond: 2, burst: 3 };
    // The burst of 3 is for both: the third request from either process is the last to go at once.
    expect([await a.take("w1", limit), await b.take("w1", limit), await a.take("w1", limit)]).toEqual([
      0, 0, 0,
    ]);
    const wait = await b.take("w1", limit);
    expect(wait).toBeGreaterThan(400);
    expect(wait).toBeLessThanOrEqual(500);
    // Another webhook has its own bucket.
    expect(await b.take("w2", limit)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, wait));
    expect(await a.take("w1", limit)).toBe(0);
    expect(await b.take("w1", limit)).toBeGreaterThan(400);
  });
});

ownServerSuite("postgresBackend(): the server restarts mid-run (a server of the test's own)", () => {
  it("runner calls never throw, and no event is lost", async () => {
    const server = ownServer();
    cleanup.push(() => server.stop());
    await using receiver = await startReceiver();
    const opened = open(server.url, "restart");
    await webhook(opened, receiver, "a");
    const run = opened.notifier.run(RUN);
    run.started();
    await opened.notifier.flush();
    server.down();
    // Made while the server is down: recorded once it is back, in order.
    expect(() => run.stats(batch(5))).not.toThrow();
    const flushed = opened.notifier.flush();
    await new Promise((resolve) => setTimeout(resolve, 500));
    server.up();
    await flushed;
    server.down();
    server.up();
    expect(() => run.finished()).not.toThrow();
    await opened.notifier.flush();
    expect(bodies(receiver).map((b) => b.type)).toEqual(["started", "in_progress", "finished"]);
    expect(bodies(receiver).at(-1)?.data.stats?.requests).toBe(5);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(3);
    // Reported while it lasted, with what follows.
    expect(opened.errors.map((e) => e.message).join("\n")).toMatch(/tried again until the server answers/);
  });
});

describe("postgresBackend(): options", () => {
  // One of the two, for the Node this runs on (CI runs both: Node 20, and 22 and later).
  if (NODE_PROBLEM !== undefined)
    it("refuses Node < 22.12, saying what to do", () => {
      expect(() => postgresBackend({ connectionString: "postgres://x@127.0.0.1/db" })).toThrow(
        /needs Node ≥ 22\.12 \(its queue is pg-boss 12\).*Upgrade Node/,
      );
    });
  else
    it("names the option that is wrong", () => {
      expect(() => postgresBackend({ connectionString: "postgres://x@127.0.0.1/db", leaseMs: 5 })).toThrow(
        /postgresBackend\(\{ leaseMs \}\).*at least 100/,
      );
      expect(() => postgresBackend({})).toThrow(/give connectionString/);
    });
});
