import { memoryQueue } from "../delivery/queue.js";
import { memoryRunState } from "../run-tracker.js";
import type { Backend } from "./types.js";

/**
 * The default backend: the delivery queue and the run state in this process's memory, bounded by the
 * notifier's `maxQueued`, `maxInFlight` and `maxRuns`. Nothing survives the process; use
 * `sqliteBackend()` (`runhooks/sqlite`) for that.
 *
 * @example
 * const notifier = createNotifier({ backend: memoryBackend() }); // the same as createNotifier()
 */
export function memoryBackend(): Backend {
  return {
    name: "memory",
    durable: false,
    runState: (limits) => memoryRunState(limits.maxRuns),
    queue: (worker, onDrop, limits) =>
      memoryQueue(worker, onDrop, { maxQueued: limits.maxQueued, maxInFlight: limits.maxInFlight }),
  };
}
