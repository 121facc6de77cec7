import { randomUUID } from "node:crypto";
import { SafeEmitter, type Listener } from "./_emitter.js";
import { ListenerError, ValidationError, toValidationError } from "./errors.js";
import {
  EVENT_NAMES,
  eventInputSchemas,
  isEventName,
  type EventInput,
  type EventMap,
  type EventName,
  type RunEvent,
} from "./events.js";
import { deepFreeze } from "./_freeze.js";
import { fastEventInput } from "./_fast-parse.js";

/** What can be listened to on a bus: the eight lifecycle events, plus `error` for failing listeners. */
export interface BusChannels extends EventMap {
  /** A listener threw or rejected. The emit that called it was not affected. */
  error: ListenerError;
}

/**
 * A typed event bus for the eight lifecycle events.
 *
 * Listeners run synchronously, in the order they were added. A listener that throws or rejects
 * never breaks `emit` or the other listeners; the failure goes to the `error` channel (or, with no
 * `error` listener, to `process.emitWarning`).
 */
export interface EventBus {
  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof BusChannels>(name: K, listener: Listener<BusChannels[K]>): () => void;
  /** Adds a listener that runs for the next event only; returns a function that removes it. */
  once<K extends keyof BusChannels>(name: K, listener: Listener<BusChannels[K]>): () => void;
  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof BusChannels>(name: K, listener: Listener<BusChannels[K]>): void;
  /**
   * Validates `payload`, completes it (a random `id` and the current time `at` when absent) and
   * delivers it to the listeners. Returns the event as delivered.
   *
   * This is the raw path: unlike `notifier.run()`, it does not de-duplicate or order events.
   *
   * @throws {ValidationError} for an unknown event name or a payload that does not fit, naming the
   * field; nothing is emitted then.
   */
  emit<E extends EventName>(name: E, payload: EventInput<E>): EventMap[E];
}

/** @internal The bus plus the unvalidated publish path the run tracker uses for events it built. */
export interface InternalBus {
  bus: EventBus;
  /** Delivers events in order; events published by a listener meanwhile wait for the ones before. */
  publish: (events: readonly RunEvent[]) => void;
}

/**
 * Creates a standalone event bus. `notifier.bus` is one; create your own to test listeners.
 *
 * @example
 * const bus = createEventBus();
 * bus.on("finished", (event) => console.log(event.run.name, event.stats.requests));
 */
export function createEventBus(): EventBus {
  return createInternalBus().bus;
}

/** @internal */
export function createInternalBus(): InternalBus {
  const emitter: SafeEmitter<BusChannels> = new SafeEmitter<BusChannels>((error) => {
    // A failing `error` listener must not be fed back to the error listeners: that would loop.
    if (error.channel !== "error" && emitter.listenerCount("error") > 0) emitter.emit("error", error);
    else process.emitWarning(error.message, { code: "RUNHOOKS_LISTENER_ERROR" });
  });

  // Events are delivered one at a time, in the order they were published: a listener that makes a run
  // emit (say, calls run.aborted() from a "started" listener) queues behind the events already on
  // their way, instead of overtaking them. Events are frozen: a listener cannot change what webhooks get.
  const outbox: RunEvent[] = [];
  let publishing = false;
  const publish = (events: readonly RunEvent[]): void => {
    for (const event of events) outbox.push(deepFreeze(event));
    if (publishing) return;
    publishing = true;
    try {
      for (let next = outbox.shift(); next !== undefined; next = outbox.shift())
        emitter.emit(next.event, next);
    } finally {
      publishing = false;
    }
  };

  const bus: EventBus = {
    on: (name, listener) => emitter.on(name, listener),
    once: (name, listener) => emitter.on(name, listener, true),
    off: (name, listener) => {
      emitter.off(name, listener);
    },
    emit<E extends EventName>(name: E, payload: EventInput<E>): EventMap[E] {
      if (!isEventName(name)) {
        throw new ValidationError("event name", [
          { path: "name", message: `must be one of ${EVENT_NAMES.join(", ")}` },
        ]);
      }
      // The hand-written check vouches for the common, canonical payloads (and copies them, frozen);
      // zod decides the rest, with the error message that names the field.
      let fields = fastEventInput(name, payload);
      const frozen = fields !== undefined;
      if (fields === undefined) {
        const parsed = eventInputSchemas[name].safeParse(payload);
        if (!parsed.success) throw toValidationError(`${name} event`, "event", parsed.error);
        fields = parsed.data;
      }
      const { id, at, ...rest } = fields;
      const event = {
        id: id ?? `evt_${randomUUID()}`,
        event: name,
        at: at ?? new Date().toISOString(),
        ...rest,
      } as unknown as EventMap[E];
      // Its parts are frozen already: freezing the top spares publish() walking them again.
      if (frozen) Object.freeze(event);
      publish([event]);
      return event;
    },
  };
  return { bus, publish };
}
