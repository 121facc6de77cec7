import { Holdings, type Held, type HeldList, type WebhookHoldings } from "./_fair.js";
import { Slots } from "./_slots.js";
import type { DeliveryWorker, DropReason, WorkerContext } from "./queue.js";
import type { Delivery } from "./types.js";

/** @internal What the in-memory queue is built from; `memoryQueue()` has checked the numbers. */
export interface LanesOptions {
  worker: DeliveryWorker;
  onDrop: (delivery: Delivery, reason: DropReason) => void;
  maxQueued: number;
  maxInFlight: number;
  now: () => number;
}

/**
 * @internal The in-memory queue's machinery behind `memoryQueue()`: lanes that run one delivery at a
 * time each, attempt slots shared by all lanes, the holdings per webhook that overflow takes back from,
 * and `abandon()`.
 */
export class Lanes {
  private readonly lanes = new Map<string, Entry[]>();
  private readonly holdings = new Holdings<Entry>();
  private readonly running = new RunningList();
  private readonly slots: Slots;
  /** Entries waiting, not yet attempted. */
  private waitingCount = 0;
  /** Bumped by `abandon()`: lanes started before it stop. */
  private abandons = 0;
  private enqueued = 0;
  private drained: Array<() => void> = [];

  constructor(private readonly options: LanesOptions) {
    this.slots = new Slots(options.maxInFlight);
  }

  /** Deliveries waiting (not yet being attempted). */
  get queued(): number {
    return this.waitingCount;
  }

  /** Deliveries waiting or being attempted. */
  get size(): number {
    return this.waitingCount + this.running.size;
  }

  /** Queues `delivery` on its lane; supersedes and overflows as documented on `MemoryQueueOptions`. */
  enqueue(delivery: Delivery): void {
    const key = `${delivery.webhookId}\u0000${delivery.runId}`;
    const entry = new Entry(delivery, this.slots);
    let lane = this.lanes.get(key);
    const idle = lane === undefined;
    if (delivery.terminal && lane) {
      // An update that never went out is worthless once the run is over.
      // Over a copy: drop() may compact the lane array.
      for (const other of [...lane]) {
        if (other.state === "queued" && other.delivery.event === "in_progress")
          this.drop(other, "superseded");
      }
    }
    if (lane === undefined) {
      lane = [];
      this.lanes.set(key, lane);
    }
    lane.push(entry);
    entry.lane = lane;
    entry.seq = this.enqueued++;
    this.waitingCount += 1;
    this.holdings.add(entry);
    // The cap counts deliveries being retried too: with endpoints down and runs coming and going,
    // those are what would otherwise pile up. The total was within the cap before this one, and this
    // one waits: taking back one delivery (this one, at worst) is always enough. It comes from the
    // webhook holding the most, so a dead endpoint's retries cannot crowd out a healthy one.
    if (this.size > this.options.maxQueued) {
      const victim = this.holdings.victim();
      if (victim?.state === "queued") this.drop(victim, "overflow");
      else if (victim) this.evict(victim);
    }
    // Sending starts once the caller is done (events are enqueued synchronously from `emit`): a
    // runner's call then costs formatting and queueing only, never the HTTP client's work.
    if (idle) queueMicrotask(() => void this.runLane(key, lane));
  }

