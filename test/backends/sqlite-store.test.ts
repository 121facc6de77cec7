// runhooks/sqlite's sqliteStore() against the published SubscriptionStore contract, and what opening an
// SQLite file says when the file cannot be used: each problem is a ConfigError naming the file and what to do.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqliteStore, type SqliteStore } from "runhooks/sqlite";
import { sampleRecord, testStore } from "runhooks/testing";
import {
  driverError,
  loadDriver,
  migrate,
  openDatabase,
  schemaVersion,
  type Database,
  type Driver,
} from "../../src/backends/sqlite/database.js";
import { ConfigError, isConfigError } from "../../src/errors.js";
import { nativeAddonProblem } from "../helpers/native.js";

// better-sqlite3 is a native addon, built for the Node that installed it: under another Node's ABI it
// cannot load. Only then are the suites that open files skipped, one it.skip each, saying why.
const problem = await nativeAddonProblem("better-sqlite3");
const SKIP = `needs better-sqlite3, which cannot load on Node ${process.version}: ${problem}`;

const dir = mkdtempSync(join(tmpdir(), "runhooks-sqlite-"));
// Traversable by the unprivileged user of the read-only cases (mkdtemp makes it 0700).
chmodSync(dir, 0o755);
const restore: string[] = [];
afterAll(() => {
  for (const path of restore) chmodSync(path, 0o755);
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const fresh = (name = "case"): string => join(dir, `${name}-${++n}.db`);

/** better-sqlite3 itself, for setting up files the way another program would. */
const raw = (): Driver => createRequire(import.meta.url)("better-sqlite3") as Driver;

/**
 * The ConfigError `fn` throws, with the checks every open problem shares. `cause`: the code of the SQLite
 * error it keeps as `cause`; `undefined` for any Error; `null` when there is no underlying error.
 */
function configError(fn: () => unknown, file: string, action: RegExp, cause?: RegExp | null): ConfigError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "it throws").toBeInstanceOf(ConfigError);
  const error = thrown as ConfigError;
  expect(isConfigError(error)).toBe(true);
  expect(error.code).toBe("ERR_CONFIG");
  expect(error.message, "names the file").toContain(file);
  expect(error.message, "says what to do").toMatch(action);
  if (cause === null) expect(error.cause).toBeUndefined();
  else expect(error.cause, "keeps the original error").toBeInstanceOf(Error);
  if (cause) expect((error.cause as { code?: string }).code).toMatch(cause);
  return error;
}

function suite(title: string, body: () => void): void {
  describe(title, () => {
    if (problem !== undefined) it.skip(SKIP, () => undefined);
    else body();
  });
}

if (problem === undefined) {
  testStore(
    "runhooks/sqlite sqliteStore({ file }) (SQLite via better-sqlite3, a database file per case)",
    () => sqliteStore({ file: fresh() }),
    { teardown: (store) => (store as SqliteStore).close() },
  );
} else {
  describe("SubscriptionStore contract: runhooks/sqlite sqliteStore({ file })", () => {
    it.skip(SKIP, () => undefined);
  });
}

suite("sqliteStore({ file })", () => {
  it("keeps webhooks in the file: a new store on the same file has them", async () => {
    const file = fresh();
    const record = sampleRecord({ secret: "whsec_c2VjcmV0", headers: { authorization: "Bearer x" } });
    const first = sqliteStore({ file });
    await first.create(record);
    first.close();
    const second = sqliteStore({ file });
    await expect(second.get(record.id)).resolves.toEqual(record);
    await expect(second.list({ ids: [record.id, "unknown"] })).resolves.toEqual([record]);
    second.close();
  });

  it("records its schema version as component 'store' in runhooks_schema", () => {
    const file = fresh();
    sqliteStore({ file }).close();
    const db = new (raw())(file);
    expect(db.prepare("SELECT component, version FROM runhooks_schema").all()).toEqual([
      { component: "store", version: 1 },
    ]);
    db.close();
  });

  it("opens a file that has its tables but no schema record (written by the former examples/sqlite-store)", async () => {
    const file = fresh();
    const record = sampleRecord();
    const store = sqliteStore({ file });
    await store.create(record);
    store.close();
    const db = new (raw())(file);
    db.exec("DROP TABLE runhooks_schema");
    db.close();
    const again = sqliteStore({ file });
    await expect(again.get(record.id)).resolves.toEqual(record);
    again.close();
  });

  it("rejects (never throws) once closed; close() twice is fine", async () => {
    const store = sqliteStore({ file: fresh() });
    store.close();
    expect(() => store.close()).not.toThrow();
    await expect(store.list()).rejects.toThrow(/not open/);
    await expect(store.create(sampleRecord())).rejects.toThrow();
  });

  it("throws a ConfigError for a missing or empty file option", () => {
    expect(() => sqliteStore({ file: "" })).toThrow(ConfigError);
    expect(() => sqliteStore({} as { file: string })).toThrow(/file must be the path of a database file/);
  });

  it("refuses a file written by a newer runhooks (schema version newer than it knows), leaving it as it is", () => {
    const file = fresh();
    sqliteStore({ file }).close();
    const db = new (raw())(file);
    db.prepare("UPDATE runhooks_schema SET version = 99 WHERE component = 'store'").run();
    db.close();
    const error = configError(() => sqliteStore({ file }), file, /Upgrade runhooks/, null);
    expect(error.message).toMatch(/schema version 99, newer than this runhooks release knows \(1\)/);
    const after = new (raw())(file);
    expect(schemaVersion(after, "store")).toBe(99);
    after.close();
  });
});

