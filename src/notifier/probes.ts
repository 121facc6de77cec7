import { randomUUID } from "node:crypto";
import { USER_AGENT } from "../_version.js";
import { ConfigError, ValidationError, toValidationError } from "../errors.js";
import { EVENT_NAMES, isEventName, runEventSchema, type EventName, type RunEvent } from "../events.js";
import { render, type Rendered } from "../formatters/render.js";
import type { Formatter } from "../formatters/types.js";
import { sampleEvents } from "../testing/fixtures.js";
import { errorSummary } from "../delivery/reports.js";
import { attemptRequest } from "../delivery/request.js";
import { buildDelivery, targetOf } from "../dispatch/build.js";
import { formatContext } from "../dispatch/render.js";
import { createWebhooksApi } from "../webhooks/api.js";
import { webhookInputSchema } from "../webhooks/model.js";
import { memoryStore } from "../webhooks/store/memory.js";
import type { Outlet } from "./channels.js";
import type { ResolvedOptions } from "./options.js";
import type { Preview, TestResult, TestTarget } from "./types.js";

/** @internal `notifier.preview()`: renders an event (or a sample of one) in a format, without sending it. */
export function preview(options: ResolvedOptions, event: RunEvent | EventName, format: string): Preview {
  const formatter = formatterOrThrow(options, format);
  const full = typeof event === "string" ? sampleOf(event) : parsedEvent(event);
  const context = formatContext(options.display, full.run.links);
  const rendered = render(
    formatter,
    full,
    formatter.perWebhook ? { ...context, webhook: { id: "preview", name: "preview" } } : context,
  );
  return {
    format,
    body: rendered.body,
    size: rendered.size,
    headers: { ...rendered.headers, "content-type": rendered.contentType, "user-agent": USER_AGENT },
    warnings: rendered.warnings,
  };
}

/**
 * @internal `notifier.test()`: one attempt of one delivery, built as every delivery is, to a webhook that
 * is checked as one is on create and never stored. No retries, no reports, no counters.
 */
export async function sendTest(
  options: ResolvedOptions,
  outlet: Outlet,
  target: TestTarget,
): Promise<TestResult> {
  const parsed = webhookInputSchema
    .pick({ url: true, format: true, headers: true, secret: true })
    .safeParse(withoutBody(target));
  if (!parsed.success) throw toValidationError("test target", "target", parsed.error);
  const { url, format, headers, secret } = parsed.data;
  // The same checks as a webhook gets on create: a registered format, an allowed address.
  const probe = createWebhooksApi(memoryStore(), options.registry, outlet.error, options.policy);
  const webhook = await probe.create({
    name: "test",
    url,
    format,
    events: ["started"],
    ...(headers && { headers }),
    ...(secret !== undefined && { secret }),
  });
  const event: RunEvent = {
    ...sampleEvents().started,
    id: `evt_test_${randomUUID()}`,
    at: new Date().toISOString(),
    run: { id: "runhooks-test", testId: "test", name: `Test message from ${options.display.productName}` },
  };
  const rendered = testMessage(options, format, event, target.body);
  const record = webhook.reveal();
  const delivery = buildDelivery(event, record, rendered, Date.now() + options.deadlines.started);
  const started = performance.now();
  try {
    const response = await options.transport.send(attemptRequest(delivery, targetOf(record), Date.now()));
    const ok = response.status >= 200 && response.status < 300;
    return {
      ok,
      status: response.status,
      durationMs: performance.now() - started,
      ...(!ok && { error: `answered ${response.status}` }),
    };
  } catch (error) {
    return {
      ok: false,
      status: null,
      durationMs: performance.now() - started,
      error: errorSummary(error, delivery.target).message,
    };
  }
}

/** The format's rendering of the sample event, or the caller's own message as JSON. */
function testMessage(
  options: ResolvedOptions,
  format: string,
  event: RunEvent,
  message: TestTarget["body"],
): Rendered {
  if (message === undefined) {
    const formatter = options.registry.get(format);
    if (!formatter) throw new ConfigError(`format "${format}" disappeared from the registry`);
    return render(formatter, event, formatContext(options.display, undefined));
  }
  const body = typeof message === "string" ? message : JSON.stringify(message);
  return { body, size: Buffer.byteLength(body), headers: {}, contentType: "application/json", warnings: [] };
}

function formatterOrThrow(options: ResolvedOptions, format: string): Formatter {
  const formatter = options.registry.get(format);
  if (formatter) return formatter;
  throw new ValidationError("preview", [
    {
      path: "format",
      message: `unknown format "${format}"; registered formats: ${[...options.registry.keys()].join(", ")}`,
    },
  ]);
}

function sampleOf(name: string): RunEvent {
  if (!isEventName(name)) {
    throw new ValidationError("preview", [
      { path: "event", message: `must be one of ${EVENT_NAMES.join(", ")}` },
    ]);
  }
  return sampleEvents()[name];
}

function parsedEvent(event: RunEvent): RunEvent {
  const parsed = runEventSchema.safeParse(event);
  if (!parsed.success) throw toValidationError("event", "event", parsed.error);
  return parsed.data as unknown as RunEvent;
}

/** A test target without its message: the rest is checked as a webhook's fields are. */
function withoutBody(target: TestTarget): Omit<TestTarget, "body"> {
  const { body: _message, ...where } = target;
  return where;
}
