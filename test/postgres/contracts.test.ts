// The published queue and run-state contracts (runhooks/testing) on postgresBackend(), on a real
// PostgreSQL server: a fresh schema per case, and `reopen` as a restarted process would do it (the
// earlier backend closed, a new one on the same schema).
import { describe, it } from "vitest";
import { postgresBackend } from "runhooks/postgres";
import { testQueue, testRunState } from "runhooks/testing";
import type { Backend } from "../../src/backends/types.js";
import type { DeliveryQueue } from "../../src/delivery/queue.js";
import { freshSchema, NODE_PROBLEM, POSTGRES_SKIP, POSTGRES_URL } from "../helpers/postgres.js";
import { restartable } from "../helpers/backends.js";
import { forwarding } from "../helpers/queue.js";

const schemas = (url: string): ReturnType<typeof restartable<string>> =>
  restartable(
    () => freshSchema("contract"),
    (schema) => postgresBackend({ connectionString: url, schema, pollMs: 20, leaseMs: 2000 }),
  );

/** A queue whose start() starts its backend and whose close() closes it, as the notifier does. */
function managed(queue: DeliveryQueue, backend: Backend): DeliveryQueue {
  return forwarding(queue, {
    start: async () => {
      await queue.start?.();
      await backend.start?.({ fanOut: () => undefined, error: () => undefined });
    },
    close: async () => {
      await queue.close?.();
      await backend.close?.();
    },
  });
}

const skip = POSTGRES_URL === undefined ? POSTGRES_SKIP : NODE_PROBLEM;
if (skip !== undefined || POSTGRES_URL === undefined) {
  describe("postgresBackend() contracts", () => {
    it.skip(skip ?? POSTGRES_SKIP, () => undefined);
  });
} else {
  const queues = schemas(POSTGRES_URL);
  testQueue("postgresBackend().queue() (pg-boss, a schema per case)", {
    create: (worker, onDrop, limits) => {
      const backend = queues.fresh();
      return managed(backend.queue(worker, onDrop, limits), backend);
    },
    reopen: async (worker, onDrop, limits) => {
      const backend = await queues.restart();
      return managed(backend.queue(worker, onDrop, limits), backend);
    },
    teardown: () => queues.closeAll(),
  });

  const states = schemas(POSTGRES_URL);
  testRunState("postgresBackend().runState() (a schema per case)", {
    create: (limits) => states.fresh().runState(limits),
    reopen: async (limits) => (await states.restart()).runState(limits),
    teardown: () => states.closeAll(),
  });
}
