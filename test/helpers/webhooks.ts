import { EVENT_NAMES } from "../../src/events.js";
import type { Notifier } from "../../src/notifier.js";
import type { WebhookInput } from "../../src/webhooks/model.js";

/**
 * Creates a global `json` webhook at `<receiver>/<path>`, named after the path, for every event;
 * `extra` overrides any of that (the events, a secret, the URL).
 */
export function receiverHook(
  notifier: Notifier,
  receiver: { url: string },
  path: string,
  extra: Partial<WebhookInput> = {},
): ReturnType<Notifier["webhooks"]["create"]> {
  return notifier.webhooks.create({
    name: path,
    url: `${receiver.url}/${path}`,
    format: "json",
    events: [...EVENT_NAMES],
    global: true,
    ...extra,
  });
}
