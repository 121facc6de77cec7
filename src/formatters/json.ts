import type { RunEvent } from "../events.js";
import type { Formatter } from "./types.js";

/** The JSON body runhooks sends: the Standard Webhooks envelope. */
export interface JsonEnvelope {
  /** The event name, e.g. `finished`. */
  type: RunEvent["event"];
  /** When the event happened, ISO 8601. */
  timestamp: string;
  /** The event itself: `data.event`, `data.run` (`data.run.id` is the run id) and the event's fields. */
  data: RunEvent;
}

/**
 * The `json` format: a Standard Webhooks envelope `{ type, timestamp, data }` whose `data` is the full
 * event. The run's ad hoc webhook ids are routing data and are left out.
 *
 * @example
 * createNotifier({ formatters: [] }) // json is built in; jsonFormatter() is for re-registering it
 */
export function jsonFormatter(): Formatter {
  return {
    name: "json",
    contentType: "application/json",
    format: (event) => ({ body: envelope(event) }),
  };
}

/** @internal */
export function envelope(event: RunEvent): JsonEnvelope {
  let data = event;
  if (event.run.webhooks !== undefined) {
    const { webhooks: _routing, ...run } = event.run;
    data = { ...event, run };
  }
  return { type: event.event, timestamp: event.at, data };
}
