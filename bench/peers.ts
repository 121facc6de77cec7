/**
 * What a user would install instead of runhooks, driven the way their README shows:
 *
 * - `got`: got 14 + p-retry 7 around `got.post(url, { body, headers })`, the JSON body built once (the
 *   bytes runhooks sends), a Standard Webhooks `webhook-id` and `webhook-timestamp` per delivery.
 * - `ky`: the same with ky 1 (`ky.post(url, { body, headers }).text()`, over Node's global `fetch`).
 * - `slack-webhook`: `@slack/webhook` 8's `IncomingWebhook#send(message)` with its own `retryConfig`
 *   (it ships p-retry 4 around Node's global `fetch`), for the Slack format: the Block Kit message
 *   runhooks would send, built once, with the fallback `text` numbered per delivery.
 *
 * None of them queues: a runner keeps `concurrency` (64) sends outstanding and starts the next as one
 * settles, which is how their own agents get 64 requests in flight. They are given their retry policy
 * as a user configures it, the same timing as the naive path (8 retries, 1 ms doubling to 100 ms,
 * jittered): got and ky retry network errors, 408, 429 and 5xx, as the naive path and runhooks do;
 * `@slack/webhook` decides for itself (network errors and 5xx).
 */
import { IncomingWebhook, type IncomingWebhookSendArguments } from "@slack/webhook";
import got, { HTTPError as GotHttpError } from "got";
import ky, { HTTPError as KyHttpError } from "ky";
import pRetry, { type Options as RetryOptions } from "p-retry";
import { Feeder, Pending } from "./measure.js";
import type { PathName, ScenarioSpec, ThroughputPath } from "./paths.js";

/** The peers this file drives; each is a path name of bench/config.ts. */
export type PeerName = Extract<PathName, "got" | "ky" | "slack-webhook">;

const RETRIES = 8;
const MIN_DELAY_MS = 1;
const MAX_DELAY_MS = 100;

/** p-retry's options (p-retry 4's, which `@slack/webhook` forwards, take the same fields). */
const retryOptions = {
  retries: RETRIES,
  factor: 2,
  minTimeout: MIN_DELAY_MS,
  maxTimeout: MAX_DELAY_MS,
  randomize: true,
} as const;

/** The statuses worth another attempt: what runhooks and the naive path retry too. */
const retryable = (status: number): boolean => status >= 500 || status === 429 || status === 408;

/**
 * A peer behind the simulated runner: `send(i)` makes delivery i (retries included), at most
 * `spec.concurrency` at a time.
 */
function driven(name: PeerName, spec: ScenarioSpec, send: (i: number) => Promise<unknown>): ThroughputPath {
  if (spec.shape !== "many") throw new Error(`${name}: only the many-events scenarios drive peers`);
  let serial = 0;
  let failures = 0;
  return {
    name,
    async run(deliveries) {
      // The callback runs only once a send settles, after the feeder below exists.
      const pending = new Pending(() => {
        feeder.ended();
      });
      const feeder = new Feeder(deliveries, spec.concurrency, () => {
        pending.add(send(serial++));
      });
      await feeder.run();
      await pending.idle();
      failures = pending.failures;
    },
    problems: () => (failures > 0 ? [`${failures} deliveries failed`] : []),
    close: () => Promise.resolve(),
  };
}

/** The one webhook URL of a peer's scenario. */
function targetUrl(spec: ScenarioSpec): string {
  return `${spec.origin}${spec.targets[0] ?? "/"}`;
}

/** Standard Webhooks headers for delivery i, built per delivery as a user's code builds them. */
function headersFor(name: string, i: number): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "my-runner/1.0",
    "webhook-id": `msg_${name}_${i}`,
    "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
  };
}

/** got + p-retry, posting the pre-built JSON body. got never retries a POST itself (its default). */
export function gotPath(spec: ScenarioSpec, body: string): ThroughputPath {
  const url = targetUrl(spec);
  const options: RetryOptions = {
    ...retryOptions,
    shouldRetry: ({ error }) => !(error instanceof GotHttpError) || retryable(error.response.statusCode),
  };
  return driven("got", spec, (i) => {
    const headers = headersFor("got", i);
    return pRetry(() => got.post(url, { body, headers }), options);
  });
}

/** ky + p-retry, posting the pre-built JSON body. ky never retries a POST itself (its default). */
export function kyPath(spec: ScenarioSpec, body: string): ThroughputPath {
  const url = targetUrl(spec);
  const options: RetryOptions = {
    ...retryOptions,
    shouldRetry: ({ error }) => !(error instanceof KyHttpError) || retryable(error.response.status),
  };
  return driven("ky", spec, (i) => {
    const headers = headersFor("ky", i);
    // Reading the body hands the connection back to fetch's pool at once, not when it is collected.
    return pRetry(() => ky.post(url, { body, headers }).text(), options);
  });
}

/**
 * `@slack/webhook`'s `IncomingWebhook`, one per webhook URL as its README shows, sending `slackBody`
 * (a serialised Slack message). Its `send()` serialises the message per attempt and sets no header a
 * delivery could be told by, so the fallback text carries the delivery's number: the flaky receiver
 * keys on the body.
 */
export function slackWebhookPath(spec: ScenarioSpec, slackBody: string): ThroughputPath {
  const url = targetUrl(spec);
  const webhook = new IncomingWebhook(url, { retryConfig: retryOptions });
  const { text, blocks, attachments } = JSON.parse(slackBody) as IncomingWebhookSendArguments;
  if (text === undefined || blocks === undefined || attachments === undefined) {
    throw new Error("slack-webhook: the Slack body has no text, blocks or attachments");
  }
  // An object literal per delivery, no spread: a spread costs microseconds on Node 20 (V8 11.3).
  return driven("slack-webhook", spec, (i) => webhook.send({ text: `${text} · #${i}`, blocks, attachments }));
}
