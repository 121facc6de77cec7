// runhooks/sqlite's sqliteBackend(): events committed to the file before the runner's call returns, a
// notifier on the same file resuming what an earlier one left (attempt state, order, deadlines), durable
// run state, leases between two backends, and clear errors for files it cannot use. The crash tests with
// real processes killed by SIGKILL are in sqlite-crash.test.ts.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createNotifier, type Notifier } from "runhooks";
import { sqliteBackend, sqliteStore, type SqliteStore } from "runhooks/sqlite";
import { startReceiver, type TestReceiver } from "runhooks/testing";
import type { Driver } from "../../src/backends/sqlite/database.js";
import type { RunhooksError } from "../../src/errors.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import { LOOPBACK } from "../helpers/loopback.js";
import { receiverHook } from "../helpers/webhooks.js";
import { nativeAddonProblem } from "../helpers/native.js";

const problem = await nativeAddonProblem("better-sqlite3");
const SKIP = `needs better-sqlite3, which cannot load on Node ${process.version}: ${problem}`;

const dir = mkdtempSync(join(tmpdir(), "runhooks-backend-"));
chmodSync(dir, 0o755);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const fresh = (name = "case"): string => join(dir, `${name}-${++n}.db`);
const raw = (): Driver => createRequire(import.meta.url)("better-sqlite3") as Driver;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function suite(title: string, body: () => void): void {
  describe(title, () => {
    if (problem !== undefined) it.skip(SKIP, () => undefined);
    else body();
  });
}

interface Opened {
  notifier: Notifier;
  store: SqliteStore;
  reports: DeliveryReport[];
  errors: RunhooksError[];
}

/** A notifier whose backend and store share `file`; closed after the test unless closed before. */
function open(file: string, extra: Parameters<typeof createNotifier>[0] = {}, leaseMs?: number): Opened {
  const store = sqliteStore({ file });
  const notifier = createNotifier({
    network: LOOPBACK,
    retry: { retries: 8, minDelayMs: 20, maxDelayMs: 40 },
    circuitBreaker: false,
    backend: sqliteBackend({ file, ...(leaseMs !== undefined && { leaseMs }) }),
    store,
    ...extra,
  });
  const reports: DeliveryReport[] = [];
  const errors: RunhooksError[] = [];
  notifier.on("delivery", (r) => reports.push(r));
  notifier.on("error", (e) => errors.push(e));
  cleanup.push(async () => {
    await notifier.close({ timeoutMs: 200 });
    store.close();
  });
  return { notifier, store, reports, errors };
}

/** A global json webhook at `<receiver>/<path>` for the run's lifecycle events; resolves its id. */
async function webhook(opened: Opened, receiver: TestReceiver, path: string): Promise<string> {
  const events = ["started", "in_progress", "finished", "aborted"] as const;
  return (await receiverHook(opened.notifier, receiver, path, { events: [...events] })).id;
}

const RUN = { id: "run-1", testId: "t-1", name: "checkout" };
const BATCH = { requests: 10, codes: { "200": 10 }, latency: { median: 10, p95: 20, p99: 30, max: 40 } };
const eventsOf = (receiver: TestReceiver): string[] =>
  receiver.requests.map((r) => (r.json() as { type: string }).type);

/** What the file holds, read by a second connection as an operator would. */
function inspect(file: string): { outbox: number; open: number; deliveries: number; owners: number } {
  const db = new (raw())(file, { readonly: true });
  try {
    const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return {
      outbox: count("SELECT count(*) AS n FROM runhooks_outbox"),
      open: count("SELECT count(*) AS n FROM runhooks_outbox WHERE done_at IS NULL"),
      deliveries: count("SELECT count(*) AS n FROM runhooks_deliveries"),
      owners: count("SELECT count(*) AS n FROM runhooks_owners"),
    };
  } finally {
    db.close();
  }
}

