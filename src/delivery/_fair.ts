/** @internal What `Holdings` needs to know of a queue entry. */
export interface Held {
  readonly delivery: { readonly webhookId: string; readonly terminal: boolean };
  readonly state: "queued" | "running" | "done";
  /** Whether the queue may take it back: waiting, or waiting out a backoff or a rate limit. */
  readonly evictable: boolean;
  /** Arrival order. */
  readonly seq: number;
  /** The webhook's holdings it counts in, while it does. */
  holder: WebhookHoldings<Held> | undefined;
}

/** @internal One webhook's entries in the queue, oldest first, split as overflow takes them. */
export interface WebhookHoldings<E extends Held> {
  /** Entries not done. */
  count: number;
  /** Entries of events that supersede nothing, then those that do (outcomes, verdicts): the latter go last. */
  readonly other: E[];
  readonly terminal: E[];
  /** Its neighbours among the webhooks holding as many. */
  prev: WebhookHoldings<E> | undefined;
  next: WebhookHoldings<E> | undefined;
}

/**
 * @internal The queue's entries by webhook, so that the capacity is shared: the delivery overflow takes
 * back comes from the webhook holding the most (the dead endpoint piling up retries, not its healthy
 * neighbour). Which one holds the most is kept in count buckets, found at once however many webhooks
 * there are. Entries that are done are skipped lazily and compacted away.
 */
export class Holdings<E extends Held> {
  private readonly byWebhook = new Map<string, WebhookHoldings<E>>();
  /**
   * Webhooks by how many entries they hold: `buckets[n]` is the first of a linked list of those holding
   * `n` (1 or more). A move is a few pointer writes: this runs twice for every delivery.
   */
  private readonly buckets: Array<WebhookHoldings<E> | undefined> = [];
  private most = 0;

  /** Counts a new entry for its webhook. */
  add(entry: E): void {
    const id = entry.delivery.webhookId;
    let holder = this.byWebhook.get(id);
    if (holder === undefined) {
      holder = { count: 0, other: [], terminal: [], prev: undefined, next: undefined };
      this.byWebhook.set(id, holder);
    }
    (entry.delivery.terminal ? holder.terminal : holder.other).push(entry);
    entry.holder = holder;
    this.move(holder, holder.count, holder.count + 1);
    holder.count += 1;
  }

  /** Stops counting an entry that is done (sent, dropped, evicted). */
  remove(entry: E): void {
    const holder = entry.holder as WebhookHoldings<E> | undefined;
    if (holder === undefined) return;
    entry.holder = undefined;
    this.move(holder, holder.count, holder.count - 1);
    holder.count -= 1;
    if (holder.count === 0) this.byWebhook.delete(entry.delivery.webhookId);
    else compact(holder);
  }

  /**
   * The entry overflow takes back: of the webhook holding the most, the oldest it may take of an event
   * that supersedes nothing, else the oldest of any. A webhook whose entries are all being attempted
   * is passed over for the next; `undefined` when no entry anywhere may be taken.
   */
  victim(): E | undefined {
    for (let count = this.most; count > 0; count--) {
      for (let holder = this.buckets[count]; holder !== undefined; holder = holder.next) {
        const entry = oldestEvictable(holder.other) ?? oldestEvictable(holder.terminal);
        if (entry) return entry;
      }
    }
    return undefined;
  }

  /** Forgets every entry; returns those not done, in no order. */
  takeAll(): E[] {
    const open: E[] = [];
    for (const holder of this.byWebhook.values()) {
      for (const entry of [...holder.other, ...holder.terminal]) {
        if (entry.state === "done") continue;
        entry.holder = undefined;
        open.push(entry);
      }
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

/** The oldest entry of `list` that may be taken back; drops the done ones before it. */
function oldestEvictable<E extends Held>(list: E[]): E | undefined {
  while (list.length > 0 && list[0]?.state === "done") list.shift();
  // Past the head, entries being attempted (at most `maxInFlight` of them) are stepped over.
  for (const entry of list) if (entry.state !== "done" && entry.evictable) return entry;
  return undefined;
}

/**
 * Keeps a webhook's lists within about twice what it holds: else every delivery it was ever sent, body
 * and all, would stay reachable behind one that never ends.
 */
function compact<E extends Held>(holder: WebhookHoldings<E>): void {
  if (holder.other.length + holder.terminal.length <= 2 * holder.count + 16) return;
  for (const list of [holder.other, holder.terminal]) {
    let keep = 0;
    for (const entry of list) if (entry.state !== "done") list[keep++] = entry;
    list.length = keep;
  }
}
