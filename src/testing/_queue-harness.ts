import type { DeliveryWorker, DropReason, WorkerContext } from "../delivery/queue.js";
import type { Delivery } from "../delivery/types.js";

// The queue contract's worker, and how its cases wait: real timers, short waits.

/** @internal What the worker does with one delivery. */
export type Plan = (delivery: Delivery, context: WorkerContext) => Promise<void>;

/** @internal The suite's worker and drop callback: records what the queue does, runs each delivery's plan. */
export class Harness {
  /** `start <id>` and `end <id>`, in the order the worker calls began and ended. */
  readonly log: string[] = [];
  /** The deliveries the worker got, in order. */
  readonly started: Delivery[] = [];
  /** The ids of those whose worker call ended. */
  readonly ended = new Set<string>();
  /** What `onDrop` was told, in order. */
  readonly drops: Array<{ id: string; reason: DropReason }> = [];
  /** Each delivery's worker context. */
  readonly contexts = new Map<string, WorkerContext>();
  /** Deliveries whose `sleep()` rejected. */
  readonly aborted = new Set<string>();
  /** Worker calls running now, and the most at once. */
  active = 0;
  /** The most worker calls that ran at once. */
  peak = 0;
  private readonly plans = new Map<string, Plan>();
  private readonly gates: Array<() => void> = [];

  /** The worker the queue is built around: records the call, then runs the delivery's plan (none: returns). */
  readonly worker: DeliveryWorker = async (delivery, context) => {
    this.started.push(delivery);
    this.log.push(`start ${delivery.id}`);
    this.contexts.set(delivery.id, context);
    this.active += 1;
    this.peak = Math.max(this.peak, this.active);
    try {
      await this.plans.get(delivery.id)?.(delivery, context);
    } finally {
      this.active -= 1;
      this.ended.add(delivery.id);
      this.log.push(`end ${delivery.id}`);
    }
  };

  /** The drop callback the queue is built around. */
  readonly onDrop = (delivery: Delivery, reason: DropReason): void => {
    this.drops.push({ id: delivery.id, reason });
  };

  /** The ids of `started`. */
  get startedIds(): string[] {
    return this.started.map((delivery) => delivery.id);
  }

  /** The worker of delivery `id` runs `plan`. */
  plan(id: string, plan: Plan): void {
    this.plans.set(id, plan);
  }

  /** The worker of delivery `id` waits until the returned function is called. */
  hold(id: string): () => void {
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.gates.push(release);
    this.plan(id, () => gate);
    return release;
  }

  /** The worker of delivery `id` sleeps (as a retry's backoff does) until the queue aborts it. */
  sleepUntilAborted(id: string, before?: (context: WorkerContext) => void): void {
    this.plan(id, async (_delivery, context) => {
      before?.(context);
      try {
        await context.sleep(3000);
      } catch {
        this.aborted.add(id);
      }
    });
  }

  /** Lets every held worker go. */
  releaseAll(): void {
    for (const release of this.gates.splice(0)) release();
  }
}

/** @internal Waits `ms` milliseconds. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** @internal Waits, polling, until `condition` holds; throws after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 1500): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await pause(5);
  }
}

/** @internal Whether `promise` resolves within `ms`. */
export function settles(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), pause(ms).then(() => false)]);
}
