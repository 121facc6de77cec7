/** @internal What `Holdings` needs to know of a queue entry, and the links it keeps in it. */
export interface Held {
  readonly delivery: { readonly webhookId: string; readonly terminal: boolean };
  readonly state: "queued" | "running" | "done";
  /** Whether the queue may take it back: waiting, or waiting out a backoff, a rate limit or a circuit. */
  readonly evictable: boolean;
  /** The webhook's holdings it counts in, while it does. */
  holder: WebhookHoldings<Held> | undefined;
  /** Its list in those holdings, and its neighbours there. */
  list: HeldList<Held> | undefined;
  prevHeld: Held | undefined;
  nextHeld: Held | undefined;
}

/** @internal A doubly linked list of entries, through their own links: O(1) to add, move and remove. */
export interface HeldList<E extends Held> {
  first: E | undefined;
  last: E | undefined;
  length: number;
}

/** @internal One webhook's entries in the queue, in the order overflow takes them. */
export interface WebhookHoldings<E extends Held> {
  /** Entries not done. */
  count: number;
  /**
   * Waiting and started entries, each split into events that supersede nothing and those that do
   * (outcomes, verdicts), oldest first. Overflow takes a waiting one before a started one: dropping it
   * costs nothing, while taking back a started one ends its worker and starts the next of its lane.
   */
  readonly waiting: HeldList<E>;
  readonly waitingTerminal: HeldList<E>;
  readonly started: HeldList<E>;
  readonly startedTerminal: HeldList<E>;
  /** Its neighbours among the webhooks holding as many. */
  prev: WebhookHoldings<E> | undefined;
  next: WebhookHoldings<E> | undefined;
}

const newList = <E extends Held>(): HeldList<E> => ({ first: undefined, last: undefined, length: 0 });

/**
 * @internal The queue's entries by webhook, so that the capacity is shared: the delivery overflow takes
 * back comes from the webhook holding the most (the dead endpoint piling up retries, not its healthy
 * neighbour). Which one holds the most is kept in count buckets, found at once however many webhooks
 * there are; each entry sits in one linked list of its webhook's, so nothing done stays reachable.
 */
export class Holdings<E extends Held> {
  private readonly byWebhook = new Map<string, WebhookHoldings<E>>();
  /**
   * Webhooks by how many entries they hold: `buckets[n]` is the first of a linked list of those holding
   * `n` (1 or more). A move is a few pointer writes: this runs twice for every delivery.
   */
  private readonly buckets: Array<WebhookHoldings<E> | undefined> = [];
  private most = 0;

  /** Counts a new, waiting entry for its webhook. */
  add(entry: E): void {
    const id = entry.delivery.webhookId;
    let holder = this.byWebhook.get(id);
    if (holder === undefined) {
      holder = {
        count: 0,
        waiting: newList(),
        waitingTerminal: newList(),
        started: newList(),
        startedTerminal: newList(),
        prev: undefined,
        next: undefined,
      };
      this.byWebhook.set(id, holder);
    }
    push(entry.delivery.terminal ? holder.waitingTerminal : holder.waiting, entry);
    entry.holder = holder;
    this.move(holder, holder.count, holder.count + 1);
    holder.count += 1;
  }

  /** Moves an entry whose worker started from the waiting entries to the started ones. */
  started(entry: E): void {
    const holder = entry.holder as WebhookHoldings<E> | undefined;
    if (holder === undefined) return;
    unlink(entry);
    push(entry.delivery.terminal ? holder.startedTerminal : holder.started, entry);
  }

  /** Stops counting an entry that is done (sent, dropped, evicted). */
  remove(entry: E): void {
    const holder = entry.holder as WebhookHoldings<E> | undefined;
    if (holder === undefined) return;
    entry.holder = undefined;
    unlink(entry);
    this.move(holder, holder.count, holder.count - 1);
    holder.count -= 1;
    if (holder.count === 0) this.byWebhook.delete(entry.delivery.webhookId);
  }

  /**
   * The entry overflow takes back: of the webhook holding the most, its oldest waiting entry of an
   * event that supersedes nothing, else its longest-started one between attempts, then the same for the
   * other events. A webhook whose entries are all being attempted is passed over for the next;
   * `undefined` when no entry anywhere may be taken.
   */
  victim(): E | undefined {
    for (let count = this.most; count > 0; count--) {
      for (let holder = this.buckets[count]; holder !== undefined; holder = holder.next) {
        const entry =
          holder.waiting.first ??
          firstEvictable(holder.started) ??
          holder.waitingTerminal.first ??
          firstEvictable(holder.startedTerminal);
        if (entry) return entry;
      }
    }
    return undefined;
  }

  /** Forgets every entry; returns those not done, in no order. */
  takeAll(): E[] {
    const open: E[] = [];
    for (const holder of this.byWebhook.values()) {
      for (const list of [holder.waiting, holder.waitingTerminal, holder.started, holder.startedTerminal]) {
        for (let entry = list.first; entry !== undefined; entry = entry.nextHeld as E | undefined) {
          open.push(entry);
        }
      }
    }
    for (const entry of open) {
      entry.holder = undefined;
      entry.list = undefined;
      entry.prevHeld = undefined;
      entry.nextHeld = undefined;
    }
    this.byWebhook.clear();
    this.buckets.length = 0;
    this.most = 0;
    return open;
  }

  private move(holder: WebhookHoldings<E>, from: number, to: number): void {
    if (from > 0) {
      if (holder.prev) holder.prev.next = holder.next;
      else this.buckets[from] = holder.next;
      if (holder.next) holder.next.prev = holder.prev;
    }
    holder.prev = undefined;
    holder.next = undefined;
    if (to > 0) {
      const first = this.buckets[to];
      holder.next = first;
      if (first) first.prev = holder;
      this.buckets[to] = holder;
    }
    if (to > this.most) this.most = to;
    // Counts change by one: when the largest bucket empties, the next largest is one below.
    else if (from === this.most && this.buckets[from] === undefined) this.most = to;
  }
}

function push<E extends Held>(list: HeldList<E>, entry: E): void {
  entry.list = list;
  entry.prevHeld = list.last;
  entry.nextHeld = undefined;
  if (list.last) list.last.nextHeld = entry;
  else list.first = entry;
  list.last = entry;
  list.length += 1;
}

function unlink(entry: Held): void {
  const list = entry.list;
  if (list === undefined) return;
  if (entry.prevHeld) entry.prevHeld.nextHeld = entry.nextHeld;
  else list.first = entry.nextHeld;
  if (entry.nextHeld) entry.nextHeld.prevHeld = entry.prevHeld;
  else list.last = entry.prevHeld;
  list.length -= 1;
  entry.list = undefined;
  entry.prevHeld = undefined;
  entry.nextHeld = undefined;
}

/** The first started entry that may be taken back; those being attempted (at most `maxInFlight`) are stepped over. */
function firstEvictable<E extends Held>(list: HeldList<E>): E | undefined {
  for (let entry = list.first; entry !== undefined; entry = entry.nextHeld as E | undefined) {
    if (entry.evictable) return entry;
  }
  return undefined;
}
