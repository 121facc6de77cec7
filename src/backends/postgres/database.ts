/**
 * @internal Connecting `runhooks/postgres` to PostgreSQL (node-postgres): loading the driver, the pool
 * (given or owned), turning PostgreSQL's and the network's errors into errors a user can act on, and
 * versioned schemas. Shared by `postgresStore()` and `postgresBackend()`.
 *
 * `pg` is an optional peer dependency: it is loaded when a pool is first made, never when
 * `runhooks/postgres` is imported, and its types stay out of every public declaration.
 *
 * @module
 */
import { createRequire } from "node:module";
import type * as Pg from "pg";
import { BackendError, ConfigError, describe, isConfigError } from "../../errors.js";
import { storageFailure } from "../_errors.js";

/**
 * The part of a node-postgres `Pool` that runhooks uses, so that a caller can hand over the pool it
 * already has (`new pg.Pool(…)`) without runhooks' declarations depending on `pg`'s types.
 */
export interface PostgresPool {
  /** Runs one statement on a connection of the pool. */
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** Takes a connection out of the pool, for a transaction; `release()` gives it back. */
  connect(): Promise<PostgresClient>;
  /** Closes every connection. runhooks calls it only on a pool it made itself. */
  end(): Promise<void>;
}

/** One connection taken from a {@link PostgresPool}. */
export interface PostgresClient {
  /** Runs one statement on this connection. */
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** Gives the connection back to the pool; with an error, the pool closes it instead. */
  release(error?: Error | boolean): void;
}

/** How `postgresStore()` and `postgresBackend()` reach the database: a connection string or a pool. */
export interface PostgresConnectionOptions {
  /**
   * A libpq connection string. runhooks makes its own pool from it (closed by the store's or backend's
   * `close()`). Give either this or `pool`.
   *
   * @example "postgres://runhooks:secret@db.internal:5432/platform"
   */
  connectionString?: string | undefined;
  /**
   * A node-postgres pool you already have (`new pg.Pool(…)`). runhooks uses it and never ends it.
   * Give either this or `connectionString`.
   */
  pool?: PostgresPool | undefined;
  /**
   * The PostgreSQL schema that holds runhooks' tables, created when it does not exist. Letters, digits
   * and `_`, starting with a letter or `_`, at most 48 characters.
   *
   * @default "runhooks"
   */
  schema?: string | undefined;
  /**
   * The most connections the pool runhooks makes may open (ignored with `pool`); `postgresBackend()`
   * needs 2 or more.
   * @default 10
   */
  maxConnections?: number | undefined;
}

/** @internal A pool with what runhooks knows about it. */
export interface Connection {
  readonly pool: PostgresPool;
  /** The schema, already quoted for SQL: `"runhooks"`. */
  readonly schema: string;
  /** The schema's plain name, for messages and for pg-boss. */
  readonly schemaName: string;
  /** Where it connects, for messages: `user@host:port/database`, never a password; "the given pool". */
  readonly target: string;
  /** Ends the pool when runhooks made it; does nothing for a given one. */
  close(): Promise<void>;
}

type PgModule = typeof Pg;

let driver: PgModule | undefined;

/**
 * @internal node-postgres, loaded on first use and kept.
 *
 * @throws ConfigError when it is not installed, saying what to install.
 */
