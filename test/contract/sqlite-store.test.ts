import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { testStore } from "../../src/testing/store-contract.js";
import { nativeAddonProblem } from "../helpers/native.js";

// better-sqlite3 is a native addon built for the Node that installed it (Node 20 here). Under the other
// Node versions CI runs, only these tests are skipped, and the skip says why.
const problem = await nativeAddonProblem("better-sqlite3");

if (problem) {
  describe("SubscriptionStore contract: examples/sqlite-store (SQLite via better-sqlite3)", () => {
    it.skip(`needs better-sqlite3, which cannot load on Node ${process.version}: ${problem}`, () =>
      undefined);
  });
} else {
  const { sqliteStore } = await import("../../examples/sqlite-store/sqlite-store.js");
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