  /** Resolves when nothing waits or runs. */
  drain(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Aborts what runs, forgets what waits, and returns both in arrival order. */
  abandon(): Delivery[] {
    this.running.takeAll();
    const open = this.holdings.takeAll().sort((a, b) => a.seq - b.seq);
    this.abandons += 1;
    for (const entry of open) {
      if (entry.state === "running") entry.abort(new Error("abandoned"));
      entry.state = "done";
    }
    this.lanes.clear();
    this.waitingCount = 0;
    this.settle();
    return open.map((entry) => entry.delivery);
  }

  /** Runs a lane's deliveries one after another until the lane is empty (or the queue abandoned). */
  private async runLane(key: string, lane: Entry[]): Promise<void> {
    const generation = this.abandons;
    // A lane takes an attempt slot before its head's worker starts; while it waits, the head stays in
    // the lane, where it can still be superseded or dropped.
    let held = false;
    for (let entry = lane[0]; entry !== undefined; entry = lane[0]) {
      if (entry.state !== "queued") {
        lane.shift();
        continue;
      }
      if (this.options.now() > entry.delivery.deadlineAt) {
        lane.shift();
        this.drop(entry, "stale");
        continue;
      }
      if (!held) {
        held = true;
        const turn = this.slots.acquire();
        if (turn) {
          await turn;
          if (this.abandons !== generation) {
            this.slots.release();
            return;
          }
          // The head may have changed meanwhile: look again.
          continue;
        }
      }
      lane.shift();
      held = false;
      this.start(entry);
      try {
        await this.options.worker(entry.delivery, entry);
      } finally {
        entry.releaseSlot();
        // After abandon() or an eviction the entry is no longer listed, and already counts as done.
        if (this.running.remove(entry)) {
          entry.state = "done";
          this.holdings.remove(entry);
        }
      }
      if (this.abandons !== generation) return;
    }
    if (held) this.slots.release();
    this.lanes.delete(key);
    this.settle();
  }

  /** Moves the lane's head (which holds the lane's slot) from waiting to running. */
  private start(entry: Entry): void {
    entry.holdsSlot = true;
    entry.state = "running";
    entry.lane = undefined;
    this.waitingCount -= 1;
    this.running.add(entry);
    this.holdings.started(entry);
  }

  /** Drops a waiting entry unsent and reports it. */
  private drop(entry: Entry, reason: DropReason): void {
    entry.state = "done";
    this.waitingCount -= 1;
    this.holdings.remove(entry);
    // A lane whose head is stuck retrying would otherwise keep every dropped entry behind it (body and
    // all) until the head is done: take dropped entries out once they are half the lane.
    const lane = entry.lane;
    entry.lane = undefined;
    if (lane && lane.length > 16) removeDone(lane);
    this.options.onDrop(entry.delivery, reason);
  }

  /**
   * Takes back a running entry that waits out a backoff or a rate limit: it ends its sleep at once, its
   * worker stops without another word, and the drop is reported as overflow, as for a waiting one.
   */
  private evict(entry: Entry): void {
    this.running.remove(entry);
    entry.state = "done";
    this.holdings.remove(entry);
    entry.abort(new Error("evicted: the queue is full"));
    this.options.onDrop(entry.delivery, "overflow");
  }

  /** Resolves the `drain()`s once nothing waits or runs. */
  private settle(): void {
    if (this.size > 0) return;
    const done = this.drained;
    this.drained = [];
    for (const resolve of done) resolve();
  }
}

/** A queued delivery; while running, also its worker's context. */
class Entry implements WorkerContext, Held {
  state: "queued" | "running" | "done" = "queued";
  holder: WebhookHoldings<Held> | undefined = undefined;
  list: HeldList<Held> | undefined = undefined;
  prevHeld: Held | undefined = undefined;
  nextHeld: Held | undefined = undefined;
  /** The lane array holding it while it waits. */
  lane: Entry[] | undefined = undefined;
  /** Arrival order. */
  seq = 0;
  /** Whether its worker holds an attempt slot (given up while it sleeps). */
  holdsSlot = false;
  /** Its index in the list of running entries while it runs, else -1. */
  runningAt = -1;
  /** Set while the worker sleeps: ends the sleep early when aborted. */
  private wake: ((reason: Error) => void) | undefined = undefined;
  private reason: Error | undefined = undefined;

  constructor(
    readonly delivery: Delivery,
    private readonly slots: Slots,
  ) {}

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  /** Waiting, or running without an attempt slot: waiting out a backoff or a rate limit. */
  get evictable(): boolean {
    return this.state === "queued" || (this.state === "running" && !this.holdsSlot);
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

  /** Ends a sleep at once, and every later one. */
  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    const wake = this.wake;
    this.wake = undefined;
    wake?.(reason);
  }
}

/**
 * Running entries, in no order (`abandon()` sorts). An array with each entry's index, not a Set: a Set
 * hashes every new entry, twice per delivery.
 */
class RunningList {
  private readonly entries: Entry[] = [];

  get size(): number {
    return this.entries.length;
  }

  add(entry: Entry): void {
    entry.runningAt = this.entries.length;
    this.entries.push(entry);
  }

  /** Takes `entry` out; false when it was not listed (`takeAll()` took it). */
  remove(entry: Entry): boolean {
    const at = entry.runningAt;
    if (at < 0) return false;
    entry.runningAt = -1;
    const last = this.entries.pop() as Entry;
    if (last !== entry) {
      this.entries[at] = last;
      last.runningAt = at;
    }
    return true;
  }

  /** Empties the list; returns what it held. */
  takeAll(): Entry[] {
    const all = [...this.entries];
    for (const entry of all) entry.runningAt = -1;
    this.entries.length = 0;
    return all;
  }
}

/** Takes the dropped entries out of `lane` once they are more than half of it. */
function removeDone(lane: Entry[]): void {
  let done = 0;
  for (const other of lane) if (other.state === "done") done += 1;
  if (done * 2 <= lane.length) return;
  let keep = 0;
  for (const other of lane) if (other.state !== "done") lane[keep++] = other;
  lane.length = keep;
}
