import { createInternalBus } from "./bus.js";
import { BackendError, describe } from "./errors.js";
import { EVENT_NAMES, type RunEvent } from "./events.js";
import type { DeliveryCounters } from "./delivery/deliver.js";
import { createDispatcher } from "./dispatch/dispatcher.js";
import { createRunHandle, type IgnoredCall } from "./run-tracker.js";
import { createWebhooksApi } from "./webhooks/api.js";
import { createOutlet } from "./notifier/channels.js";
import { createCircuits, createDeliveryQueue } from "./notifier/delivery.js";
import { gonePolicy } from "./notifier/gone.js";
import { createLifecycle } from "./notifier/lifecycle.js";
import { asConfigError, resolveOptions, type NotifierOptions } from "./notifier/options.js";
import { preview, sendTest } from "./notifier/probes.js";
import { parseRunInfo } from "./notifier/run-info.js";
import type { NotifierState } from "./notifier/state.js";
import type { Notifier } from "./notifier/types.js";

export type { DisplayOptions, Logger, NotifierOptions } from "./notifier/options.js";
export type {
  CloseOptions,
  FlushOptions,
  FlushResult,
  Notifier,
  NotifierChannels,
  NotifierStats,
  NotifierWarning,
  Preview,
  TestResult,
  TestTarget,
} from "./notifier/types.js";

/**
 * Creates a notifier: the webhooks feature of a load-test runner in one object.
 *
 * It wires the pipeline (docs/architecture.md): run handles and the bus produce events; the dispatcher
 * selects each event's webhooks, renders it and queues one delivery per webhook; the queue runs the
 * deliverer, which attempts, retries and reports.
 *
 * @example
 * const notifier = createNotifier({ webhooks: [{ url, format: "slack", events: ["finished"] }] });
 * const run = notifier.run({ id: "run-42", testId: "t-7", name: "checkout" });
 * run.started();
 * run.finished({ totals: { requests: 360, codes: { "200": 360 } } });
 * await notifier.close();
 */
export function createNotifier(options: NotifierOptions = {}): Notifier {
  const resolved = resolveOptions(options);
  const outlet = createOutlet(resolved.logger);
  const webhooks = createWebhooksApi(resolved.store, resolved.registry, outlet.error, resolved.policy);
  const { bus, publish } = createInternalBus();
  bus.on("error", outlet.error);
  const counters: DeliveryCounters = { attempts: 0, delivered: 0, retried: 0, failed: 0, dropped: 0 };
  const gone = gonePolicy(webhooks, outlet);
  const circuits = createCircuits(resolved, outlet, gone);
  const { backend, limits } = resolved;
  const state: NotifierState = {
    options: resolved,
    outlet,
    counters,
    queue: createDeliveryQueue(resolved, outlet, counters, gone, circuits),
    deferFanOut: backend.durable,
    starting: Promise.resolve(),
    selecting: new Set(),
    phase: "open",
    abandonedLate: 0,
    closing: undefined,
  };
  const dispatch = createDispatcher(state);
  for (const name of EVENT_NAMES) bus.on(name, dispatch);
  const { flush, close } = createLifecycle(state);
  const runState = asConfigError(() => backend.runState(limits));
  state.starting = startBackend(state, dispatch);
  const ignored = (call: IgnoredCall): void => {
    outlet.warn({
      code: "run_call_ignored",
      message: `run.${call.call}() on run ${call.runId} was ignored: ${call.reason}`,
      runId: call.runId,
    });
  };
  const unrecorded = (error: unknown, runId: string, call: string): void => {
    outlet.error(
      new BackendError(
        "record",
        `The ${backend.name} backend could not record run.${call}() of run ${runId} (${describe(error)}): its events go out from this process's memory only, and a crash now would lose them. Check the backend's storage.`,
        { cause: error },
      ),
    );
  };

  // flush() waits for these with the store lookups: both come before the deliveries are queued.
  const track = (work: Promise<void>): void => {
    state.selecting.add(work);
    void work.finally(() => state.selecting.delete(work));
  };

  return {
    bus,
    webhooks,
    run(info) {
      const { run, inline } = parseRunInfo(info, resolved.declared);
      // Kept before the handle exists: the run's first event already finds them.
      resolved.declared.keep(inline, true);
      return createRunHandle(run, {
        state: runState,
        publish,
        apiFailureCooldownMs: resolved.apiFailureCooldownMs,
        ignored,
        unrecorded,
        track,
      });
    },
    preview: (event, format) => preview(resolved, event, format),
    test: (target) => sendTest(resolved, outlet, target),
    formats: () => [...resolved.registry.keys()],
    stats: () => ({
      sent: counters.attempts,
      delivered: counters.delivered,
      retried: counters.retried,
      failed: counters.failed,
      dropped: counters.dropped,
      queued: state.queue.queued,
      inFlight: state.queue.size - state.queue.queued,
      openCircuits: circuits?.open ?? 0,
    }),
    circuits: () => circuits?.list() ?? [],
    on: (channel, listener) => outlet.channels.on(channel, listener),
    off: (channel, listener) => {
      outlet.channels.off(channel, listener);
    },
    flush,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

/**
 * Starts the backend and its queue: a durable one resumes what an earlier process left, its pending
 * events fanned out as if just fired. A failure is reported, never thrown: runner calls go on.
 */
async function startBackend(state: NotifierState, fanOut: (event: RunEvent) => void): Promise<void> {
  const { backend } = state.options;
  try {
    // Both start before the runner's next call: a durable queue puts back the deliveries it resumes,
    // and the backend fans out its pending events, ahead of anything that call fires.
    const queueStarted = state.queue.start?.();
    const backendStarted = backend.start?.({ fanOut, error: state.outlet.error });
    await Promise.all([queueStarted, backendStarted]);
  } catch (error) {
    state.outlet.error(
      new BackendError(
        "start",
        `The ${backend.name} backend could not resume what was left (${describe(error)}): new events are still recorded and sent. Check the backend's storage.`,
        { cause: error },
      ),
    );
  }
}
