import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterEach, expect } from "vitest";
import { createAdmin, type Admin, type AdminOptions, type OpenApiDocument } from "../../src/admin/index.js";
import { createNotifier, type Notifier } from "../../src/notifier.js";
import { LOOPBACK } from "./loopback.js";

export const TOKEN = "test-token";

/** A Slack webhook URL whose secret part (`SECRETPART`) tests look for in answers. */
export const SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETPART";

/** A valid body for `POST v1/webhooks` in runhooks' own wire. */
export const WEBHOOK_BODY = {
  name: "perf",
  url: SLACK_URL,
  format_type: "slack",
  events: ["started", "finished"],
  global: true,
} as const;

/** An answer of the admin, its JSON body parsed. */
export interface AdminAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** Calls the admin as a client would: a bearer token, a JSON body, any extra headers. */
export type AdminCall = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<AdminAnswer>;

/**
 * A notifier (loopback allowed, no retries) with an admin whose `authorize` takes the bearer TOKEN, or
 * what `options` say; `close()` releases both.
 */
export function adminSetup(options: Partial<AdminOptions> = {}): {
  notifier: Notifier;
  admin: Admin;
  call: AdminCall;
  close: () => Promise<void>;
} {
  const notifier = createNotifier({ network: LOOPBACK, retry: { retries: 0 } });
  const admin = createAdmin(notifier, {
    authorize: (request) => request.headers.get("authorization") === `Bearer ${TOKEN}`,
    ...options,
  });
  const call: AdminCall = async (method, path, body, headers = {}) => {
    const response = await admin.fetch(
      new Request(`http://admin.local${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined && { "content-type": "application/json" }),
          ...headers,
        },
        ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
      }),
    );
    const text = await response.text();
    return {
      status: response.status,
      body: text ? (JSON.parse(text) as unknown) : undefined,
      headers: response.headers,
    };
  };
  const close = async (): Promise<void> => {
    admin.close();
    await notifier.close({ timeoutMs: 500 });
  };
  return { notifier, admin, call, close };
}

/** Validates values against a schema of an OpenAPI document's components. */
export function schemaChecker(document: OpenApiDocument): (schema: string, body: unknown) => void {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: "openapi", components: document.components });
  return (schema, body) => {
    const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`);
    if (!validate) throw new Error(`no schema ${schema}`);
    expect(validate(body), `${schema}: ${JSON.stringify(validate.errors)}`).toBe(true);
  };
}

/**
 * For a test file: `setup()` makes an {@link adminSetup} that is closed after the test, and `defer()`
 * queues any other clean-up (a receiver, a server), run in reverse order after each test.
 */
export function adminsPerTest(defaults: Partial<AdminOptions> = {}): {
  setup: (options?: Partial<AdminOptions>) => ReturnType<typeof adminSetup>;
  defer: (fn: () => unknown) => void;
} {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  return {
    setup(options = {}) {
      const parts = adminSetup({ ...defaults, ...options });
      cleanup.push(parts.close);
      return parts;
    },
    defer: (fn) => cleanup.push(fn),
  };
}