export function loadPg(): PgModule {
  if (driver !== undefined) return driver;
  try {
    const loaded = createRequire(import.meta.url)("pg") as PgModule & { default?: PgModule };
    driver = loaded.default ?? loaded;
    return driver;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND")
      throw new ConfigError(
        "runhooks/postgres needs pg (node-postgres, ^8), an optional peer dependency: npm install pg@^8",
        { cause: error },
      );
    throw new ConfigError(
      `runhooks/postgres cannot load pg: ${describe(error)}. Reinstall it: npm install pg@^8`,
      { cause: error },
    );
  }
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

/**
 * @internal Checks `options` and makes (or takes) the pool.
 *
 * @param role Who connects, the start of every message, e.g. `postgresStore`.
 * @param minConnections The fewest `maxConnections` it can work with.
 * @throws ConfigError naming the option and what to give.
 */
export function connect(
  options: PostgresConnectionOptions | undefined,
  role: string,
  minConnections = 1,
): Connection {
  const given = (options ?? {}) as Partial<PostgresConnectionOptions>;
  const schemaName = given.schema ?? "runhooks";
  if (typeof schemaName !== "string" || !SCHEMA_NAME.test(schemaName))
    throw new ConfigError(
      `${role}({ schema }): schema must be a PostgreSQL identifier of letters, digits and _ (starting ` +
        `with a letter or _, at most 48 characters), e.g. "runhooks"; got ${JSON.stringify(schemaName)}`,
    );
  const schema = `"${schemaName}"`;
  if (given.pool !== undefined) {
    if (given.connectionString !== undefined)
      throw new ConfigError(
        `${role}: give either connectionString or pool, not both (the pool is used as it is)`,
      );
    if (typeof given.pool.query !== "function" || typeof given.pool.connect !== "function")
      throw new ConfigError(
        `${role}({ pool }): pool must be a node-postgres Pool (new pg.Pool(…)), with query() and connect()`,
      );
    const pool = given.pool;
    return { pool, schema, schemaName, target: "the given pool", close: () => Promise.resolve() };
  }
  const connectionString = given.connectionString;
  if (typeof connectionString !== "string" || connectionString.trim() === "")
    throw new ConfigError(
      `${role}: give connectionString (e.g. "postgres://user:password@host:5432/database", often ` +
        `process.env.DATABASE_URL) or pool (a node-postgres Pool); got neither`,
    );
  const max = given.maxConnections ?? 10;
  if (!Number.isInteger(max) || max < minConnections)
    throw new ConfigError(
      `${role}({ maxConnections }): must be a whole number ≥ ${minConnections}; got ${String(max)}` +
        (minConnections > 1 ? ` (one connection holds a lock while pg-boss starts on another)` : ""),
    );
  const pg = loadPg();
  const pool = new pg.Pool({ connectionString, max }) as unknown as PostgresPool & Pg.Pool;
  // An idle connection the server drops emits `error` on the pool: without a listener that would
  // crash the process. The next query reconnects, and its own failure is reported where it happens.
  pool.on("error", () => undefined);
  let ended = false;
  return {
    pool,
    schema,
    schemaName,
    target: describeTarget(connectionString),
    close: async () => {
      if (ended) return;
      ended = true;
      await pool.end();
    },
  };
}

/** `user@host:port/database` from a connection string, without its password; "" parts left out. */
export function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    const user = url.username === "" ? "" : `${decodeURIComponent(url.username)}@`;
    const port = url.port === "" ? "" : `:${url.port}`;
    return `${user}${url.hostname}${port}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    // A keyword/value string (host=… password=…): name no part of it rather than risk the password.
    return "the database of connectionString";
  }
}

/** @internal The `code` of an error: PostgreSQL's SQLSTATE (`42P01`), Node's (`ECONNREFUSED`), or "". */
export function errorCode(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "";
}

/**
 * @internal What connecting or migrating threw, as a ConfigError that names the database and what to do:
 * refused, unknown host, authentication, missing database, permission (a ConfigError passes as it is).
 */
export function connectionError(error: unknown, connection: Connection, role: string): ConfigError {
  if (isConfigError(error)) return error;
  const code = errorCode(error);
  const where = `${role}: PostgreSQL at ${connection.target}`;
  const hint =
    code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "EHOSTUNREACH"
      ? "is not reachable: check that the server runs and listens on that host and port"
      : code === "ENOTFOUND" || code === "EAI_AGAIN"
        ? "has a host name that does not resolve: check the host in connectionString"
        : code === "28P01" || code === "28000"
          ? "refused the user: check the user name and password (pg reads PGPASSWORD too)"
          : code === "3D000"
            ? "has no such database: create it (createdb) or fix the database name"
            : code === "42501"
              ? `refused a permission: the user needs CREATE on the database (for schema ${connection.schemaName}) or USAGE and CREATE on that schema`
              : "failed";
  return new ConfigError(`${where} ${hint} (${describe(error)})`, { cause: error });
}

/** A schema migration: the SQL that takes the component's tables one version up, given the quoted schema. */
export type Migration = (schema: string) => string;

/**
 * @internal Brings `component`'s tables to the newest version: creates the schema and its
 * `schema_versions` table when needed and runs the migrations the database has not had yet, in one
 * transaction under an advisory lock, so that a failing migration leaves nothing half-done and replicas
 * starting at once migrate once. Releases only append to `migrations`.
 *
 * @throws ConfigError when the database's version is newer than `migrations` knows, a migration fails,
 *   or the database cannot be reached (see {@link connectionError}).
 */
export async function migrate(
  connection: Connection,
  component: string,
  migrations: readonly Migration[],
  role: string,
): Promise<void> {
  const { schema, schemaName } = connection;
  let client: PostgresClient | undefined;
  let running: number | undefined;
  try {
    client = await checkout(connection.pool);
    await checkServerVersion(client, connection, role);
    await client.query("BEGIN");
    // One lock for every runhooks schema of the database: migrations are rare and short.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('runhooks migrations'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_versions (component text PRIMARY KEY, version integer NOT NULL)`,
    );
    const found = await client.query(`SELECT version FROM ${schema}.schema_versions WHERE component = $1`, [
      component,
    ]);
    const from = (found.rows[0] as { version: number } | undefined)?.version ?? 0;
    if (from > migrations.length)
      throw new ConfigError(
        `${role}: the ${component} tables in schema ${schemaName} at ${connection.target} are at version ` +
          `${from}, newer than this runhooks release knows (${migrations.length}): a newer runhooks wrote ` +
          `them. Upgrade runhooks, or give another schema; runhooks does not downgrade a schema.`,
      );
    for (const [index, sql] of migrations.entries()) {
      if (index < from) continue;
      running = index;
      await client.query(sql(schema));
    }
    running = undefined;
    await client.query(
      `INSERT INTO ${schema}.schema_versions (component, version) VALUES ($1, $2)
       ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
      [component, migrations.length],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client?.query("ROLLBACK").catch(() => undefined);
    if (running !== undefined && !isConfigError(error))
      throw new ConfigError(
        `${role}: migration ${running + 1} of the ${component} tables in schema ${schemaName} at ` +
          `${connection.target} failed: ${describe(error)}. Nothing was changed (the migrations run in ` +
          `one transaction). Another program may have changed that schema's tables: give another schema, ` +
          `or report it with this message.`,
        { cause: error },
      );
    throw connectionError(error, connection, role);
  } finally {
    client?.release();
  }
}

