/**
 * Which durable backends this run can measure. The SQLite paths need better-sqlite3's native addon
 * built for this Node; the PostgreSQL paths a server and Node ≥ 22.12 (bench/postgres.ts). On this
 * repository's development machine the addon is built for Node 20, where pg-boss 12 does not run: the
 * two are measured in separate runs. What cannot run is left out, never failing the rest, and the
 * report says what was skipped, why, and how to run it.
 */
import { createRequire } from "node:module";
import { POSTGRES_PATHS, SQLITE_PATHS, type BenchConfig } from "./config.js";
import { POSTGRES_HOWTO, postgresSetup, type PostgresServer } from "./postgres.js";

/** The durable backends available to this run. */
export interface Backends {
  /** better-sqlite3 loads on this Node. */
  readonly sqlite: boolean;
  /** The PostgreSQL server, when there is one and this Node runs pg-boss. */
  readonly postgres?: PostgresServer | undefined;
}

/** Why better-sqlite3 cannot load on this Node, or `undefined` when it can. */
function sqliteProblem(): string | undefined {
  try {
    const Database = createRequire(import.meta.url)("better-sqlite3") as new (file: string) => {
      close(): void;
    };
    // The native addon loads with the first connection, not with the module.
    new Database(":memory:").close();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.includes("NODE_MODULE_VERSION")
      ? `better-sqlite3's native addon was built for another Node than this one (${process.version})`
      : `better-sqlite3 does not load (${message.split("\n", 1)[0] ?? ""})`;
  }
}

/** What a backend's absence leaves out of this run, given what the run was asked to measure. */
function leftOut(config: BenchConfig, paths: ReadonlySet<string>, variants: string): string | undefined {
  const throughput = ["a", "b", "a-slack"].some((id) => config.only.has(id));
  const skipped = throughput ? [...paths].filter((p) => config.paths.has(p)) : [];
  const what = [
    ...(skipped.length > 0 ? [`paths ${skipped.join(", ")}`] : []),
    ...(config.only.has("calls") ? [`the ${variants} runner-call variants`] : []),
  ];
  return what.length > 0 ? what.join("; ") : undefined;
}

/**
 * Looks for both backends, once, before anything is measured. `skipped` has one line per backend the
 * run was asked to measure and cannot, for the report.
 */
export async function findBackends(config: BenchConfig): Promise<{ backends: Backends; skipped: string[] }> {
  const skipped: string[] = [];
  const sqlite = sqliteProblem();
  const sqliteLeft = leftOut(config, SQLITE_PATHS, "sqlite");
  if (sqlite !== undefined && sqliteLeft !== undefined)
    skipped.push(
      `SQLite backend not measured (${sqliteLeft}): ${sqlite}; rebuild it for this Node (npm rebuild better-sqlite3) or run on the Node it was built for`,
    );
  const setup = await postgresSetup();
  const postgresLeft = leftOut(config, POSTGRES_PATHS, "postgres");
  if ("skipped" in setup && postgresLeft !== undefined)
    skipped.push(`PostgreSQL backend not measured (${postgresLeft}): ${setup.skipped}; ${POSTGRES_HOWTO}`);
  return {
    backends: { sqlite: sqlite === undefined, postgres: "server" in setup ? setup.server : undefined },
    skipped,
  };
}

/** Whether a path of (a)–(c) can run with these backends. */
export function canRun(path: string, backends: Backends): boolean {
  if (SQLITE_PATHS.has(path)) return backends.sqlite;
  if (POSTGRES_PATHS.has(path)) return backends.postgres !== undefined;
  return true;
}
