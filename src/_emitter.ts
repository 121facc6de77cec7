import { EventEmitter } from "eventemitter3";
import { ListenerError } from "./errors.js";

/** A listener may be sync or async; whatever it does, the emitter is not affected. */
export type Listener<T> = (value: T) => unknown;

/**
 * @internal eventemitter3 neither catches nor awaits listeners. This wrapper does both: a listener that
 * throws or rejects is reported to `onListenerError` and never reaches the code that emitted.
 */
export class SafeEmitter<Channels extends object> {
  readonly #ee = new EventEmitter();
  // One original listener may be attached several times (even to several channels); each attachment
  // gets its own wrapper, and `off` removes one of them.
  readonly #wrappers = new Map<
    Listener<never>,
    Array<{ channel: keyof Channels; wrapped: Listener<never> }>
  >();
  readonly #onListenerError: (error: ListenerError) => void;

  constructor(onListenerError: (error: ListenerError) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Channels>(channel: K, listener: Listener<Channels[K]>, once = false): () => void {
    // The attachment removes itself (once, or through the returned function): with the same function
    // attached several times, `off(channel, fn)` could otherwise remove another attachment.
    const entry = { channel: channel as keyof Channels, wrapped: (() => undefined) as Listener<never> };
    const detach = (): void => {
      this.#detach(listener, entry);
    };
    const wrapped = (value: Channels[K]): void => {
      if (once) detach();
      try {
        const result = listener(value);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#fail(channel, error));
      } catch (error) {
        this.#fail(channel, error);
      }
    };
    entry.wrapped = wrapped;
    const list = this.#wrappers.get(listener) ?? [];
    list.push(entry);
    this.#wrappers.set(listener, list);
    this.#ee.on(channel as string, wrapped);
    return detach;
  }

  /** Removes the earliest attachment of `listener` to `channel`. */
  off<K extends keyof Channels>(channel: K, listener: Listener<Channels[K]>): void {
    const entry = this.#wrappers.get(listener)?.find((e) => e.channel === channel);
    if (entry) this.#detach(listener, entry);
  }

  #detach(listener: Listener<never>, entry: { channel: keyof Channels; wrapped: Listener<never> }): void {
    const list = this.#wrappers.get(listener);
    const index = list?.indexOf(entry) ?? -1;
    if (!list || index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.#wrappers.delete(listener);
    this.#ee.off(entry.channel as string, entry.wrapped as (value: unknown) => void);
  }

  emit<K extends keyof Channels>(channel: K, value: Channels[K]): void {
    this.#ee.emit(channel as string, value);
  }

  listenerCount(channel: keyof Channels): number {
    return this.#ee.listenerCount(channel as string);
  }

  #fail(channel: keyof Channels, error: unknown): void {
    try {
      this.#onListenerError(new ListenerError(String(channel), error));
    } catch {
      // The error reporter itself failed; there is nowhere left to report to, and the emitter
      // must not be affected.
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
