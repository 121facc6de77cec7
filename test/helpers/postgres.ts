// The PostgreSQL server runhooks/postgres's tests use: RUNHOOKS_TEST_POSTGRES_URL, set by
// `npm run test:postgres` and by .ci/run (scripts/postgres.sh starts a throwaway server on 127.0.0.1).
// Without it those tests are skipped, one it.skip each saying how to run them.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, describe, it } from "vitest";

/** The test server's connection string, or `undefined` when none was given. */
export const POSTGRES_URL: string | undefined = process.env.RUNHOOKS_TEST_POSTGRES_URL || undefined;

/** Why the PostgreSQL tests are skipped, with the command that runs them. */
export const POSTGRES_SKIP =
  "needs PostgreSQL: run `npm run test:postgres` (starts a throwaway server on 127.0.0.1), or set " +
  "RUNHOOKS_TEST_POSTGRES_URL to a database where runhooks may create schemas";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
/** Why the pg-boss tests cannot run on this Node, or `undefined` when they can (Node ≥ 22.12). */
export const NODE_PROBLEM: string | undefined =
  major > 22 || (major === 22 && minor >= 12)
    ? undefined
    : `needs Node ≥ 22.12 (pg-boss 12), this is Node ${process.version}: runhooks/postgres's backend runs on the Node 22+ legs`;

/** Why postgresBackend()'s tests are skipped here (no server, or Node < 22.12), or `undefined`. */
export const BACKEND_SKIP: string | undefined = POSTGRES_URL === undefined ? POSTGRES_SKIP : NODE_PROBLEM;

/** A `describe()` of postgresBackend() tests, given the server's URL; or one visible skip saying why. */
export function backendSuite(title: string, body: (url: string) => void): void {
  describe(title, () => {
    if (BACKEND_SKIP !== undefined || POSTGRES_URL === undefined)
      it.skip(BACKEND_SKIP ?? POSTGRES_SKIP, () => undefined);
    else body(POSTGRES_URL);
  });
}

/**
 * A `describe()` of postgresBackend() tests that start a server of their own ({@link ownServer}); or one
 * visible skip saying why they cannot.
 */
export function ownServerSuite(title: string, body: () => void): void {
  describe(title, () => {
    const skip = BACKEND_SKIP ?? ownServerProblem();
    if (skip !== undefined) it.skip(skip, () => undefined);
    else body();
  });
}

/** Functions to run after each test of the file, the last added first (closing what it opened). */
export function cleanupAfterEach(): Array<() => unknown> {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  return cleanup;
}

let admin: pg.Pool | undefined;
const schemas: string[] = [];
let n = 0;

/** A pool on the test server for setting things up and looking at them, ended after the file. */
export function adminPool(): pg.Pool {
  if (POSTGRES_URL === undefined) throw new Error(POSTGRES_SKIP);
  if (admin === undefined) {
    admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
    admin.on("error", () => undefined);
  }
  return admin;
}

/**
 * A schema name no other test uses (the process id and a counter), dropped with everything in it after
 * the test file.
 */
export function freshSchema(prefix = "t"): string {
  const name = `${prefix}_${process.pid}_${++n}`;
  schemas.push(name);
  return name;
}

afterAll(async () => {
  if (admin === undefined) return;
  for (const name of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await admin.end();
  admin = undefined;
});

const SCRIPT = fileURLToPath(new URL("../../scripts/postgres.sh", import.meta.url));

/** A server of a test's own (scripts/postgres.sh), for tests that restart it: the others go on. */
export interface OwnServer {
  readonly url: string;
  /** Shuts it down (fast: connections are dropped). */
  down(): void;
  /** Starts it again, and waits until it accepts connections. */
  up(): void;
  stop(): void;
}

/**
 * Why a test cannot start a server of its own (`scripts/postgres.sh start` needs PostgreSQL's server
 * binaries), or `undefined` when it can.
 */
export function ownServerProblem(): string | undefined {
  try {
    execFileSync("bash", ["-c", `source "${SCRIPT}" && pg_bin_dir`], { stdio: "pipe" });
    return undefined;
  } catch {
    return "needs PostgreSQL's server binaries to start a server of its own (sudo apt-get install postgresql)";
  }
}

/** Starts a throwaway server on 127.0.0.1 for this test alone. */
export function ownServer(): OwnServer {
  const [dir = "", url = ""] = execFileSync("bash", [SCRIPT, "start"], { encoding: "utf8" })
    .trim()
    .split(" ");
  return {
    url,
    down: () => execFileSync("bash", [SCRIPT, "down", dir], { stdio: "ignore" }),
    up: () => execFileSync("bash", [SCRIPT, "up", dir], { stdio: "ignore" }),
    stop: () => execFileSync("bash", [SCRIPT, "stop", dir], { stdio: "ignore" }),
  };
}
