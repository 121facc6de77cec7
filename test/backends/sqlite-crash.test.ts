// Crash tests with real processes: a runner on sqliteBackend() is killed with SIGKILL (while deliveries
// are pending and retrying, or right after its calls return, before any fan-out or attempt), and a new
// process on the same file delivers every event: exactly once by webhook-id at the receiver (one 2xx
// each), in lifecycle order per (webhook, run). Also two runner processes on one file, one of them killed.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createNotifier } from "runhooks";
import { sqliteStore } from "runhooks/sqlite";
import { startReceiver, type TestReceiver } from "runhooks/testing";
import { LOOPBACK } from "../helpers/loopback.js";
import { nativeAddonProblem } from "../helpers/native.js";

const problem = await nativeAddonProblem("better-sqlite3");
const SKIP = `needs better-sqlite3, which cannot load on Node ${process.version}: ${problem}`;
const RUNNER = fileURLToPath(new URL("./fixtures/crash-runner.ts", import.meta.url));
const LIFECYCLE = ["started", "in_progress", "finished"];

const dir = mkdtempSync(join(tmpdir(), "runhooks-crash-"));
chmodSync(dir, 0o755);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

interface Runner {
  child: ChildProcess;
  /** Parsed stdout lines so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves once a line has `key`. */
  line(key: string): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runner(env: Record<string, string>): Runner {
  const child = spawn(process.execPath, ["--import", "tsx", RUNNER], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<{ key: string; resolve: (line: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout }).on("line", (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    lines.push(line);
    for (const w of waiting.filter((w) => w.key in line)) w.resolve(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    line: (key) =>
      new Promise((resolve, reject) => {
        const found = lines.find((l) => key in l);
        if (found) {
          resolve(found);
          return;
        }
        waiting.push({ key, resolve });
        void exited.then(({ code, signal }) => {
          reject(new Error(`the runner exited (${code ?? signal}) before printing ${key}`));
        });
      }),
    exited,
  };
}

/** A receiver that refuses (503) until `up`, and the webhooks it serves, created in `file`'s store. */
async function setup(file: string): Promise<{ receiver: TestReceiver; up: () => void }> {
  let up = false;
  const receiver = await startReceiver({
    respond: (request) => {
      if (!up) return 503;
      answered.add(request);
      return 200;
    },
  });
  const store = sqliteStore({ file });
  const notifier = createNotifier({ network: LOOPBACK, store });
  for (const path of ["a", "b"])
    await notifier.webhooks.create({
      name: path,
      url: `${receiver.url}/${path}`,
      format: "json",
      events: ["started", "in_progress", "finished"],
      global: true,
    });
  await notifier.close();
  store.close();
  return {
    receiver,
    up: () => {
      up = true;
    },
  };
}

interface Delivered {
  path: string;
  run: string;
  event: string;
  id: string;
}

// The requests the receivers answered 2xx.
const answered = new WeakSet<object>();

/** The requests the receiver answered 2xx: what a de-duplicating receiver keeps. */
function delivered(receiver: TestReceiver): Delivered[] {
  return receiver.requests
    .filter((r) => answered.has(r))
    .map((r) => {
      const body = r.json() as { type: string; data: { run: { id: string } } };
      return { path: r.path, run: body.data.run.id, event: body.type, id: String(r.headers["webhook-id"]) };
    });
}

/** Every (webhook, run) got started and finished, in lifecycle order, and each webhook-id once. */
function expectExactlyOnceInOrder(got: Delivered[], runs: string[]): void {
  const ids = got.map((d) => d.id);
  expect(new Set(ids).size, "each webhook-id answered 2xx once").toBe(ids.length);
  for (const path of ["/a", "/b"]) {
    for (const run of runs) {
      const events = got.filter((d) => d.path === path && d.run === run).map((d) => d.event);
      // in_progress may have been superseded by finished while started was still retrying.
      expect(events[0], `${path} ${run}`).toBe("started");
      expect(events[events.length - 1], `${path} ${run}`).toBe("finished");
      expect([...events].sort((x, y) => LIFECYCLE.indexOf(x) - LIFECYCLE.indexOf(y))).toEqual(events);
    }
  }
}

const RUNS = ["run-1", "run-2", "run-3"];

describe("sqliteBackend(): a runner killed with SIGKILL loses nothing", () => {
  if (problem !== undefined) {
    it.skip(SKIP, () => undefined);
    return;
  }

  it("with deliveries pending and retrying: a new process on the file delivers each once, in order", async () => {
    const file = join(dir, `retrying-${++n}.db`);
    const { receiver, up } = await setup(file);
    const first = runner({ CRASH_FILE: file, CRASH_MODE: "runs" });
    await first.line("called");
    // Six lanes, each retrying its started: well past the first attempts.
    await receiver.waitFor(18, 10_000);
    first.child.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    up();
    const second = runner({ CRASH_FILE: file, CRASH_MODE: "resume" });
    expect(await second.line("drained")).toEqual({ drained: true });
    expect((await second.exited).code).toBe(0);
    const got = delivered(receiver);
    expectExactlyOnceInOrder(got, RUNS);
    expect(got.length).toBeGreaterThanOrEqual(12);
    expect(second.lines.filter((l) => "error" in l)).toEqual([]);
    await receiver.close();
  }, 40_000);

  it("right after the runner's calls return, before any fan-out or attempt: each event goes out once", async () => {
    const file = join(dir, `self-kill-${++n}.db`);
    const { receiver, up } = await setup(file);
    up();
    const first = runner({ CRASH_FILE: file, CRASH_MODE: "self-kill" });
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(first.lines, "it died before printing anything").toEqual([]);
    expect(receiver.requests, "nothing was sent before the kill").toHaveLength(0);
    const second = runner({ CRASH_FILE: file, CRASH_MODE: "resume" });
    expect(await second.line("drained")).toEqual({ drained: true });
    expect((await second.exited).code).toBe(0);
    const got = delivered(receiver);
    expectExactlyOnceInOrder(got, RUNS);
    await receiver.close();
  }, 40_000);

  it("two runners on one file: never the same delivery at once; the survivor takes the killed one's over", async () => {
    const file = join(dir, `two-${++n}.db`);
    const { receiver, up } = await setup(file);
    const lease = { CRASH_FILE: file, CRASH_MODE: "runs", CRASH_LEASE_MS: "600" };
    const a = runner({ ...lease, CRASH_RUN_PREFIX: "a" });
    const b = runner({ ...lease, CRASH_RUN_PREFIX: "b" });
    await Promise.all([a.line("called"), b.line("called")]);
    const reported = (r: Runner, event?: string): Set<string> =>
      new Set(
        r.lines.flatMap((l) => {
          const report = l.report as { id: string; event: string } | undefined;
          return report && (event === undefined || report.event === event) ? [report.id] : [];
        }),
      );
    // Each retries the started of its own six lanes (the reports come through a pipe: poll).
    for (const r of [a, b]) await expect.poll(() => reported(r, "started").size, { timeout: 10_000 }).toBe(6);
    // While both lived, each attempted only its own deliveries.
    const byB = reported(b);
    expect([...reported(a)].filter((id) => byB.has(id))).toEqual([]);
    a.child.kill("SIGKILL");
    await a.exited;
    up();
    const runs = ["a-1", "a-2", "a-3", "b-1", "b-2", "b-3"];
    // All twelve lanes end with finished, sent by b.
    await expect
      .poll(() => delivered(receiver).filter((d) => d.event === "finished").length, {
        timeout: 15_000,
        interval: 100,
      })
      .toBe(12);
    b.child.kill("SIGTERM");
    await b.exited;
    expectExactlyOnceInOrder(delivered(receiver), runs);
    await receiver.close();
  }, 40_000);
});
