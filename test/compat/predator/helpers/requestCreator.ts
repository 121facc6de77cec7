// Ported from Zooz/predator, tests/integration-tests/webhooks/helpers/requestCreator.js (commit 42e50c7),
// Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0). Changed for runhooks: the requests go
// with fetch to runhooks/admin in Predator mode (createAdmin(notifier, { compat: "predator" })) served by
// node:http on 127.0.0.1, instead of supertest to Predator's express app.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdmin, type Admin } from "../../../../src/admin/index.js";
import { createNotifier, type Notifier } from "../../../../src/notifier.js";
import { LOOPBACK } from "../../../helpers/loopback.js";

const resourceUri = "/v1/webhooks";

/** What supertest's response gives Predator's tests: `status`, `statusCode` and the parsed `body`. */
export interface PredatorResponse {
  status: number;
  statusCode: number;
  // Predator's tests read fields of the body freely, as JavaScript does.
  body: any;
}

type Headers = Record<string, string>;
const JSON_HEADERS: Headers = { "Content-Type": "application/json" };

let server: Server | undefined;
let notifier: Notifier | undefined;
let admin: Admin | undefined;
let base = "";

/** Starts the app: a notifier (loopback allowed) and its admin in Predator mode, like Predator's app, with no auth. */
export async function init(): Promise<void> {
  notifier = createNotifier({ network: LOOPBACK, retry: { retries: 0 } });
  admin = createAdmin(notifier, { compat: "predator", authorize: () => true });
  server = createServer(admin.node);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops what init() started. */
export async function close(): Promise<void> {
  admin?.close();
  await notifier?.close({ timeoutMs: 500 });
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

async function send(
  method: string,
  path: string,
  headers: Headers,
  body?: unknown,
): Promise<PredatorResponse> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, statusCode: response.status, body: text ? JSON.parse(text) : {} };
}

export function createWebhook(body: unknown, headers: Headers = JSON_HEADERS): Promise<PredatorResponse> {
  return send("POST", resourceUri, headers, body);
}

export function getWebhooks(headers: Headers = JSON_HEADERS): Promise<PredatorResponse> {
  return send("GET", resourceUri, headers);
}

export function getWebhook(webhookId: string, headers: Headers = JSON_HEADERS): Promise<PredatorResponse> {
  return send("GET", `${resourceUri}/${webhookId}`, headers);
}

export function deleteWebhook(webhookId: string, headers: Headers = JSON_HEADERS): Promise<PredatorResponse> {
  return send("DELETE", `${resourceUri}/${webhookId}`, headers);
}

export function updateWebhook(
  webhookId: string,
  webhook: unknown,
  headers: Headers = JSON_HEADERS,
): Promise<PredatorResponse> {
  return send("PUT", `${resourceUri}/${webhookId}`, headers, webhook);
}

export function testWebhook(body: unknown, headers: Headers = JSON_HEADERS): Promise<PredatorResponse> {
  return send("POST", `${resourceUri}/test`, headers, body);
}
