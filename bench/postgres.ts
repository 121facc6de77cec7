/**
 * The PostgreSQL server of the benchmark (issue 21): finding it, and a schema of its own for each
 * notifier or pg-boss instance, dropped afterwards. The `pgboss` path is in bench/pgboss.ts.
 *
 * The server comes from `BENCH_POSTGRES_URL`, else `RUNHOOKS_TEST_POSTGRES_URL` (the tests' variable,
 * which `bash scripts/postgres.sh run <command…>` sets for a throwaway server). Without one, or on
 * Node < 22.12 (pg-boss 12's minimum), the PostgreSQL paths and runner-call variants are left out and
 * the report says so, with the command that runs them.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import pg from "pg";

/** A server the PostgreSQL paths may create schemas on. */
export interface PostgresServer {
  /** The connection string: never printed or written to the results (it may hold a password). */
  readonly url: string;
  /** `user@host:port/database`, without a password: what the report shows. */
  readonly target: string;
  /** `SHOW server_version`. */
  readonly version: string;
  /**
   * The postmaster's process id when the server runs on this machine (in this PID namespace): the
   * benchmark then counts the server's CPU per delivery, and not as another workload's.
   */
  readonly pid?: number;
}

/** The server, or why the PostgreSQL paths do not run (with what to do about it). */
export type PostgresSetup = { server: PostgresServer } | { skipped: string };

/** What the report prints when the PostgreSQL paths are left out: the way to run them. */
export const POSTGRES_HOWTO =
  "run them on Node ≥ 22.12 with a server: `bash scripts/postgres.sh run npm run bench` starts a throwaway " +
  "PostgreSQL on 127.0.0.1 (or set BENCH_POSTGRES_URL / RUNHOOKS_TEST_POSTGRES_URL to a database where the " +
  "benchmark may create and drop schemas)";

/** Why pg-boss 12 cannot run on this Node, or `undefined` when it can (Node ≥ 22.12). */
function nodeProblem(version = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 12)) return undefined;
  return `this is Node ${version}, and postgresBackend() and pg-boss 12 need Node ≥ 22.12`;
}

/** `user@host:port/database` of a connection string, without its password. */
function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username === "" ? "" : `${decodeURIComponent(parsed.username)}@`;
    return `${user}${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    // A keyword/value string (host=… password=…): name no part of it rather than risk the password.
    return "the database of the connection string";
  }
}

/**
 * The parent of the server process serving a connection, when both are PostgreSQL processes visible in
 * this machine's /proc: the postmaster. Undefined for a server elsewhere (another host, a container
 * with its own PID namespace, where the pid would name some other process or none).
 */
function postmasterOf(backendPid: number | undefined): number | undefined {
  if (backendPid === undefined) return undefined;
  const read = (pid: number): { comm: string; ppid: number } | undefined => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      return { comm, ppid: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) };
    } catch {
      return undefined;
    }
  };
  const backend = read(backendPid);
  if (backend?.comm !== "postgres") return undefined;
  return read(backend.ppid)?.comm === "postgres" ? backend.ppid : undefined;
}

/**
 * Finds the server and checks that it answers, once, before anything is measured: a server that
 * cannot be used must leave the PostgreSQL paths out, not make runhooks fall back to memory (which
 * its backend does, reporting the error) and be measured as if it were PostgreSQL.
 */
export async function postgresSetup(env: NodeJS.ProcessEnv = process.env): Promise<PostgresSetup> {
  const node = nodeProblem();
  if (node !== undefined) return { skipped: node };
  const url = env.BENCH_POSTGRES_URL || env.RUNHOOKS_TEST_POSTGRES_URL || undefined;
  if (url === undefined) return { skipped: "no PostgreSQL server was given" };
  const target = describeTarget(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    const backend = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const pid = postmasterOf(backend.rows[0]?.pid);
    return {
      server: { url, target, version: rows[0]?.server_version ?? "?", ...(pid !== undefined && { pid }) },
    };
  } catch (error) {
    return { skipped: `the PostgreSQL server at ${target} did not answer (${String(error)})` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A schema name for one notifier or pg-boss instance: the process id and random bytes, so that runs
 * sharing a server (the tests, another benchmark) never meet. runhooks' backend puts pg-boss in
 * `<schema>_queue` beside it.
 */
export function freshSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
}

/** Drops the schemas and everything in them (the path is closed: nothing uses them any more). */
export async function dropSchemas(server: PostgresServer, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: server.url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
