// The published queue and run-state contracts (runhooks/testing) on sqliteBackend(): a fresh file per
// case, and `reopen` as a restarted process would do it (the earlier backend closed, a new one on the file).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { sqliteBackend } from "runhooks/sqlite";
import { testQueue, testRunState } from "runhooks/testing";
import type { Backend } from "../../src/backends/types.js";
import type { DeliveryQueue } from "../../src/delivery/queue.js";
import { nativeAddonProblem } from "../helpers/native.js";
import { restartable } from "../helpers/backends.js";
import { forwarding } from "../helpers/queue.js";

const problem = await nativeAddonProblem("better-sqlite3");

const dir = mkdtempSync(join(tmpdir(), "runhooks-contracts-"));
chmodSync(dir, 0o755);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

const files = (): ReturnType<typeof restartable<string>> =>
  restartable(
    () => join(dir, `contract-${++n}.db`),
    (file) => sqliteBackend({ file }),
  );

/** A queue whose close() also closes its backend, as the notifier's close() does. */
function closing(queue: DeliveryQueue, backend: Backend): DeliveryQueue {
  return forwarding(queue, {
    start: () => queue.start?.() ?? Promise.resolve(),
    close: async () => {
      await queue.close?.();
      await backend.close?.();
    },
  });
}

if (problem !== undefined) {
  describe("sqliteBackend() contracts", () => {
    it.skip(`needs better-sqlite3, which cannot load on Node ${process.version}: ${problem}`, () =>
      undefined);
  });
} else {
  const queues = files();
  testQueue("sqliteBackend({ file }).queue() (a file per case)", {
    create: (worker, onDrop, limits) => {
      const backend = queues.fresh();
      return closing(backend.queue(worker, onDrop, limits), backend);
    },
    reopen: async (worker, onDrop, limits) => {
      const backend = await queues.restart();
      return closing(backend.queue(worker, onDrop, limits), backend);
    },
    teardown: () => queues.closeAll(),
  });

  const states = files();
  testRunState("sqliteBackend({ file }).runState() (a file per case)", {
    create: (limits) => states.fresh().runState(limits),
    reopen: async (limits) => (await states.restart()).runState(limits),
    teardown: () => states.closeAll(),
  });
}
