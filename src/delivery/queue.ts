import { Slots } from "./_slots.js";
import type { Delivery } from "./types.js";

/**
 * Holds deliveries until they are done. An interface so that a durable or shared queue (a database,
 * Redis) can replace the in-memory default without changing the notifier.
 */
export interface DeliveryQueue {
  /** Accepts a delivery. Never blocks and never throws for delivery problems. */
  enqueue(delivery: Delivery): void;
  /** Deliveries waiting (not yet being attempted). */
  readonly queued: number;
  /** Deliveries waiting or being attempted. */
  readonly size: number;
  /** Resolves when nothing is queued or in flight (including what is enqueued meanwhile). */
  drain(): Promise<void>;
  /**
   * Gives up on everything not yet done and returns it; their later outcomes are not reported. Later
   * enqueues are refused (reported as abandoned by the notifier).
   */
  abandon(): Delivery[];
}

/** Why the queue dropped a delivery without sending it. */
export type DropReason = "superseded" | "stale" | "overflow";

/** What a worker gets besides the delivery. */
export interface WorkerContext {
  /** Aborted when the queue abandons its work (on `close()` after the timeout). */
  readonly signal: AbortSignal;
  /**
   * The same as `signal.aborted`. Optional: a queue may provide it so that a delivery that never waits
   * (the common case) costs no `AbortSignal`, which the in-memory queue creates only when read.
   */
  readonly aborted?: boolean | undefined;
  /**
   * Waits `ms` milliseconds; rejects (with the abort reason) as soon as the work is aborted. Optional:
   * without it, workers wait on `signal`. The in-memory queue's needs no `AbortSignal`, and lends the
   * delivery's attempt slot (`maxInFlight`) to another delivery meanwhile.
   */
  sleep?(ms: number): Promise<void>;
}

/** Does the work of one delivery: every attempt, and its reports. Never rejects. */
export type DeliveryWorker = (delivery: Delivery, context: WorkerContext) => Promise<void>;

/** Builds a queue around the notifier's worker; `onDrop` reports a delivery dropped unsent. */
export type QueueFactory = (
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
) => DeliveryQueue;

/** Options of the in-memory queue. */
export interface MemoryQueueOptions {
  /**
   * Deliveries that may wait at once, across all webhooks. Past it, the oldest waiting delivery of a
   * non-terminal event is dropped (then the oldest of any), and each drop is reported.
   * @default 10000
   */
  maxQueued?: number | undefined;
  /**
   * Deliveries attempted at once, across all webhooks. A delivery waiting out a backoff or a rate limit
   * does not count: only attempts do. The rest wait their turn in order, as queue entries rather than
   * as requests already built.
   * @default 128
   */
  maxInFlight?: number | undefined;
}

/** A queued delivery; while running, also its worker's context. */
class Entry implements WorkerContext {
  state: "queued" | "running" | "done" = "queued";
  /** The lane array holding it while it waits. */
  lane: Entry[] | undefined = undefined;
  /** Arrival order. */
  seq = 0;
  /** Whether its worker holds an attempt slot (given up while it sleeps). */
  holdsSlot = false;
  /** Its index in the queue's list of running entries while it runs, else -1. */
  activeAt = -1;
  /** The `signal` handed out, made only when a worker reads it. */
  private controller: AbortController | undefined = undefined;
  /** Set while the worker sleeps: ends the sleep early when aborted. */
  private wake: ((reason: Error) => void) | undefined = undefined;
  private reason: Error | undefined = undefined;

  constructor(
    readonly delivery: Delivery,
    private readonly slots: Slots,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  sleep(ms: number): Promise<void> {
    const reason = this.reason;
    if (reason) return Promise.reject(reason);
    // A sleeping delivery attempts nothing: its slot serves another meanwhile.
    this.releaseSlot();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        const resume = (): void => {
          this.holdsSlot = true;
          if (this.reason) {
            this.releaseSlot();
            reject(this.reason);
          } else resolve();
        };
        const turn = this.slots.acquire();
        if (turn) void turn.then(resume);
        else resume();
      }, ms);
      this.wake = (why) => {
        clearTimeout(timer);
        reject(why);
      };
    });
  }

  releaseSlot(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.slots.release();
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const wake = this.wake;
    this.wake = undefined;
    wake?.(reason);
  }
}

/**
 * @internal The in-memory queue. One lane per (webhook, run): a lane sends one delivery at a time, in
 * the order events fired, so a run's events reach a webhook in lifecycle order even while an earlier
 * one is retrying. Lanes run independently: a dead endpoint delays only its own lanes.
 */