suite("openDatabase(): the connection's settings", () => {
  it("WAL journal, synchronous NORMAL, foreign keys on, a 5000 ms busy timeout by default", () => {
    const db = openDatabase(fresh(), "test");
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("synchronous", { simple: true })).toBe(1);
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("busy_timeout", { simple: true })).toBe(5000);
    db.close();
    const short = openDatabase(fresh(), "test", { busyTimeoutMs: 250 });
    expect(short.pragma("busy_timeout", { simple: true })).toBe(250);
    short.close();
  });
});

suite("openDatabase(): a file it cannot use fails at creation, naming the file and what to do", () => {
  beforeAll(() => {
    loadDriver();
  });

  it("a text file is not a database (SQLITE_NOTADB), and is left untouched", () => {
    const file = fresh("text");
    const text = "name,url\nperf,https://example.com\n".repeat(200);
    writeFileSync(file, text);
    const error = configError(
      () => openDatabase(file, "sqliteStore"),
      file,
      /never overwrites another file/,
      /^SQLITE_NOTADB$/,
    );
    expect(error.message).toMatch(/^sqliteStore: .* is not an SQLite database/);
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it("a database whose pages are garbage is corrupt (SQLITE_CORRUPT)", () => {
    const file = fresh("corrupt");
    const db = new (raw())(file);
    db.exec("CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t (x); INSERT INTO t VALUES ('a')");
    db.close();
    // Keep the 100-byte header (a valid "SQLite format 3" file), overwrite every page after it.
    const bytes = readFileSync(file);
    bytes.fill(0xff, 100);
    writeFileSync(file, bytes);
    const error = configError(
      () => openDatabase(file, "sqliteStore"),
      file,
      /Restore it from a backup.*\.recover/,
      /^SQLITE_CORRUPT/,
    );
    expect(error.message).toContain("is corrupt");
  });

  it("a file held by another connection's exclusive lock past the busy timeout is locked (SQLITE_BUSY)", () => {
    const file = fresh("locked");
    const other = new (raw())(file);
    other.exec("CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)");
    const error = configError(
      () => openDatabase(file, "sqliteStore", { busyTimeoutMs: 50 }),
      file,
      /End that connection's transaction/,
      /^SQLITE_BUSY/,
    );
    expect(error.message).toMatch(/is locked .*longer than the busy timeout \(50 ms\)/);
    other.exec("COMMIT");
    other.close();
    openDatabase(file, "sqliteStore", { busyTimeoutMs: 50 }).close();
  });

  it("a WAL file held in exclusive locking mode by another connection is locked (SQLITE_BUSY)", () => {
    const file = fresh("locked-wal");
    sqliteStore({ file }).close();
    const other = new (raw())(file);
    other.pragma("locking_mode = EXCLUSIVE");
    other.exec("BEGIN EXCLUSIVE; CREATE TABLE t (x); COMMIT");
    configError(
      () => openDatabase(file, "sqliteStore", { busyTimeoutMs: 50 }),
      file,
      /End that connection's transaction/,
      /^SQLITE_BUSY/,
    );
    other.close();
  });

  it("a file in a directory that does not exist names the directory to create", () => {
    const missing = join(dir, "no-such-dir", "sub");
    const file = join(missing, "runhooks.db");
    const error = configError(() => openDatabase(file, "sqliteStore"), file, /Create the directory/);
    expect(error.message).toContain(`its directory ${missing} does not exist`);
    expect(existsSync(missing)).toBe(false);
  });

  it("a directory given as the file says to give a file in it (SQLITE_CANTOPEN)", () => {
    const folder = join(dir, `folder-${++n}`);
    mkdirSync(folder);
    const error = configError(
      () => openDatabase(folder, "sqliteStore"),
      folder,
      /Give the path of a file in it/,
      /^SQLITE_CANTOPEN/,
    );
    expect(error.message).toContain("it is a directory");
  });
});

// Root may write to any file whatever its mode, so as root these cases run with the effective uid and gid
// of nobody (65534) for the duration of the synchronous open, and back to root after it: the kernel then
// checks the permissions as it does for any unprivileged service.
const asRoot = process.getuid?.() === 0;
const how = asRoot ? " (run as root: opened with the effective uid of nobody)" : "";
function unprivileged<T>(fn: () => T): T {
  if (!asRoot) return fn();
  process.setegid?.(65534);
  process.seteuid?.(65534);
  try {
    return fn();
  } finally {
    process.seteuid?.(0);
    process.setegid?.(0);
  }
}
function readOnlyFixture(mode: "delete" | "wal", dirMode: number): { folder: string; file: string } {
  const folder = join(dir, `ro-${++n}`);
  mkdirSync(folder);
  const file = join(folder, "runhooks.db");
  const db: Database = new (raw())(file);
  db.pragma(`journal_mode = ${mode}`);
  db.exec("CREATE TABLE t (x)");
  db.close();
  chmodSync(file, 0o444);
  chmodSync(folder, dirMode);
  restore.push(folder);
  return { folder, file };
}

suite(`openDatabase(): read-only files and directories${how}`, () => {
  beforeAll(() => {
    loadDriver();
  });

  it("a read-only file in a read-only directory fails at the switch to WAL (SQLITE_READONLY)", () => {
    const { file } = readOnlyFixture("delete", 0o555);
    const error = configError(
      () => unprivileged(() => openDatabase(file, "sqliteStore")),
      file,
      /give this process write permission on the file and on .*, or choose a writable path/,
      /^SQLITE_READONLY/,
    );
    expect(error.message).toMatch(/^sqliteStore: cannot write to the SQLite database/);
  });

  it("a read-only WAL file in a writable directory fails at creation, not at the first write", () => {
    // Already in WAL mode, the switch writes nothing: the write check in a rolled-back transaction finds it.
    const { file } = readOnlyFixture("wal", 0o777);
    configError(
      () => unprivileged(() => openDatabase(file, "sqliteStore")),
      file,
      /write permission on the file/,
      /^SQLITE_READONLY/,
    );
  });

  it("a WAL file in a read-only directory fails: SQLite cannot create its -wal and -shm files", () => {
    const { file, folder } = readOnlyFixture("wal", 0o555);
    const error = configError(
      () => unprivileged(() => openDatabase(file, "sqliteStore")),
      file,
      /write permission on the file and on/,
      /^SQLITE_READONLY/,
    );
    expect(error.message).toContain(folder);
  });

  it("a new file in a read-only directory cannot be created (SQLITE_CANTOPEN)", () => {
    const folder = join(dir, `ro-${++n}`);
    mkdirSync(folder, { mode: 0o555 });
    chmodSync(folder, 0o555);
    restore.push(folder);
    const file = join(folder, "runhooks.db");
    const error = configError(
      () => unprivileged(() => sqliteStore({ file })),
      file,
      /may not create files in/,
      /^SQLITE_CANTOPEN/,
    );
    expect(error.message).toContain(folder);
    expect(existsSync(file)).toBe(false);
  });
});

suite("migrate(db, component, migrations)", () => {
  const tables = (db: Database): string[] =>
    (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
        name: string;
      }>
    ).map((row) => row.name);

  it("runs each migration once, in order, and only the new ones when a release appends one", () => {
    const db = openDatabase(fresh(), "test");
    migrate(db, "test", ["CREATE TABLE a (x)", "ALTER TABLE a ADD COLUMN y"]);
    expect(schemaVersion(db, "test")).toBe(2);
    migrate(db, "test", ["CREATE TABLE a (x)", "ALTER TABLE a ADD COLUMN y"]);
    migrate(db, "test", ["CREATE TABLE a (x)", "ALTER TABLE a ADD COLUMN y", "CREATE TABLE b (z)"]);
    expect(schemaVersion(db, "test")).toBe(3);
    expect(tables(db)).toEqual(["a", "b", "runhooks_schema"]);
    db.close();
  });

  it("keeps one version per component", () => {
    const db = openDatabase(fresh(), "test");
    migrate(db, "store", ["CREATE TABLE s (x)"]);
    migrate(db, "backend", ["CREATE TABLE q (x)", "CREATE TABLE r (x)"]);
    expect([schemaVersion(db, "store"), schemaVersion(db, "backend")]).toEqual([1, 2]);
    db.close();
  });

  it("is one transaction: a failing migration leaves no table and no version behind, and says which failed", () => {
    const file = fresh();
    const db = openDatabase(file, "test");
    const error = configError(
      () => migrate(db, "test", ["CREATE TABLE a (x)", "CREATE TABLE b (x); INSERT INTO nope VALUES (1)"]),
      file,
      /Nothing was changed/,
      /^SQLITE_ERROR$/,
    );
    expect(error.message).toMatch(
      /migration 2 of the test tables in .* failed: SqliteError: no such table: nope/,
    );
    expect(tables(db)).toEqual([]);
    expect(schemaVersion(db, "test")).toBe(0);
    db.close();
  });

  it("throws a ConfigError naming the file when the file's version is newer (downgrade)", () => {
    const file = fresh();
    const db = openDatabase(file, "test");
    migrate(db, "test", ["CREATE TABLE a (x)", "CREATE TABLE b (x)"]);
    const error = configError(
      () => migrate(db, "test", ["CREATE TABLE a (x)"]),
      file,
      /Upgrade runhooks/,
      null,
    );
    expect(error.message).toContain("schema version 2, newer than this runhooks release knows (1)");
    expect(schemaVersion(db, "test")).toBe(2);
    db.close();
  });
});

describe("driverError(): what loadDriver() throws when better-sqlite3 cannot be loaded", () => {
  const moduleError = (message: string, code?: string): Error =>
    Object.assign(new Error(message), code === undefined ? {} : { code });

  it.each(["MODULE_NOT_FOUND", "ERR_MODULE_NOT_FOUND"])(
    "not installed (%s): says what to install",
    (code) => {
      const cause = moduleError(
        "Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/node_modules/runhooks/dist/sqlite/index.js",
        code,
      );
      const error = driverError(cause);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toBe(
        "runhooks/sqlite needs better-sqlite3 (^12), an optional peer dependency: npm install better-sqlite3@^12",
      );
      expect(error.cause).toBe(cause);
    },
  );

  it("built for another Node (ERR_DLOPEN_FAILED, NODE_MODULE_VERSION): says so and says npm rebuild", () => {
    const cause = moduleError(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against " +
        "a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\n" +
        "NODE_MODULE_VERSION 127. Please try re-compiling or re-installing\nthe module.",
      "ERR_DLOPEN_FAILED",
    );
    const error = driverError(cause);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`cannot load better-sqlite3 on Node ${process.version}`);
    expect(error.message).toContain("built for another Node version (ABI)");
    expect(error.message).toContain(
      "NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 127",
    );
    expect(error.message).toMatch(/npm rebuild better-sqlite3$/);
    expect(error.cause).toBe(cause);
    // The message alone (no code) is enough.
    expect(driverError(moduleError(cause.message)).message).toMatch(/npm rebuild better-sqlite3$/);
  });

  it("an addon that was never built (bindings file missing): says npm rebuild", () => {
    const error = driverError(
      moduleError("Could not locate the bindings file. Tried:\n → /app/build/x.node"),
    );
    expect(error.message).toMatch(/never built.*npm rebuild better-sqlite3$/);
  });

  it("anything else, e.g. one of its own dependencies missing: says what failed and to reinstall", () => {
    const error = driverError(
      moduleError(
        "Cannot find module 'bindings'\nRequire stack:\n- /app/node_modules/better-sqlite3/lib/database.js",
        "MODULE_NOT_FOUND",
      ),
    );
    expect(error.message).toContain("Cannot find module 'bindings'");
    expect(error.message).toMatch(/Reinstall it: npm install better-sqlite3@\^12$/);
    expect(error.message).not.toContain("optional peer dependency");
  });
});
