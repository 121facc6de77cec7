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
    const wrapped = (value: Channels[K]): void => {
      if (once) this.off(channel, listener);
      try {
        const result = listener(value);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#fail(channel, error));
      } catch (error) {
        this.#fail(channel, error);
      }
    };
    const list = this.#wrappers.get(listener) ?? [];
    list.push({ channel, wrapped: wrapped });
    this.#wrappers.set(listener, list);
    this.#ee.on(channel as string, wrapped);
    return () => this.off(channel, listener);
  }

  off<K extends keyof Channels>(channel: K, listener: Listener<Channels[K]>): void {
    const list = this.#wrappers.get(listener);
    const index = list?.findIndex((entry) => entry.channel === channel) ?? -1;
    if (!list || index < 0) return;
    const [entry] = list.splice(index, 1);
    if (list.length === 0) this.#wrappers.delete(listener);
    if (entry) this.#ee.off(channel as string, entry.wrapped as (value: unknown) => void);
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
