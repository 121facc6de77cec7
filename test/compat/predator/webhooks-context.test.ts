// Ported from Zooz/predator, tests/integration-tests/webhooks/webhooks-context-test.js (commit 42e50c7),
// Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0). Its requests and assertions are kept;
// what changed for runhooks:
// - mocha + chai + should.js → vitest, whose expect speaks chai's `to.…` assertions; the should.js
//   assertions are written as chai's (`should(x).not.be.undefined()` → `expect(x).not.to.be.undefined`,
//   `should(n).eql(0)` → `expect(n).to.eql(0)`); `this.timeout` dropped; `uuid.v4().toString()` →
//   `uuid.v4()` (already a string);
// - the app is runhooks/admin in Predator mode on 127.0.0.1 (helpers/requestCreator.ts), and the two
//   helpers the file defines at its end are in helpers/webhooks.ts, shared with the other file.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as webhookRequestSender from "./helpers/requestCreator.js";
import { assertDeepWebhookEquality, generateWebhook, type GeneratedWebhook } from "./helpers/webhooks.js";

const uuid = { v4: randomUUID };

describe("Webhooks api", function () {
  const contextId = uuid.v4();
  const headersWithoutContext = { "Content-Type": "application/json" };
  const headersWithContext = { "Content-Type": "application/json", "x-context-id": contextId };
  const headersWithRandomContext = { "Content-Type": "application/json", "x-context-id": "random" };

  let webhook: GeneratedWebhook,
    createWebhookWithContextResponse: webhookRequestSender.PredatorResponse,
    createWebhookWithoutContextResponse: webhookRequestSender.PredatorResponse;
  beforeAll(async function () {
    await webhookRequestSender.init();
  });
  afterAll(async function () {
    await webhookRequestSender.close();
  });

  describe("with contexts", function () {
    beforeEach(async function () {
      webhook = generateWebhook();
      webhook.context_id = contextId;
      createWebhookWithoutContextResponse = await webhookRequestSender.createWebhook(
        webhook,
        headersWithoutContext,
      );
      expect(createWebhookWithoutContextResponse.statusCode).to.equal(201);

      createWebhookWithContextResponse = await webhookRequestSender.createWebhook(
        webhook,
        headersWithContext,
      );
      expect(createWebhookWithContextResponse.statusCode).to.equal(201);
    });

    afterAll(async function () {
      const webhooksResponse = await webhookRequestSender.getWebhooks();
      await Promise.all(
        (webhooksResponse.body as Array<{ id: string }>).map((hook) =>
          webhookRequestSender.deleteWebhook(hook.id),
        ),
      );
    });

    describe("GET webhook", function () {
      it("retrieve the webhook with context_id header should return 200", async function () {
        const webhookId = createWebhookWithContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.getWebhook(webhookId, headersWithContext);

        expect(getWebhookResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(webhook, getWebhookResponse.body);
      });
      it("retrieve the webhook with wrong context_id header should return 404", async function () {
        const webhookId = createWebhookWithContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.getWebhook(webhookId, headersWithRandomContext);

        expect(getWebhookResponse.statusCode).to.equal(404);
      });
      it("retrieve the webhook without context_id header should return 200", async function () {
        const webhookId = createWebhookWithContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.getWebhook(webhookId, headersWithoutContext);

        expect(getWebhookResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(webhook, getWebhookResponse.body);
      });
      it("retrieve the webhook created without context with a context_id header should return 404", async function () {
        const webhookId = createWebhookWithoutContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.getWebhook(webhookId, headersWithContext);

        expect(getWebhookResponse.statusCode).to.equal(404);
      });
    });
    describe("GET webhooks", function () {
      it("retrieve webhooks with context_id should return 1 webhook", async function () {
        const webhookId = createWebhookWithContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.getWebhooks(headersWithContext);

        expect(getWebhookResponse.statusCode).to.equal(200);
        const webhook = (getWebhookResponse.body as Array<{ id: string }>).find(
          (webhook) => webhook.id === webhookId,
        );
        expect(webhook).not.to.be.undefined;
      });
      it("retrieve webhooks with wrong context_id should return 0 webhook", async function () {
        const getWebhookResponse = await webhookRequestSender.getWebhooks(headersWithRandomContext);

        expect(getWebhookResponse.statusCode).to.equal(200);
        expect(getWebhookResponse.body.length).to.eql(0);
      });
      it("retrieve webhooks without context should return all webhooks", async function () {
        const getWebhookResponse = await webhookRequestSender.getWebhooks(headersWithoutContext);

        expect(getWebhookResponse.statusCode).to.equal(200);

        const list = getWebhookResponse.body as Array<{ id: string }>;
        const webhookWithContext = list.find(
          (webhook) => webhook.id === createWebhookWithContextResponse.body.id,
        );
        const webhookWithoutContext = list.find(
          (webhook) => webhook.id === createWebhookWithoutContextResponse.body.id,
        );
        expect(webhookWithContext).not.to.be.undefined;
        expect(webhookWithoutContext).not.to.be.undefined;
      });
    });
    describe("PUT webhooks", function () {
      it("edit webhook with context-id header should return 200", async function () {
        const webhook = createWebhookWithContextResponse.body;
        const updatedName = `updated-name-${uuid.v4()}`;
        webhook.name = updatedName;

        const updateWebhookResponse = await webhookRequestSender.updateWebhook(
          webhook.id,
          webhook,
          headersWithContext,
        );
        expect(updateWebhookResponse.statusCode).to.equal(200);

        const getWebhookResponse = await webhookRequestSender.getWebhook(webhook.id, headersWithContext);
        expect(getWebhookResponse.statusCode).to.equal(200);
        expect(getWebhookResponse.body.name).to.equal(updatedName);
      });
      it("edit webhook with wrong context-id header should return 404", async function () {
        const webhook = createWebhookWithContextResponse.body;
        const updateWebhookResponse = await webhookRequestSender.updateWebhook(
          webhook.id,
          webhook,
          headersWithRandomContext,
        );
        expect(updateWebhookResponse.statusCode).to.equal(404);
      });
      it("edit webhook created with context without sending context-id header should return 200", async function () {
        const webhook = createWebhookWithContextResponse.body;
        const updatedName = `updated-name-${uuid.v4()}`;
        webhook.name = updatedName;

        const updateWebhookResponse = await webhookRequestSender.updateWebhook(
          webhook.id,
          webhook,
          headersWithoutContext,
        );
        expect(updateWebhookResponse.statusCode).to.equal(200);

        const getWebhookResponse = await webhookRequestSender.getWebhook(webhook.id, headersWithoutContext);
        expect(getWebhookResponse.statusCode).to.equal(200);
        expect(getWebhookResponse.body.name).to.equal(updatedName);
      });
      it("edit webhook created without context with sending context-id header should return 404", async function () {
        const webhook = createWebhookWithoutContextResponse.body;

        const updateWebhookResponse = await webhookRequestSender.updateWebhook(
          webhook.id,
          webhook,
          headersWithContext,
        );
        expect(updateWebhookResponse.statusCode).to.equal(404);
      });
    });
    describe("DELETE webhook", function () {
      it("delete webhook with context_id should return 204", async function () {
        const webhookId = createWebhookWithContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.deleteWebhook(webhookId, headersWithContext);

        expect(getWebhookResponse.statusCode).to.equal(204);
      });
      it("delete webhook with wrong context_id should return 404", async function () {
        const webhookId = createWebhookWithContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.deleteWebhook(
          webhookId,
          headersWithRandomContext,
        );

        expect(getWebhookResponse.statusCode).to.equal(404);
      });
      it("delete webhook created without context with sending context_id should return 404", async function () {
        const webhookId = createWebhookWithoutContextResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.deleteWebhook(webhookId, headersWithContext);

        expect(getWebhookResponse.statusCode).to.equal(404);
      });
    });
  });
});
