import {
  createNotifier,
  type Notifier,
  type NotifierOptions,
  type NotifierWarning,
} from "../../src/notifier.js";
import type { DeliveryReport } from "../../src/delivery/types.js";
import type { RunhooksError } from "../../src/errors.js";
import type { WebhookInput } from "../../src/webhooks/model.js";
import { startReceiver, type ReceiverOptions, type TestReceiver } from "../../src/testing/receiver.js";
import { LOOPBACK } from "./loopback.js";
import { receiverHook } from "./webhooks.js";

// Fast retries for tests on real loopback servers: the policy is the same, only the delays shrink.
export const FAST = { retries: 5, minDelayMs: 5, maxDelayMs: 20 };

/**
 * For a test file: `setup()` starts a loopback receiver and a notifier (loopback allowed, then the
 * file's `defaults`, then `options`) that record every report, warning and error; both are closed
 * (within `closeTimeoutMs`) by the file's `cleanup` list, which its `afterEach` empties in reverse order.
 */
export function receiverSetup(
  cleanup: Array<() => Promise<unknown>>,
  defaults: NotifierOptions = {},
  closeTimeoutMs = 1000,
) {
  return async function setup(options: NotifierOptions = {}, respond?: ReceiverOptions) {
    const receiver = await startReceiver(respond);
    const notifier = createNotifier({ network: LOOPBACK, ...defaults, ...options });
    cleanup.push(
      () => receiver.close(),
      () => notifier.close({ timeoutMs: closeTimeoutMs }),
    );
    const reports: DeliveryReport[] = [];
    const warnings: NotifierWarning[] = [];
    const errors: RunhooksError[] = [];
    notifier.on("delivery", (r) => reports.push(r));
    notifier.on("warning", (w) => warnings.push(w));
    notifier.on("error", (e) => errors.push(e));
    return { receiver, notifier, reports, warnings, errors };
  };
}

// The URL carries a token: tests check it never shows up in reports, warnings or errors.
export function hook(
  notifier: Notifier,
  receiver: TestReceiver,
  path: string,
  extra: Partial<WebhookInput> = {},
): ReturnType<Notifier["webhooks"]["create"]> {
  return receiverHook(notifier, receiver, path, {
    url: `${receiver.url}/${path}?token=secret-token`,
    ...extra,
  });
}