export function memoryQueue(
  worker: DeliveryWorker,
  onDrop: (delivery: Delivery, reason: DropReason) => void,
  options: MemoryQueueOptions = {},
  now: () => number = Date.now,
): DeliveryQueue {
  const maxQueued = options.maxQueued ?? 10_000;
  if (!Number.isInteger(maxQueued) || maxQueued < 1)
    throw new RangeError("maxQueued: must be a whole number, 1 or more");
  const maxInFlight = options.maxInFlight ?? 128;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1)
    throw new RangeError("maxInFlight: must be a whole number, 1 or more");
  const slots = new Slots(maxInFlight);
  const lanes = new Map<string, Entry[]>();
  // Waiting entries in arrival order, split so the oldest non-terminal one is found at once. Entries
  // that left the waiting state are skipped lazily.
  const waiting = { other: [] as Entry[], terminal: [] as Entry[] };
  let queued = 0;
  let running = 0;
  // Running entries, in no order (abandon() sorts); abandon() bumps the generation so lanes stop. An
  // array with each entry's index, not a Set: a Set hashes every new entry, twice per delivery.
  const active: Entry[] = [];
  const addActive = (entry: Entry): void => {
    entry.activeAt = active.length;
    active.push(entry);
  };
  const removeActive = (entry: Entry): void => {
    const at = entry.activeAt;
    if (at < 0) return;
    entry.activeAt = -1;
    const last = active.pop() as Entry;
    if (last !== entry) {
      active[at] = last;
      last.activeAt = at;
    }
  };
  let abandons = 0;
  let enqueued = 0;
  let waiters: Array<() => void> = [];

  const wake = (): void => {
    if (queued + running > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  };
  // The waiting lists skip departed entries lazily; compact them so they never hold more than about
  // twice what waits (else every delivery ever queued, body and all, would stay reachable).
  const compact = (): void => {
    for (const name of ["other", "terminal"] as const) {
      if (waiting[name].length > 2 * queued + 64)
        waiting[name] = waiting[name].filter((e) => e.state === "queued");
    }
  };
  const drop = (entry: Entry, reason: DropReason): void => {
    entry.state = "done";
    queued -= 1;
    compact();
    // A lane whose head is stuck retrying would otherwise keep every dropped entry behind it (body and
    // all) until the head is done: take dropped entries out once they are half the lane.
    const lane = entry.lane;
    entry.lane = undefined;
    if (lane && lane.length > 16) {
      let done = 0;
      for (const other of lane) if (other.state === "done") done += 1;
      if (done * 2 > lane.length) {
        let keep = 0;
        for (const other of lane) if (other.state !== "done") lane[keep++] = other;
        lane.length = keep;
      }
    }
    onDrop(entry.delivery, reason);
  };
  const oldestWaiting = (list: Entry[]): Entry | undefined => {
    while (list.length > 0 && list[0]?.state !== "queued") list.shift();
    return list[0];
  };

  const runLane = async (key: string, lane: Entry[]): Promise<void> => {
    const generation = abandons;
    // A lane takes an attempt slot before its head's worker starts; while it waits, the head stays in
    // the lane, where it can still be superseded or dropped.
    let held = false;
    for (let entry = lane[0]; entry !== undefined; entry = lane[0]) {
      if (entry.state !== "queued") {
        lane.shift();
        continue;
      }
      if (now() > entry.delivery.deadlineAt) {
        lane.shift();
        drop(entry, "stale");
        continue;
      }
      if (!held) {
        held = true;
        const turn = slots.acquire();
        if (turn) {
          await turn;
          if (abandons !== generation) {
            slots.release();
            return;
          }
          // The head may have changed meanwhile: look again.
          continue;
        }
      }
      lane.shift();
      held = false;
      entry.holdsSlot = true;
      entry.state = "running";
      entry.lane = undefined;
      queued -= 1;
      running += 1;
      addActive(entry);
      compact();
      try {
        await worker(entry.delivery, entry);
      } finally {
        entry.releaseSlot();
        removeActive(entry);
        // After abandon() the counters were reset and the entry already counts as done.
        if (isRunning(entry)) {
          entry.state = "done";
          running -= 1;
        }
      }
      if (abandons !== generation) return;
    }
    if (held) slots.release();
    lanes.delete(key);
    wake();
  };

  return {
    enqueue(delivery) {
      const key = `${delivery.webhookId}\u0000${delivery.runId}`;
      const entry = new Entry(delivery, slots);
      let lane = lanes.get(key);
      const idle = lane === undefined;
      if (delivery.terminal && lane) {
        // An update that never went out is worthless once the run is over.
        // Over a copy: drop() may compact the lane array.
        for (const other of [...lane]) {
          if (other.state === "queued" && other.delivery.event === "in_progress") drop(other, "superseded");
        }
      }
      if (lane === undefined) {
        lane = [];
        lanes.set(key, lane);
      }
      lane.push(entry);
      entry.lane = lane;
      entry.seq = enqueued++;
      queued += 1;
      (delivery.terminal ? waiting.terminal : waiting.other).push(entry);
      // The cap counts deliveries being retried too: with endpoints down and runs coming and going,
      // those are what would otherwise pile up. The total was within the cap before this one, and this
      // one waits: dropping one waiting delivery (this one, at worst) is always enough.
      if (queued + running > maxQueued) {
        const victim = oldestWaiting(waiting.other) ?? oldestWaiting(waiting.terminal);
        if (victim) drop(victim, "overflow");
      }
      // Sending starts once the caller is done (events are enqueued synchronously from `emit`): a
      // runner's call then costs formatting and queueing only, never the HTTP client's work.
      if (idle) queueMicrotask(() => void runLane(key, lane));
    },
    get queued() {
      return queued;
    },
    get size() {
      return queued + running;
    },
    drain() {
      if (queued + running === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    abandon() {
      // Everything not done is running (active) or queued in a waiting list (which may still hold
      // entries that moved on); reported in arrival order.
      const isQueued = (entry: Entry): boolean => entry.state === "queued";
      const open = [...active, ...waiting.other.filter(isQueued), ...waiting.terminal.filter(isQueued)].sort(
        (a, b) => a.seq - b.seq,
      );
      abandons += 1;
      for (const entry of open) {
        if (entry.state === "running") entry.abort(new Error("abandoned"));
        entry.state = "done";
      }
      const left = open.map((entry) => entry.delivery);
      for (const entry of active) entry.activeAt = -1;
      active.length = 0;
      lanes.clear();
      waiting.other = [];
      waiting.terminal = [];
      queued = 0;
      running = 0;
      wake();
      return left;
    },
  };
}

/** A function, so that TypeScript does not keep the narrowing from before the await. */
function isRunning(entry: Entry): boolean {
  return entry.state === "running";
}
