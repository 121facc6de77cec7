// runhooks/postgres's postgresStore() against the published SubscriptionStore contract, on a real
// PostgreSQL server (RUNHOOKS_TEST_POSTGRES_URL: `npm run test:postgres`, or .ci/run), and what it says
// when the database cannot be used: each problem is a ConfigError naming the database and what to do.
import { createServer } from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { postgresStore, type PostgresStore } from "runhooks/postgres";
import { sampleRecord, testStore } from "runhooks/testing";
import { describeTarget } from "../../src/backends/postgres/database.js";
import { ConfigError } from "../../src/errors.js";
import { adminPool, freshSchema, POSTGRES_SKIP, POSTGRES_URL } from "../helpers/postgres.js";

const url = POSTGRES_URL;

function suite(title: string, body: (url: string) => void): void {
  describe(title, () => {
    if (url === undefined) it.skip(POSTGRES_SKIP, () => undefined);
    else body(url);
  });
}

if (url !== undefined) {
  testStore(
    "runhooks/postgres postgresStore({ connectionString, schema }) (PostgreSQL, a schema per case)",
    () => postgresStore({ connectionString: url, schema: freshSchema("store") }),
    { teardown: (store) => (store as PostgresStore).close() },
  );
} else {
  describe("SubscriptionStore contract: runhooks/postgres postgresStore()", () => {
    it.skip(POSTGRES_SKIP, () => undefined);
  });
}

/** A port on 127.0.0.1 that nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function configError(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "it rejects with a ConfigError").toBeInstanceOf(ConfigError);
  for (const pattern of patterns) expect((error as Error).message).toMatch(pattern);
  return error as ConfigError;
}

suite("postgresStore(): one table shared by every process", (url) => {
  it("keeps webhooks in the database: a second store on the same schema (another replica) sees them", async () => {
    const schema = freshSchema("shared");
    const record = sampleRecord({ secret: "whsec_c2VjcmV0", headers: { b: "2", a: "1" } });
    const first = postgresStore({ connectionString: url, schema });
    const second = postgresStore({ connectionString: url, schema });
    await first.create(record);
    await expect(second.get(record.id)).resolves.toEqual(record);
    // Header order survives (JSON text, not jsonb).
    expect(Object.keys((await second.get(record.id))?.headers ?? {})).toEqual(["b", "a"]);
    await first.close();
    await second.close();
  });

  it("creates its schema and records the store's version in schema_versions; two stores starting at once migrate once", async () => {
    const schema = freshSchema("migrate");
    const stores = [1, 2, 3].map(() => postgresStore({ connectionString: url, schema }));
    await Promise.all(stores.map((s) => s.ready()));
    const { rows } = await adminPool().query(`SELECT component, version FROM "${schema}".schema_versions`);
    expect(rows).toEqual([{ component: "store", version: 1 }]);
    for (const store of stores) await store.close();
  });

  it("uses a given pool and leaves it open on close()", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = postgresStore({ pool, schema: freshSchema("pool") });
    await store.create(sampleRecord());
    await store.close();
    await expect(pool.query("SELECT 1 AS one")).resolves.toMatchObject({ rows: [{ one: 1 }] });
    await pool.end();
  });

  it("rejects (never throws) once closed; close() twice is fine", async () => {
    const store = postgresStore({ connectionString: url, schema: freshSchema("closed") });
    await store.ready();
    await store.close();
    await expect(store.close()).resolves.toBeUndefined();
    await expect(store.list()).rejects.toThrow(/the store is closed/);
  });

  it("refuses a schema written by a newer runhooks, leaving it as it is", async () => {
    const schema = freshSchema("newer");
    const store = postgresStore({ connectionString: url, schema });
    await store.ready();
    await store.close();
    await adminPool().query(`UPDATE "${schema}".schema_versions SET version = 99`);
    const again = postgresStore({ connectionString: url, schema });
    await configError(
      again.ready(),
      /at version 99, newer than this runhooks release knows \(1\)/,
      /Upgrade runhooks/,
    );
    await expect(again.list(), "every call says the same").rejects.toThrow(/Upgrade runhooks/);
    await again.close();
    const { rows } = await adminPool().query(`SELECT version FROM "${schema}".schema_versions`);
    expect(rows).toEqual([{ version: 99 }]);
  });
});

suite(
  "postgresStore(): a database it cannot use fails, naming it (never the password) and what to do",
  (url) => {
    it("nothing listens on the port (ECONNREFUSED)", async () => {
      const port = await closedPort();
      const store = postgresStore({
        connectionString: `postgres://runhooks:hunter2@127.0.0.1:${port}/postgres`,
      });
      const error = await configError(
        store.ready(),
        new RegExp(`runhooks@127\\.0\\.0\\.1:${port}/postgres is not reachable`),
        /check that the server runs/,
      );
      expect(error.message).not.toContain("hunter2");
      await store.close();
    });

    it("the database does not exist (3D000)", async () => {
      const missing = new URL(url);
      missing.pathname = "/no_such_database";
      const store = postgresStore({ connectionString: missing.href });
      await configError(store.ready(), /\/no_such_database has no such database: create it/);
      await store.close();
    });

    it("the user may not create the schema (42501)", async () => {
      const admin = adminPool();
      const role = `limited_${process.pid}`;
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      try {
        const limited = new URL(url);
        limited.username = role;
        const store = postgresStore({ connectionString: limited.href, schema: freshSchema("denied") });
        await configError(store.ready(), /refused a permission: the user needs CREATE on the database/);
        await store.close();
      } finally {
        await admin.query(`DROP ROLE ${role}`);
      }
    });
  },
);

describe("postgresStore(): options", () => {
  it("needs connectionString or pool, not both, and a plain schema name", () => {
    expect(() => postgresStore({})).toThrow(/give connectionString .* or pool/);
    expect(() => postgresStore({ connectionString: "postgres://x@127.0.0.1/db", pool: {} as never })).toThrow(
      /either connectionString or pool, not both/,
    );
    expect(() => postgresStore({ pool: {} as never })).toThrow(/pool must be a node-postgres Pool/);
    expect(() =>
      postgresStore({ connectionString: "postgres://x@127.0.0.1/db", schema: 'a"; DROP' }),
    ).toThrow(/schema must be a PostgreSQL identifier/);
    expect(() => postgresStore({ connectionString: "postgres://x@127.0.0.1/db", maxConnections: 0 })).toThrow(
      /maxConnections.*whole number/,
    );
  });

  it("refuses a server older than PostgreSQL 13, saying what to do", async () => {
    // A pool standing in for a PostgreSQL 12 server: nothing past the version check may run.
    const statements: string[] = [];
    const client = {
      query: (sql: string) => {
        statements.push(sql);
        return Promise.resolve({ rows: [{ v: 120017 }], rowCount: 1 });
      },
      release: () => undefined,
    };
    const pool = {
      connect: () => Promise.resolve(client),
      query: client.query,
      end: () => Promise.resolve(),
      on: () => pool,
    };
    const store = postgresStore({ pool: pool });
    await expect(store.ready()).rejects.toThrow(
      /is version 12, and runhooks\/postgres needs 13 or newer\. Upgrade/,
    );
    expect(statements.filter((sql) => /CREATE|BEGIN/.test(sql))).toEqual([]);
  });

  it("names the database without its password", () => {
    expect(describeTarget("postgres://app:s3cret@db.internal:6432/platform?sslmode=require")).toBe(
      "app@db.internal:6432/platform",
    );
    expect(describeTarget("host=db password=s3cret")).toBe("the database of connectionString");
  });
});
