// Ported from Zooz/predator, tests/integration-tests/webhooks/webhooks-test.js (commit 42e50c7),
// Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0). Its requests and assertions are kept;
// what changed for runhooks is marked "runhooks:" where it happens:
// - mocha + chai → vitest, whose expect speaks chai's `to.…` assertions; `this.timeout` dropped;
// - the app is runhooks/admin in Predator mode on 127.0.0.1 (helpers/requestCreator.ts), and the two
//   helpers the file defines at its end are in helpers/webhooks.ts, shared with the other file;
// - nock → a real receiver on 127.0.0.1 for the test endpoint: tests send nothing anywhere else.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type TestReceiver } from "../../../src/testing/receiver.js";
import {
  EVENT_FORMAT_TYPES,
  WEBHOOK_EVENT_TYPE_API_FAILURE,
  WEBHOOK_EVENT_TYPE_FAILED,
} from "./helpers/consts.js";
import * as webhookRequestSender from "./helpers/requestCreator.js";
import { assertDeepWebhookEquality, generateWebhook } from "./helpers/webhooks.js";

const uuid = { v4: randomUUID };

// runhooks: instead of nock(webhook.url).post('').reply(code), a receiver that answers the status the
// test sets next.
let receiver: TestReceiver;
let nextStatus = 200;
function nockReply(status: number): string {
  nextStatus = status;
  return `${receiver.url}/callback`;
}

