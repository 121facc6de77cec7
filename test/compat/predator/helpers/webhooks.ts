// generateWebhook() and assertDeepWebhookEquality(), which both of Predator's webhook test files define
// (Zooz/predator tests/integration-tests/webhooks/webhooks-test.js and webhooks-context-test.js, commit
// 42e50c7), Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0); here once, typed.
import { expect } from "vitest";
import { EVENT_FORMAT_TYPE_JSON, WEBHOOK_EVENT_TYPES } from "./consts.js";

export interface GeneratedWebhook {
  name: string;
  url: string;
  events: string[];
  global: boolean;
  format_type: string;
  context_id?: string;
}

export function generateWebhook(
  name = "My webhook",
  url = "https://humus.is.love/callback",
  events = WEBHOOK_EVENT_TYPES,
): GeneratedWebhook {
  return {
    name,
    url,
    events,
    global: false,
    format_type: EVENT_FORMAT_TYPE_JSON,
  };
}

export function assertDeepWebhookEquality(
  webhook: GeneratedWebhook,
  webhookFromAPI: Record<string, unknown>,
): void {
  const { events, ...restOfWebhook } = webhook;
  const {
    id: _webhookFromAPIId,
    events: webhookFromAPIEvents,
    created_at: _createdAt,
    updated_at: _updatedAt,
    ...restwebhookFromAPI
  } = webhookFromAPI;
  expect(restOfWebhook).to.deep.equal(restwebhookFromAPI);
  expect(events).to.have.members(webhookFromAPIEvents as string[]);
}
