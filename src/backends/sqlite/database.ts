/**
 * @internal Opening the SQLite files of `runhooks/sqlite` (better-sqlite3): loading the driver, the
 * connection's settings, turning SQLite's error codes into errors a user can act on, and versioned
 * schemas. Shared by `sqliteStore()` and `sqliteBackend()`.
 *
 * better-sqlite3 is an optional peer dependency: it is loaded when a database is first opened, never
 * when `runhooks/sqlite` is imported, and its types stay out of every public declaration.
 *
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { BackendError, ConfigError, describe, isConfigError } from "../../errors.js";
import { storageFailure } from "../_errors.js";

/** @internal One better-sqlite3 connection. */
export type Database = BetterSqlite3.Database;

/** @internal A prepared statement of a {@link Database}. */
export type Statement<Params extends unknown[] = unknown[], Row = unknown> = BetterSqlite3.Statement<
  Params,
  Row
>;

/** @internal better-sqlite3's `Database` constructor. */
export type Driver = typeof BetterSqlite3;

/** @internal How long a connection waits for another one's lock before failing with `SQLITE_BUSY`. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** @internal Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** SQLite's `busy_timeout`: how long to wait for another connection's lock. @default 5000 */
  busyTimeoutMs?: number | undefined;
}

let driver: Driver | undefined;

/**
 * @internal better-sqlite3, loaded on first use and kept.
 *
 * @throws ConfigError when it is not installed, or cannot load on this Node (see {@link driverError}).
 */
export function loadDriver(): Driver {
  if (driver !== undefined) return driver;
  try {
    const loaded = createRequire(import.meta.url)("better-sqlite3") as Driver;
    // The native addon loads with the first connection, not with the module: open one, so that an
    // addon built for another Node fails here, with its own message, rather than as a file problem.
    new loaded(":memory:").close();
    driver = loaded;
    return loaded;
  } catch (error) {
    throw driverError(error);
  }
}

/**
 * @internal What {@link loadDriver} throws for what loading better-sqlite3 threw: each case says what
 * to run. A pure function, so that the messages are tested without uninstalling anything.
 */
export function driverError(error: unknown): ConfigError {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split("\n", 1)[0] ?? "";
  if (
    (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") &&
    firstLine.includes("better-sqlite3")
  ) {
    // ^12: better-sqlite3 13 crashes on Node 20, which runhooks still supports.
    return new ConfigError(
      "runhooks/sqlite needs better-sqlite3 (^12), an optional peer dependency: npm install better-sqlite3@^12",
      { cause: error },
    );
  }
  if (code === "ERR_DLOPEN_FAILED" || message.includes("NODE_MODULE_VERSION")) {
    const detail = message
      .replace(/^.*?(NODE_MODULE_VERSION)/s, "$1")
      .replace(/\s+/g, " ")
      .slice(0, 240)
      .replace(/[.\s]+$/, "");
    return new ConfigError(
      `runhooks/sqlite cannot load better-sqlite3 on Node ${process.version}: its native addon was built ` +
        `for another Node version (ABI) or platform (${detail}). Rebuild it for this Node: npm rebuild better-sqlite3`,
      { cause: error },
    );
  }
  if (message.includes("Could not locate the bindings file")) {
    return new ConfigError(
      "runhooks/sqlite cannot load better-sqlite3: its native addon was never built (installed with " +
        "--ignore-scripts, or its install script not allowed?). Build it: npm rebuild better-sqlite3",
      { cause: error },
    );
  }
  return new ConfigError(
    `runhooks/sqlite cannot load better-sqlite3: ${describe(error)}. Reinstall it: npm install better-sqlite3@^12`,
    { cause: error },
  );
}

/**
 * @internal Opens (creating it if needed) the SQLite database at `file` the way runhooks uses it: WAL
 * journal, `synchronous = NORMAL`, a busy timeout, foreign keys on. It reads the schema and checks that
 * it may write, so that a file it cannot use fails here, at creation, rather than at a runner's call.
 *
 * @param role Who opens it, the start of every message, e.g. `sqliteStore`.
 * @throws ConfigError naming the file and what to do: not a database, corrupt, read-only, locked by
 *   another process past the busy timeout, directory missing; the SQLite error is its `cause`.
 */
export function openDatabase(file: string, role: string, options: OpenDatabaseOptions = {}): Database {
  const Driver = loadDriver();
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  let db: Database | undefined;
  try {
    // `timeout` is SQLite's busy_timeout, set before the first statement (the WAL switch needs it too).
    db = new Driver(file, { timeout: busyTimeoutMs });
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    // The WAL switch writes only when the file is not in WAL mode yet; this writes page 1 in a
    // transaction it rolls back, so a read-only file fails now whatever its mode, and nothing changes.
    const userVersion = Number(db.pragma("user_version", { simple: true }));
    db.exec(`BEGIN IMMEDIATE; PRAGMA user_version = ${userVersion}; ROLLBACK`);
    return db;
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Closing after a failed open can fail too; the open's error is the one to report.
    }
    throw databaseError(error, file, role, busyTimeoutMs);
  }
}