describe("Webhooks api", function () {
  beforeAll(async function () {
    receiver = await startReceiver({ respond: () => nextStatus });
    await webhookRequestSender.init();
  });
  afterAll(async function () {
    await webhookRequestSender.close();
    await receiver.close();
  });

  describe("Good requests", function () {
    describe("POST /v1/webhooks/test", function () {
      it("should return 200 and webhook_status_code=200", async function () {
        const webhook = generateWebhook();
        webhook.url = nockReply(200);

        const testWebhookResponse = await webhookRequestSender.testWebhook(webhook);
        expect(testWebhookResponse.status).to.be.equal(200);
        expect(testWebhookResponse.body).to.have.a.property("webhook_status_code").and.to.be.equal(200);
      });
      it("should return 400 and webhook_status_code=400", async function () {
        const webhook = generateWebhook();
        webhook.url = nockReply(400);

        const testWebhookResponse = await webhookRequestSender.testWebhook(webhook);
        expect(testWebhookResponse.status).to.be.equal(200);
        expect(testWebhookResponse.body).to.have.a.property("webhook_status_code").and.to.be.equal(400);
      });
      it("should return 200 and webhook_status_code=422", async function () {
        const webhook = generateWebhook();
        webhook.url = nockReply(422);

        const testWebhookResponse = await webhookRequestSender.testWebhook(webhook);
        expect(testWebhookResponse.status).to.be.equal(200);
        expect(testWebhookResponse.body).to.have.a.property("webhook_status_code").and.to.be.equal(422);
      });
    });
    describe("GET /v1/webhooks", function () {
      beforeAll(async function () {
        // 'clean webhooks'
        const webhooksResponse = await webhookRequestSender.getWebhooks();
        await Promise.all(
          (webhooksResponse.body as Array<{ id: string }>).map((hook) =>
            webhookRequestSender.deleteWebhook(hook.id),
          ),
        );
      });
      const numOfWebhooksToInsert = 5;
      it(`return ${numOfWebhooksToInsert} webhooks`, async function () {
        const webhooksToInsert = new Array(numOfWebhooksToInsert)
          .fill(0, 0, numOfWebhooksToInsert)
          .map((index: number) => generateWebhook(`My webhook ${index}`));
        await Promise.all(webhooksToInsert.map((webhook) => webhookRequestSender.createWebhook(webhook)));

        const webhooksGetResponse = await webhookRequestSender.getWebhooks();
        expect(webhooksGetResponse.statusCode).to.equal(200);

        const webhooks = webhooksGetResponse.body;
        expect(webhooks).to.be.an("array").and.have.lengthOf(numOfWebhooksToInsert);
      });
    });
    describe("GET /v1/webhooks/:webhook_id", function () {
      it("should retrieve the webhook that was created", async function () {
        const webhook = generateWebhook();
        const createWebhookResponse = await webhookRequestSender.createWebhook(webhook);
        expect(createWebhookResponse.statusCode).to.equal(201);

        const webhookId = createWebhookResponse.body.id;
        const getWebhookResponse = await webhookRequestSender.getWebhook(webhookId);

        expect(getWebhookResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(webhook, getWebhookResponse.body);
      });
    });
    describe("POST /v1/webhooks", function () {
      it("Create webhook and response 201 status code", async function () {
        const webhook = generateWebhook();
        const createWebhookResponse = await webhookRequestSender.createWebhook(webhook);
        expect(createWebhookResponse.statusCode).to.equal(201);
        assertDeepWebhookEquality(webhook, createWebhookResponse.body);
      });
      it("Create webhook with global=true and response 201 status code", async function () {
        const webhook = generateWebhook();
        webhook.global = true;

        const createWebhookResponse = await webhookRequestSender.createWebhook(webhook);

        expect(createWebhookResponse.statusCode).to.equal(201);
        assertDeepWebhookEquality(webhook, createWebhookResponse.body);
      });
      it("Create webhook with unspecified global field, expect default value and response 201 status code", async function () {
        const webhook = generateWebhook();
        const { global: _global, ...webhookWithoutGlobal } = webhook;

        const createWebhookResponse = await webhookRequestSender.createWebhook(webhookWithoutGlobal);

        expect(createWebhookResponse.statusCode).to.equal(201);
        assertDeepWebhookEquality(webhook, createWebhookResponse.body);
      });
    });
    describe("DELETE /v1/webhooks/:webhook_id", function () {
      it("Create a webhook -> deleting it -> expecting to get 404 in GET", async function () {
        const webhook = generateWebhook();

        const insertWebhookResponse = await webhookRequestSender.createWebhook(webhook);
        expect(insertWebhookResponse.statusCode).to.equal(201);
        const webhookId = insertWebhookResponse.body.id;

        const deleteWebhookResponse = await webhookRequestSender.deleteWebhook(webhookId);
        expect(deleteWebhookResponse.statusCode).to.equal(204);

        const getWebhookResponse = await webhookRequestSender.getWebhook(webhookId);
        expect(getWebhookResponse.statusCode).to.equal(404);
      });
      // (Predator's title says 204; its assertion, kept here, says 404, which is what Predator answers.)
      it("Deleting unexisting webhook -> expect 204 status code", async function () {
        const id = uuid.v4();

        const deleteWebhookResponse = await webhookRequestSender.deleteWebhook(id);
        expect(deleteWebhookResponse.statusCode).to.equal(404);
      });
    });
    describe("PUT /v1/webhooks/:webhook_id", function () {
      it("Insert a webhook -> update global -> ensure it is updated", async function () {
        const webhook = generateWebhook();
        const updatedWebhook = { ...webhook, global: !webhook.global };

        const insertResponse = await webhookRequestSender.createWebhook(webhook);
        expect(insertResponse.statusCode).to.equal(201);

        const {
          body: { id },
        } = insertResponse;
        const putResponse = await webhookRequestSender.updateWebhook(id, updatedWebhook);

        expect(putResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(updatedWebhook, putResponse.body);

        const getResponse = await webhookRequestSender.getWebhook(id);
        assertDeepWebhookEquality(updatedWebhook, getResponse.body);
      });
      it("Insert a webhook -> update url -> ensure it is updated", async function () {
        const webhook = generateWebhook();
        // runhooks: Predator's test writes `${webhook}/new/path`, which is "[object Object]/new/path":
        // Predator checks no URL and stores it; runhooks refuses it (below). The intent, a new path on the
        // same URL, is what the rest of the test checks.
        const updatedWebhook = { ...webhook, url: `${webhook.url}/new/path` };

        const insertResponse = await webhookRequestSender.createWebhook(webhook);
        expect(insertResponse.statusCode).to.equal(201);

        const {
          body: { id },
        } = insertResponse;
        const asWritten = await webhookRequestSender.updateWebhook(id, {
          ...webhook,
          // eslint-disable-next-line @typescript-eslint/no-base-to-string -- Predator's URL, as written
          url: `${String(webhook)}/new/path`,
        });
        expect(asWritten.statusCode).to.equal(400);
        const putResponse = await webhookRequestSender.updateWebhook(id, updatedWebhook);

        expect(putResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(updatedWebhook, putResponse.body);

        const getResponse = await webhookRequestSender.getWebhook(id);
        assertDeepWebhookEquality(updatedWebhook, getResponse.body);
      });
      it("Insert a webhook -> update format_type -> ensure it is updated", async function () {
        const webhook = generateWebhook();
        const updatedFormatType = EVENT_FORMAT_TYPES.filter((format) => format !== webhook.format_type)[0]!;
        const updatedWebhook = { ...webhook, format_type: updatedFormatType };

        const insertResponse = await webhookRequestSender.createWebhook(webhook);
        expect(insertResponse.statusCode).to.equal(201);

        const {
          body: { id },
        } = insertResponse;
        const putResponse = await webhookRequestSender.updateWebhook(id, updatedWebhook);

        expect(putResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(updatedWebhook, putResponse.body);

        const getResponse = await webhookRequestSender.getWebhook(id);
        assertDeepWebhookEquality(updatedWebhook, getResponse.body);
      });
      it("Insert a webhook -> update name -> ensure it is updated", async function () {
        const webhook = generateWebhook();
        const updatedWebhook = { ...webhook, name: webhook.name + " added text" };

        const insertResponse = await webhookRequestSender.createWebhook(webhook);
        expect(insertResponse.statusCode).to.equal(201);

        const {
          body: { id },
        } = insertResponse;
        const putResponse = await webhookRequestSender.updateWebhook(id, updatedWebhook);

        expect(putResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(updatedWebhook, putResponse.body);

        const getResponse = await webhookRequestSender.getWebhook(id);
        assertDeepWebhookEquality(updatedWebhook, getResponse.body);
      });
      it("Insert a webhook -> update events -> ensure it is updated", async function () {
        const webhook = {
          ...generateWebhook(),
          events: [WEBHOOK_EVENT_TYPE_API_FAILURE],
        };
        const updatedWebhook = {
          ...webhook,
          events: [WEBHOOK_EVENT_TYPE_API_FAILURE, WEBHOOK_EVENT_TYPE_FAILED],
        };

        const insertResponse = await webhookRequestSender.createWebhook(webhook);
        expect(insertResponse.statusCode).to.equal(201);

        const {
          body: { id },
        } = insertResponse;
        const putResponse = await webhookRequestSender.updateWebhook(id, updatedWebhook);

        expect(putResponse.statusCode).to.equal(200);
        assertDeepWebhookEquality(updatedWebhook, putResponse.body);

        const getResponse = await webhookRequestSender.getWebhook(id);
        assertDeepWebhookEquality(updatedWebhook, getResponse.body);
      });
    });
  });

  describe("Bad requests", function () {
    describe("POST /v1/webhooks/test", function () {
      it("should get 400 for bad webhook_id format", async function () {
        const testWebhookResponse = await webhookRequestSender.testWebhook({});
        expect(testWebhookResponse.statusCode).to.equal(400);
        expect(testWebhookResponse.body).to.be.deep.equal({
          message: "Input validation error",
          validation_errors: [
            "body should have required property 'format_type'",
            "body should have required property 'url'",
          ],
        });
      });
    });
    describe("POST /v1/webhooks", function () {
      describe("name validation", function () {
        it("Create webhook with bad type of name", async function () {
          const webhook = generateWebhook(5 as unknown as string);

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
      });
      describe("format_type validation", function () {
        it("Create webhook with bad format_type", async function () {
          const webhook = generateWebhook();
          webhook.format_type = "TOTTALLY NOT A VALID FORMAT TYPE lalalalalla";

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
      });
      describe("global validation", function () {
        it("Create webhook with global not a boolean", async function () {
          const webhook = generateWebhook() as unknown as Record<string, unknown>;
          webhook["global"] = "TOTTALLY NOT A VALID GLOBAL";

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
      });
      describe("events validation", function () {
        it("Create webhook with empty events", async function () {
          const webhook = generateWebhook();
          webhook.events = [];

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
        it("Create a webhook with invalid event name", async function () {
          const webhook = generateWebhook("My special webhook", "https://url.com/callback", ["bad_value"]);

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
        it("Create a webhook with duplicate event name", async function () {
          const webhook = generateWebhook();
          webhook.events = [webhook.events[0]!, webhook.events[0]!];

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
        it("Create a webhook with too many valid values", async function () {
          const webhook = generateWebhook();
          webhook.events = [...webhook.events, webhook.events[0]!];

          const createResponse = await webhookRequestSender.createWebhook(webhook);
          expect(createResponse.statusCode).to.equal(400);
        });
      });
    });
    describe("GET /v1/webhooks/:webhook_id", function () {
      it("should return 400 for bad uuid", async function () {
        const badWebhookValue = "lalallalalal";

        const response = await webhookRequestSender.getWebhook(badWebhookValue);

        expect(response.statusCode).to.equal(400);
      });
    });
    describe("DELETE /v1/webhooks/:webhook_id", function () {
      it("should return 400 for bad uuid", async function () {
        const badWebhookValue = "lalallalalal";

        const response = await webhookRequestSender.deleteWebhook(badWebhookValue);

        expect(response.statusCode).to.equal(400);
      });
    });
    describe("PUT /v1/webhooks/:webhook_id", function () {
      it("should return 400 for bad uuid", async function () {
        const webhook = generateWebhook();
        const badWebhookValue = "lalallalalal";

        const response = await webhookRequestSender.updateWebhook(badWebhookValue, webhook);

        expect(response.statusCode).to.equal(400);
      });
    });
  });

  describe("Sad requests", function () {
    describe("GET /v1/webhooks/:webhook_id", function () {
      it("should return 404 for no existing webhook", async function () {
        const notExistingWebhookId = uuid.v4();

        const response = await webhookRequestSender.getWebhook(notExistingWebhookId);

        expect(response.statusCode).to.equal(404);
      });
    });
    describe("PUT /v1/webhooks/:webhook_id", function () {
      it("should return 404 for no existing webhook", async function () {
        const notExistingWebhookId = uuid.v4();
        const webhook = generateWebhook();

        const response = await webhookRequestSender.updateWebhook(notExistingWebhookId, webhook);

        expect(response.statusCode).to.equal(404);
      });
    });
  });
});
