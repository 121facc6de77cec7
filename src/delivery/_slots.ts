/**
 * @internal Turns: at most `limit` holders at once, the others served in the order they asked. A slot
 * is handed straight to the next waiter on release, so it stays counted while it changes hands.
 */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  /** Takes a slot: `undefined` when one was free, else a promise that resolves with the slot. */
  acquire(): Promise<void> | undefined {
    if (this.used < this.limit) {
      this.used += 1;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used -= 1;
  }

  /** Nobody holds or waits for a slot. */
  get idle(): boolean {
    return this.used === 0;
  }
}
