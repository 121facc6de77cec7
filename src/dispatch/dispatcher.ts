import { FormatError, asStoreError } from "../errors.js";
import type { RunEvent } from "../events.js";
import type { Rendered } from "../formatters/render.js";
import { abandonedReport, formatFailedReport } from "../delivery/reports.js";
import type { Delivery } from "../delivery/types.js";
import type { NotifierState } from "../notifier/state.js";
import { buildDelivery, deliveryIdentity } from "./build.js";
import { formatContext, renderFor } from "./render.js";
import { selectTargets, selectTargetsNow, type Selection } from "./select.js";

// Unknown ad hoc ids are reported once per run and id, not once per event; past this many pairs the
// memory of them starts over.
const MAX_WARNED_UNKNOWN = 10_000;

/**
 * @internal The dispatcher: for each event, selects its webhooks, renders it once per format, and
 * queues one delivery per webhook. Events of one run are dispatched one after another, so that a slow
 * store lookup for an early event cannot let a later event of the same run overtake it. Returns the
 * bus listener.
 */
export function createDispatcher(state: NotifierState): (event: RunEvent) => void {
  const { outlet } = state;
  const chains = new Map<string, Promise<void>>();
  const warnedUnknown = new Set<string>();

  const deliverTo = (event: RunEvent, selection: Selection): void => {
    for (const problem of selection.problems) outlet.error(problem);
    for (const id of selection.unknownIds) warnUnknown(event, id);
    queueDeliveries(state, event, selection);
  };

  const warnUnknown = (event: RunEvent, id: string): void => {
    const key = `${event.run.id}\u0000${id}`;
    if (warnedUnknown.has(key)) return;
    warnedUnknown.add(key);
    if (warnedUnknown.size > MAX_WARNED_UNKNOWN) warnedUnknown.clear();
    outlet.warn({
      code: "unknown_webhook",
      message: `Run ${event.run.id} names webhook ${id}, which does not exist; the other webhooks still fire`,
      runId: event.run.id,
      webhookId: id,
    });
  };

  // A store with listNow (the in-memory one) answers at once: select, format and queue now, with no
  // promise in between.
  // True when that was possible (or failed and was reported).
  const dispatchNow = (event: RunEvent): boolean => {
    try {
      const selection = selectTargetsNow(state.options.store, event);
      if (selection === undefined) return false;
      deliverTo(event, selection);
    } catch (error) {
      outlet.error(asStoreError("select", error));
    }
    return true;
  };

  const dispatchLater = (event: RunEvent, previous: Promise<void> | undefined): void => {
    const runId = event.run.id;
    const dispatch = async (): Promise<void> => {
      deliverTo(event, await selectTargets(state.options.store, event));
    };
    // Without an earlier event of the run still being dispatched, start at once.
    const next = previous ? previous.then(dispatch, dispatch) : dispatch();
    const tracked = next.then(undefined, (error: unknown) => {
      outlet.error(asStoreError("select", error));
    });
    chains.set(runId, tracked);
    state.selecting.add(tracked);
    void tracked.finally(() => {
      state.selecting.delete(tracked);
      if (chains.get(runId) === tracked) chains.delete(runId);
    });
  };

  return (event) => {
    if (state.phase !== "open") {
      outlet.warn({
        code: "closed",
        message: `The notifier is closed; ${event.event} of run ${event.run.id} was not delivered`,
        runId: event.run.id,
      });
      return;
    }
    const previous = chains.get(event.run.id);
    // A durable backend recorded the event before the runner's call returned: its fan-out follows,
    // after the call, whatever the store.
    if (previous === undefined && !state.deferFanOut && dispatchNow(event)) return;
    dispatchLater(event, previous);
  };
}

/** Renders the event for each selected webhook and queues the deliveries (or reports why not). */
function queueDeliveries(state: NotifierState, event: RunEvent, selection: Selection): void {
  const { options, outlet, counters } = state;
  const rendered = new Map<string, Rendered | FormatError>();
  const context = formatContext(options.display, event.run.links);
  const deadlineAt = (Date.parse(event.at) || Date.now()) + options.deadlines[event.event];
  const deliveries: Delivery[] = [];
  for (const webhook of selection.targets) {
    const message = renderFor(event, webhook, options.registry, context, rendered);
    if (message instanceof FormatError) {
      counters.failed += 1;
      outlet.report(formatFailedReport(deliveryIdentity(event, webhook), message));
    } else if (state.phase === "abandoned") {
      // close() already gave up: a lookup that finished afterwards must not start a delivery.
      outlet.report(abandonedReport(buildDelivery(event, webhook, message, deadlineAt)));
      state.abandonedLate += 1;
    } else deliveries.push(buildDelivery(event, webhook, message, deadlineAt));
  }
  // Once abandoned, nothing more is queued; before, the event's fan-out is recorded done even when no
  // webhook matched (a durable queue then forgets the event's outbox entry).
  if (state.phase !== "abandoned") state.queue.enqueue(deliveries, event.id);
}
