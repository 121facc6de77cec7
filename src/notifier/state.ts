import type { DeliveryCounters } from "../delivery/deliver.js";
import type { DeliveryQueue } from "../delivery/queue.js";
import type { Outlet } from "./channels.js";
import type { ResolvedOptions } from "./options.js";
import type { FlushResult } from "./types.js";

/**
 * @internal Everything a notifier holds, in one object that its stages share: the dispatcher adds to
 * `selecting` and the queue, `flush()`/`close()` wait on them, and `phase` tells the dispatcher what
 * `close()` decided.
 */
export interface NotifierState {
  readonly options: ResolvedOptions;
  readonly outlet: Outlet;
  readonly counters: DeliveryCounters;
  readonly queue: DeliveryQueue;
  /**
   * The backend records events before the runner's call returns: the dispatcher then fans each out
   * after the call, never within it.
   */
  readonly deferFanOut: boolean;
  /** The backend's start (resuming what an earlier process left), which `flush()` waits for. */
  starting: Promise<void>;
  /**
   * Work in flight before deliveries are queued: store lookups, and the run state's records of runner
   * calls when it needs I/O (their events are not known yet).
   */
  readonly selecting: Set<Promise<void>>;
  /**
   * `open`; `closed` once `close()` was called (new events are refused); `abandoned` once `close()`
   * gave up waiting (a lookup that finishes later reports its deliveries as abandoned).
   */
  phase: "open" | "closed" | "abandoned";
  /** Deliveries reported as abandoned by lookups that finished after `close()` gave up. */
  abandonedLate: number;
  /** The one `close()` in progress or done. */
  closing: Promise<FlushResult> | undefined;
}