suite("sqliteBackend(): events are in the file before the runner's call returns", () => {
  it("delivers a run's events in order, and leaves the file empty of work once drained", async () => {
    const file = fresh();
    await using receiver = await startReceiver();
    const opened = open(file);
    await webhook(opened, receiver, "a");
    const run = opened.notifier.run(RUN);
    run.started();
    run.stats(BATCH);
    // Committed already, fanned out later: the outbox holds both events, not yet done.
    expect(inspect(file)).toMatchObject({ outbox: 2, open: 2 });
    await opened.notifier.flush();
    run.finished();
    expect((await opened.notifier.flush()).drained).toBe(true);
    expect(eventsOf(receiver)).toEqual(["started", "in_progress", "finished"]);
    expect(inspect(file)).toMatchObject({ outbox: 3, open: 0, deliveries: 0 });
    expect(opened.errors).toEqual([]);
  });

  it("the queue keeps the body and the webhook id, never the URL, its headers or its secret", async () => {
    const file = fresh();
    await using receiver = await startReceiver({ respond: () => 503 });
    const opened = open(file);
    const created = await opened.notifier.webhooks.create({
      name: "secretive",
      url: `${receiver.url}/hook?token=url-credential`,
      format: "json",
      events: ["started"],
      global: true,
      secret: `whsec_${Buffer.alloc(24, 7).toString("base64")}`,
      headers: { authorization: "Bearer header-credential" },
    });
    opened.notifier.run(RUN).started();
    await receiver.waitFor(1);
    const db = new (raw())(file, { readonly: true });
    const rows = db.prepare("SELECT * FROM runhooks_deliveries").all() as Array<Record<string, unknown>>;
    db.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ webhook_id: created.id, event: "started" });
    const text = JSON.stringify(rows);
    expect(text).not.toContain("url-credential");
    expect(text).not.toContain("header-credential");
    expect(text).not.toContain("whsec_");
  });
});

