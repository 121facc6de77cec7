import { setTimeout as delay } from "node:timers/promises";
import { BackendError, describe } from "../errors.js";
import { abandonedReport } from "../delivery/reports.js";
import type { NotifierState } from "./state.js";
import type { CloseOptions, FlushOptions, FlushResult } from "./types.js";

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
// After close() gave up, lookups still running report their deliveries as abandoned when they finish:
// close() waits this long for them, but never hangs on a store that does not answer.
const LATE_LOOKUP_WAIT_MS = 1000;

/** @internal `flush()` and `close()` over the notifier's state. */
export function createLifecycle(state: NotifierState): {
  readonly flush: (options?: FlushOptions) => Promise<FlushResult>;
  readonly close: (options?: CloseOptions) => Promise<FlushResult>;
} {
  const flush = async (options: FlushOptions = {}): Promise<FlushResult> => {
    const timeoutMs = options.timeoutMs;
    if (timeoutMs === undefined) {
      await drainAll(state);
      return { drained: true, pending: 0 };
    }
    const drained = await within(
      timeoutMs,
      drainAll(state).then(() => true),
      false,
    );
    return { drained, pending: drained ? 0 : state.queue.size + state.selecting.size };
  };

  const close = (options: CloseOptions = {}): Promise<FlushResult> => {
    state.closing ??= (async () => {
      state.phase = "closed";
      const result = await flush({ timeoutMs: options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS });
      const { transport } = state.options;
      if (result.drained) {
        await transport.close();
        await release(state);
        return result;
      }
      state.phase = "abandoned";
      const left = state.queue.abandon();
      for (const delivery of left) state.outlet.report(abandonedReport(delivery));
      await (transport.destroy ?? transport.close)();
      await within(LATE_LOOKUP_WAIT_MS, Promise.all(state.selecting), undefined);
      await release(state);
      return { drained: false, pending: left.length + state.abandonedLate + state.selecting.size };
    })();
    return state.closing;
  };

  return { flush, close };
}

/** Closes the queue, then the backend (its files, connections, leases); a failure is reported. */
async function release(state: NotifierState): Promise<void> {
  try {
    await state.queue.close?.();
    await state.options.backend.close?.();
  } catch (error) {
    const name = state.options.backend.name;
    state.outlet.error(
      new BackendError("close", `The ${name} backend did not close cleanly: ${describe(error)}`, {
        cause: error,
      }),
    );
  }
}

/**
 * Until the backend resumed what it had, no lookup is running and the queue is empty, including what
 * lookups queue meanwhile.
 */
async function drainAll(state: NotifierState): Promise<void> {
  await state.starting;
  // drain() at least once: a durable queue records there what finished, even with nothing left.
  do {
    await Promise.all(state.selecting);
    await state.queue.drain();
  } while (state.selecting.size > 0 || state.queue.size > 0);
}

/** `work`'s result, or `otherwise` once `ms` passed; the timer never outlives the race. */
async function within<T, U>(ms: number, work: Promise<T>, otherwise: U): Promise<T | U> {
  const timer = new AbortController();
  try {
    return await Promise.race([work, delay(ms, otherwise, { signal: timer.signal }).catch(() => otherwise)]);
  } finally {
    timer.abort();
  }
}