/** PostgreSQL 13: the oldest server runhooks is tested on, and pg-boss 12's too. */
const MIN_SERVER_VERSION = 130000;

async function checkServerVersion(
  client: PostgresClient,
  connection: Connection,
  role: string,
): Promise<void> {
  const { rows } = await client.query("SELECT current_setting('server_version_num')::int AS v");
  const version = (rows[0] as { v: number } | undefined)?.v ?? MIN_SERVER_VERSION;
  if (version < MIN_SERVER_VERSION)
    throw new ConfigError(
      `${role}: PostgreSQL at ${connection.target} is version ${Math.floor(version / 10000)}, and runhooks/postgres needs 13 or newer. Upgrade the server, or use sqliteBackend() from runhooks/sqlite.`,
    );
}

const listening = new WeakSet<object>();

/**
 * @internal A connection from the pool, with an `error` listener: a connection the server drops while
 * it is checked out between two statements emits `error`, which would otherwise crash the process. The
 * statement after it fails, and is reported where it runs.
 */
export async function checkout(pool: PostgresPool): Promise<PostgresClient> {
  const client = await pool.connect();
  const emitter = client as PostgresClient & { on?: (event: string, listener: () => void) => unknown };
  if (!listening.has(client) && typeof emitter.on === "function") {
    emitter.on("error", () => undefined);
    listening.add(client);
  }
  return client;
}

/**
 * @internal Runs `body` in one transaction on one connection of the pool: COMMIT when it resolves,
 * ROLLBACK (and the error) when it rejects. A connection that failed is closed rather than reused.
 */
export async function inTransaction<T>(
  pool: PostgresPool,
  body: (client: PostgresClient) => Promise<T>,
): Promise<T> {
  const client = await checkout(pool);
  try {
    await client.query("BEGIN");
    const result = await body(client);
    await client.query("COMMIT");
    client.release();
    return result;
  } catch (error) {
    const rolledBack = await client.query("ROLLBACK").then(
      () => true,
      () => false,
    );
    client.release(rolledBack ? undefined : true);
    throw error;
  }
}

/**
 * @internal What `postgresBackend()` reports when a statement fails while it runs: the backend, what it
 * could not do, the error, what follows (`consequence`, from ": …"), and what to check. Never thrown at
 * a runner's call: reported on the `error` channel.
 */
export function storageError(
  connection: Connection,
  operation: string,
  what: string,
  error: unknown,
  consequence = "",
): BackendError {
  const check = `Check the server at ${connection.target} and the network to it.`;
  return storageFailure("postgres", operation, what, error, consequence, check);
}