suite("sqliteBackend(): a notifier on the same file resumes what an earlier one left", () => {
  it("pending and retrying deliveries go out after a restart: attempts continue, order holds", async () => {
    const file = fresh();
    let up = false;
    await using receiver = await startReceiver({ respond: () => (up ? 200 : 503) });
    const first = open(file);
    await webhook(first, receiver, "a");
    const run = first.notifier.run(RUN);
    run.started();
    run.stats(BATCH);
    run.finished();
    await receiver.waitFor(2);
    // close() gives up on what the receiver refused: abandoned here, kept in the file.
    const closed = await first.notifier.close({ timeoutMs: 50 });
    expect(closed.drained).toBe(false);
    // in_progress was superseded by finished while started was retrying: two deliveries wait.
    expect(inspect(file)).toMatchObject({ deliveries: 2, owners: 0 });
    const attemptsBefore = receiver.requests.length;

    up = true;
    const second = open(file);
    expect((await second.notifier.flush({ timeoutMs: 5000 })).drained).toBe(true);
    const after = receiver.requests.slice(attemptsBefore);
    expect(after.map((r) => (r.json() as { type: string }).type)).toEqual(["started", "finished"]);
    // The started delivery had failed at least once: its first report here continues the count.
    const started = second.reports.find((r) => r.event === "started" && r.ok);
    expect(started?.attempt).toBeGreaterThan(1);
    // One webhook-id per delivery, the same in both processes.
    const ids = new Set(receiver.requests.map((r) => r.headers["webhook-id"]));
    expect(ids.size).toBe(2);
    expect(inspect(file)).toMatchObject({ deliveries: 0, open: 0 });
  });

  it("a declared webhook's deliveries resume in a notifier that declares it too", async () => {
    const file = fresh();
    let up = false;
    await using receiver = await startReceiver({ respond: () => (up ? 200 : 503) });
    // No store round trip to declare it: the first call already fires to it, from both processes alike.
    const declared = {
      webhooks: [{ url: `${receiver.url}/declared`, format: "json", events: ["started" as const] }],
    };
    const first = open(file, declared);
    first.notifier.run(RUN).started();
    await receiver.waitFor(1);
    expect((await first.notifier.close({ timeoutMs: 50 })).drained).toBe(false);
    expect(inspect(file)).toMatchObject({ deliveries: 1 });

    up = true;
    const second = open(file, declared);
    expect((await second.notifier.flush({ timeoutMs: 5000 })).drained).toBe(true);
    expect(receiver.requests.at(-1)?.path).toBe("/declared");
    expect(second.reports.filter((r) => r.ok).map((r) => r.event)).toEqual(["started"]);
    expect(inspect(file)).toMatchObject({ deliveries: 0 });
  });

  it("counts a batch that fires an event once, and fires api_failure for 5xx that totals hand over", async () => {
    const file = fresh();
    await using receiver = await startReceiver();
    const opened = open(file);
    await receiverHook(opened.notifier, receiver, "all", {
      events: ["in_progress", "api_failure", "finished"],
    });
    const run = opened.notifier.run(RUN);
    run.stats({ requests: 10, codes: { "200": 10 } }); // fires in_progress
    run.totals({ requests: 20, codes: { "200": 18, "503": 2 } }); // fires api_failure
    run.stats({ requests: 10, codes: { "200": 9, "503": 1 } }); // held back by the cooldown
    run.finished({ totals: { requests: 40, codes: { "200": 36, "503": 4 } } });
    await opened.notifier.flush();
    const stats = receiver.requests.map((r) => {
      const { type, data } = r.json() as { type: string; data: { stats: { requests: number } } };
      return `${type} ${data.stats.requests}`;
    });
    expect(stats).toEqual(["in_progress 10", "api_failure 20", "finished 40"]);
    expect(opened.errors).toEqual([]);
  });

  it("a restarted runner that replays its calls fires nothing again", async () => {
    const file = fresh();
    await using receiver = await startReceiver();
    const first = open(file);
    await webhook(first, receiver, "a");
    const run = first.notifier.run(RUN);
    run.started();
    run.stats(BATCH);
    await first.notifier.close();
    expect(eventsOf(receiver)).toEqual(["started", "in_progress"]);

    const second = open(file);
    const again = second.notifier.run(RUN);
    again.started();
    again.stats(BATCH);
    again.finished();
    await second.notifier.flush();
    expect(eventsOf(receiver)).toEqual(["started", "in_progress", "finished"]);
  });

  it("a stale delivery (past its event's deadline) is dropped on resume and reported", async () => {
    const file = fresh();
    await using receiver = await startReceiver({ respond: () => 503 });
    const first = open(file, { deadlines: { started: 300 } });
    await webhook(first, receiver, "a");
    first.notifier.run(RUN).started();
    await receiver.waitFor(1);
    await first.notifier.close({ timeoutMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 350));
    const seen = receiver.requests.length;
    const second = open(file);
    await second.notifier.flush({ timeoutMs: 2000 });
    expect(receiver.requests.length).toBe(seen);
    const dropped = second.reports.filter((r) => r.outcome === "dropped" || r.reason === "stale");
    expect(dropped.map((r) => [r.event, r.reason])).toEqual([["started", "stale"]]);
    expect(inspect(file).deliveries).toBe(0);
  });

  it("a webhook removed while its delivery waited in the file is not sent to: dropped and reported", async () => {
    const file = fresh();
    await using receiver = await startReceiver({ respond: () => 503 });
    const first = open(file);
    const id = await webhook(first, receiver, "a");
    first.notifier.run(RUN).started();
    await receiver.waitFor(1);
    await first.notifier.close({ timeoutMs: 20 });
    const store = sqliteStore({ file });
    await store.remove(id);
    store.close();
    const seen = receiver.requests.length;
    const second = open(file);
    await second.notifier.flush({ timeoutMs: 2000 });
    expect(receiver.requests.length).toBe(seen);
    expect(second.reports.map((r) => [r.outcome, r.reason])).toEqual([["dropped", "removed"]]);
  });
});