/**
 * @internal An error a user can act on for what SQLite threw while opening or migrating `file`: names
 * the file (a path is not a secret) and what to do, and keeps the SQLite error as `cause`.
 */
export function databaseError(
  error: unknown,
  file: string,
  role: string,
  busyTimeoutMs: number,
): ConfigError {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const where = describeFile(file);
  const dir = dirname(resolve(file));
  const sidecars = `${basename(file)}-wal and ${basename(file)}-shm`;
  const problem = (text: string): ConfigError => new ConfigError(`${role}: ${text}`, { cause: error });

  if (code.startsWith("SQLITE_CANTOPEN") || message.includes("directory does not exist")) {
    if (!existsSync(dir))
      return problem(
        `cannot open the SQLite database ${where}: its directory ${dir} does not exist. ` +
          `Create the directory (runhooks does not), or correct the path.`,
      );
    if (isDirectory(file))
      return problem(
        `cannot open ${where} as an SQLite database: it is a directory. ` +
          `Give the path of a file in it, e.g. ${join(resolve(file), "runhooks.db")}.`,
      );
    return problem(
      `cannot open the SQLite database ${where} (${code || message}): this process may not read and write ` +
        `it, or may not create files in ${dir}. Give it read and write permission on the file and its ` +
        `directory (SQLite creates ${sidecars} there), or choose another path.`,
    );
  }
  if (code === "SQLITE_NOTADB")
    return problem(
      `${where} is not an SQLite database. Point \`file\` at a database runhooks created, or at a path that ` +
        `does not exist yet (runhooks creates it); runhooks never overwrites another file.`,
    );
  if (code.startsWith("SQLITE_CORRUPT"))
    return problem(
      `the SQLite database ${where} is corrupt (${message}). Restore it from a backup, or recover what ` +
        `is left with the sqlite3 shell (sqlite3 ${file} .recover | sqlite3 new.db) and point \`file\` at the new file.`,
    );
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM")
    return problem(
      `cannot write to the SQLite database ${where} (${code}): the ` +
        `${code === "SQLITE_READONLY_DIRECTORY" ? "directory" : "file or its directory"} is read-only for ` +
        `this process. runhooks writes to the file, and SQLite creates ${sidecars} beside it: give this ` +
        `process write permission on the file and on ${dir}, or choose a writable path.`,
    );
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return problem(
      `the SQLite database ${where} is locked (${code}): another connection held a lock on it for longer ` +
        `than the busy timeout (${busyTimeoutMs} ms). End that connection's transaction (a sqlite3 shell ` +
        `left in BEGIN, a backup or another program holding an exclusive lock), then try again.`,
    );
  return problem(
    `cannot use the SQLite database ${where}: ${describe(error)}${code ? ` (${code})` : ""}. ` +
      `Check the file, its directory and the disk, or choose another path.`,
  );
}

const SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS runhooks_schema (
  component TEXT PRIMARY KEY,
  version   INTEGER NOT NULL
)`;

/**
 * @internal Brings `component`'s tables in `db` to the newest version: runs the migrations the file has
 * not had yet (`migrations[i]` takes version `i` to `i + 1`) and records the version in
 * `runhooks_schema`, all in one immediate transaction, so that a failing migration leaves nothing
 * half-done and two processes opening the file at once migrate it once. Releases only append to
 * `migrations`; they never change one that shipped.
 *
 * @throws ConfigError when the file's version is newer than `migrations` knows (written by a newer
 *   runhooks: downgrading is not supported), or SQLite fails (see {@link databaseError}).
 */
export function migrate(db: Database, component: string, migrations: readonly string[]): void {
  const role = `runhooks/sqlite (${component} schema)`;
  const newest = migrations.length;
  const check = (version: number): void => {
    if (version > newest)
      throw new ConfigError(
        `${role}: the SQLite database ${describeFile(db.name)} has the ${component} tables at schema ` +
          `version ${version}, newer than this runhooks release knows (${newest}): a newer runhooks wrote ` +
          `it. Upgrade runhooks, or point \`file\` at another database; runhooks does not downgrade a schema.`,
      );
  };
  let running: number | undefined;
  try {
    // Up to date is the common case: a read, no write lock.
    const found = schemaVersion(db, component);
    check(found);
    if (found === newest) return;
    db.transaction(() => {
      db.exec(SCHEMA_TABLE);
      // Read again under the write lock: another process may have migrated in between.
      const from = schemaVersion(db, component);
      check(from);
      for (const [index, sql] of migrations.entries()) {
        if (index < from) continue;
        running = index;
        db.exec(sql);
      }
      running = undefined;
      db.prepare(
        `INSERT INTO runhooks_schema (component, version) VALUES (?, ?)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
      ).run(component, newest);
    }).immediate();
  } catch (error) {
    if (isConfigError(error)) throw error;
    const code = errorCode(error);
    if (running !== undefined && (code === "SQLITE_ERROR" || code.startsWith("SQLITE_CONSTRAINT")))
      throw new ConfigError(
        `${role}: migration ${running + 1} of the ${component} tables in ${describeFile(db.name)} failed: ` +
          `${describe(error)}. Nothing was changed (the migrations run in one transaction). The file's ` +
          `runhooks_* tables may have been changed by another program: point \`file\` at another database, ` +
          `or report it with this message.`,
        { cause: error },
      );
    throw databaseError(error, db.name, role, Number(db.pragma("busy_timeout", { simple: true })));
  }
}

/** @internal The version of `component`'s tables recorded in `db`, 0 when none is. */
export function schemaVersion(db: Database, component: string): number {
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runhooks_schema'")
    .get();
  if (table === undefined) return 0;
  const row = db.prepare("SELECT version FROM runhooks_schema WHERE component = ?").get(component) as
    { version: number } | undefined;
  return row?.version ?? 0;
}

/** The `code` of an error (better-sqlite3's `SQLITE_…`, Node's `ERR_…`), or "". */
function errorCode(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "";
}

function describeFile(file: string): string {
  const absolute = resolve(file);
  return absolute === file ? `"${file}"` : `"${file}" (${absolute})`;
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * @internal What `sqliteBackend()` reports when a write or read of its file fails while it runs: the
 * backend, what it could not do, the SQLite error, what follows for the deliveries (`consequence`, from
 * ": …"), and what to check. Never thrown at a runner's call: reported on the `error` channel.
 */
export function storageError(
  name: string,
  operation: string,
  what: string,
  error: unknown,
  consequence = "",
): BackendError {
  return storageFailure(
    name,
    operation,
    what,
    error,
    consequence,
    "Check the file, its directory and the disk.",
  );
}
