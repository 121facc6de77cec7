// The SQLite store against the published SubscriptionStore contract (`testStore` from runhooks/testing).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { testStore } from "runhooks/testing";

// better-sqlite3 is a native addon, built for the Node that installed it: under another Node's ABI it
// cannot load. Only then are these tests skipped, and the skip says why; any other failure fails.
const problem = await nativeProblem();

async function nativeProblem(): Promise<string | undefined> {
  try {
    const { default: Database } = await import("better-sqlite3");
    new Database(":memory:").close();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!/NODE_MODULE_VERSION|ERR_DLOPEN_FAILED/.test(`${message} ${(error as { code?: string }).code}`))
      throw error;
    return message
      .replace(/^.*?(NODE_MODULE_VERSION)/s, "$1")
      .replace(/\s+/g, " ")
      .slice(0, 240);
  }
}

if (problem !== undefined) {
  console.warn(`[skip] better-sqlite3 is built for another Node ABI: ${problem}`);
  describe("SubscriptionStore contract: examples/sqlite-store (SQLite via better-sqlite3)", () => {
    it.skip(`needs better-sqlite3, which cannot load on Node ${process.version}: ${problem}`, () =>
      undefined);
  });
} else {
  const { sqliteStore } = await import("./sqlite-store.js");
  const dir = mkdtempSync(join(tmpdir(), "runhooks-sqlite-"));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  testStore(
    "examples/sqlite-store (SQLite via better-sqlite3, a database file per case)",
    () => sqliteStore(join(dir, `case-${++n}.db`)),
    { teardown: (store) => (store as ReturnType<typeof sqliteStore>).close() },
  );
}