suite("sqliteBackend(): two notifiers on one file", () => {
  it("each delivery is sent by one of them; a closed one's work is taken over at once", async () => {
    const file = fresh();
    await using receiver = await startReceiver({ respond: () => 503 });
    const a = open(file, {}, 300);
    const b = open(file, {}, 300);
    await webhook(a, receiver, "a");
    a.notifier.run(RUN).started();
    b.notifier.run({ ...RUN, id: "run-2" }).started();
    await receiver.waitFor(4);
    // Each of the two deliveries is held by the notifier that queued it.
    const byId = new Map<string, number>();
    for (const r of receiver.requests) {
      const id = String(r.headers["webhook-id"]);
      byId.set(id, (byId.get(id) ?? 0) + 1);
    }
    expect(byId.size).toBe(2);
    expect(a.reports.every((r) => r.runId === "run-1")).toBe(true);
    expect(b.reports.every((r) => r.runId === "run-2")).toBe(true);
    await a.notifier.close({ timeoutMs: 20 });
    // b takes run-1's delivery over on its next heartbeat.
    const before = b.reports.filter((r) => r.runId === "run-1").length;
    await expect
      .poll(() => b.reports.filter((r) => r.runId === "run-1").length, { timeout: 3000 })
      .toBeGreaterThan(before);
  });

  it("events fired in one notifier and recorded by the other's run state fire once", async () => {
    const file = fresh();
    await using receiver = await startReceiver();
    const a = open(file);
    const b = open(file);
    await webhook(a, receiver, "a");
    a.notifier.run(RUN).started();
    b.notifier.run(RUN).started();
    a.notifier.run(RUN).finished();
    b.notifier.run(RUN).finished();
    await a.notifier.flush();
    await b.notifier.flush();
    expect(eventsOf(receiver)).toEqual(["started", "finished"]);
  });
});

suite("sqliteBackend(): options and files it cannot use fail when it is created", () => {
  it("names the option that is wrong", () => {
    expect(() => sqliteBackend({ file: "" })).toThrow(/sqliteBackend\(\{ file \}\): file must be/);
    expect(() => sqliteBackend({ file: fresh(), leaseMs: 5 })).toThrow(/leaseMs.*at least 100/);
  });

  it("a text file is not a database", () => {
    const file = fresh("text");
    writeFileSync(file, "not a database\n".repeat(100));
    expect(() => sqliteBackend({ file })).toThrow(/^sqliteBackend: .* is not an SQLite database/);
  });

  it("a corrupt database says how to recover it", () => {
    const file = fresh("corrupt");
    const db = new (raw())(file);
    db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('a')");
    db.close();
    const bytes = readFileSync(file);
    bytes.fill(0xff, 100);
    writeFileSync(file, bytes);
    expect(() => sqliteBackend({ file })).toThrow(/is corrupt.*\.recover/s);
  });

  it("a file locked by another connection past the busy timeout is locked", () => {
    const file = fresh("locked");
    const other = new (raw())(file);
    other.pragma("locking_mode = EXCLUSIVE");
    other.exec("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)");
    try {
      expect(() => sqliteBackend({ file })).toThrow(/is locked .*End that connection's transaction/s);
    } finally {
      other.exec("COMMIT");
      other.close();
    }
  }, 15_000);

  it("a read-only file is reported as read-only", () => {
    const folder = join(dir, `ro-${++n}`);
    mkdirSync(folder);
    const file = join(folder, "runhooks.db");
    const db = new (raw())(file);
    db.exec("CREATE TABLE t (x)");
    db.close();
    chmodSync(file, 0o444);
    chmodSync(folder, 0o555);
    cleanup.push(() => chmodSync(folder, 0o755));
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      process.setegid?.(65534);
      process.seteuid?.(65534);
    }
    try {
      expect(() => sqliteBackend({ file })).toThrow(/read-only for this process/);
    } finally {
      if (asRoot) {
        process.seteuid?.(0);
        process.setegid?.(0);
      }
    }
  });
});
