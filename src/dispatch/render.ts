import { FormatError, describe } from "../errors.js";
import type { RunEvent } from "../events.js";
import type { FormatterRegistry } from "../formatters/registry.js";
import { render, type Rendered } from "../formatters/render.js";
import type { FormatContext } from "../formatters/types.js";
import type { WebhookRecord } from "../webhooks/model.js";
import type { Display } from "../notifier/options.js";

/**
 * @internal Renders the event for one webhook. A rendering is shared by every webhook of the same format
 * (the expensive part, formatting and serialising, happens once per event and format), unless the
 * formatter needs the webhook itself. A failure is returned, not thrown; a body over the format's limit
 * is a failure.
 */
export function renderFor(
  event: RunEvent,
  webhook: WebhookRecord,
  registry: FormatterRegistry,
  context: FormatContext,
  cache: Map<string, Rendered | FormatError>,
): Rendered | FormatError {
  const formatter = registry.get(webhook.format);
  if (!formatter) return new FormatError(webhook.format, "no formatter with this name is registered");
  const cached = formatter.perWebhook ? undefined : cache.get(formatter.name);
  if (cached) return cached;
  let result: Rendered | FormatError;
  try {
    result = render(
      formatter,
      event,
      formatter.perWebhook ? { ...context, webhook: { id: webhook.id, name: webhook.name } } : context,
    );
    if (result.overLimit !== undefined) {
      result = new FormatError(
        formatter.name,
        `the body is ${result.size} bytes, over the format's ${result.overLimit}-byte limit`,
      );
    }
  } catch (error) {
    result =
      error instanceof FormatError
        ? error
        : new FormatError(formatter.name, describe(error), { cause: error });
  }
  if (!formatter.perWebhook) cache.set(formatter.name, result);
  return result;
}

/** @internal What a formatter is told besides the event; built for every event, so written out, not spread. */
export function formatContext(display: Display, links: RunEvent["run"]["links"]): FormatContext {
  return {
    productName: display.productName,
    locale: display.locale,
    timeZone: display.timeZone,
    links: links ?? [],
  };
}
